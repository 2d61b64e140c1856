package server

import (
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) entRoutes() []route {
	const tag = "Entitlements"
	admin := users(groupsAdmin()...)
	supEntAdm := users(GroupSupervisor, GroupEntitlementOwner, GroupAdmin)
	return []route{
		{Method: "GET", Path: "/api/entitlements/search", Access: users(GroupEntitlementOwner, GroupApplicationOwner, GroupAdmin), Tag: tag,
			Summary: "Entitlements whose id or name contains the text", Response: entSearchBody{}, Handle: s.searchEnts},
		{Method: "POST", Path: "/api/entitlements/stats", Access: supEntAdm, Tag: tag, Summary: "The entitlements view of a supervisor or an entitlement owner",
			Request: entStatsReq{}, Response: entStatsBody{}, Handle: s.entStats},
		{Method: "GET", Path: "/api/entitlements/id/{id}", Access: users(groupsUserToAdmin()...), Tag: tag, Summary: "An entitlement with its holders, scores and driving factors",
			Response: entDetailBody{}, Handle: s.entDetail},
		{Method: "GET", Path: "/api/entitlements/unscored", Access: supEntAdm, Tag: tag, Summary: "Unscored assignments by entitlement, in the caller's scope",
			Response: unscoredBody{}, Handle: s.unscored},
		{Method: "GET", Path: "/api/entitlements/distinct", Access: admin, Tag: tag, Summary: "Every entitlement",
			Response: []distinctEnt{}, Handle: s.distinctEnts},
		{Method: "GET", Path: "/api/entitlements/recommendations", Access: admin, Tag: tag, Summary: "The best rule per entitlement for a set of attributes",
			Request: recForItemsReq{}, Response: []itemRec{}, Handle: s.recommendForItems},
		{Method: "POST", Path: "/api/entitlements/recommendations", Access: admin, Tag: tag, Summary: "The best rule per entitlement for a set of attributes (POST form)",
			Request: recForItemsReq{}, Response: []itemRec{}, Handle: s.recommendForItems},
		{Method: "POST", Path: "/api/assignments", Access: admin.orKey(), Tag: "Assignments", Summary: "Every assignment with score and justification, paged by cursor",
			Request: assignmentsReq{}, Response: assignmentsBody{}, Handle: s.assignments},
	}
}

type entSearchHit struct {
	ID       string  `json:"id"`
	AppID    *string `json:"app_id"`
	AppName  *string `json:"app_name"`
	EnttName *string `json:"entt_name"`
}

type entSearchBody struct {
	Values []entSearchHit `json:"values"`
}

func (s *Server) searchEnts(r *http.Request) (any, error) {
	q := r.URL.Query()
	by, err := store.ParseOwnerBy("by", q.Get("by"))
	if err != nil {
		return nil, storeErr(err)
	}
	user := q.Get("user")
	if sc := scopeOf(r); !sc.All() {
		// An owner searches their own entitlements or applications.
		if sc.EntOwner != "" && by != store.ByAppOwner || sc.AppOwner == "" {
			by, user = store.ByEntOwner, sc.EntOwner
		} else {
			by, user = store.ByAppOwner, sc.AppOwner
		}
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return nil, err
	}
	hits, err := s.db.SearchEntitlements(r.Context(), by, user, q.Get("q"), q.Get("appId"), limit)
	if err != nil {
		return nil, err
	}
	out := entSearchBody{Values: []entSearchHit{}}
	for _, h := range hits {
		out.Values = append(out.Values, entSearchHit{ID: h.EntID, AppID: h.AppID, AppName: h.AppName, EnttName: h.EntName})
	}
	return out, nil
}

type statsFilter struct {
	Type      string       `json:"type"`
	Group     string       `json:"group"`
	Attribute string       `json:"attribute"`
	Value     stringOrList `json:"value"`
}

type entStatsReq struct {
	OwnerID                    string        `json:"ownerId"`
	IsHighRiskOnly             bool          `json:"isHighRiskOnly"`
	IsMediumLowRiskOnly        bool          `json:"isMediumLowRiskOnly"`
	IsUserEntitlementsIncluded bool          `json:"isUserEntitlementsIncluded"`
	Filters                    []statsFilter `json:"filters"`
}

type bandApp struct {
	AppID   string  `json:"app_id"`
	AppName *string `json:"app_name"`
	Low     int64   `json:"low"`
	Medium  int64   `json:"medium"`
	High    int64   `json:"high"`
}

