package gen

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
)

// Format is the file format of the four entity tables. Ground truth is always
// CSV.
type Format string

// The supported output formats.
const (
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// NoiseModel says how noise assignments are drawn.
type NoiseModel string

// The noise models.
const (
	// NoiseMisplaced draws misplaced access, the usual shape of anomalous
	// access: an entitlement that a planted rule grants to its population,
	// given to an identity outside the population of every rule that grants
	// it. The (rule, entitlement) pair is drawn in proportion to the
	// identities expected to hold the entitlement through that rule, as if
	// an identity had been granted the access of a random colleague in
	// another department or job. With no planted rule there is nothing to
	// misplace and noise is drawn as NoiseUniform.
	NoiseMisplaced NoiseModel = "misplaced"
	// NoiseUniform draws noise entitlements uniformly over all
	// non-birthright entitlements, including those no planted rule grants.
	NoiseUniform NoiseModel = "uniform"
)

// NoiseModels lists the noise models, the default first.
func NoiseModels() []NoiseModel { return []NoiseModel{NoiseMisplaced, NoiseUniform} }

// Config describes the synthetic company. Preset returns a filled-in Config;
// any field may then be overridden. All counts are exact except Assignments,
// which is a target the generator calibrates its planted rules against
// (typically met within a few percent).
type Config struct {
	Seed uint64 `json:"seed"`

	// Identities is the number of identities (rows of identities).
	Identities int `json:"identities"`
	// Attributes is the number of HR attribute columns of identities, not
	// counting usr_id, usr_name and usr_manager_id. The first nine are the
	// realistic ones (usr_department_name, jobcode_name, city, cost_center,
	// usr_emp_type, line_of_business, chief_yes_no, manager_name,
	// line_of_business_subgroup); further ones are generic attr_NN columns.
	Attributes int `json:"attributes"`
	// Departments is the number of departments; the department drives job
	// codes, cost centres, cities, line of business and managers.
	Departments int `json:"departments"`
	// Cities is the number of distinct cities.
	Cities int `json:"cities"`
	// JobCodesPerDept is the number of staff job codes of each department.
	JobCodesPerDept int `json:"jobcodes_per_dept"`
	// CostCentersPerDept is the number of cost centres of each department (at
	// least 2, so that a cost centre is never a renaming of a department).
	CostCentersPerDept int `json:"cost_centers_per_dept"`
	// AttrCardinality is the largest cardinality of the generic attr_NN
	// columns; they cycle through AttrCardinality, /2 and /4.
	AttrCardinality int `json:"attr_cardinality"`
	// ManagerSpan is the average number of direct reports of a manager.
	ManagerSpan int `json:"manager_span"`

	// Applications and Entitlements are the sizes of those tables.
	Applications int `json:"applications"`
	Entitlements int `json:"entitlements"`
	// Assignments is the target number of assignments.
	Assignments int64 `json:"assignments"`

	// NoiseRate is the fraction of assignments that are random noise.
	NoiseRate float64 `json:"noise_rate"`
	// NoiseModel is how noise assignments are drawn (presets:
	// NoiseMisplaced).
	NoiseModel NoiseModel `json:"noise_model"`
	// FireProb is the probability that a member of a planted rule holds each
	// entitlement of its bundle (each rule jitters it by up to ±0.03).
	FireProb float64 `json:"fire_prob"`
	// Birthrights is the number of entitlements everyone gets; one more per
	// employee type Employee and Contractor is added when usr_emp_type is an
	// output column.
	Birthrights int `json:"birthrights"`
	// BirthrightProb is the probability that an identity in scope holds a
	// birthright entitlement.
	BirthrightProb float64 `json:"birthright_prob"`
	// MinRuleMembers is the fewest identities a planted rule covers.
	MinRuleMembers int `json:"min_rule_members"`
	// MaxRuleShare is the largest fraction of identities a planted rule covers.
	MaxRuleShare float64 `json:"max_rule_share"`
	// MaxRuleItems is the longest antecedent of a planted rule (1..3).
	MaxRuleItems int `json:"max_rule_items"`
	// MinBundle and MaxBundle bound the number of entitlements a planted rule
	// grants.
	MinBundle int `json:"min_bundle"`
	MaxBundle int `json:"max_bundle"`

	// Format of the entity tables.
	Format Format `json:"format"`
	// RowGroupSize is the number of rows per Parquet row group.
	RowGroupSize int `json:"row_group_size"`
	// Workers is the number of goroutines generating assignments; 0 means
	// GOMAXPROCS. The output does not depend on it.
	Workers int `json:"-"`
}

// PresetNames lists the presets, smallest first.
func PresetNames() []string { return []string{"small", "medium", "large", "xl"} }

// Preset returns the configuration of a named preset with seed 1 and CSV
// output:
//
//	small   5k identities,   9 attributes,    600 entitlements,  ~50k assignments
//	medium  50k identities, 12 attributes,  5,000 entitlements,   ~3M assignments
//	large   100k identities, 20 attributes, 10,000 entitlements, ~10M assignments
//	xl      1M identities,  25 attributes, 20,000 entitlements,  ~50M assignments
func Preset(name string) (Config, error) {
	c := Config{
		Seed:               1,
		Departments:        12,
		Cities:             12,
		JobCodesPerDept:    6,
		CostCentersPerDept: 3,
		AttrCardinality:    24,
		ManagerSpan:        10,
		NoiseRate:          0.05,
		NoiseModel:         NoiseMisplaced,
		FireProb:           0.95,
		Birthrights:        3,
		BirthrightProb:     0.99,
		MaxRuleShare:       0.1,
		MaxRuleItems:       3,
		MinBundle:          2,
		Format:             FormatCSV,
		RowGroupSize:       1 << 20,
	}
	switch name {
	case "small":
		c.Identities, c.Attributes, c.Applications, c.Entitlements, c.Assignments = 5_000, 9, 30, 600, 50_000
		c.MinRuleMembers, c.MaxBundle = 20, 6
	case "medium":
		c.Identities, c.Attributes, c.Applications, c.Entitlements, c.Assignments = 50_000, 12, 150, 5_000, 3_000_000
		c.Departments, c.Cities, c.JobCodesPerDept, c.CostCentersPerDept = 25, 30, 8, 4
		c.MinRuleMembers, c.MaxBundle = 60, 15
	case "large":
		c.Identities, c.Attributes, c.Applications, c.Entitlements, c.Assignments = 100_000, 20, 300, 10_000, 10_000_000
		c.Departments, c.Cities, c.JobCodesPerDept, c.CostCentersPerDept = 30, 45, 10, 5
		c.MinRuleMembers, c.MaxBundle = 60, 20
	case "xl":
		c.Identities, c.Attributes, c.Applications, c.Entitlements, c.Assignments = 1_000_000, 25, 500, 20_000, 50_000_000
		c.Departments, c.Cities, c.JobCodesPerDept, c.CostCentersPerDept = 40, 60, 12, 6
		c.AttrCardinality = 48
		c.MinRuleMembers, c.MaxBundle = 100, 20
	default:
		return Config{}, fmt.Errorf("unknown preset %q (want one of %v)", name, PresetNames())
	}
	return c, nil
}

// maxCardinality is the most values an attribute column may have (values
// are stored as uint16 indices).
const maxCardinality = math.MaxUint16

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Identities >= 10 && c.Identities <= 50_000_000, "identities %d outside 10..50000000", c.Identities)
	check(c.Attributes >= 1 && c.Attributes <= 250, "attributes %d outside 1..250", c.Attributes)
	check(c.Departments >= 2 && c.Departments <= 1000, "departments %d outside 2..1000", c.Departments)
	check(c.Cities >= 1 && c.Cities <= 10_000, "cities %d outside 1..10000", c.Cities)
	check(c.JobCodesPerDept >= 1 && c.JobCodesPerDept <= 60, "jobcodes per department %d outside 1..60", c.JobCodesPerDept)
	check(c.CostCentersPerDept >= 2 && c.CostCentersPerDept <= 60, "cost centres per department %d outside 2..60", c.CostCentersPerDept)
	check(c.AttrCardinality >= 2 && c.AttrCardinality <= maxCardinality, "attribute cardinality %d outside 2..%d", c.AttrCardinality, maxCardinality)
	check(c.ManagerSpan >= 2 && c.ManagerSpan <= 1000, "manager span %d outside 2..1000", c.ManagerSpan)
	check(c.Applications >= 2, "applications %d: need at least 2", c.Applications)
	nb := c.Birthrights + 2
	check(c.Entitlements >= c.Applications+nb && c.Entitlements >= nb+c.MinBundle,
		"entitlements %d: need at least applications + birthrights + 2 (%d)", c.Entitlements, c.Applications+nb)
	check(c.Assignments >= 0, "assignments %d negative", c.Assignments)
	check(c.NoiseRate >= 0 && c.NoiseRate <= 0.9, "noise rate %g outside 0..0.9", c.NoiseRate)
	check(slices.Contains(NoiseModels(), c.NoiseModel), "noise model %q: want misplaced or uniform", c.NoiseModel)
	check(c.FireProb > 0 && c.FireProb <= 1, "fire probability %g outside (0, 1]", c.FireProb)
	check(c.Birthrights >= 0 && c.Birthrights <= 100, "birthrights %d outside 0..100", c.Birthrights)
	check(c.BirthrightProb >= 0 && c.BirthrightProb <= 1, "birthright probability %g outside 0..1", c.BirthrightProb)
	check(c.MinRuleMembers >= 1, "min rule members %d: need at least 1", c.MinRuleMembers)
	check(c.MaxRuleShare > 0 && c.MaxRuleShare <= 1, "max rule share %g outside (0, 1]", c.MaxRuleShare)
	check(c.MaxRuleItems >= 1 && c.MaxRuleItems <= 3, "max rule items %d outside 1..3", c.MaxRuleItems)
	check(c.MinBundle >= 1 && c.MaxBundle >= c.MinBundle && c.MaxBundle <= 1000,
		"bundle size %d..%d: need 1 <= min <= max <= 1000", c.MinBundle, c.MaxBundle)
	check(slices.Contains([]Format{FormatCSV, FormatParquet}, c.Format), "format %q: want csv or parquet", c.Format)
	check(c.Format != FormatParquet || c.RowGroupSize >= 1, "row group size %d: need at least 1", c.RowGroupSize)
	check(c.Workers >= 0, "workers %d negative", c.Workers)
	return errors.Join(errs...)
}

func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}
