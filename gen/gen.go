package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/autoid-oss/autoid/model"
)

// Options control side output of Generate; they do not change the files.
type Options struct {
	// Progress, when not nil, receives progress lines while assignments are
	// generated.
	Progress io.Writer
	// Preset is recorded in the ground-truth summary.
	Preset string
}

// Result summarises a generated company.
type Result struct {
	Files            []FileStat    `json:"files"`
	Identities       int           `json:"identities"`
	Applications     int           `json:"applications"`
	Entitlements     int           `json:"entitlements"`
	Assignments      int64         `json:"assignments"`
	NoiseAssignments int64         `json:"noise_assignments"`
	NoiseModel       NoiseModel    `json:"noise_model"`
	PlantedRules     int           `json:"planted_rules"`
	Birthrights      int           `json:"birthrights"`
	Duration         time.Duration `json:"-"`
}

// Entity table names, in the order they are written.
const (
	TableApplications = "applications"
	TableEntitlements = "entitlements"
	TableIdentities   = "identities"
	TableAssignments  = "assignments"
)

// Ground-truth files under TruthDir.
const (
	TruthDir          = "truth"
	TruthPlantedRules = "truth/planted_rules.csv"
	TruthNoise        = "truth/noise_assignments.csv"
	TruthBirthright   = "truth/birthright.csv"
	TruthSummary      = "truth/summary.json"
)

// Generate writes a synthetic company described by cfg into dir (created if
// needed; existing files of the same names are replaced): the four entity
// tables applications, entitlements, identities and assignments in
// cfg.Format, and the ground truth under dir/truth as CSV plus summary.json.
// The same Config yields byte-identical files.
func Generate(ctx context.Context, cfg Config, dir string, opt Options) (*Result, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gen: invalid configuration: %w", err)
	}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, TruthDir), 0o755); err != nil {
		return nil, fmt.Errorf("gen: create output directory: %w", err)
	}
	c, err := build(cfg)
	if err != nil {
		return nil, fmt.Errorf("gen: build company: %w", err)
	}
	res := &Result{Identities: c.n, Applications: len(c.apps), Entitlements: len(c.ents),
		PlantedRules: len(c.rules), Birthrights: len(c.birth), NoiseModel: c.noiseModel}
	add := func(st FileStat, err error) error {
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		res.Files = append(res.Files, st)
		return nil
	}
	if err := add(c.writeApplications(dir)); err != nil {
		return nil, err
	}
	if err := add(c.writeEntitlements(dir)); err != nil {
		return nil, err
	}
	if err := add(c.writeIdentities(dir)); err != nil {
		return nil, err
	}
	asg, noise, err := c.writeAssignments(ctx, dir, opt.Progress)
	if err := add(asg, err); err != nil {
		return nil, err
	}
	res.Assignments = asg.Rows
	res.NoiseAssignments = noise.Rows
	if err := add(c.writeRules(dir)); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, noise)
	if err := add(c.writeBirthrights(dir)); err != nil {
		return nil, err
	}
	if err := add(c.writeSummary(dir, opt.Preset, res)); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// writeTable writes rows produced by row(k) for k < n and closes the table;
// on error the file is closed and left incomplete.
func writeTable(t tableWriter, n int, row func(k int) []string) (FileStat, error) {
	for k := range n {
		if err := t.writeRow(row(k)); err != nil {
			t.close()
			return FileStat{}, err
		}
	}
	return t.close()
}

func (c *company) writeApplications(dir string) (FileStat, error) {
	t, err := newTable(dir, TableApplications, []string{"app_id", "app_name", "app_owner_id", "app_criticality", "app_risk_level"}, c.cfg)
	if err != nil {
		return FileStat{}, err
	}
	return writeTable(t, len(c.apps), func(k int) []string {
		a := c.apps[k]
		return []string{a.id, a.name, a.owner, a.criticality, a.risk}
	})
}

func (c *company) writeEntitlements(dir string) (FileStat, error) {
	t, err := newTable(dir, TableEntitlements, []string{"ent_id", "ent_name", "ent_owner_id", "app_id", "ent_criticality", "ent_risk_level"}, c.cfg)
	if err != nil {
		return FileStat{}, err
	}
	return writeTable(t, len(c.ents), func(k int) []string {
		e := c.ents[k]
		return []string{e.id, e.name, e.owner, e.appID, e.criticality, e.risk}
	})
}

func (c *company) writeIdentities(dir string) (FileStat, error) {
	header := []string{colUsrID, colUsrName, colManagerID}
	for _, a := range c.attrs {
		header = append(header, a.name)
	}
	t, err := newTable(dir, TableIdentities, header, c.cfg)
	if err != nil {
		return FileStat{}, err
	}
	row := make([]string, len(header))
	return writeTable(t, c.n, func(i int) []string {
		row[0], row[1], row[2] = c.usrID[i], c.usrName[i], ""
		mgr := c.manager[i]
		if mgr >= 0 {
			row[2] = c.usrID[mgr]
		}
		for k, a := range c.attrs {
			switch {
			case a.col != nil:
				row[3+k] = a.values[a.col[i]]
			case mgr >= 0: // manager_name
				row[3+k] = c.usrName[mgr]
			default:
				row[3+k] = ""
			}
		}
		return row
	})
}

