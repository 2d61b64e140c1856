package gen

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/autoid-oss/autoid/model"
)

func smallConfig(t testing.TB) Config {
	t.Helper()
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func generate(t testing.TB, cfg Config) (string, *Result) {
	t.Helper()
	dir := t.TempDir()
	res, err := Generate(context.Background(), cfg, dir, Options{Preset: "test"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, res
}

// readDir returns every file under dir by relative path.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Identities, cfg.Assignments = 3000, 30000 // many chunks of few identities
	cfg.Workers = 1
	d1, _ := generate(t, cfg)
	cfg.Workers = 5
	d2, _ := generate(t, cfg)
	a, b := readDir(t, d1), readDir(t, d2)
	if len(a) != 8 {
		t.Fatalf("got %d files, want 8: %v", len(a), slices.Sorted(func(yield func(string) bool) {
			for k := range a {
				if !yield(k) {
					return
				}
			}
		}))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
	cfg.Seed = 2
	d3, _ := generate(t, cfg)
	c := readDir(t, d3)
	for _, name := range []string{"identities.csv", "assignments.csv", "truth/planted_rules.csv"} {
		if bytes.Equal(a[name], c[name]) {
			t.Errorf("%s identical for seeds 1 and 2", name)
		}
	}
}

func TestDeterministicParquet(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Identities, cfg.Assignments, cfg.Format = 2000, 20000, FormatParquet
	cfg.RowGroupSize = 5000
	d1, _ := generate(t, cfg)
	d2, _ := generate(t, cfg)
	a, b := readDir(t, d1), readDir(t, d2)
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
}

// readCSV parses a whole CSV file, failing on inconsistent column counts.
func readCSV(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: empty", path)
	}
	return recs[0], recs[1:]
}

func column(t *testing.T, header []string, name string) int {
	t.Helper()
	k := slices.Index(header, name)
	if k < 0 {
		t.Fatalf("no column %q in %v", name, header)
	}
	return k
}

func TestSmallPreset(t *testing.T) {
	cfg := smallConfig(t)
	dir, res := generate(t, cfg)

	// Sizes.
	want := map[string]int64{"applications.csv": 30, "entitlements.csv": 600, "identities.csv": 5000}
	for _, f := range res.Files {
		if n, ok := want[f.Path]; ok && f.Rows != n {
			t.Errorf("%s: %d rows, want %d", f.Path, f.Rows, n)
		}
		if f.Bytes <= 0 {
			t.Errorf("%s: %d bytes", f.Path, f.Bytes)
		}
	}
	if res.Assignments < 45_000 || res.Assignments > 55_000 {
		t.Errorf("assignments %d, want 50000 ± 10%%", res.Assignments)
	}
	if res.PlantedRules < 10 {
		t.Errorf("only %d planted rules", res.PlantedRules)
	}

	// Tables parse and refer to each other.
	ah, apps := readCSV(t, filepath.Join(dir, "applications.csv"))
	if !slices.Equal(ah, []string{"app_id", "app_name", "app_owner_id", "app_criticality", "app_risk_level"}) {
		t.Errorf("applications header %v", ah)
	}
	eh, ents := readCSV(t, filepath.Join(dir, "entitlements.csv"))
	if !slices.Equal(eh, []string{"ent_id", "ent_name", "ent_owner_id", "app_id", "ent_criticality", "ent_risk_level"}) {
		t.Errorf("entitlements header %v", eh)
	}
	ih, ids := readCSV(t, filepath.Join(dir, "identities.csv"))
	if len(ih) != 3+cfg.Attributes || !slices.Equal(ih[:3], []string{"usr_id", "usr_name", "usr_manager_id"}) {
		t.Errorf("identities header %v", ih)
	}
	sh, asg := readCSV(t, filepath.Join(dir, "assignments.csv"))
	if !slices.Equal(sh, []string{"usr_id", "ent_id", "last_used"}) {
		t.Errorf("assignments header %v", sh)
	}
	if int64(len(asg)) != res.Assignments || len(ids) != 5000 || len(ents) != 600 || len(apps) != 30 {
		t.Fatalf("row counts %d/%d/%d/%d disagree with the result", len(apps), len(ents), len(ids), len(asg))
	}

	appSet := map[string]bool{}
	for _, a := range apps {
		appSet[a[0]] = true
	}
	users := map[string]int{}
	names := map[string]string{}
	for k, r := range ids {
		if _, dup := users[r[0]]; dup {
			t.Fatalf("duplicate usr_id %q", r[0])
		}
		users[r[0]] = k
		names[r[0]] = r[1]
	}
	for _, a := range apps {
		if _, ok := users[a[2]]; !ok {
			t.Errorf("application %s owner %q is no identity", a[0], a[2])
		}
	}
	entSet := map[string]bool{}
	for _, e := range ents {
		if entSet[e[0]] {
			t.Fatalf("duplicate ent_id %q", e[0])
		}
		entSet[e[0]] = true
		if !appSet[e[3]] {
			t.Errorf("entitlement %s: unknown app %q", e[0], e[3])
		}
		if _, ok := users[e[2]]; !ok {
			t.Errorf("entitlement %s owner %q is no identity", e[0], e[2])
		}
	}
	mgrCol, mgrNameCol := column(t, ih, "usr_manager_id"), column(t, ih, "manager_name")
	roots := 0
	for _, r := range ids {
		if r[mgrCol] == "" {
			roots++
			continue
		}
		if _, ok := users[r[mgrCol]]; !ok || r[mgrCol] == r[0] {
			t.Fatalf("identity %s: bad manager %q", r[0], r[mgrCol])
		}
		if r[mgrNameCol] != names[r[mgrCol]] {
			t.Fatalf("identity %s: manager_name %q is not the name of %s", r[0], r[mgrNameCol], r[mgrCol])
		}
	}
	if roots != 1 {
		t.Errorf("%d identities without a manager, want 1", roots)
	}
	seen := map[[2]string]bool{}
	for _, a := range asg {
		if _, ok := users[a[0]]; !ok || !entSet[a[1]] {
			t.Fatalf("assignment %v refers to an unknown identity or entitlement", a)
		}
		k := [2]string{a[0], a[1]}
		if seen[k] {
			t.Fatalf("duplicate assignment %v", a)
		}
		seen[k] = true
		if a[2] != "" {
			if _, err := time.Parse(time.RFC3339, a[2]); err != nil {
				t.Fatalf("assignment %v: last_used: %v", a, err)
			}
		}
	}

	// Ground truth.
	_, noise := readCSV(t, filepath.Join(dir, TruthNoise))
	if int64(len(noise)) != res.NoiseAssignments || len(noise) == 0 {
		t.Errorf("%d noise rows, result says %d", len(noise), res.NoiseAssignments)
	}
	for _, n := range noise {
		if !seen[[2]string{n[0], n[1]}] {
			t.Fatalf("noise assignment %v not in assignments", n)
		}
	}
	rh, rules := readCSV(t, filepath.Join(dir, TruthPlantedRules))
	if !slices.Equal(rh[:4], []string{"rule_id", "items", "entitlements", "members"}) {
		t.Errorf("planted_rules header %v", rh)
	}
	if len(rules) != res.PlantedRules {
		t.Errorf("%d planted rules, result says %d", len(rules), res.PlantedRules)
	}
	held := map[string][]string{}
	for _, a := range asg {
		held[a[0]] = append(held[a[0]], a[1])
	}
	colOf := map[string]int{}
	for k, h := range ih {
		colOf[strings.ToUpper(h)] = k
	}
	for _, ru := range rules {
		var items, bundle []string
		if err := json.Unmarshal([]byte(ru[1]), &items); err != nil {
			t.Fatalf("rule %s items: %v", ru[0], err)
		}
		if err := json.Unmarshal([]byte(ru[2]), &bundle); err != nil {
			t.Fatalf("rule %s entitlements: %v", ru[0], err)
		}
		if len(items) < 1 || len(items) > 3 || len(bundle) < 2 || !slices.IsSorted(items) {
			t.Fatalf("rule %s: %d items (sorted %v), %d entitlements", ru[0], len(items), slices.IsSorted(items), len(bundle))
		}
		var its []model.Item
		for _, s := range items {
			it, err := model.ParseItem(s)
			if err != nil {
				t.Fatalf("rule %s: %v", ru[0], err)
			}
			if _, ok := colOf[it.Name]; !ok {
				t.Fatalf("rule %s: item %s names no identity column", ru[0], s)
			}
			its = append(its, it)
		}
		members, got := 0, 0
		for _, r := range ids {
			ok := true
			for _, it := range its {
				ok = ok && r[colOf[it.Name]] == it.Value
			}
			if !ok {
				continue
			}
			members++
			for _, e := range bundle {
				if slices.Contains(held[r[0]], e) {
					got++
				}
			}
		}
		if want, _ := strconv.Atoi(ru[3]); members != want || members < cfg.MinRuleMembers {
			t.Errorf("rule %s: %d members, truth says %s (min %d)", ru[0], members, ru[3], cfg.MinRuleMembers)
		}
		if frac := float64(got) / float64(members*len(bundle)); frac < 0.85 || frac > 0.999 {
			t.Errorf("rule %s: members hold %.3f of the bundle", ru[0], frac)
		}
	}
	_, birth := readCSV(t, filepath.Join(dir, TruthBirthright))
	if len(birth) != res.Birthrights || len(birth) < 3 {
		t.Fatalf("%d birthrights", len(birth))
	}
	for _, b := range birth {
		holders := 0
		for _, h := range held {
			if slices.Contains(h, b[0]) {
				holders++
			}
		}
		if b[1] == "all" && holders < len(ids)*95/100 {
			t.Errorf("birthright %s held by %d of %d", b[0], holders, len(ids))
		}
	}
	var sum Summary
	b, err := os.ReadFile(filepath.Join(dir, TruthSummary))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Config.Identities != 5000 || sum.Assignments != res.Assignments || sum.Preset != "test" {
		t.Errorf("summary %+v", sum)
	}
}

func parquetRows(t *testing.T, path string) (int64, []string) {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer tbl.Release()
	var names []string
	for _, f := range tbl.Schema().Fields() {
		names = append(names, f.Name)
	}
	return tbl.NumRows(), names
}

func TestParquet(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Identities, cfg.Assignments = 2000, 20000
	csvDir, csvRes := generate(t, cfg)
	cfg.Format, cfg.RowGroupSize = FormatParquet, 7000
	pqDir, pqRes := generate(t, cfg)
	if csvRes.Assignments != pqRes.Assignments {
		t.Errorf("assignments: csv %d, parquet %d", csvRes.Assignments, pqRes.Assignments)
	}
	for _, f := range pqRes.Files {
		if !strings.HasSuffix(f.Path, ".parquet") {
			continue
		}
		n, cols := parquetRows(t, filepath.Join(pqDir, f.Path))
		if n != f.Rows {
			t.Errorf("%s: read %d rows, wrote %d", f.Path, n, f.Rows)
		}
		ch, _ := readCSV(t, filepath.Join(csvDir, strings.TrimSuffix(f.Path, ".parquet")+".csv"))
		if !slices.Equal(cols, ch) {
			t.Errorf("%s: columns %v, csv has %v", f.Path, cols, ch)
		}
	}
	// The truth does not depend on the format.
	for _, name := range []string{TruthNoise, TruthPlantedRules, TruthBirthright} {
		a, _ := os.ReadFile(filepath.Join(csvDir, name))
		b, _ := os.ReadFile(filepath.Join(pqDir, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between csv and parquet", name)
		}
	}
}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Identities = 1 },
		func(c *Config) { c.Attributes = 0 },
		func(c *Config) { c.Entitlements = 3 },
		func(c *Config) { c.NoiseRate = 1.5 },
		func(c *Config) { c.FireProb = 0 },
		func(c *Config) { c.MaxRuleItems = 4 },
		func(c *Config) { c.Format = "xlsx" },
		func(c *Config) { c.MinBundle, c.MaxBundle = 5, 3 },
	}
	for k, mod := range bad {
		cfg := smallConfig(t)
		mod(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("case %d: invalid config accepted", k)
		}
		if _, err := Generate(context.Background(), cfg, t.TempDir(), Options{}); err == nil {
			t.Errorf("case %d: Generate accepted an invalid config", k)
		}
	}
}

