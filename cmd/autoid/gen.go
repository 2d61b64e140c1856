package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/gen"
)

// genFlags are the knobs of `autoid gen` that override the preset.
type genFlags struct {
	preset, format, out, noiseModel string
	seed                            uint64
	quiet                           bool

	identities, attributes, departments, cities, jobcodes, costCenters int
	attrCardinality, managerSpan, applications, entitlements           int
	birthrights, minRuleMembers, maxRuleItems, minBundle, maxBundle    int
	rowGroupSize, workers                                              int
	assignments                                                        int64
	noiseRate, fireProb, birthrightProb, maxRuleShare                  float64
}

func newGenCmd(g *globals) *cobra.Command {
	var f genFlags
	cmd := &cobra.Command{
		Use:   "gen --out DIR [--preset small|medium|large|xl] [--seed N] [--format csv|parquet]",
		Short: "Generate a synthetic company (identities, entitlements, assignments) with ground truth",
		Long: `gen writes a deterministic synthetic company for tests and benchmarks.

Identities carry correlated HR attributes (the department drives job codes, cost
centres, cities, line of business and managers; usr_manager_id refers to another
identity and manager_name renames it one to one). Assignments come from planted
rules (1 to 3 attribute values granting a bundle of entitlements, each held by a
member with probability about --fire-prob), birthright entitlements and random
noise at --noise-rate. --noise-model says what the noise is: misplaced (the
default) gives an identity an entitlement that a planted rule grants to a
population it is not part of (another department's or job's access), the
pair drawn in proportion to the identities holding the entitlement through
that rule; uniform draws the entitlement uniformly from all non-birthright
entitlements, including those no rule grants. summary.json records the
model used.

Files written to DIR (CSV or Parquet, canonical lower-case column names):
  applications, entitlements, identities, assignments
and the ground truth, always CSV, under DIR/truth:
  planted_rules.csv      rule_id, items (JSON array of encoded items HH_NAME_value),
                         entitlements (JSON array of ent_ids), members, fire_prob
  noise_assignments.csv  usr_id, ent_id
  birthright.csv         ent_id, scope ("all" or an encoded item)
  summary.json           the parameters used and the counts

Presets (the flags below override them; unset flags keep the preset's value):
  small    5k identities,   9 attributes,    600 entitlements,  ~50k assignments
  medium   50k identities, 12 attributes,  5,000 entitlements,   ~3M assignments
  large    100k identities, 20 attributes, 10,000 entitlements, ~10M assignments
  xl       1M identities,  25 attributes, 20,000 entitlements,  ~50M assignments

The same preset, overrides and seed produce byte-identical files.`,
		Example: `  autoid gen --preset small --out ./company
  autoid gen --preset large --seed 7 --format parquet --out /tmp/large
  autoid gen --preset medium --identities 20000 --noise-rate 0.1 --out ./noisy`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{cmd: "gen", err: fmt.Errorf("unexpected argument %q (gen takes only flags)", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGen(cmd, g, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.preset, "preset", "small", "size preset: "+strings.Join(gen.PresetNames(), ", "))
	fl.Uint64Var(&f.seed, "seed", 1, "random seed; the same seed gives the same files")
	fl.StringVar(&f.format, "format", "csv", "format of the entity tables: csv or parquet (the truth is always CSV)")
	fl.StringVar(&f.out, "out", "", "output directory (created if missing; required)")
	fl.BoolVar(&f.quiet, "quiet", false, "print nothing but errors")

	fl.IntVar(&f.identities, "identities", 0, "number of identities (default: from preset)")
	fl.IntVar(&f.attributes, "attributes", 0, "number of HR attribute columns besides usr_id, usr_name, usr_manager_id; beyond 9 they are attr_NN")
	fl.IntVar(&f.departments, "departments", 0, "number of departments")
	fl.IntVar(&f.cities, "cities", 0, "number of cities")
	fl.IntVar(&f.jobcodes, "jobcodes-per-dept", 0, "staff job codes per department")
	fl.IntVar(&f.costCenters, "cost-centers-per-dept", 0, "cost centres per department (at least 2)")
	fl.IntVar(&f.attrCardinality, "attr-cardinality", 0, "largest cardinality of the generic attr_NN columns")
	fl.IntVar(&f.managerSpan, "manager-span", 0, "average number of direct reports per manager")
	fl.IntVar(&f.applications, "applications", 0, "number of applications")
	fl.IntVar(&f.entitlements, "entitlements", 0, "number of entitlements")
	fl.Int64Var(&f.assignments, "assignments", 0, "target number of assignments (met approximately)")
	fl.Float64Var(&f.noiseRate, "noise-rate", 0, "fraction of assignments that are random noise, 0..0.9 (preset: 0.05)")
	fl.StringVar(&f.noiseModel, "noise-model", "", "what noise is: misplaced (another population's planted entitlement) or uniform (any non-birthright entitlement) (preset: misplaced)")
	fl.Float64Var(&f.fireProb, "fire-prob", 0, "probability that a rule member holds each bundle entitlement (preset: 0.95)")
	fl.IntVar(&f.birthrights, "birthrights", 0, "entitlements everyone holds (plus one each for Employee and Contractor)")
	fl.Float64Var(&f.birthrightProb, "birthright-prob", 0, "probability that an identity in scope holds a birthright (preset: 0.99)")
	fl.IntVar(&f.minRuleMembers, "min-rule-members", 0, "fewest identities a planted rule covers")
	fl.Float64Var(&f.maxRuleShare, "max-rule-share", 0, "largest fraction of identities a planted rule covers")
	fl.IntVar(&f.maxRuleItems, "max-rule-items", 0, "longest planted antecedent, 1..3")
	fl.IntVar(&f.minBundle, "min-bundle", 0, "fewest entitlements a planted rule grants")
	fl.IntVar(&f.maxBundle, "max-bundle", 0, "most entitlements a planted rule grants")
	fl.IntVar(&f.rowGroupSize, "row-group-size", 0, "rows per Parquet row group (preset: 1048576)")
	fl.IntVar(&f.workers, "workers", 0, "generator goroutines (default: number of CPUs; does not change the output)")
	return cmd
}

func runGen(cmd *cobra.Command, g *globals, f *genFlags) error {
	usage := func(err error) error { return usageError{cmd: "gen", err: err} }
	if f.out == "" {
		return usage(errors.New("--out DIR is required"))
	}
	cfg, err := gen.Preset(f.preset)
	if err != nil {
		return usage(err)
	}
	cfg.Seed = f.seed
	cfg.Format = gen.Format(strings.ToLower(f.format))
	changed := cmd.Flags().Changed
	setInt := func(name string, dst *int, v int) {
		if changed(name) {
			*dst = v
		}
	}
	setFloat := func(name string, dst *float64, v float64) {
		if changed(name) {
			*dst = v
		}
	}
	setInt("identities", &cfg.Identities, f.identities)
	setInt("attributes", &cfg.Attributes, f.attributes)
	setInt("departments", &cfg.Departments, f.departments)
	setInt("cities", &cfg.Cities, f.cities)
	setInt("jobcodes-per-dept", &cfg.JobCodesPerDept, f.jobcodes)
	setInt("cost-centers-per-dept", &cfg.CostCentersPerDept, f.costCenters)
	setInt("attr-cardinality", &cfg.AttrCardinality, f.attrCardinality)
	setInt("manager-span", &cfg.ManagerSpan, f.managerSpan)
	setInt("applications", &cfg.Applications, f.applications)
	setInt("entitlements", &cfg.Entitlements, f.entitlements)
	setInt("birthrights", &cfg.Birthrights, f.birthrights)
	setInt("min-rule-members", &cfg.MinRuleMembers, f.minRuleMembers)
	setInt("max-rule-items", &cfg.MaxRuleItems, f.maxRuleItems)
	setInt("min-bundle", &cfg.MinBundle, f.minBundle)
	setInt("max-bundle", &cfg.MaxBundle, f.maxBundle)
	setInt("row-group-size", &cfg.RowGroupSize, f.rowGroupSize)
	setInt("workers", &cfg.Workers, f.workers)
	setFloat("noise-rate", &cfg.NoiseRate, f.noiseRate)
	setFloat("fire-prob", &cfg.FireProb, f.fireProb)
	setFloat("birthright-prob", &cfg.BirthrightProb, f.birthrightProb)
	setFloat("max-rule-share", &cfg.MaxRuleShare, f.maxRuleShare)
	if changed("noise-model") {
		cfg.NoiseModel = gen.NoiseModel(strings.ToLower(f.noiseModel))
	}
	if changed("assignments") {
		cfg.Assignments = f.assignments
	} else if changed("identities") {
		// Keep the preset's assignments per identity.
		p, _ := gen.Preset(f.preset)
		cfg.Assignments = p.Assignments * int64(cfg.Identities) / int64(p.Identities)
	}
	if err := cfg.Validate(); err != nil {
		return usage(err)
	}

	opt := gen.Options{Preset: f.preset}
	if !f.quiet && (cfg.Identities >= 100_000 || cfg.Assignments >= 5_000_000) {
		opt.Progress = g.stderr
	}
	res, err := gen.Generate(cmd.Context(), cfg, f.out, opt)
	if err != nil {
		return err
	}
	if f.quiet {
		return nil
	}
	for _, st := range res.Files {
		fmt.Fprintf(g.stderr, "gen: %-28s %12d rows %14d bytes\n", st.Path, st.Rows, st.Bytes)
	}
	fmt.Fprintf(g.stderr, "gen: preset %s seed %d: %d identities, %d entitlements, %d assignments (%d %s noise), %d planted rules in %.1fs -> %s\n",
		f.preset, cfg.Seed, res.Identities, res.Entitlements, res.Assignments, res.NoiseAssignments, res.NoiseModel,
		res.PlantedRules, res.Duration.Seconds(), f.out)
	return nil
}
