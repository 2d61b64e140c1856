package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/autoid-oss/autoid/stages"
)

// ParamType is the type of a job parameter's value.
type ParamType string

// Parameter types. Every value is given as text (a JSON number, boolean or
// array in job_parameters is turned into text first).
const (
	TypeString   ParamType = "string"
	TypeInt      ParamType = "int"      // a whole number
	TypeFraction ParamType = "fraction" // a number in [0, 1]
	TypeCount    ParamType = "count"    // a whole number, or a fraction of the identities when written with a decimal point
	TypeList     ParamType = "list"     // comma-separated (or a JSON array)
	TypeMemory   ParamType = "memory"   // bytes with an optional unit k, m, g, t (Spark's: a bare number is MiB)
	TypeDuration ParamType = "duration" // Go duration (90s, 5m, 1h30m) or seconds
)

// ParamSpec describes one parameter of a job type.
type ParamSpec struct {
	Name    string    `json:"name"`
	Type    ParamType `json:"type"`
	Default string    `json:"default"` // "" : none (engine parameters: the workspace's engine.yaml may change it)
	Doc     string    `json:"description"`
	// Engine marks a parameter of the engine configuration (stages.Config):
	// it is part of the stage's fingerprint. Other parameters (resources,
	// timeout, the ingest's source) say how the stage runs.
	Engine bool `json:"engine"`
}

type engineParamDoc struct {
	name string
	typ  ParamType
	doc  string
}

// engineParamDocs describes the engine configuration's parameters; the
// defaults come from stages.DefaultConfig.
func engineParamDocs() []engineParamDoc {
	return []engineParamDoc{
		{"features", TypeList, "identity columns used as items (empty: every column except ids, names, unique and constant ones)"},
		{"min_freq", TypeCount, "least number of identities with a rule's attributes (a fraction of the identities with a decimal point)"},
		{"min_frequnion", TypeCount, "least number of identities with a rule's attributes and its entitlement"},
		{"min_confidence", TypeFraction, "least confidence of a rule"},
		{"max_rule_length", TypeInt, "most attributes in a rule's justification"},
		{"stem_delta", TypeFraction, "a longer rule is kept only if it beats each shorter one by more than this"},
		{"driving_factor_threshold", TypeFraction, "least confidence of a driving factor"},
		{"high", TypeFraction, "High band at and above this score"},
		{"medium", TypeFraction, "Medium band at and above this score"},
		{"auto_access", TypeFraction, "served threshold for automatic decisions"},
		{"recommend_min_confidence", TypeFraction, "least confidence of a recommendation"},
		{"recommend_max_per_user", TypeInt, "most recommendations per identity"},
		{"recommend_threshold", TypeFraction, "served threshold of recommendations"},
		{"role_min_confidence", TypeFraction, "least confidence of a rule that forms a candidate role"},
		{"role_min_entitlements", TypeInt, "least entitlements in a candidate role"},
		{"role_min_members", TypeInt, "least members of a candidate role"},
		{"anomaly_min_assignees", TypeInt, "least holders of an entitlement before its low scores are anomalies"},
	}
}

// The reference's Spark resource parameters, accepted by every job type,
// and the stage timeout.
const (
	ParamDriverMemory   = "driverMemory"
	ParamDriverCores    = "driverCores"
	ParamExecutorMemory = "executorMemory"
	ParamExecutorCores  = "executorCores"
	ParamTimeout        = "timeout"
)

func commonParams() []ParamSpec {
	return []ParamSpec{
		{Name: ParamDriverMemory, Type: TypeMemory, Doc: "memory of the run (added to executorMemory): the Go soft memory limit while the run executes"},
		{Name: ParamDriverCores, Type: TypeInt, Doc: "worker threads of the run (added to executorCores, at most the CPUs; none: all CPUs)"},
		{Name: ParamExecutorMemory, Type: TypeMemory, Doc: "memory of the run (added to driverMemory)"},
		{Name: ParamExecutorCores, Type: TypeInt, Doc: "worker threads of the run (added to driverCores)"},
		{Name: ParamTimeout, Type: TypeDuration, Doc: "the stage fails as timed_out after this long (none: no limit)"},
	}
}

// engineSpec returns the engine parameter specs by name, defaults filled
// from stages.DefaultConfig.
func engineSpec() map[string]ParamSpec {
	def := configValues(stages.DefaultConfig())
	out := map[string]ParamSpec{}
	for _, p := range engineParamDocs() {
		out[p.name] = ParamSpec{Name: p.name, Type: p.typ, Default: def[p.name], Doc: p.doc, Engine: true}
	}
	return out
}

// configValues renders every engine parameter of c as text.
func configValues(c stages.Config) map[string]string {
	v := reflect.ValueOf(c)
	t := v.Type()
	out := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("yaml")
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			out[name] = strings.Join(f.Interface().([]string), ",")
		case reflect.Float64:
			out[name] = strconv.FormatFloat(f.Float(), 'g', -1, 64)
		default:
			out[name] = fmt.Sprint(f.Interface())
		}
	}
	return out
}

// ParamText turns a job_parameters value (JSON) into the text a parameter
// takes: strings as they are, numbers in their shortest form, arrays
// comma-joined.
func ParamText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := ParamText(e)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	case []string:
		return strings.Join(x, ","), nil
	}
	return "", fmt.Errorf("a %T value is not a parameter value", v)
}

// ParamError names the parameter that was refused and why.
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string { return "parameter " + e.Param + ": " + e.Reason }