// TestOverrides exercises knobs away from the presets: few attributes (no
// usr_emp_type), many generic attributes, scarce entitlements, no noise.
func TestOverrides(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Identities, cfg.Assignments = 1500, 15000
	cfg.Attributes, cfg.Entitlements, cfg.Applications, cfg.NoiseRate = 4, 40, 5, 0
	dir, res := generate(t, cfg)
	ih, _ := readCSV(t, filepath.Join(dir, "identities.csv"))
	if len(ih) != 7 || slices.Contains(ih, "usr_emp_type") {
		t.Errorf("header %v", ih)
	}
	if res.NoiseAssignments != 0 || res.Birthrights != cfg.Birthrights {
		t.Errorf("noise %d, birthrights %d", res.NoiseAssignments, res.Birthrights)
	}
	cfg.Attributes, cfg.Entitlements, cfg.Applications, cfg.NoiseRate = 30, 2000, 40, 0.2
	dir, res = generate(t, cfg)
	ih, _ = readCSV(t, filepath.Join(dir, "identities.csv"))
	if len(ih) != 33 || ih[32] != "attr_21" {
		t.Errorf("header %v", ih)
	}
	if frac := float64(res.NoiseAssignments) / float64(res.Assignments); frac < 0.15 || frac > 0.25 {
		t.Errorf("noise fraction %.3f, want about 0.2", frac)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := smallConfig(t)
	_, err := Generate(ctx, cfg, t.TempDir(), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestProgress(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Identities, cfg.Assignments = 1000, 10000
	var buf bytes.Buffer
	if _, err := Generate(context.Background(), cfg, t.TempDir(), Options{Progress: &buf}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "100%") {
		t.Errorf("progress output %q", buf.String())
	}
	_ = io.Discard
}

func TestCSVQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"a,b":             `"a,b"`,
		`"Gold" Accounts`: `"""Gold"" Accounts"`,
		"line\nbreak":     "\"line\nbreak\"",
		" leading space ": " leading space ",
		"Zürich":          "Zürich",
	} {
		if got := csvQuote(in); got != want {
			t.Errorf("csvQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEdgeConfigs runs configurations far from the presets; the generator
// must not fail and should still land near the assignment target.
func TestEdgeConfigs(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		tol  float64 // allowed relative miss of the target; 0: not checked
	}{
		{"one attribute", func(c *Config) { c.Attributes = 1 }, 0.1},
		{"two departments one city", func(c *Config) { c.Departments, c.Cities = 2, 1 }, 0.1},
		{"dense", func(c *Config) { c.Identities, c.Assignments = 1000, 60_000 }, 0.1},
		{"scarce entitlements", func(c *Config) { c.Entitlements, c.Applications = 40, 2 }, 0.1},
		{"single items and entitlements", func(c *Config) { c.MaxRuleItems, c.MinBundle, c.MaxBundle = 1, 1, 1 }, 0.1},
		{"many attributes", func(c *Config) { c.Attributes, c.AttrCardinality = 60, 2 }, 0.1},
		{"wide vocabularies", func(c *Config) { c.Departments, c.Cities, c.JobCodesPerDept = 200, 300, 60 }, 0.1},
		{"all noise", func(c *Config) { c.FireProb, c.BirthrightProb, c.NoiseRate = 1, 0, 0.9 }, 0.1},
		{"tiny parquet", func(c *Config) {
			c.Format, c.RowGroupSize, c.Identities, c.Assignments = FormatParquet, 1, 50, 500
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig(t)
			tc.mod(&cfg)
			_, res := generate(t, cfg)
			miss := float64(res.Assignments)/float64(cfg.Assignments) - 1
			if tc.tol > 0 && (miss > tc.tol || miss < -tc.tol) {
				t.Errorf("%d assignments for a target of %d", res.Assignments, cfg.Assignments)
			}
		})
	}
}

// plantedTruth reads the identities and the planted rules of dir: per rule
// its bundle and whether each identity (by row) is in its population.
func plantedTruth(t *testing.T, dir string) (ids [][]string, bundles [][]string, member [][]bool) {
	t.Helper()
	ih, ids := readCSV(t, filepath.Join(dir, "identities.csv"))
	colOf := map[string]int{}
	for k, h := range ih {
		colOf[strings.ToUpper(h)] = k
	}
	_, rules := readCSV(t, filepath.Join(dir, TruthPlantedRules))
	for _, ru := range rules {
		var items, bundle []string
		if err := json.Unmarshal([]byte(ru[1]), &items); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(ru[2]), &bundle); err != nil {
			t.Fatal(err)
		}
		in := make([]bool, len(ids))
		for k, r := range ids {
			in[k] = true
			for _, s := range items {
				it, err := model.ParseItem(s)
				if err != nil {
					t.Fatal(err)
				}
				in[k] = in[k] && r[colOf[it.Name]] == it.Value
			}
		}
		bundles, member = append(bundles, bundle), append(member, in)
	}
	return ids, bundles, member
}

// Misplaced noise (the presets' model) lands only on entitlements that a
// planted rule grants, and only on identities outside the population of
// every rule granting it; uniform noise also lands on entitlements no rule
// grants.
func TestNoiseModels(t *testing.T) {
	cfg := smallConfig(t)
	if cfg.NoiseModel != NoiseMisplaced {
		t.Fatalf("preset noise model %q", cfg.NoiseModel)
	}
	cfg.NoiseRate = 0.2
	dir, res := generate(t, cfg)
	if res.NoiseModel != NoiseMisplaced {
		t.Errorf("result noise model %q", res.NoiseModel)
	}
	ids, bundles, member := plantedTruth(t, dir)
	row := map[string]int{}
	for k, r := range ids {
		row[r[0]] = k
	}
	grantedBy := map[string][]int{}
	for k, b := range bundles {
		for _, e := range b {
			grantedBy[e] = append(grantedBy[e], k)
		}
	}
	_, noise := readCSV(t, filepath.Join(dir, TruthNoise))
	if frac := float64(len(noise)) / float64(res.Assignments); frac < 0.17 || frac > 0.23 {
		t.Errorf("misplaced noise is %.3f of the assignments, want about 0.2", frac)
	}
	ents := map[string]bool{}
	for _, n := range noise {
		rules := grantedBy[n[1]]
		if len(rules) == 0 {
			t.Fatalf("noise %v: no planted rule grants %s", n, n[1])
		}
		for _, k := range rules {
			if member[k][row[n[0]]] {
				t.Fatalf("noise %v: %s is in the population of planted rule %d, which grants %s", n, n[0], k+1, n[1])
			}
		}
		ents[n[1]] = true
	}
	if len(ents) < len(grantedBy)/2 {
		t.Errorf("misplaced noise on %d of the %d granted entitlements", len(ents), len(grantedBy))
	}
	var sum Summary
	if b, err := os.ReadFile(filepath.Join(dir, TruthSummary)); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.NoiseModel != NoiseMisplaced || sum.Config.NoiseModel != NoiseMisplaced || sum.NoiseModelNote == "" {
		t.Errorf("summary noise model %q (config %q), note %q", sum.NoiseModel, sum.Config.NoiseModel, sum.NoiseModelNote)
	}

	cfg.NoiseModel = NoiseUniform
	dir, res = generate(t, cfg)
	if res.NoiseModel != NoiseUniform {
		t.Errorf("result noise model %q", res.NoiseModel)
	}
	_, noise = readCSV(t, filepath.Join(dir, TruthNoise))
	ungranted := 0
	for _, n := range noise {
		if len(grantedBy[n[1]]) == 0 {
			ungranted++
		}
	}
	if ungranted == 0 {
		t.Errorf("none of %d uniform noise assignments is on an entitlement no rule grants", len(noise))
	}

	// No planted rule: nothing to misplace, noise is uniform and says so.
	cfg.NoiseModel, cfg.NoiseRate, cfg.BirthrightProb = NoiseMisplaced, 0.9, 1
	cfg.Birthrights, cfg.Assignments = 10, int64(cfg.Identities)*10
	_, res = generate(t, cfg)
	if res.PlantedRules != 0 || res.NoiseModel != NoiseUniform || res.NoiseAssignments == 0 {
		t.Errorf("without planted rules: %d rules, %d noise assignments, model %q", res.PlantedRules, res.NoiseAssignments, res.NoiseModel)
	}
}
