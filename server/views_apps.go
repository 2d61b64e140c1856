package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) appRoutes() []route {
	const tag = "Applications"
	a := users(GroupApplicationOwner, GroupAdmin)
	return []route{
		{Method: "GET", Path: "/api/applications", Access: a, Tag: tag, Summary: "Applications with their assignments by band, paged",
			Response: appsBody{}, Handle: s.applications},
		{Method: "GET", Path: "/api/applications/search", Access: a, Tag: tag, Summary: "Applications whose id or name contains the text",
			Response: appSearchBody{}, Handle: s.searchApps},
		{Method: "POST", Path: "/api/applications/{appId}", Access: a, Tag: tag, Summary: "An application's entitlements by band, filtered by holder attributes",
			Request: filtersReq{}, Response: appEntsBody{}, Handle: s.appEntitlements},
		{Method: "POST", Path: "/api/applications/{appId}/assignments", Access: a, Tag: tag, Summary: "An application's assignments with decisions, paged",
			Request: filtersReq{}, Response: appAssignmentsBody{}, Handle: s.appAssignments},
	}
}

type appLine struct {
	AppID   string   `json:"app_id"`
	AppName *string  `json:"app_name"`
	High    int64    `json:"high"`
	Medium  int64    `json:"medium"`
	Low     int64    `json:"low"`
	Avg     *float64 `json:"avg"`
}

type appsBody struct {
	Cursor            *string   `json:"cursor"`
	TotalApplications int64     `json:"total_applications"`
	TotalEntitlements int64     `json:"total_entitlements"`
	TotalAssignments  int64     `json:"total_assignments"`
	Applications      []appLine `json:"applications"`
}

func (s *Server) applications(r *http.Request) (any, error) {
	size, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	p, err := s.db.Applications(r.Context(), store.AppsQuery{OwnerID: q.Get("ownerId"), Scope: appScope(r), Cursor: q.Get("cursor"), PageSize: size})
	if err != nil {
		return nil, storeErr(err)
	}
	out := appsBody{Cursor: nullCursor(p.Next), TotalApplications: p.TotalApps, TotalEntitlements: p.TotalEnts, TotalAssignments: p.TotalAssigned, Applications: []appLine{}}
	for _, a := range p.Apps {
		out.Applications = append(out.Applications, appLine{AppID: a.AppID, AppName: a.AppName, High: a.Bands.High, Medium: a.Bands.Medium, Low: a.Bands.Low, Avg: conf(a.Bands.Avg())})
	}
	return out, nil
}

// appScope: an application owner sees their applications.
func appScope(r *http.Request) store.Scope {
	sc := scopeOf(r)
	if sc.All() || sc.AppOwner == "" {
		return sc
	}
	return store.Scope{AppOwner: sc.AppOwner}
}

type appSearchHit struct {
	AppID   string  `json:"app_id"`
	AppName *string `json:"app_name"`
}

type appSearchBody struct {
	Values []appSearchHit `json:"values"`
}

func (s *Server) searchApps(r *http.Request) (any, error) {
	q := r.URL.Query()
	by, err := store.ParseOwnerBy("by", q.Get("by"))
	if err != nil {
		return nil, storeErr(err)
	}
	user := q.Get("user")
	if sc := appScope(r); !sc.All() {
		by, user = store.ByAppOwner, sc.AppOwner
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return nil, err
	}
	hits, err := s.db.SearchApps(r.Context(), by, user, q.Get("q"), limit)
	if err != nil {
		return nil, err
	}
	out := appSearchBody{Values: []appSearchHit{}}
	for _, h := range hits {
		out.Values = append(out.Values, appSearchHit{AppID: h.AppID, AppName: h.AppName})
	}
	return out, nil
}

// userFilter is one {type: "user", attribute, value} of a filters list.
type userFilter struct {
	Type      string       `json:"type"`
	Attribute string       `json:"attribute"`
	Value     stringOrList `json:"value"`
}

type filtersReq struct {
	Filters  []userFilter `json:"filters"`
	Cursor   string       `json:"cursor"`
	PageSize flexInt      `json:"pageSize"`
	User     string       `json:"user"`
	SortBy   string       `json:"sortBy"`
	SortDir  string       `json:"sortDir"`
}

// attrFilters reads the filters list (only type "user" filters apply to
// identities; the attribute name is matched ignoring case).
func (s *Server) attrFilters(r *http.Request, fs []userFilter) ([]store.AttrFilter, error) {
	var out []store.AttrFilter
	for i, f := range fs {
		if f.Type != "" && f.Type != "user" {
			return nil, errorf(KindBadData, "filters", "filter %d: type %q: want user", i, f.Type)
		}
		if f.Attribute == "" {
			return nil, errorf(KindBadData, "filters", "filter %d: attribute is required", i)
		}
		out = append(out, store.AttrFilter{Attribute: f.Attribute, Values: f.Value})
	}
	res, err := s.db.ResolveAttrFilters(r.Context(), "filters", out)
	return res, storeErr(err)
}