// checkValue checks a value against its type.
func checkValue(p ParamSpec, v string) error {
	bad := func(format string, a ...any) error {
		return &ParamError{Param: p.Name, Reason: fmt.Sprintf(format, a...)}
	}
	switch p.Type {
	case TypeInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad("%q is not a whole number", v)
		}
		if n < 0 {
			return bad("%d is negative", n)
		}
	case TypeFraction:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return bad("%q is not a number", v)
		}
		if f < 0 || f > 1 {
			return bad("%v is outside [0, 1]", f)
		}
	case TypeCount:
		if _, _, err := stages.ParseCount(v); err != nil {
			return bad("%v", err)
		}
	case TypeMemory:
		if _, err := ParseMemory(v); err != nil {
			return bad("%v", err)
		}
	case TypeDuration:
		if _, err := parseDuration(v); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// ParseMemory reads a memory size the way Spark does: a number with an
// optional unit b, k, m, g or t (kb, mb... and kib, mib... too); a bare
// number is MiB.
func ParseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSuffix(strings.TrimSuffix(t[i:], "ib"), "b")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a memory size (e.g. 512m, 4g)", s)
	}
	mult := map[string]float64{"": 1 << 20, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
	if t[i:] == "b" {
		mult[""] = 1
	}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (want k, m, g or t)", s, t[i:])
	}
	return int64(f * m), nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (e.g. 90s, 5m)", s)
	}
	return d, nil
}

// Resources are what the Spark knobs mean for a run: the memory budget
// (driverMemory + executorMemory, applied as the Go soft memory limit) and
// the worker count (driverCores + executorCores, at most the CPUs, applied
// as GOMAXPROCS). Zero: no limit / every CPU.
type Resources struct {
	MemoryBytes int64
	Workers     int
}

// resourcesOf reads the Spark knobs of a parameter set (already checked).
func resourcesOf(p map[string]string) Resources {
	var r Resources
	for _, k := range []string{ParamDriverMemory, ParamExecutorMemory} {
		if v := p[k]; v != "" {
			n, _ := ParseMemory(v)
			r.MemoryBytes += n
		}
	}
	for _, k := range []string{ParamDriverCores, ParamExecutorCores} {
		if v := p[k]; v != "" {
			n, _ := strconv.Atoi(v)
			r.Workers += n
		}
	}
	if r.Workers > runtime.NumCPU() {
		r.Workers = runtime.NumCPU()
	}
	return r
}

// Spec returns the parameters of a job type: its engine parameters, its
// own, then the common ones (resources, timeout), each once.
func (t JobType) Spec() []ParamSpec {
	eng := engineSpec()
	var out []ParamSpec
	for _, n := range t.EngineParams {
		p, ok := eng[n]
		if !ok {
			panic("pipeline: job type " + t.Name + " names unknown engine parameter " + n)
		}
		out = append(out, p)
	}
	out = append(out, t.Params...)
	return append(out, commonParams()...)
}

// ValidateParams checks job_parameters of this job type: every name must
// be one of its parameters and every value of its type; engine parameters
// are also checked together (medium at most high). It returns the
// parameters as text. The error is a *ParamError naming the parameter.
func (t JobType) ValidateParams(raw map[string]any) (map[string]string, error) {
	spec := map[string]ParamSpec{}
	var names []string
	for _, p := range t.Spec() {
		spec[p.Name] = p
		names = append(names, p.Name)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]string{}
	cfg := stages.DefaultConfig()
	for _, k := range keys {
		p, ok := spec[k]
		if !ok {
			return nil, &ParamError{Param: k, Reason: fmt.Sprintf("not a parameter of job type %s (its parameters: %s)", t.Name, strings.Join(names, ", "))}
		}
		v, err := ParamText(raw[k])
		if err != nil {
			return nil, &ParamError{Param: k, Reason: err.Error()}
		}
		if err := checkValue(p, v); err != nil {
			return nil, err
		}
		if p.Engine {
			if err := cfg.Set(k, v); err != nil {
				return nil, engineParamError(k, err)
			}
		}
		out[k] = v
	}
	return out, nil
}

// validateOverrides checks --param overrides: any engine parameter, a
// common parameter, or a parameter of one of the given job types.
func (r *Registry) validateOverrides(p map[string]string, jobs []JobType) error {
	eng := engineSpec()
	known := map[string]ParamSpec{}
	for _, c := range commonParams() {
		known[c.Name] = c
	}
	for _, j := range jobs {
		for _, s := range j.Params {
			known[s.Name] = s
		}
	}
	for n, s := range eng {
		known[n] = s
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cfg := stages.DefaultConfig()
	for _, k := range keys {
		s, ok := known[k]
		if !ok {
			all := make([]string, 0, len(known))
			for n := range known {
				all = append(all, n)
			}
			sort.Strings(all)
			return &ParamError{Param: k, Reason: "unknown parameter (known: " + strings.Join(all, ", ") + ")"}
		}
		if err := checkValue(s, p[k]); err != nil {
			return err
		}
		if s.Engine {
			if err := cfg.Set(k, p[k]); err != nil {
				return engineParamError(k, err)
			}
		}
	}
	return nil
}

// engineParamError makes a Config error a ParamError (Config's own
// messages already start with "parameter NAME: ").
func engineParamError(name string, err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "parameter "); ok {
		if n, reason, ok := strings.Cut(rest, ": "); ok {
			return &ParamError{Param: n, Reason: reason}
		}
	}
	return &ParamError{Param: name, Reason: msg}
}