// writeAssignments writes the assignments and, alongside, the noise truth.
func (c *company) writeAssignments(ctx context.Context, dir string, progress io.Writer) (asg, noise FileStat, err error) {
	header := []string{"usr_id", "ent_id", "last_used"}
	nt, err := newCSVTable(dir, TruthNoise, []string{"usr_id", "ent_id"})
	if err != nil {
		return asg, noise, err
	}
	var (
		sink  asgSink
		table tableWriter
	)
	if c.cfg.Format == FormatParquet {
		pt, err := newParquetTable(dir, TableAssignments+".parquet", header, c.cfg.RowGroupSize)
		if err != nil {
			nt.close()
			return asg, noise, err
		}
		sink, table = &parquetAsgSink{t: pt, c: c, days: timestampPrefixes()}, pt
	} else {
		ct, err := newCSVTable(dir, TableAssignments+".csv", header)
		if err != nil {
			nt.close()
			return asg, noise, err
		}
		sink, table = csvAsgSink{t: ct}, ct
	}
	_, _, err = c.generateAssignments(ctx, c.cfg.Format == FormatCSV, sink, nt, progress)
	asg, aerr := table.close()
	noise, nerr := nt.close()
	for _, e := range []error{err, aerr, nerr} {
		if e != nil {
			return asg, noise, e
		}
	}
	return asg, noise, nil
}

// jsonArray renders strings as a compact JSON array without HTML escaping.
func jsonArray(v []string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // strings always encode
	}
	return string(bytes.TrimRight(b.Bytes(), "\n"))
}

// ruleItems returns a rule's antecedent as sorted encoded items.
func (c *company) ruleItems(ru *rule) []string {
	items := make([]string, len(ru.items))
	for k, it := range ru.items {
		items[k] = c.itemString(it)
	}
	model.SortItems(items)
	return items
}

func (c *company) writeRules(dir string) (FileStat, error) {
	t, err := newCSVTable(dir, TruthPlantedRules, []string{"rule_id", "items", "entitlements", "members", "fire_prob"})
	if err != nil {
		return FileStat{}, err
	}
	return writeTable(t, len(c.rules), func(k int) []string {
		ru := &c.rules[k]
		ents := make([]string, len(ru.ents))
		for j, e := range ru.ents {
			ents[j] = c.ents[e].id
		}
		return []string{fmt.Sprintf("R%04d", k+1), jsonArray(c.ruleItems(ru)), jsonArray(ents),
			strconv.Itoa(ru.members), strconv.FormatFloat(ru.fire, 'f', 4, 64)}
	})
}

func (c *company) writeBirthrights(dir string) (FileStat, error) {
	t, err := newCSVTable(dir, TruthBirthright, []string{"ent_id", "scope"})
	if err != nil {
		return FileStat{}, err
	}
	return writeTable(t, len(c.birth), func(k int) []string {
		return []string{c.ents[c.birth[k].ent].id, c.birth[k].scope}
	})
}

var noiseModelNote = map[NoiseModel]string{
	NoiseMisplaced: "each noise assignment is an entitlement a planted rule grants, drawn in proportion to the identities expected to hold it through that rule, given to an identity outside the population of every rule granting it",
	NoiseUniform:   "each noise assignment is an entitlement drawn uniformly from all non-birthright entitlements, including those no planted rule grants",
}

// Summary is the content of truth/summary.json.
type Summary struct {
	Generator           string     `json:"generator"`
	Preset              string     `json:"preset,omitempty"`
	Config              Config     `json:"config"`
	Columns             []string   `json:"identity_columns"`
	Identities          int        `json:"identities"`
	Applications        int        `json:"applications"`
	Entitlements        int        `json:"entitlements"`
	Assignments         int64      `json:"assignments"`
	NoiseAssignments    int64      `json:"noise_assignments"`
	NoiseModel          NoiseModel `json:"noise_model"`
	NoiseModelNote      string     `json:"noise_model_note"`
	PlantedRules        int        `json:"planted_rules"`
	Birthrights         int        `json:"birthrights"`
	ExpectedBirthright  int64      `json:"expected_birthright_assignments"`
	ExpectedPlanted     int64      `json:"expected_planted_assignments"`
	PlantedTarget       int64      `json:"planted_target"`
	RuleAttempts        int        `json:"rule_candidates_tried"`
	SharedEntitlements  bool       `json:"bundles_share_entitlements"`
	Files               []FileStat `json:"files"`
	ItemEncoding        string     `json:"item_encoding"`
	BirthrightScopeNote string     `json:"birthright_scope"`
}

func (c *company) writeSummary(dir, preset string, res *Result) (FileStat, error) {
	cols := []string{colUsrID, colUsrName, colManagerID}
	for _, a := range c.attrs {
		cols = append(cols, a.name)
	}
	s := Summary{
		Generator:           "autoid gen",
		Preset:              preset,
		Config:              c.cfg,
		Columns:             cols,
		Identities:          res.Identities,
		Applications:        res.Applications,
		Entitlements:        res.Entitlements,
		Assignments:         res.Assignments,
		NoiseAssignments:    res.NoiseAssignments,
		NoiseModel:          res.NoiseModel,
		NoiseModelNote:      noiseModelNote[res.NoiseModel],
		PlantedRules:        res.PlantedRules,
		Birthrights:         res.Birthrights,
		ExpectedBirthright:  int64(c.birthExpected),
		ExpectedPlanted:     int64(c.plantedExpected),
		PlantedTarget:       int64(c.plantedTarget),
		RuleAttempts:        c.ruleAttempts,
		SharedEntitlements:  c.reusedEnts,
		Files:               res.Files,
		ItemEncoding:        "HH_NAME_value: NAME is the column upper-cased, HH its length in characters as two upper-case hex digits",
		BirthrightScopeNote: `"all" or the encoded item an identity must carry`,
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return FileStat{}, fmt.Errorf("encode %s: %w", TruthSummary, err)
	}
	b = append(b, '\n')
	if err := os.WriteFile(filepath.Join(dir, TruthSummary), b, 0o644); err != nil {
		return FileStat{}, fmt.Errorf("write %s: %w", TruthSummary, err)
	}
	return statFile(dir, TruthSummary, 1)
}
