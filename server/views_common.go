package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/autoid-oss/autoid/model"
	"github.com/autoid-oss/autoid/store"
)

// viewRoutes are the query views of the reference API: company view, user
// details, applications, entitlements, assignments, rules, filters, roles
// and reports.
func (s *Server) viewRoutes() []route {
	var rs []route
	rs = append(rs, s.companyRoutes()...)
	rs = append(rs, s.userRoutes()...)
	rs = append(rs, s.appRoutes()...)
	rs = append(rs, s.entRoutes()...)
	rs = append(rs, s.ruleRoutes()...)
	rs = append(rs, s.roleRoutes()...)
	return rs
}

// viewSettings are the parts of the engine configuration the views use:
// the bands of the current configuration (SPEC 4) and the threshold of
// the recommended list.
type viewSettings struct {
	th                 store.Thresholds
	recommendThreshold float64
}

// settings reads the workspace's engine.yaml (the engine's defaults where
// it or a parameter is absent), so that a changed configuration applies
// to the next request.
func (s *Server) settings() (viewSettings, error) {
	v := viewSettings{th: store.DefaultThresholds(), recommendThreshold: 0.75}
	if s.cfg.WorkspaceDir == "" {
		return v, nil
	}
	b, err := os.ReadFile(filepath.Join(s.cfg.WorkspaceDir, "engine.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("engine configuration: %w", err)
	}
	var c struct {
		High               *float64 `yaml:"high"`
		Medium             *float64 `yaml:"medium"`
		AutoAccess         *float64 `yaml:"auto_access"`
		RecommendThreshold *float64 `yaml:"recommend_threshold"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return v, fmt.Errorf("engine configuration: %w", err)
	}
	set := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&v.th.High, c.High)
	set(&v.th.Medium, c.Medium)
	set(&v.th.AutoAccess, c.AutoAccess)
	set(&v.recommendThreshold, c.RecommendThreshold)
	return v, nil
}

// storeErr turns a store error into the API's: an unknown id is a 404
// naming it, a bad parameter a 400 naming the field.
func storeErr(err error) error {
	var nf *store.NotFoundError
	if errors.As(err, &nf) {
		return errorf(KindNotFound, fieldOfKind(nf.Kind), "%s %q not found", nf.Kind, nf.ID)
	}
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return errorf(KindBadData, fe.Field, "%s", fe.Msg)
	}
	return err
}

func fieldOfKind(kind string) string {
	switch kind {
	case "user":
		return "user"
	case "entitlement":
		return "entitlement"
	case "application":
		return "appId"
	case "role":
		return "role_id"
	case "rule":
		return "rules"
	}
	return ""
}

// callerID is the identity id of a signed-in caller: the uid, else the
// user name.
func callerID(c *caller) string {
	if c.user.UID != "" {
		return c.user.UID
	}
	return c.user.Username
}

func hasGroup(c *caller, g Group) bool {
	for _, x := range c.groups {
		if x == g {
			return true
		}
	}
	return false
}

// scopeOf is the row scope of the caller: everything for administrators,
// executives and API keys; otherwise the union of what each group sees
// (a supervisor their reports, an entitlement owner their entitlements,
// an application owner their applications); a caller in none of those
// groups sees their own access.
func scopeOf(r *http.Request) store.Scope {
	c := callerOf(r.Context())
	if c == nil || c.key != nil || c.isAdmin() || hasGroup(c, GroupExecutive) {
		return store.Scope{}
	}
	id := callerID(c)
	var sc store.Scope
	if hasGroup(c, GroupSupervisor) {
		sc.Supervisor = id
	}
	if hasGroup(c, GroupEntitlementOwner) {
		sc.EntOwner = id
	}
	if hasGroup(c, GroupApplicationOwner) {
		sc.AppOwner = id
	}
	if sc.All() {
		sc.Self = id
	}
	return sc
}

// ownerScope is the scope of by=...&user=...: an administrator may name
// anyone; anyone else sees their own scope.
func ownerScope(r *http.Request, byField, userField string) (store.Scope, store.OwnerBy, string, error) {
	q := r.URL.Query()
	by, err := store.ParseOwnerBy(byField, q.Get(byField))
	if err != nil {
		return store.Scope{}, "", "", storeErr(err)
	}
	user := q.Get(userField)
	sc := scopeOf(r)
	if sc.All() {
		return store.ScopeOf(by, user), by, user, nil
	}
	return sc, by, user, nil
}

// canAct reports whether the caller may decide on an assignment of this
// user, entitlement owner and application owner.
func canAct(r *http.Request, usrManager, entOwner, appOwner *string) bool {
	sc := scopeOf(r)
	if sc.All() {
		return true
	}
	eq := func(p *string, id string) bool { return p != nil && id != "" && *p == id }
	return eq(usrManager, sc.Supervisor) || eq(entOwner, sc.EntOwner) || eq(appOwner, sc.AppOwner)
}

// round2 rounds half up to two decimals on the shortest decimal form of
// x (SPEC 14), so 0.145 gives 0.15.
func round2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	neg := x < 0
	s := strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) <= 2 {
		return x
	}
	n, _ := strconv.ParseInt(ip+fp[:2], 10, 64)
	if fp[2] >= '5' {
		n++
	}
	v := float64(n) / 100
	if neg {
		v = -v
	}
	return v
}

// conf is a rounded confidence, null when unscored.
func conf(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := round2(*p)
	return &v
}

// confText is a confidence as the reference's strings show it ("0.88").
func confText(p *float64) *string {
	if p == nil {
		return nil
	}
	s := strconv.FormatFloat(round2(*p), 'f', 2, 64)
	return &s
}

// freqText is a count as the reference's "10.0" strings show it.
func freqText(p *int64) *string {
	if p == nil {
		return nil
	}
	s := strconv.FormatInt(*p, 10) + ".0"
	return &s
}

func intText(p *int64) *string {
	if p == nil {
		return nil
	}
	s := strconv.FormatInt(*p, 10)
	return &s
}

// attrTitle is the display title of an identity attribute: by default
// its name.
func attrTitle(name string) string { return name }

// titled is an attribute with its title, as justifications show it.
type titled struct {
	ID    string `json:"id,omitempty"`
	Title string `json:"title"`
	Value string `json:"value"`
}

// justification shows encoded items as {id, title, value}.
func justification(items []string, withID bool) []titled {
	out := make([]titled, 0, len(items))
	for _, s := range items {
		it, err := model.ParseItem(s)
		if err != nil {
			out = append(out, titled{Title: s, Value: s})
			continue
		}
		t := titled{Title: attrTitle(it.Name), Value: it.Value}
		if withID {
			t.ID = it.Name
		}
		out = append(out, t)
	}
	return out
}

// rawItems are the items without their length prefix (the reference's
// rawJustification of the user views: "CHIEF_YES_NO_Yes").
func rawItems(items []string) []string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if it, err := model.ParseItem(s); err == nil {
			out = append(out, it.Name+"_"+it.Value)
		} else {
			out = append(out, s)
		}
	}
	return out
}

// queryBool reads a boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errorf(KindBadData, name, "want true or false, got %q", s)
	}
	return b, nil
}

// stringOrList reads a JSON string or list of strings.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = []string{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return &fieldError{field: "value", msg: "want a string or a list of strings"}
	}
	*l = list
	return nil
}

// flexInt reads a number or a string holding one (the single-view
// endpoint takes strings for every field).
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s == "" {
			return nil
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return &fieldError{field: "pageSize", msg: "want an integer"}
		}
		*n = flexInt(v)
		return nil
	}
	var v int
	if err := json.Unmarshal(b, &v); err != nil {
		return &fieldError{field: "pageSize", msg: "want an integer"}
	}
	*n = flexInt(v)
	return nil
}

// timeFilter is a timestampThresholds object.
type timeFilter struct {
	Gt  string `json:"gt,omitempty"`
	Gte string `json:"gte,omitempty"`
	Lt  string `json:"lt,omitempty"`
	Lte string `json:"lte,omitempty"`
}

func (t *timeFilter) parse(field string) (store.TimeRange, error) {
	if t == nil {
		return store.TimeRange{}, nil
	}
	r, err := store.ParseTimeRange(field, t.Gt, t.Gte, t.Lt, t.Lte)
	return r, storeErr(err)
}

// filterParam reads a filter object given as the query parameter name
// (JSON, as the reference's GET examples pass it) or as the body.
func filterParam(r *http.Request, name string, v any) error {
	if s := r.URL.Query().Get(name); s != "" {
		if err := json.Unmarshal([]byte(s), v); err != nil {
			return errorf(KindBadData, name, "want a JSON object: %v", err)
		}
		return nil
	}
	return nil
}

// pageOf reads pageSize (query) with a default.
func pageOf(r *http.Request) (int, error) {
	n, err := queryInt(r, "pageSize", 0)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errorf(KindBadData, "pageSize", "want a positive number, got %d", n)
	}
	return n, nil
}

// nullCursor is a cursor that is JSON null on the last page.
func nullCursor(c string) *string {
	if c == "" {
		return nil
	}
	return &c
}