type bandUser struct {
	User     string  `json:"user"`
	UserName *string `json:"user_name"`
	High     int64   `json:"high"`
	Medium   int64   `json:"medium"`
	Low      int64   `json:"low"`
	Avg      *string `json:"avg"`
}

type bandEnt struct {
	Entitlement     string  `json:"entitlement"`
	EntitlementName *string `json:"entitlement_name"`
	AppID           *string `json:"app_id"`
	HighRisk        *string `json:"high_risk"`
	High            int64   `json:"high"`
	Medium          int64   `json:"medium"`
	Low             int64   `json:"low"`
	Avg             *string `json:"avg"`
}

type entStatsBody struct {
	TotalEntitlements            int64      `json:"total_entitlements"`
	TotalSubordinates            int64      `json:"total_subordinates"`
	UnscoredEntitlements         int64      `json:"unscoredEntitlements"`
	ScoredEntitlements           int64      `json:"scoredEntitlements"`
	UsersWithNoEntitlement       int64      `json:"usersWithNoEntitlement"`
	UsersWithNoScoredEntitlement int64      `json:"usersWithNoScoredEntitlement"`
	DistinctApps                 []bandApp  `json:"distinct_apps"`
	Users                        []bandUser `json:"users"`
	Entitlements                 []bandEnt  `json:"entitlements"`
}

// entStats: by=supervisor (the owner's reports) or by=roleOwner /
// entitlementOwner (the owner's entitlements); a non-administrator is
// always the owner.
func (s *Server) entStats(r *http.Request) (any, error) {
	var req entStatsReq
	if err := decodeOptionalJSON(r, &req); err != nil {
		return nil, err
	}
	by, err := store.ParseOwnerBy("by", r.URL.Query().Get("by"))
	if err != nil {
		return nil, storeErr(err)
	}
	owner := req.OwnerID
	if c := callerOf(r.Context()); c != nil && c.key == nil && !c.isAdmin() {
		owner = callerID(c)
		if by == store.ByAny {
			if hasGroup(c, GroupSupervisor) {
				by = store.BySupervisor
			} else {
				by = store.ByEntOwner
			}
		}
		if by == store.BySupervisor && !hasGroup(c, GroupSupervisor) || by == store.ByEntOwner && !hasGroup(c, GroupEntitlementOwner) {
			return nil, errorf(KindForbidden, "by", "%s is not a %s", owner, by)
		}
	}
	if by != store.ByAny {
		if err := required("ownerId", owner); err != nil {
			return nil, err
		}
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	q := store.EntStatsQuery{By: by, OwnerID: owner, HighRiskOnly: req.IsHighRiskOnly, MediumLowOnly: req.IsMediumLowRiskOnly,
		IncludeUsers: req.IsUserEntitlementsIncluded || by == store.BySupervisor, Thresholds: set.th}
	for _, f := range req.Filters {
		g := f.Group
		if g == "" {
			g = f.Attribute
		}
		q.Filters = append(q.Filters, store.StatsFilter{Type: f.Type, Group: g, Values: f.Value})
	}
	st, err := s.db.EntitlementStats(r.Context(), q)
	if err != nil {
		return nil, storeErr(err)
	}
	out := entStatsBody{TotalEntitlements: st.TotalEnts, TotalSubordinates: st.Subordinates, UnscoredEntitlements: st.Unscored, ScoredEntitlements: st.Scored,
		UsersWithNoEntitlement: st.UsersNoEnt, UsersWithNoScoredEntitlement: st.UsersNoScored, DistinctApps: []bandApp{}, Users: []bandUser{}, Entitlements: []bandEnt{}}
	for _, a := range st.Apps {
		out.DistinctApps = append(out.DistinctApps, bandApp{AppID: a.AppID, AppName: a.AppName, Low: a.Bands.Low, Medium: a.Bands.Medium, High: a.Bands.High})
	}
	for _, u := range st.Users {
		out.Users = append(out.Users, bandUser{User: u.UsrID, UserName: u.UsrName, High: u.Bands.High, Medium: u.Bands.Medium, Low: u.Bands.Low, Avg: confText(u.Bands.Avg())})
	}
	for _, e := range st.Ents {
		out.Entitlements = append(out.Entitlements, bandEnt{Entitlement: e.EntID, EntitlementName: e.EntName, AppID: e.AppID, HighRisk: e.RiskLevel,
			High: e.Bands.High, Medium: e.Bands.Medium, Low: e.Bands.Low, Avg: confText(e.Bands.Avg())})
	}
	return out, nil
}

type entScores struct {
	Avg    *float64 `json:"avg"`
	High   int64    `json:"high"`
	Medium int64    `json:"medium"`
	Low    int64    `json:"low"`
}

type entFactor struct {
	Attribute titled `json:"attribute"`
	Count     int64  `json:"count"`
}

type scoreCount struct {
	Score *float64 `json:"score"`
	Count int64    `json:"count"`
}

type entUser struct {
	User             string   `json:"user"`
	UserName         *string  `json:"user_name"`
	AppID            *string  `json:"app_id"`
	Freq             *int64   `json:"freq"`
	Frequnion        *int64   `json:"frequnion"`
	Justification    []titled `json:"justification"`
	RawJustification []string `json:"rawJustification"`
	Score            *float64 `json:"score"`
}

type entDetailBody struct {
	EntitlementName *string      `json:"entitlement_name"`
	Scores          entScores    `json:"scores"`
	DrivingFactors  []entFactor  `json:"drivingFactors"`
	UserScores      []scoreCount `json:"userScores"`
	Users           []entUser    `json:"users"`
}

func (s *Server) entDetail(r *http.Request) (any, error) {
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 10000)
	if err != nil {
		return nil, err
	}
	d, err := s.db.EntitlementDetail(r.Context(), chi.URLParam(r, "id"), scopeOf(r), set.th, limit)
	if err != nil {
		return nil, storeErr(err)
	}
	out := entDetailBody{EntitlementName: d.Ent.EntName, Scores: entScores{Avg: conf(d.Bands.Avg()), High: d.Bands.High, Medium: d.Bands.Medium, Low: d.Bands.Low},
		DrivingFactors: []entFactor{}, UserScores: []scoreCount{}, Users: []entUser{}}
	for _, f := range d.DrivingFactors {
		out.DrivingFactors = append(out.DrivingFactors, entFactor{Attribute: justification([]string{f.Item}, true)[0], Count: f.Count})
	}
	// userScores: holders per displayed score (null: unscored), by score.
	counts := map[float64]int64{}
	var unscored int64
	for _, u := range d.Users {
		out.Users = append(out.Users, entUser{User: u.UsrID, UserName: u.UsrName, AppID: u.AppID, Freq: u.Freq, Frequnion: u.Frequnion,
			Justification: justification(u.Justification, true), RawJustification: u.Justification, Score: conf(u.Score)})
		if u.Score == nil {
			unscored++
		} else {
			counts[round2(*u.Score)]++
		}
	}
	var keys []float64
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Float64s(keys)
	for _, k := range keys {
		k := k
		out.UserScores = append(out.UserScores, scoreCount{Score: &k, Count: counts[k]})
	}
	if unscored > 0 {
		out.UserScores = append(out.UserScores, scoreCount{Count: unscored})
	}
	return out, nil
}

