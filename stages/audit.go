package stages

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

// Severities of audit findings.
const (
	SevError   = "error"   // the assignment is invalid
	SevWarning = "warning" // reported, nothing excluded
	SevInfo    = "info"    // statistics
)

// Finding is one row of the audit_findings table.
type Finding struct {
	Severity string
	Check    string // e.g. unknown_identity, constant_feature
	Entity   string
	Key      string
	Column   string
	File     string
	Line     int64
	Value    float64 // a rate or count where the check has one
	Message  string
}

// AuditResult is what the audit found, and the features it settled on.
type AuditResult struct {
	Findings []Finding
	// Features are the identity columns that train uses: the configured
	// ones, or the default choice.
	Features []string
	// Dropped are the identity columns left out of the default features.
	Dropped map[string]string // column -> reason

	Identities, Entitlements, Applications int
	Assignments, InvalidAssignments        int
	Renamings                              [][]string
}

// Audit validates the current entity tables (section 9 of the
// specification).
func Audit(ctx context.Context, gen workspace.Generation, cfg Config) (*AuditResult, error) {
	res := &AuditResult{Dropped: map[string]string{}}
	ids, err := formats.ReadTable(ctx, gen.TablePath("identities"), nil)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer ids.Release()
	res.Identities = int(ids.NumRows())
	usrIDs := colByName(ids, "usr_id")
	known := make(map[string]bool, ids.NumRows())
	for i := 0; i < usrIDs.Len(); i++ {
		known[string(textOf(usrIDs, i))] = true
	}
	src := provenance(ids)

	// Identities whose manager does not resolve.
	if mgr := colByName(ids, "usr_manager_id"); mgr != nil {
		for i := 0; i < mgr.Len(); i++ {
			if v := textOf(mgr, i); len(v) > 0 && !known[string(v)] {
				f, l := src(i)
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "unresolved_manager", Entity: "identities",
					Key: string(textOf(usrIDs, i)), Column: "usr_manager_id", File: f, Line: l,
					Message: fmt.Sprintf("manager %q is not an identity", v)})
			}
		}
	}
	if err := auditFeatures(ids, cfg, res); err != nil {
		return nil, err
	}

	apps := map[string]bool{}
	if gen.Has("applications") {
		rec, err := formats.ReadTable(ctx, gen.TablePath("applications"), nil)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		defer rec.Release()
		res.Applications = int(rec.NumRows())
		key, owner, src := colByName(rec, "app_id"), colByName(rec, "app_owner_id"), provenance(rec)
		for i := 0; i < key.Len(); i++ {
			apps[string(textOf(key, i))] = true
			f, l := src(i)
			k := string(textOf(key, i))
			if owner.IsNull(i) {
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "application_without_owner", Entity: "applications", Key: k, Column: "app_owner_id", File: f, Line: l, Message: "application has no owner"})
			} else if o := string(textOf(owner, i)); !known[o] {
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "owner_not_identity", Entity: "applications", Key: k, Column: "app_owner_id", File: f, Line: l, Message: fmt.Sprintf("owner %q is not an identity", o)})
			}
		}
	}
	if gen.Has("entitlements") {
		rec, err := formats.ReadTable(ctx, gen.TablePath("entitlements"), nil)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		defer rec.Release()
		res.Entitlements = int(rec.NumRows())
		key, owner, app, src := colByName(rec, "ent_id"), colByName(rec, "ent_owner_id"), colByName(rec, "app_id"), provenance(rec)
		for i := 0; i < key.Len(); i++ {
			f, l := src(i)
			k := string(textOf(key, i))
			switch {
			case app.IsNull(i):
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "entitlement_without_application", Entity: "entitlements", Key: k, Column: "app_id", File: f, Line: l, Message: "entitlement has no application"})
			case gen.Has("applications") && !apps[string(textOf(app, i))]:
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "unknown_application", Entity: "entitlements", Key: k, Column: "app_id", File: f, Line: l, Message: fmt.Sprintf("application %q is not in applications", textOf(app, i))})
			}
			if owner.IsNull(i) {
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "entitlement_without_owner", Entity: "entitlements", Key: k, Column: "ent_owner_id", File: f, Line: l, Message: "entitlement has no owner"})
			} else if o := string(textOf(owner, i)); !known[o] {
				res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "owner_not_identity", Entity: "entitlements", Key: k, Column: "ent_owner_id", File: f, Line: l, Message: fmt.Sprintf("owner %q is not an identity", o)})
			}
		}
	}
	if gen.Has("assignments") {
		rec, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{"usr_idx", "ent_idx", "usr_id", "ent_id", "src_file", "src_line"})
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		defer rec.Release()
		res.Assignments = int(rec.NumRows())
		u, e := rec.Column(0), rec.Column(1)
		src := provenance(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			if u.IsValid(i) && e.IsValid(i) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			res.InvalidAssignments++
			f, l := src(i)
			key := string(textOf(rec.Column(2), i)) + " / " + string(textOf(rec.Column(3), i))
			if u.IsNull(i) {
				res.Findings = append(res.Findings, Finding{Severity: SevError, Check: "unknown_identity", Entity: "assignments", Key: key, Column: "usr_id", File: f, Line: l,
					Message: fmt.Sprintf("identity %q is not in identities", textOf(rec.Column(2), i))})
			}
			if e.IsNull(i) {
				res.Findings = append(res.Findings, Finding{Severity: SevError, Check: "unknown_entitlement", Entity: "assignments", Key: key, Column: "ent_id", File: f, Line: l,
					Message: fmt.Sprintf("entitlement %q is not in entitlements", textOf(rec.Column(3), i))})
			}
		}
	}
	return res, nil
}

