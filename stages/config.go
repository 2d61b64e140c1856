package stages

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config holds every analytic parameter of the engine, under the names of
// the specification. The zero value is not useful: start from
// DefaultConfig. Counts written with a decimal point (min_freq 0.01) are
// fractions of the identities.
type Config struct {
	// Features are the identity columns used as items, matched
	// case-insensitively. Empty: every identity column except usr_id,
	// usr_name and columns that are unique per identity or constant.
	Features []string `yaml:"features"`

	MinFreq                string  `yaml:"min_freq"`                 // 5
	MinFrequnion           string  `yaml:"min_frequnion"`            // 3
	MinConfidence          float64 `yaml:"min_confidence"`           // 0.1
	MaxRuleLength          int     `yaml:"max_rule_length"`          // 3
	StemDelta              float64 `yaml:"stem_delta"`               // 0.05
	DrivingFactorThreshold float64 `yaml:"driving_factor_threshold"` // 0.75

	High       float64 `yaml:"high"`        // 0.75: High band at and above
	Medium     float64 `yaml:"medium"`      // 0.35: Medium band at and above
	AutoAccess float64 `yaml:"auto_access"` // 0.5

	RecommendMinConfidence float64 `yaml:"recommend_min_confidence"` // 0.1
	RecommendMaxPerUser    int     `yaml:"recommend_max_per_user"`   // 100
	RecommendThreshold     float64 `yaml:"recommend_threshold"`      // 0.75

	RoleMinConfidence   float64 `yaml:"role_min_confidence"`   // 0.75
	RoleMinEntitlements int     `yaml:"role_min_entitlements"` // 2
	RoleMinMembers      int     `yaml:"role_min_members"`      // 5

	AnomalyMinAssignees int `yaml:"anomaly_min_assignees"` // 5
}

// DefaultConfig returns the specification's defaults.
func DefaultConfig() Config {
	return Config{
		MinFreq: "5", MinFrequnion: "3", MinConfidence: 0.1, MaxRuleLength: 3,
		StemDelta: 0.05, DrivingFactorThreshold: 0.75,
		High: 0.75, Medium: 0.35, AutoAccess: 0.5,
		RecommendMinConfidence: 0.1, RecommendMaxPerUser: 100, RecommendThreshold: 0.75,
		RoleMinConfidence: 0.75, RoleMinEntitlements: 2, RoleMinMembers: 5,
		AnomalyMinAssignees: 5,
	}
}

// LoadConfig reads the engine configuration file over the defaults; a
// missing file gives the defaults. Unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("engine configuration: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("engine configuration %s: %w", path, err)
	}
	return c, c.Validate()
}

// ParamNames lists the parameter names, sorted.
func ParamNames() []string {
	t := reflect.TypeOf(Config{})
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		names = append(names, t.Field(i).Tag.Get("yaml"))
	}
	sort.Strings(names)
	return names
}

// Set sets one parameter from text: lists are comma-separated.
func (c *Config) Set(name, value string) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") != name {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(value)
		case reflect.Int:
			n, err := strconv.Atoi(value)
			if err != nil {
				return fmt.Errorf("parameter %s: %q is not an integer", name, value)
			}
			f.SetInt(int64(n))
		case reflect.Float64:
			x, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return fmt.Errorf("parameter %s: %q is not a number", name, value)
			}
			f.SetFloat(x)
		case reflect.Slice:
			var items []string
			for _, s := range strings.Split(value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			f.Set(reflect.ValueOf(items))
		}
		return c.Validate()
	}
	return fmt.Errorf("unknown parameter %q (known: %s)", name, strings.Join(ParamNames(), ", "))
}

// Validate names the first bad parameter.
func (c Config) Validate() error {
	for _, p := range []struct {
		name string
		v    string
	}{{"min_freq", c.MinFreq}, {"min_frequnion", c.MinFrequnion}} {
		if _, _, err := ParseCount(p.v); err != nil {
			return fmt.Errorf("parameter %s: %w", p.name, err)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"min_confidence", c.MinConfidence}, {"stem_delta", c.StemDelta}, {"driving_factor_threshold", c.DrivingFactorThreshold},
		{"high", c.High}, {"medium", c.Medium}, {"auto_access", c.AutoAccess}, {"recommend_min_confidence", c.RecommendMinConfidence},
		{"recommend_threshold", c.RecommendThreshold}, {"role_min_confidence", c.RoleMinConfidence}} {
		if p.v < 0 || p.v > 1 {
			return fmt.Errorf("parameter %s: %v is outside [0, 1]", p.name, p.v)
		}
	}
	if c.Medium > c.High {
		return fmt.Errorf("parameter medium: %v is above high (%v)", c.Medium, c.High)
	}
	if c.MaxRuleLength < 1 {
		return fmt.Errorf("parameter max_rule_length: %d, want at least 1", c.MaxRuleLength)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"recommend_max_per_user", c.RecommendMaxPerUser}, {"role_min_entitlements", c.RoleMinEntitlements},
		{"role_min_members", c.RoleMinMembers}, {"anomaly_min_assignees", c.AnomalyMinAssignees}} {
		if p.v < 0 {
			return fmt.Errorf("parameter %s: %d is negative", p.name, p.v)
		}
	}
	return nil
}

// ParseCount reads a count parameter: an integer, or a fraction of the
// identities when written with a decimal point. It returns the integer or
// the fraction.
func ParseCount(s string) (n int64, frac float64, err error) {
	if strings.Contains(s, ".") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return 0, 0, fmt.Errorf("%q is not a fraction in [0, 1]", s)
		}
		return -1, f, nil
	}
	n, err = strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, 0, fmt.Errorf("%q is not a count", s)
	}
	return n, 0, nil
}

// WriteDefaultConfig writes the default configuration with comments, for a
// new workspace.
func WriteDefaultConfig(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b, err := yaml.Marshal(DefaultConfig())
	if err != nil {
		return err
	}
	head := "# Engine configuration: every analytic parameter, with the defaults of the\n" +
		"# specification. 'autoid run --param NAME=VALUE' overrides one for a run.\n"
	return os.WriteFile(path, append([]byte(head), b...), 0o644)
}
