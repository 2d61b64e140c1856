package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) userRoutes() []route {
	const tag = "User Details"
	u2a := users(groupsUserToAdmin()...)
	s2a := users(groupsSupervisorToAdmin()...)
	admin := users(groupsAdmin()...)
	return []route{
		{Method: "POST", Path: "/api/userDetails", Access: u2a, Tag: tag, Summary: "An identity's assignments and recommendations, paged",
			Request: userDetailsReq{}, Response: userDetailsBody{}, Handle: s.userDetails},
		{Method: "GET", Path: "/api/userDetails/decisions", Access: s2a.orKey(), Tag: tag, Summary: "The decisions on an identity's assignments",
			Response: decisionsBody{}, Handle: s.getDecisions},
		{Method: "POST", Path: "/api/userDetails/decisions", Access: s2a, Tag: tag, Summary: "Certify, revoke or request assignments",
			Request: decisionsReq{}, Response: statusBody{}, Handle: s.postDecisions},
		{Method: "POST", Path: "/api/userDetails/hrData", Access: u2a, Tag: tag, Summary: "An identity's HR attributes",
			Request: employeeReq{}, Response: hrDataBody{}, Handle: s.hrData},
		{Method: "POST", Path: "/api/userDetails/search", Access: users(GroupExecutive, GroupSupervisor, GroupApplicationOwner, GroupAdmin), Tag: tag,
			Summary: "Identities whose id or name contains the text", Request: searchReq{}, Response: searchBody{}, Handle: s.searchUsers},
		{Method: "POST", Path: "/api/userDetails/ent/autoprovision", Access: admin, Tag: tag, Summary: "Recommendations whose rule is auto-requested",
			Request: autoprovisionReq{}, Response: autoprovisionBody{}, Handle: s.autoprovision},
		{Method: "POST", Path: "/api/userDetails/autoAction", Access: admin, Tag: tag, Summary: "Candidates to provision, revoke or certify",
			Request: autoActionReq{}, Response: autoActionBody{}, Handle: s.autoAction},
		{Method: "POST", Path: "/api/userDetails/drivingFactor", Access: u2a, Tag: tag, Summary: "An entitlement's driving factors",
			Request: drivingReq{}, Response: []drivingFactor{}, Handle: s.drivingFactor},
		{Method: "POST", Path: "/api/userDetails/distinct", Access: admin, Tag: tag, Summary: "Every identity, paged, by attribute prefix",
			Response: []map[string]any{}, Handle: s.distinctUsers},
		{Method: "POST", Path: "/api/singleViewWithApp/employees", Access: admin, Tag: "Single view with application",
			Summary: "An identity's assignments with band counts (deprecated in the reference)", Request: singleViewReq{}, Response: singleViewBody{}, Handle: s.singleView},
	}
}

type userDetailsReq struct {
	EmployeeID            string  `json:"employeeId"`
	SortDir               string  `json:"sortDir"`
	LastEntitlementID     string  `json:"lastEntitlementId"`
	LastRecommendedEnttID string  `json:"lastRecommendedEnttId"`
	PageSize              flexInt `json:"pageSize"`
}

type enttInfo struct {
	Entitlement          string  `json:"entitlement"`
	AppID                *string `json:"app_id"`
	Role                 *string `json:"role"`
	AppName              *string `json:"app_name"`
	EntitlementName      *string `json:"entitlement_name"`
	HighRisk             *string `json:"high_risk"`
	RoleOwnerDisplayName *string `json:"roleOwnerDisplayName"`
	RequestorCanAccess   bool    `json:"requestorCanAccess"`
}

type prediction struct {
	UsrKey    string   `json:"usr_key"`
	Ent       string   `json:"ent"`
	Conf      *string  `json:"conf"`
	Freq      *string  `json:"freq"`
	Frequnion *string  `json:"frequnion"`
	Rule      []titled `json:"rule"`
	Entt      enttInfo `json:"entt"`
}