// Features returns the feature columns of the current identities: the
// configured ones (checked to exist), or the default choice of section 2
// (every column but usr_id and usr_name that is neither unique per identity
// nor constant).
func Features(ctx context.Context, gen workspace.Generation, cfg Config) ([]string, error) {
	ids, err := formats.ReadTable(ctx, gen.TablePath("identities"), nil)
	if err != nil {
		return nil, err
	}
	defer ids.Release()
	res := &AuditResult{Dropped: map[string]string{}}
	if err := auditFeatures(ids, cfg, res); err != nil {
		return nil, err
	}
	return res.Features, nil
}

// auditFeatures settles the feature list and reports constant, unique and
// renamed columns, and the null rate and cardinality of each feature.
func auditFeatures(ids arrow.Record, cfg Config, res *AuditResult) error {
	n := int(ids.NumRows())
	type colInfo struct {
		name     string
		display  string  // upper case, as in items
		codes    []int32 // 0 = null
		distinct int     // non-null values
		nulls    int
	}
	var cols []*colInfo
	byLower := map[string]*colInfo{}
	for i, f := range ids.Schema().Fields() {
		switch f.Name {
		case "usr_idx", "usr_id", "src_file", "src_line":
			continue
		}
		a := ids.Column(i)
		ci := &colInfo{name: f.Name, display: strings.ToUpper(f.Name), codes: make([]int32, n)}
		seen := map[string]int32{}
		for r := 0; r < n; r++ {
			v := textOf(a, r)
			if len(v) == 0 {
				ci.nulls++
				continue
			}
			c, ok := seen[string(v)]
			if !ok {
				c = int32(len(seen) + 1)
				seen[string(v)] = c
			}
			ci.codes[r] = c
		}
		ci.distinct = len(seen)
		cols = append(cols, ci)
		byLower[strings.ToLower(f.Name)] = ci
	}
	configured := len(cfg.Features) > 0
	var feats []*colInfo
	if configured {
		for _, name := range cfg.Features {
			ci, ok := byLower[strings.ToLower(name)]
			if !ok {
				return fmt.Errorf("audit: feature %q is not an identity column", name)
			}
			feats = append(feats, ci)
		}
	}
	for _, ci := range cols {
		constant := ci.distinct <= 1 && (ci.nulls == 0 || ci.distinct == 0)
		unique := n > 1 && ci.distinct == n
		reason := ""
		switch {
		case constant:
			reason = "constant"
			val := "null"
			for _, c := range ci.codes {
				if c != 0 {
					val = fmt.Sprintf("%q", textOf(colByName(ids, ci.name), 0))
					break
				}
			}
			res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "constant_feature", Entity: "identities", Column: ci.display,
				Value: float64(ci.distinct), Message: fmt.Sprintf("%s has one value (%s) for every identity", ci.display, val)})
		case unique:
			reason = "unique per identity"
			res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "unique_feature", Entity: "identities", Column: ci.display,
				Value: float64(ci.distinct), Message: fmt.Sprintf("%s is unique per identity", ci.display)})
		case strings.EqualFold(ci.name, "usr_name"):
			reason = "usr_name is never a default feature"
		}
		if !configured {
			if reason != "" {
				res.Dropped[ci.display] = reason
				res.Findings = append(res.Findings, Finding{Severity: SevInfo, Check: "dropped_feature", Entity: "identities", Column: ci.display,
					Message: fmt.Sprintf("%s left out of the default features: %s", ci.display, reason)})
			} else {
				feats = append(feats, ci)
			}
		}
	}
	for _, ci := range feats {
		res.Features = append(res.Features, ci.name)
		res.Findings = append(res.Findings,
			Finding{Severity: SevInfo, Check: "feature_null_rate", Entity: "identities", Column: ci.display, Value: float64(ci.nulls) / float64(max(n, 1)),
				Message: fmt.Sprintf("%s: %d of %d identities have no value", ci.display, ci.nulls, n)},
			Finding{Severity: SevInfo, Check: "feature_cardinality", Entity: "identities", Column: ci.display, Value: float64(ci.distinct),
				Message: fmt.Sprintf("%s: %d distinct values", ci.display, ci.distinct)})
	}
	// Renamings: columns in a one-to-one value mapping (null counts as a
	// value). Constant and unique columns are reported as such instead.
	parent := make([]int, len(cols))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	eligible := func(ci *colInfo) bool {
		return ci.distinct > 1 && ci.distinct < n && !(configured && !contains(res.Features, ci.name))
	}
	for a := 0; a < len(cols); a++ {
		for b := a + 1; b < len(cols); b++ {
			ca, cb := cols[a], cols[b]
			if !eligible(ca) || !eligible(cb) || ca.distinct != cb.distinct || (ca.nulls > 0) != (cb.nulls > 0) {
				continue
			}
			if bijective(ca.codes, cb.codes, ca.distinct+1) {
				parent[find(a)] = find(b)
			}
		}
	}
	groups := map[int][]string{}
	for i, ci := range cols {
		groups[find(i)] = append(groups[find(i)], ci.display)
	}
	var keys []int
	for k, g := range groups {
		if len(g) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Ints(keys)
	for _, k := range keys {
		g := groups[k]
		res.Renamings = append(res.Renamings, g)
		res.Findings = append(res.Findings, Finding{Severity: SevWarning, Check: "renamed_features", Entity: "identities", Column: strings.Join(g, " / "),
			Value: float64(len(g)), Message: fmt.Sprintf("%s are renamings of each other (one-to-one values)", strings.Join(g, " / "))})
	}
	return nil
}