type appEnt struct {
	Ent     string   `json:"ent"`
	EntName *string  `json:"ent_name"`
	High    int64    `json:"high"`
	Medium  int64    `json:"medium"`
	Low     int64    `json:"low"`
	Avg     *float64 `json:"avg"`
}

type appEntsBody struct {
	Cursor            *string  `json:"cursor"`
	TotalEntitlements int64    `json:"total_entitlements"`
	TotalUsers        int64    `json:"total_users"`
	TotalRules        int64    `json:"total_rules"`
	Entitlements      []appEnt `json:"entitlements"`
}

// appPage reads an application view's body: its filters resolved, and the
// cursor and page size, each taken from the query when given there.
func (s *Server) appPage(r *http.Request) (req filtersReq, fs []store.AttrFilter, size int, err error) {
	if err = decodeOptionalJSON(r, &req); err != nil {
		return
	}
	if fs, err = s.attrFilters(r, req.Filters); err != nil {
		return
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		req.Cursor = c
	}
	if size, err = pageOf(r); err == nil && size == 0 {
		size = int(req.PageSize)
	}
	return
}

func (s *Server) appEntitlements(r *http.Request) (any, error) {
	req, fs, size, err := s.appPage(r)
	if err != nil {
		return nil, err
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	p, err := s.db.AppEntitlements(r.Context(), store.AppEntsQuery{AppID: chi.URLParam(r, "appId"), Filters: fs, Scope: appScope(r), Thresholds: set.th,
		Cursor: req.Cursor, PageSize: size})
	if err != nil {
		return nil, storeErr(err)
	}
	out := appEntsBody{Cursor: nullCursor(p.Next), TotalEntitlements: p.TotalEnts, TotalUsers: p.TotalUsers, TotalRules: p.Rules, Entitlements: []appEnt{}}
	for _, e := range p.Ents {
		out.Entitlements = append(out.Entitlements, appEnt{Ent: e.EntID, EntName: e.EntName, High: e.Bands.High, Medium: e.Bands.Medium, Low: e.Bands.Low, Avg: conf(e.Bands.Avg())})
	}
	return out, nil
}

type author struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

type appAssignment struct {
	Ent            string   `json:"ent"`
	EntName        *string  `json:"ent_name"`
	Confidence     *float64 `json:"confidence"`
	UserID         string   `json:"user_id"`
	UserName       *string  `json:"user_name"`
	IsCertified    bool     `json:"isCertified"`
	DateCertified  *string  `json:"dateCertified"`
	IsRevoked      bool     `json:"isRevoked"`
	DateRevoked    *string  `json:"dateRevoked"`
	IsRequested    bool     `json:"isRequested"`
	DateRequested  *string  `json:"dateRequested"`
	IsProcessed    bool     `json:"isProcessed"`
	ApprovalAuthor *author  `json:"approvalAuthor"`
	DatasinkStatus *string  `json:"datasink_status"`
}

type appAssignmentsBody struct {
	Cursor            *string         `json:"cursor"`
	TotalUsers        int64           `json:"total_users"`
	TotalEntitlements int64           `json:"total_entitlements"`
	TotalAssignments  int64           `json:"total_assignments"`
	Assignments       []appAssignment `json:"assignments"`
}

func (s *Server) appAssignments(r *http.Request) (any, error) {
	req, fs, size, err := s.appPage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	pick := func(name, body string) string {
		if v := q.Get(name); v != "" {
			return v
		}
		return body
	}
	desc := false
	switch strings.ToLower(pick("sortDir", req.SortDir)) {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return nil, errorf(KindBadData, "sortDir", "want asc or desc")
	}
	p, err := s.db.AppAssignments(r.Context(), store.AppAssignmentsQuery{AppID: chi.URLParam(r, "appId"), UsrID: pick("user", req.User), Filters: fs,
		Scope: appScope(r), SortBy: pick("sortBy", req.SortBy), Desc: desc, Cursor: req.Cursor, PageSize: size})
	if err != nil {
		return nil, storeErr(err)
	}
	out := appAssignmentsBody{Cursor: nullCursor(p.Next), TotalUsers: p.TotalUsers, TotalEntitlements: p.TotalEnts, TotalAssignments: p.TotalAssign, Assignments: []appAssignment{}}
	for _, a := range p.Assignments {
		x := appAssignment{Ent: a.EntID, EntName: a.EntName, Confidence: conf(a.Score), UserID: a.UsrID, UserName: a.UsrName}
		if d := a.Decision; d != nil {
			at := formatTime(d.UpdatedAt)
			x.IsCertified, x.IsRevoked, x.IsRequested, x.IsProcessed = d.Certified, d.Revoked, d.Requested, d.Processed
			if d.Certified {
				x.DateCertified = &at
			}
			if d.Revoked {
				x.DateRevoked = &at
			}
			if d.Requested {
				x.DateRequested = &at
			}
			x.ApprovalAuthor = &author{ID: d.Author, Name: strOrNil(d.AuthorName)}
			x.DatasinkStatus = strOrNil(d.DatasinkStatus)
		}
		out.Assignments = append(out.Assignments, x)
	}
	return out, nil
}