type unscoredUser struct {
	UsrID   string  `json:"usr_id"`
	UsrName *string `json:"usr_name"`
}

type unscoredEnt struct {
	EntID   string         `json:"ent_id"`
	EntName *string        `json:"ent_name"`
	AppID   *string        `json:"app_id"`
	Users   []unscoredUser `json:"users"`
}

type unscoredBody struct {
	Entitlements []unscoredEnt `json:"entitlements"`
}

func (s *Server) unscored(r *http.Request) (any, error) {
	sc, _, _, err := ownerScope(r, "by", "user")
	if err != nil {
		return nil, err
	}
	es, err := s.db.UnscoredEntitlements(r.Context(), sc)
	if err != nil {
		return nil, err
	}
	out := unscoredBody{Entitlements: []unscoredEnt{}}
	for _, e := range es {
		x := unscoredEnt{EntID: e.EntID, EntName: e.EntName, AppID: e.AppID, Users: []unscoredUser{}}
		for _, u := range e.Users {
			x.Users = append(x.Users, unscoredUser{UsrID: u.ID, UsrName: u.Name})
		}
		out.Entitlements = append(out.Entitlements, x)
	}
	return out, nil
}

type distinctEnt struct {
	EntID          string  `json:"ent_id"`
	EntName        *string `json:"ent_name"`
	EntOwnerID     *string `json:"ent_owner_id"`
	AppID          *string `json:"app_id"`
	EntCriticality *string `json:"ent_criticality"`
	EntRiskLevel   *string `json:"ent_risk_level"`
}