// bijective reports whether two code columns map one-to-one.
func bijective(a, b []int32, size int) bool {
	ab := make([]int32, size)
	ba := make([]int32, size)
	for i := range ab {
		ab[i], ba[i] = -1, -1
	}
	for r := range a {
		x, y := a[r], b[r]
		if ab[x] == -1 && ba[y] == -1 {
			ab[x], ba[y] = y, x
			continue
		}
		if ab[x] != y || ba[y] != x {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func colByName(rec arrow.Record, name string) arrow.Array {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return rec.Column(idx[0])
}

// provenance returns a function giving the source file and line of a row.
func provenance(rec arrow.Record) func(int) (string, int64) {
	f, l := colByName(rec, "src_file"), colByName(rec, "src_line")
	return func(i int) (string, int64) {
		if f == nil || l == nil {
			return "", 0
		}
		return string(textOf(f, i)), l.(*array.Int64).Value(i)
	}
}

var findingsFields = []arrow.Field{
	{Name: "severity", Type: arrow.BinaryTypes.String},
	{Name: "check", Type: arrow.BinaryTypes.String},
	{Name: "entity", Type: arrow.BinaryTypes.String},
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "column", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "file", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "line", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "message", Type: arrow.BinaryTypes.String},
}

// FindingsRecord builds the audit_findings table.
func (r *AuditResult) FindingsRecord() arrow.Record {
	b := array.NewRecordBuilder(memoryAllocator(), arrow.NewSchema(findingsFields, nil))
	defer b.Release()
	str := func(i int, s string) {
		if s == "" {
			b.Field(i).AppendNull()
		} else {
			b.Field(i).(*array.StringBuilder).Append(s)
		}
	}
	for _, f := range r.Findings {
		str(0, f.Severity)
		str(1, f.Check)
		str(2, f.Entity)
		str(3, f.Key)
		str(4, f.Column)
		str(5, f.File)
		if f.Line > 0 {
			b.Field(6).(*array.Int64Builder).Append(f.Line)
		} else {
			b.Field(6).AppendNull()
		}
		switch f.Check {
		case "unknown_identity", "unknown_entitlement", "unresolved_manager", "owner_not_identity",
			"application_without_owner", "entitlement_without_owner", "entitlement_without_application", "unknown_application", "dropped_feature":
			b.Field(7).AppendNull()
		default:
			b.Field(7).(*array.Float64Builder).Append(f.Value)
		}
		str(8, f.Message)
	}
	return b.NewRecord()
}

// Summary writes a short readable report.
func (r *AuditResult) Summary(w io.Writer) {
	count := map[string]int{}
	sev := map[string]string{}
	for _, f := range r.Findings {
		count[f.Check]++
		sev[f.Check] = f.Severity
	}
	fmt.Fprintf(w, "audit: %d identities, %d entitlements, %d applications, %d assignments (%d valid, %d invalid)\n",
		r.Identities, r.Entitlements, r.Applications, r.Assignments, r.Assignments-r.InvalidAssignments, r.InvalidAssignments)
	errs := count["unknown_identity"] + count["unknown_entitlement"]
	if errs == 0 {
		fmt.Fprintln(w, "  errors: none")
	} else {
		fmt.Fprintf(w, "  errors: %d assignments name an unknown identity, %d an unknown entitlement (excluded from training and scoring)\n",
			count["unknown_identity"], count["unknown_entitlement"])
		shown := 0
		for _, f := range r.Findings {
			if f.Severity == SevError && shown < 5 {
				fmt.Fprintf(w, "    %s:%d: %s\n", f.File, f.Line, f.Message)
				shown++
			}
		}
	}
	var consts, uniques []string
	for _, f := range r.Findings {
		switch f.Check {
		case "constant_feature":
			consts = append(consts, f.Column)
		case "unique_feature":
			uniques = append(uniques, f.Column)
		}
	}
	if len(consts) > 0 {
		fmt.Fprintf(w, "  constant: %s\n", strings.Join(consts, ", "))
	}
	if len(uniques) > 0 {
		fmt.Fprintf(w, "  unique per identity: %s\n", strings.Join(uniques, ", "))
	}
	if len(r.Renamings) > 0 {
		var g []string
		for _, x := range r.Renamings {
			g = append(g, strings.Join(x, " / "))
		}
		fmt.Fprintf(w, "  renamings of each other: %s\n", strings.Join(g, "; "))
	}
	for _, c := range []struct{ check, text string }{
		{"unresolved_manager", "identities whose manager is not an identity"},
		{"owner_not_identity", "owners that are not identities"},
		{"application_without_owner", "applications without owner"},
		{"entitlement_without_owner", "entitlements without owner"},
		{"entitlement_without_application", "entitlements without application"},
		{"unknown_application", "entitlements naming an unknown application"},
	} {
		if count[c.check] > 0 {
			fmt.Fprintf(w, "  %d %s\n", count[c.check], c.text)
		}
	}
	fmt.Fprintf(w, "  features (%d): %s\n", len(r.Features), strings.Join(r.Features, ", "))
}

func memoryAllocator() memory.Allocator { return memory.DefaultAllocator }