type userEntt struct {
	User               string         `json:"user"`
	Entitlement        string         `json:"entitlement"`
	AppID              *string        `json:"app_id"`
	AppName            *string        `json:"app_name"`
	EntitlementName    *string        `json:"entitlement_name"`
	Freq               *string        `json:"freq"`
	Frequnion          *string        `json:"frequnion"`
	HighRisk           *string        `json:"high_risk"`
	Justification      []titled       `json:"justification"`
	Score              *float64       `json:"score"`
	UserName           *string        `json:"user_name"`
	LastAccessed       *string        `json:"lastAccessed"`
	RequestorCanAccess bool           `json:"requestorCanAccess"`
	RawJustification   []string       `json:"rawJustification"`
	Decision           *decisionState `json:"decision,omitempty"`
}

// decisionState is the recorded decision on an assignment, shown in the
// views.
type decisionState struct {
	IsCertified    bool   `json:"is_certified"`
	IsRevoked      bool   `json:"is_revoked"`
	IsRequested    bool   `json:"is_requested"`
	IsProcessed    bool   `json:"is_processed"`
	Author         string `json:"author"`
	LastUpdated    string `json:"last_updated"`
	DatasinkStatus string `json:"datasink_status"`
}

func decisionOf(d *store.Decision) *decisionState {
	if d == nil {
		return nil
	}
	return &decisionState{IsCertified: d.Certified, IsRevoked: d.Revoked, IsRequested: d.Requested, IsProcessed: d.Processed,
		Author: d.Author, LastUpdated: formatTime(d.UpdatedAt), DatasinkStatus: d.DatasinkStatus}
}

type hrItem struct {
	Title string `json:"title"`
	ID    string `json:"id"`
	Value string `json:"value"`
}

type recommendedEntt struct {
	Predictions                []prediction `json:"predictions"`
	EntitlementsCount          int64        `json:"entitlementsCount"`
	EntitlementsRemainingCount int64        `json:"entitlementsRemainingCount"`
	LastEntitlementID          *string      `json:"lastEntitlementId"`
}

type userDetailsBody struct {
	RecommendedEntt recommendedEntt `json:"recommendedEntt"`
	UserEntt        []userEntt      `json:"userEntt"`
	User            struct {
		DisplayName *string  `json:"displayName"`
		HRData      []hrItem `json:"hrData"`
	} `json:"user"`
	EntitlementsCount          int64   `json:"entitlementsCount"`
	EntitlementsRemainingCount int64   `json:"entitlementsRemainingCount"`
	LastEntitlementID          *string `json:"lastEntitlementId"`
}

func hrData(id store.Identity) []hrItem {
	out := []hrItem{}
	for _, a := range id.Attrs {
		out = append(out, hrItem{Title: attrTitle(a.Name), ID: a.Name, Value: a.Value})
	}
	return out
}

func displayName(id store.Identity) *string {
	for _, a := range id.Attrs {
		if strings.EqualFold(a.Name, "USR_DISPLAY_NAME") {
			v := a.Value
			return &v
		}
	}
	return id.Name
}

func lastAccessed(a store.AssignmentView) *string {
	if a.LastUsed == nil {
		return nil
	}
	s := a.LastUsed.UTC().Format("2006-01-02 15:04:05")
	return &s
}

func (s *Server) userEnttOf(r *http.Request, a store.AssignmentView) userEntt {
	return userEntt{User: a.UsrID, Entitlement: a.EntID, AppID: a.AppID, AppName: a.AppName, EntitlementName: a.EntName,
		Freq: freqText(a.Freq), Frequnion: intText(a.Frequnion), HighRisk: a.EntRiskLevel, Justification: justification(a.Justification, false),
		Score: conf(a.Score), UserName: a.UsrName, LastAccessed: lastAccessed(a), RequestorCanAccess: canAct(r, a.ManagerID, a.EntOwner, a.AppOwner),
		RawJustification: rawItems(a.Justification), Decision: decisionOf(a.Decision)}
}