// distinctEnts answers every entitlement; with pageSize, a page after
// cursor (the next cursor in the X-Next-Cursor header).
func (s *Server) distinctEnts(r *http.Request) (any, error) {
	size, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	es, _, err := s.db.DistinctEntitlements(r.Context(), r.URL.Query().Get("cursor"), size)
	if err != nil {
		return nil, storeErr(err)
	}
	out := []distinctEnt{}
	for _, e := range es {
		out = append(out, distinctEnt{EntID: e.EntID, EntName: e.EntName, EntOwnerID: e.OwnerID, AppID: e.AppID, EntCriticality: e.Criticality, EntRiskLevel: e.RiskLevel})
	}
	return out, nil
}

type recForItemsReq struct {
	ConfidenceThreshold *float64 `json:"confidenceThreshold"`
	MaxResults          *int     `json:"maxResults"`
	Offset              int      `json:"offset"`
	UserAttributes      []string `json:"userAttributes"`
}

type itemRec struct {
	Attributes  []string `json:"attributes"`
	Entitlement string   `json:"entitlement"`
	Confidence  float64  `json:"confidence"`
	Frequency   int64    `json:"frequency"`
}

// recommendForItems reads its options from the body (the reference sends
// a body with GET).
func (s *Server) recommendForItems(r *http.Request) (any, error) {
	var req recForItemsReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.UserAttributes) == 0 {
		return nil, errorf(KindBadData, "userAttributes", "give at least one attribute item")
	}
	th := 0.1
	if req.ConfidenceThreshold != nil {
		th = *req.ConfidenceThreshold
	}
	if th < 0 || th > 1 {
		return nil, errorf(KindBadData, "confidenceThreshold", "want a number in [0, 1]")
	}
	if req.Offset < 0 {
		return nil, errorf(KindBadData, "offset", "want 0 or more")
	}
	max := 1000
	if req.MaxResults != nil {
		if *req.MaxResults < 0 {
			return nil, errorf(KindBadData, "maxResults", "want 0 or more")
		}
		max = *req.MaxResults
	}
	recs, err := s.db.RecommendForItems(r.Context(), req.UserAttributes, th, req.Offset, max)
	if err != nil {
		return nil, err
	}
	out := []itemRec{}
	if req.MaxResults != nil && max == 0 {
		return out, nil
	}
	for _, x := range recs {
		out = append(out, itemRec{Attributes: x.Attributes, Entitlement: "06_ENT_ID_" + x.EntID, Confidence: round2(x.Confidence), Frequency: x.Freq})
	}
	return out, nil
}

type assignmentsReq struct {
	Cursor   string  `json:"cursor"`
	PageSize flexInt `json:"pageSize"`
	EntID    string  `json:"ent_id"`
	UsrID    string  `json:"usr_id"`
	AppID    string  `json:"app_id"`
}

type assignmentItem struct {
	EntID         string   `json:"ent_id"`
	UsrID         string   `json:"usr_id"`
	Score         *float64 `json:"score"`
	Justification []titled `json:"justification"`
}

type assignmentsBody struct {
	Cursor      *string          `json:"cursor"`
	Assignments []assignmentItem `json:"assignments"`
}

func (s *Server) assignments(r *http.Request) (any, error) {
	var req assignmentsReq
	if err := decodeOptionalJSON(r, &req); err != nil {
		return nil, err
	}
	if req.PageSize < 0 {
		return nil, errorf(KindBadData, "pageSize", "want a positive number")
	}
	if req.Cursor != "" {
		if _, _, err := store.ParseCursor(req.Cursor); err != nil {
			return nil, errorf(KindBadData, "cursor", "not a cursor this server made")
		}
	}
	as, next, err := s.db.Assignments(r.Context(), store.AssignmentQuery{UsrID: req.UsrID, EntID: req.EntID, AppID: req.AppID, Cursor: req.Cursor, PageSize: int(req.PageSize)})
	if err != nil {
		return nil, storeErr(err)
	}
	out := assignmentsBody{Cursor: nullCursor(next), Assignments: []assignmentItem{}}
	for _, a := range as {
		out.Assignments = append(out.Assignments, assignmentItem{EntID: a.EntID, UsrID: a.UsrID, Score: conf(a.Score), Justification: justification(a.Justification, true)})
	}
	return out, nil
}
