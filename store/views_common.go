package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The query views: what the REST API reads. Every figure was computed in
// Go at load; the SQL here filters, pages and counts. Views take the
// caller's Scope (row scoping by group) and the current Thresholds (bands
// follow the configuration, not the run).

// ErrBadInput: a request parameter the views cannot use; the error is a
// *FieldError naming the field.
var ErrBadInput = errors.New("store: bad input")

// FieldError is a bad request parameter.
type FieldError struct {
	Field string // the request field, as the API names it
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrBadInput) hold.
func (e *FieldError) Is(target error) bool { return target == ErrBadInput }

func badField(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundError names the id that does not exist; errors.Is(err,
// ErrNotFound) holds.
type NotFoundError struct {
	Kind string // "user", "entitlement", "application", "rule", "role"
	ID   string
}

func (e *NotFoundError) Error() string        { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

func notFound(kind, id string) error { return &NotFoundError{Kind: kind, ID: id} }

// Thresholds are the configured score bands (SPEC 4): High from High,
// Medium from Medium, else Low; AutoAccess for auto decisions.
type Thresholds struct {
	High, Medium, AutoAccess float64
}

// DefaultThresholds are the engine's defaults.
func DefaultThresholds() Thresholds { return Thresholds{High: 0.75, Medium: 0.35, AutoAccess: 0.5} }

// Band names the band of a score under the thresholds ("" : unscored).
func (t Thresholds) Band(score *float64) string {
	switch {
	case score == nil:
		return ""
	case *score >= t.High:
		return "high"
	case *score >= t.Medium:
		return "medium"
	}
	return "low"
}

// Scope limits the rows a caller sees. Empty: everything (admin). Set
// fields are alternatives: a caller who is a supervisor and an
// entitlement owner sees their reports' assignments and the assignments
// of their entitlements.
type Scope struct {
	Self       string // the identity's own assignments
	Supervisor string // assignments of identities whose manager is this id
	EntOwner   string // assignments of entitlements this id owns
	AppOwner   string // assignments of applications this id owns
}

// All reports whether the scope is unrestricted.
func (s Scope) All() bool { return s == Scope{} }

// AttrFilter keeps identities whose attribute has one of the values.
type AttrFilter struct {
	Attribute string
	Values    []string
}

// TimeRange is a timestampThresholds object: at most one of Gt/Gte and
// one of Lt/Lte.
type TimeRange struct {
	Gt, Gte, Lt, Lte *time.Time
}

// ParseTimeRange reads the four bounds (RFC 3339 timestamps, "" absent);
// field prefixes the names in errors.
func ParseTimeRange(field, gt, gte, lt, lte string) (TimeRange, error) {
	var r TimeRange
	parse := func(name, s string) (*time.Time, error) {
		if s == "" {
			return nil, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, badField(field+"."+name, "want a timestamp yyyy-mm-ddThh:mm:ss.SSSZ, got %q", s)
		}
		return &t, nil
	}
	var err error
	if r.Gt, err = parse("gt", gt); err != nil {
		return r, err
	}
	if r.Gte, err = parse("gte", gte); err != nil {
		return r, err
	}
	if r.Lt, err = parse("lt", lt); err != nil {
		return r, err
	}
	if r.Lte, err = parse("lte", lte); err != nil {
		return r, err
	}
	return r, r.Validate(field)
}

// Validate rejects gt with gte and lt with lte.
func (r TimeRange) Validate(field string) error {
	if r.Gt != nil && r.Gte != nil {
		return badField(field+".gte", "cannot be present with gt")
	}
	if r.Lt != nil && r.Lte != nil {
		return badField(field+".lte", "cannot be present with lt")
	}
	return nil
}

// ScoreRange is an autoAction thresholds object.
type ScoreRange struct {
	Gt, Gte, Lt, Lte *float64
}

// Validate rejects gt with gte and lt with lte.
func (r ScoreRange) Validate(field string) error {
	if r.Gt != nil && r.Gte != nil {
		return badField(field+".gte", "cannot be present with gt")
	}
	if r.Lt != nil && r.Lte != nil {
		return badField(field+".lte", "cannot be present with lt")
	}
	return nil
}

// DatasinkStatus validates a datasinkStatus filter ("" : any).
func DatasinkStatus(field, s string) error {
	switch s {
	case "", "ack", "nack":
		return nil
	}
	return badField(field, "want 'ack' or 'nack', got %q", s)
}

// sqlb builds a statement's dynamic conditions with $n placeholders.
type sqlb struct {
	args  []any
	conds []string
}

// arg adds an argument and returns its placeholder.
func (b *sqlb) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// list adds arguments and returns "$i, $j, ...".
func (b *sqlb) list(vs []string) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = b.arg(v)
	}
	return strings.Join(ph, ", ")
}

// where adds a condition.
func (b *sqlb) where(format string, args ...any) {
	b.conds = append(b.conds, fmt.Sprintf(format, args...))
}

// idOrNameContains adds the condition that column id or column name
// contains text (case insensitive for ASCII); none when text is empty.
func (b *sqlb) idOrNameContains(id, name, text string) {
	if text == "" {
		return
	}
	pat := b.arg(containsPattern(text))
	b.where(`(LOWER(%s) LIKE %s ESCAPE '\' OR LOWER(COALESCE(%s, '')) LIKE %s ESCAPE '\')`, id, pat, name, pat)
}

// containsPattern is the LIKE pattern matching lower-cased text anywhere.
func containsPattern(text string) string {
	return "%" + likeEscape(strings.ToLower(text)) + "%"
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likeEscape escapes LIKE's wildcards with a backslash.
func likeEscape(s string) string { return likeEscaper.Replace(s) }

// and joins the conditions ("TRUE" when none).
func (b *sqlb) and() string {
	if len(b.conds) == 0 {
		return "TRUE"
	}
	return "(" + strings.Join(b.conds, ") AND (") + ")"
}

// scope adds the scope's condition on assignment-like rows with columns
// usr_id, ent_id and app_id under alias a.
func (b *sqlb) scope(s Scope, a string) { b.scopeCols(s, a+".usr_id", a+".ent_id", a+".app_id") }

// scopeCols adds the scope's condition on the given columns.
func (b *sqlb) scopeCols(s Scope, usr, ent, app string) {
	var alts []string
	if s.Self != "" {
		alts = append(alts, fmt.Sprintf("%s = %s", usr, b.arg(s.Self)))
	}
	if s.Supervisor != "" {
		alts = append(alts, fmt.Sprintf("%s IN (SELECT usr_id FROM identities WHERE usr_manager_id = %s)", usr, b.arg(s.Supervisor)))
	}
	if s.EntOwner != "" {
		alts = append(alts, fmt.Sprintf("%s IN (SELECT ent_id FROM entitlements WHERE ent_owner_id = %s)", ent, b.arg(s.EntOwner)))
	}
	if s.AppOwner != "" {
		alts = append(alts, fmt.Sprintf("%s IN (SELECT app_id FROM applications WHERE app_owner_id = %s)", app, b.arg(s.AppOwner)))
	}
	if len(alts) > 0 {
		b.where("%s", strings.Join(alts, " OR "))
	}
}

// attrs adds attribute filters on the identity column col.
func (b *sqlb) attrs(fs []AttrFilter, col string) {
	for _, f := range fs {
		if len(f.Values) == 0 {
			continue
		}
		b.where("%s IN (SELECT usr_id FROM identity_attributes WHERE attribute = %s AND value IN (%s))", col, b.arg(f.Attribute), b.list(f.Values))
	}
}

// timeRange adds bounds on a microsecond timestamp column.
func (b *sqlb) timeRange(r TimeRange, col string) {
	add := func(t *time.Time, op string) {
		if t != nil {
			b.where("%s %s %s", col, op, b.arg(t.UnixMicro()))
		}
	}
	add(r.Gt, ">")
	add(r.Gte, ">=")
	add(r.Lt, "<")
	add(r.Lte, "<=")
}

// bandCounts is the SELECT list counting scores of column col by band.
func (b *sqlb) bandCounts(t Thresholds, col string) string {
	h, m := b.arg(t.High), b.arg(t.Medium)
	return fmt.Sprintf(`COALESCE(SUM(CASE WHEN %[1]s >= %[2]s THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN %[1]s < %[2]s AND %[1]s >= %[3]s THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN %[1]s < %[3]s THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN %[1]s IS NULL THEN 1 ELSE 0 END), 0),
COALESCE(SUM(%[1]s), 0)`, col, h, m)
}

// bandAliases is bandCounts with the columns named h, m, l, u and t.
func (b *sqlb) bandAliases(t Thresholds, col string) string {
	h, m := b.arg(t.High), b.arg(t.Medium)
	return fmt.Sprintf(`COALESCE(SUM(CASE WHEN %[1]s >= %[2]s THEN 1 ELSE 0 END), 0) AS h,
COALESCE(SUM(CASE WHEN %[1]s < %[2]s AND %[1]s >= %[3]s THEN 1 ELSE 0 END), 0) AS m,
COALESCE(SUM(CASE WHEN %[1]s < %[3]s THEN 1 ELSE 0 END), 0) AS l,
COALESCE(SUM(CASE WHEN %[1]s IS NULL THEN 1 ELSE 0 END), 0) AS u,
COALESCE(SUM(%[1]s), 0) AS t`, col, h, m)
}

// Bands counts scores by band; Sum and Scored give the mean.
type Bands struct {
	High, Medium, Low, Unscored int64
	Sum                         float64
}

// Scored is the number of scored rows.
func (b Bands) Scored() int64 { return b.High + b.Medium + b.Low }

// Avg is the mean score of the scored rows (nil: none).
func (b Bands) Avg() *float64 {
	if b.Scored() == 0 {
		return nil
	}
	v := b.Sum / float64(b.Scored())
	return &v
}

// bandDest returns scan destinations for the columns of bandCounts.
func (b *Bands) dest() []any { return []any{&b.High, &b.Medium, &b.Low, &b.Unscored, &b.Sum} }

// viewSQL returns an embedded view query with its {name} slots filled.
func viewSQL(name string, slots map[string]string) string {
	s := q(name)
	for k, v := range slots {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// EncodeCursor makes an opaque cursor: base64 of the JSON of v.
func EncodeCursor(v any) string {
	return base64.StdEncoding.EncodeToString([]byte(jsonText(v)))
}

// pageOf cuts out, read with one row beyond size, to size and returns
// the cursor of its last row by key ("" when no row follows).
func pageOf[T any](out []T, size int, key func(T) any) ([]T, string) {
	if len(out) <= size {
		return out, ""
	}
	out = out[:size]
	return out, EncodeCursor(key(out[size-1]))
}

// DecodeCursor reads a cursor made by EncodeCursor into v; field names the
// request field in the error.
func DecodeCursor(field, c string, v any) error {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return badField(field, "not a cursor this server made")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badField(field, "not a cursor this server made")
	}
	return nil
}

// keyCursor decodes a cursor of n strings.
func keyCursor(field, c string, n int) ([]string, error) {
	if c == "" {
		return nil, nil
	}
	var k []string
	if err := DecodeCursor(field, c, &k); err != nil {
		return nil, err
	}
	if len(k) != n {
		return nil, badField(field, "not a cursor this server made")
	}
	return k, nil
}

// pageSize applies the default and the bound of a page size.
func pageSize(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 10000:
		return 10000
	}
	return n
}

// queryEach runs a query and calls fn for each row.
func queryEach(ctx context.Context, c Conn, what, sqlText string, args []any, fn func(Rows) error) error {
	rows, err := c.Query(ctx, sqlText, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// withoutJIT runs fn's reads, on PostgreSQL in a transaction without JIT
// compilation: the owner views' estimates are the mean holders per
// entitlement (thousands) whatever the owner, which puts their cost over
// jit_above_cost, and compiling took 300 to 600 ms of statements that run
// in 200 (EXPLAIN ANALYZE on the large preset).
func (db *DB) withoutJIT(ctx context.Context, fn func(Conn) error) error {
	if db.b.Dialect() != Postgres {
		return fn(db.b)
	}
	return db.b.Tx(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return fmt.Errorf("jit off: %w", err)
		}
		return fn(c)
	})
}

// exists reports whether a query returns a row.
func exists(ctx context.Context, c Conn, what, sqlText string, args ...any) (bool, error) {
	found := false
	err := queryEach(ctx, c, what, sqlText, args, func(Rows) error { found = true; return nil })
	return found, err
}

// UserExists reports whether an identity is published.
func (db *DB) UserExists(ctx context.Context, usrID string) (bool, error) {
	return exists(ctx, db.b, "user "+usrID, `SELECT 1 FROM identities WHERE usr_id = $1`, usrID)
}

// EntitlementExists reports whether an entitlement is published.
func (db *DB) EntitlementExists(ctx context.Context, entID string) (bool, error) {
	return exists(ctx, db.b, "entitlement "+entID, `SELECT 1 FROM entitlements WHERE ent_id = $1`, entID)
}

func (db *DB) mustUser(ctx context.Context, id string) error {
	ok, err := db.UserExists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("user", id)
	}
	return nil
}

func (db *DB) mustEntitlement(ctx context.Context, id string) error {
	ok, err := db.EntitlementExists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("entitlement", id)
	}
	return nil
}