func (s *Server) userDetails(r *http.Request) (any, error) {
	var req userDetailsReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("employeeId", req.EmployeeID); err != nil {
		return nil, err
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	desc := false
	switch strings.ToLower(strings.TrimSpace(req.SortDir)) {
	case "", "asc", "asc, desc":
	case "desc":
		desc = true
	default:
		return nil, errorf(KindBadData, "sortDir", "want asc or desc, got %q", req.SortDir)
	}
	ud, err := s.db.UserDetails(r.Context(), store.UserDetailsQuery{UsrID: req.EmployeeID, Desc: desc, AfterEnt: req.LastEntitlementID,
		AfterRec: req.LastRecommendedEnttID, PageSize: int(req.PageSize), RecommendMin: set.recommendThreshold, Scope: scopeOf(r)})
	if err != nil {
		return nil, storeErr(err)
	}
	var out userDetailsBody
	out.UserEntt = []userEntt{}
	for _, a := range ud.Assignments {
		out.UserEntt = append(out.UserEntt, s.userEnttOf(r, a))
	}
	out.User.DisplayName = displayName(ud.User)
	out.User.HRData = hrData(ud.User)
	out.EntitlementsCount, out.EntitlementsRemainingCount = ud.AssignmentCount, ud.AssignRemain
	if n := len(ud.Assignments); n > 0 {
		out.LastEntitlementID = &ud.Assignments[n-1].EntID
	}
	out.RecommendedEntt.Predictions = []prediction{}
	for _, p := range ud.Recommendations {
		c := p.Confidence
		ent := p.EntID
		if p.EntName != nil {
			ent = *p.EntName
		}
		out.RecommendedEntt.Predictions = append(out.RecommendedEntt.Predictions, prediction{UsrKey: p.UsrID, Ent: p.EntID, Conf: confText(&c),
			Freq: freqText(p.Freq), Frequnion: intText(p.Frequnion), Rule: justification(p.Justification, false),
			Entt: enttInfo{Entitlement: ent, AppID: p.AppID, Role: p.EntOwner, AppName: p.AppName, EntitlementName: p.EntName, HighRisk: p.RiskLevel,
				RoleOwnerDisplayName: p.EntOwnerName, RequestorCanAccess: canAct(r, ud.User.ManagerID, p.EntOwner, p.AppOwner)}})
	}
	out.RecommendedEntt.EntitlementsCount, out.RecommendedEntt.EntitlementsRemainingCount = ud.RecCount, ud.RecRemain
	if n := len(ud.Recommendations); n > 0 {
		out.RecommendedEntt.LastEntitlementID = &ud.Recommendations[n-1].EntID
	}
	return out, nil
}

type decisionItem struct {
	User           string   `json:"user"`
	Entitlement    string   `json:"entitlement"`
	IsCertified    bool     `json:"is_certified"`
	IsRevoked      bool     `json:"is_revoked"`
	IsRequested    bool     `json:"is_requested"`
	IsProcessed    bool     `json:"is_processed"`
	IsArchived     bool     `json:"is_archived"`
	Author         *string  `json:"author"`
	AuthorName     *string  `json:"author_name"`
	AuthorType     *string  `json:"author_type"`
	Reason         *string  `json:"reason"`
	LastUpdated    string   `json:"last_updated"`
	DatasinkStatus string   `json:"datasink_status"`
	UsrName        *string  `json:"usr_name"`
	EntName        *string  `json:"ent_name"`
	AppID          *string  `json:"app_id"`
	AppName        *string  `json:"app_name"`
	UsrManagerID   *string  `json:"usr_manager_id"`
	Conf           *float64 `json:"conf"`
	Freq           *int64   `json:"freq"`
	FreqUnion      *int64   `json:"freqUnion"`
}

type decisionsBody struct {
	Decisions []decisionItem `json:"decisions"`
}

type decisionFilter struct {
	DatasinkStatus      string      `json:"datasinkStatus"`
	TimestampThresholds *timeFilter `json:"timestampThresholds"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// getDecisions reads user and filter from the query (filter as JSON, or
// its fields datasinkStatus and timestampThresholds as parameters of
// their own) or from a JSON body.
func (s *Server) getDecisions(r *http.Request) (any, error) {
	var body struct {
		User   string          `json:"user"`
		Filter *decisionFilter `json:"filter"`
	}
	if err := decodeOptionalJSON(r, &body); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	user := q.Get("user")
	if user == "" {
		user = body.User
	}
	if err := required("user", user); err != nil {
		return nil, err
	}
	f := decisionFilter{}
	if body.Filter != nil {
		f = *body.Filter
	}
	if err := filterParam(r, "filter", &f); err != nil {
		return nil, err
	}
	if v := q.Get("datasinkStatus"); v != "" {
		f.DatasinkStatus = v
	}
	if v := q.Get("timestampThresholds"); v != "" {
		f.TimestampThresholds = &timeFilter{}
		if err := json.Unmarshal([]byte(v), f.TimestampThresholds); err != nil {
			return nil, errorf(KindBadData, "timestampThresholds", "want a JSON object: %v", err)
		}
	}
	tr, err := f.TimestampThresholds.parse("filter.timestampThresholds")
	if err != nil {
		return nil, err
	}
	ds, err := s.db.Decisions(r.Context(), store.DecisionQuery{UsrID: user, DatasinkStatus: f.DatasinkStatus, Updated: tr, Scope: scopeOf(r)})
	if err != nil {
		return nil, storeErr(err)
	}
	out := decisionsBody{Decisions: []decisionItem{}}
	for _, d := range ds {
		out.Decisions = append(out.Decisions, decisionItem{User: d.UsrID, Entitlement: d.EntID, IsCertified: d.Certified, IsRevoked: d.Revoked,
			IsRequested: d.Requested, IsProcessed: d.Processed, IsArchived: d.Archived, Author: strOrNil(d.Author), AuthorName: strOrNil(d.AuthorName),
			AuthorType: strOrNil(d.AuthorType), Reason: strOrNil(d.Reason), LastUpdated: formatTime(d.UpdatedAt), DatasinkStatus: d.DatasinkStatus,
			UsrName: d.UsrName, EntName: d.EntName, AppID: d.AppID, AppName: d.AppName, UsrManagerID: d.ManagerID, Conf: conf(d.Score),
			Freq: d.Freq, FreqUnion: d.Frequnion})
	}
	return out, nil
}

type decisionsReq struct {
	Assignments []struct {
		User         string   `json:"user"`
		Entitlements []string `json:"entitlements"`
	} `json:"assignments"`
	IsCertified    bool   `json:"is_certified"`
	IsRevoked      bool   `json:"is_revoked"`
	IsRequested    bool   `json:"is_requested"`
	IsProcessed    bool   `json:"is_processed"`
	Reason         string `json:"reason"`
	DatasinkStatus string `json:"datasink_status"`
}

type statusBody struct {
	Status int `json:"status"`
}

// authorType names the caller's highest group for the decision record.
func authorType(c *caller) string {
	for _, g := range []Group{GroupAdmin, GroupSupervisor, GroupEntitlementOwner, GroupApplicationOwner, GroupExecutive, GroupRoleEngineer, GroupUser} {
		if hasGroup(c, g) {
			return string(g)
		}
	}
	if c.key != nil {
		return "API key"
	}
	return ""
}

func (s *Server) postDecisions(r *http.Request) (any, error) {
	var req decisionsReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	c := callerOf(r.Context())
	in := store.DecisionInput{Certified: req.IsCertified, Revoked: req.IsRevoked, Requested: req.IsRequested, Processed: req.IsProcessed,
		Reason: req.Reason, DatasinkStatus: req.DatasinkStatus, Author: c.name(), AuthorName: c.user.DisplayName, AuthorType: authorType(c), At: s.cfg.Now()}
	if c.user.UID != "" {
		in.Author = c.user.UID
	}
	sc := scopeOf(r)
	for _, a := range req.Assignments {
		in.Assignments = append(in.Assignments, store.UserEntitlements{User: a.User, Entitlements: a.Entitlements})
		if !sc.All() {
			// A non-administrator decides only within their scope.
			for _, e := range a.Entitlements {
				ok, err := s.db.InScope(r.Context(), sc, a.User, e)
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, errorf(KindForbidden, "assignments", "%s/%s is outside what %s may decide", a.User, e, c.name())
				}
			}
		}
	}
	if err := s.db.PutDecisions(r.Context(), in); err != nil {
		return nil, storeErr(err)
	}
	return statusBody{Status: 200}, nil
}

type employeeReq struct {
	EmployeeID string `json:"employeeId"`
}

type hrDataBody struct {
	User        []hrItem `json:"user"`
	DisplayName *string  `json:"displayName"`
}

func (s *Server) hrData(r *http.Request) (any, error) {
	var req employeeReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("employeeId", req.EmployeeID); err != nil {
		return nil, err
	}
	id, err := s.db.GetIdentity(r.Context(), req.EmployeeID)
	if err != nil {
		return nil, storeErr(err)
	}
	return hrDataBody{User: hrData(id), DisplayName: displayName(id)}, nil
}

type searchReq struct {
	Username string `json:"username"`
}

type searchHit struct {
	User               string  `json:"user"`
	IsApplicationOwner string  `json:"isapplicationowner"`
	IsEntitlementOwner string  `json:"isentitlementowner"`
	IsSupervisor       string  `json:"issupervisor"`
	UserDisplayName    *string `json:"userdisplayname"`
}

type searchBody struct {
	Values []searchHit `json:"values"`
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Server) searchUsers(r *http.Request) (any, error) {
	var req searchReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return nil, err
	}
	hits, err := s.db.SearchUsers(r.Context(), req.Username, limit)
	if err != nil {
		return nil, err
	}
	out := searchBody{Values: []searchHit{}}
	for _, h := range hits {
		out.Values = append(out.Values, searchHit{User: h.UsrID, IsApplicationOwner: boolText(h.IsAppOwner), IsEntitlementOwner: boolText(h.IsEntOwner),
			IsSupervisor: boolText(h.IsSupervisor), UserDisplayName: h.Name})
	}
	return out, nil
}

type autoprovisionReq struct {
	User     string  `json:"user"`
	Cursor   string  `json:"cursor"`
	PageSize flexInt `json:"pageSize"`
}

type provisionEnt struct {
	EntID         string   `json:"ent_id"`
	EntName       *string  `json:"ent_name"`
	EntAttribute  *string  `json:"ent_attribute"`
	EntRiskLevel  *string  `json:"ent_risk_level"`
	Score         *float64 `json:"score"`
	Freq          *int64   `json:"freq"`
	Frequnion     *int64   `json:"frequnion"`
	Justification []titled `json:"justification"`
	AppID         *string  `json:"app_id"`
	AppName       *string  `json:"app_name"`
}

type autoprovisionBody struct {
	UsrID   string         `json:"usr_id"`
	UsrName *string        `json:"usr_name"`
	Ents    []provisionEnt `json:"ents"`
	Cursor  *string        `json:"cursor"`
}

func (s *Server) autoprovision(r *http.Request) (any, error) {
	var req autoprovisionReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("user", req.User); err != nil {
		return nil, err
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	recs, next, err := s.db.Autoprovision(r.Context(), req.User, set.th.AutoAccess, req.Cursor, int(req.PageSize))
	if err != nil {
		return nil, storeErr(err)
	}
	id, err := s.db.GetIdentity(r.Context(), req.User)
	if err != nil {
		return nil, storeErr(err)
	}
	out := autoprovisionBody{UsrID: req.User, UsrName: id.Name, Ents: []provisionEnt{}, Cursor: nullCursor(next)}
	for _, p := range recs {
		c := p.Confidence
		out.Ents = append(out.Ents, provisionEnt{EntID: p.EntID, EntName: p.EntName, EntRiskLevel: p.RiskLevel, Score: conf(&c),
			Freq: p.Freq, Frequnion: p.Frequnion, Justification: justification(p.Justification, false), AppID: p.AppID, AppName: p.AppName})
	}
	return out, nil
}

type scoreFilter struct {
	Gte *float64 `json:"gte"`
	Gt  *float64 `json:"gt"`
	Lte *float64 `json:"lte"`
	Lt  *float64 `json:"lt"`
}

type autoActionReq struct {
	Action     string       `json:"action"`
	UsrID      string       `json:"usrId"`
	EntID      string       `json:"entId"`
	Thresholds *scoreFilter `json:"thresholds"`
	Cursor     string       `json:"cursor"`
	PageSize   flexInt      `json:"pageSize"`
}

type autoActionItem struct {
	UsrID         string   `json:"usr_id"`
	EntID         string   `json:"ent_id"`
	Score         *float64 `json:"score"`
	Freq          *int64   `json:"freq"`
	Frequnion     *int64   `json:"frequnion"`
	Justification []titled `json:"justification"`
}

type autoActionBody struct {
	Action string           `json:"action"`
	Items  []autoActionItem `json:"items"`
	Cursor *string          `json:"cursor"`
}

func (s *Server) autoAction(r *http.Request) (any, error) {
	var req autoActionReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("action", req.Action); err != nil {
		return nil, err
	}
	var th store.ScoreRange
	if req.Thresholds != nil {
		th = store.ScoreRange{Gt: req.Thresholds.Gt, Gte: req.Thresholds.Gte, Lt: req.Thresholds.Lt, Lte: req.Thresholds.Lte}
	}
	rows, next, err := s.db.AutoAction(r.Context(), store.AutoActionQuery{Action: req.Action, UsrID: req.UsrID, EntID: req.EntID,
		Thresholds: th, Cursor: req.Cursor, PageSize: int(req.PageSize)})
	if err != nil {
		return nil, storeErr(err)
	}
	out := autoActionBody{Action: req.Action, Items: []autoActionItem{}, Cursor: nullCursor(next)}
	for _, x := range rows {
		out.Items = append(out.Items, autoActionItem{UsrID: x.UsrID, EntID: x.EntID, Score: conf(x.Score), Freq: x.Freq, Frequnion: x.Frequnion,
			Justification: justification(x.Justification, true)})
	}
	return out, nil
}

type drivingReq struct {
	Entitlement string `json:"entitlement"`
}

type drivingFactor struct {
	Ent          string `json:"ent"`
	Attribute    titled `json:"attribute"`
	Count        int64  `json:"count"`
	RawAttribute string `json:"rawAttribute"`
}

func (s *Server) drivingFactor(r *http.Request) (any, error) {
	var req drivingReq
	if err := decodeOptionalJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Entitlement == "" {
		req.Entitlement = r.URL.Query().Get("entitlement")
	}
	if err := required("entitlement", req.Entitlement); err != nil {
		return nil, err
	}
	fs, err := s.db.DrivingFactors(r.Context(), req.Entitlement)
	if err != nil {
		return nil, storeErr(err)
	}
	out := []drivingFactor{}
	for _, f := range fs {
		j := justification([]string{f.Item}, false)
		out = append(out, drivingFactor{Ent: f.EntID, Attribute: j[0], Count: f.Count, RawAttribute: rawItems([]string{f.Item})[0]})
	}
	return out, nil
}

// distinctUsers takes pageSize, cursor and any identity attributes as
// body fields (or query parameters); each attribute keeps the identities
// whose value starts with the one given.
func (s *Server) distinctUsers(r *http.Request) (any, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err)
	}
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := unmarshalBody(b, &fields); err != nil {
			return nil, err
		}
	}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			j, _ := json.Marshal(v[0])
			fields[k] = j
		}
	}
	q := store.DistinctUsersQuery{Prefix: map[string]string{}}
	for k, raw := range fields {
		switch k {
		case "pageSize":
			var n flexInt
			if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
				return nil, errorf(KindBadData, "pageSize", "want a positive integer")
			}
			q.PageSize = int(n)
		case "cursor":
			if err := json.Unmarshal(raw, &q.Cursor); err != nil {
				return nil, errorf(KindBadData, "cursor", "want a string")
			}
		default:
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, errorf(KindBadData, k, "want a string")
			}
			q.Prefix[k] = v
		}
	}
	us, _, err := s.db.DistinctUsers(r.Context(), q)
	if err != nil {
		return nil, storeErr(err)
	}
	out := []map[string]any{}
	for _, u := range us {
		m := map[string]any{"usr_id": u.UsrID, "usr_name": u.Name, "usr_manager_id": u.ManagerID}
		for k, v := range u.Attrs {
			m[k] = v
		}
		out = append(out, m)
	}
	return out, nil
}

type singleViewReq struct {
	EmployeeID          string  `json:"employeeId"`
	IncludeLastAccessed string  `json:"includeLastAccessed"`
	PageSize            flexInt `json:"pageSize"`
	LastEntitlementID   string  `json:"lastEntitlementId"`
}

type singleViewBody struct {
	High                       int64      `json:"high"`
	Medium                     int64      `json:"medium"`
	Low                        int64      `json:"low"`
	AvgScore                   *float64   `json:"avg_score"`
	AppName                    string     `json:"app_name"`
	AppID                      string     `json:"app_id"`
	EntitlementName            string     `json:"entitlement_name"`
	HighRisk                   *string    `json:"high_risk"`
	UserEntt                   []userEntt `json:"userEntt"`
	User                       string     `json:"user"`
	EntitlementsCount          int64      `json:"entitlementsCount"`
	EntitlementsRemainingCount int64      `json:"entitlementsRemainingCount"`
	LastEntitlementID          *string    `json:"lastEntitlementId"`
}

func (s *Server) singleView(r *http.Request) (any, error) {
	var req singleViewReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("employeeId", req.EmployeeID); err != nil {
		return nil, err
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	sc := scopeOf(r)
	ud, err := s.db.UserDetails(r.Context(), store.UserDetailsQuery{UsrID: req.EmployeeID, AfterEnt: req.LastEntitlementID, PageSize: int(req.PageSize),
		RecommendMin: 2, Scope: sc})
	if err != nil {
		return nil, storeErr(err)
	}
	bands, err := s.db.UserBands(r.Context(), req.EmployeeID, set.th, sc)
	if err != nil {
		return nil, err
	}
	out := singleViewBody{High: bands.High, Medium: bands.Medium, Low: bands.Low, AvgScore: conf(bands.Avg()), UserEntt: []userEntt{}, User: req.EmployeeID,
		EntitlementsCount: ud.AssignmentCount, EntitlementsRemainingCount: ud.AssignRemain}
	withLast := strings.EqualFold(req.IncludeLastAccessed, "true")
	for _, a := range ud.Assignments {
		u := s.userEnttOf(r, a)
		if !withLast {
			u.LastAccessed = nil
		}
		out.UserEntt = append(out.UserEntt, u)
	}
	if n := len(ud.Assignments); n > 0 {
		out.LastEntitlementID = &ud.Assignments[n-1].EntID
	}
	return out, nil
}