// ns reads a nullable text column.
func ns(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func nf(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

func ni(i sql.NullInt64) *int64 {
	if !i.Valid {
		return nil
	}
	return &i.Int64
}

// jsonList decodes a JSON list of strings (a justification).
func jsonList(s string) ([]string, error) {
	out := []string{}
	if s == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("list %q: %w", s, err)
	}
	return out, nil
}

// Attr is one identity attribute.
type Attr struct {
	Name, Value string
}

// jsonAttrs decodes an attributes object keeping its key order.
func jsonAttrs(s string) ([]Attr, error) {
	if out, ok := flatAttrs(s); ok {
		return out, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if _, err := dec.Token(); err != nil { // {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	var out []Attr
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("attributes: %w", err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("attributes: %w", err)
		}
		if sv, ok := v.(string); ok && sv != "" {
			out = append(out, Attr{Name: k.(string), Value: sv})
		}
	}
	return out, nil
}

// flatAttrs is jsonAttrs for the common object, every value a string
// (what a load writes), without the token decoder (which was a quarter of
// a role export's CPU); ok is false for anything else (other values,
// control characters, invalid UTF-8, which the decoder replaces), which
// jsonAttrs then decodes.
func flatAttrs(s string) (out []Attr, ok bool) {
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		start, esc := i, false
		for i++; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\':
				esc = true
				i++
			case c == '"':
				i++
				raw := s[start:i]
				if !esc {
					return raw[1 : len(raw)-1], utf8.ValidString(raw)
				}
				var v string
				if json.Unmarshal([]byte(raw), &v) != nil {
					return "", false
				}
				return v, true
			case c < 0x20:
				return "", false // control characters: the decoder's error
			}
		}
		return "", false
	}
	ws()
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i++
	ws()
	if i < len(s) && s[i] == '}' {
		i++
		ws()
		return nil, i == len(s)
	}
	for {
		ws()
		k, ok := str()
		if !ok {
			return nil, false
		}
		ws()
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i++
		ws()
		v, ok := str()
		if !ok {
			return nil, false
		}
		if v != "" {
			out = append(out, Attr{Name: k, Value: v})
		}
		ws()
		if i >= len(s) {
			return nil, false
		}
		if s[i] == '}' {
			i++
			ws()
			return out, i == len(s)
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
	}
}

func microsTime(t sql.NullInt64) *time.Time {
	if !t.Valid {
		return nil
	}
	v := time.UnixMicro(t.Int64).UTC()
	return &v
}

// InScope reports whether the assignment (usrID, entID), held or not,
// is within the scope.
func (db *DB) InScope(ctx context.Context, s Scope, usrID, entID string) (bool, error) {
	if s.All() {
		return true, nil
	}
	b := &sqlb{}
	u, e := "CAST("+b.arg(usrID)+" AS TEXT)", "CAST("+b.arg(entID)+" AS TEXT)"
	b.scopeCols(s, u, e, "(SELECT app_id FROM entitlements WHERE ent_id = "+e+")")
	return exists(ctx, db.b, "scope", "SELECT 1 WHERE "+b.and(), b.args...)
}

// EntitlementInScope reports whether an entitlement concerns the scope:
// owned by its entitlement owner, in its application owner's
// applications, or held by one of its supervisor's reports.
func (db *DB) EntitlementInScope(ctx context.Context, s Scope, entID string) (bool, error) {
	if s.All() {
		return true, nil
	}
	b := &sqlb{}
	b.where("e.ent_id = %s", b.arg(entID))
	var alts []string
	if s.EntOwner != "" {
		alts = append(alts, "e.ent_owner_id = "+b.arg(s.EntOwner))
	}
	if s.AppOwner != "" {
		alts = append(alts, "e.app_id IN (SELECT app_id FROM applications WHERE app_owner_id = "+b.arg(s.AppOwner)+")")
	}
	if s.Supervisor != "" {
		alts = append(alts, "EXISTS (SELECT 1 FROM assignments a JOIN identities i ON i.usr_id = a.usr_id WHERE a.ent_id = e.ent_id AND i.usr_manager_id = "+b.arg(s.Supervisor)+")")
	}
	if len(alts) == 0 {
		return false, nil
	}
	b.where("%s", strings.Join(alts, " OR "))
	return exists(ctx, db.b, "entitlement scope", "SELECT 1 FROM entitlements e WHERE "+b.and(), b.args...)
}

// AppOwnedBy reports whether an application is owned by owner.
func (db *DB) AppOwnedBy(ctx context.Context, appID, owner string) (bool, error) {
	return exists(ctx, db.b, "application owner", `SELECT 1 FROM applications WHERE app_id = $1 AND app_owner_id = $2`, appID, owner)
}
