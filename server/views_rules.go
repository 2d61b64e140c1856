package server

import (
	"encoding/json"
	"net/http"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) ruleRoutes() []route {
	const tag = "Rules"
	s2a := users(groupsSupervisorToAdmin()...)
	return []route{
		{Method: "GET", Path: "/api/rules/info", Access: users(GroupEntitlementOwner, GroupApplicationOwner, GroupAdmin), Tag: tag,
			Summary: "Rules and assignments per application of an owner", Response: rulesInfoBody{}, Handle: s.rulesInfo},
		{Method: "GET", Path: "/api/rules", Access: users(groupsAdmin()...).orKey(), Tag: tag, Summary: "Rules with decisions, filtered and paged",
			Response: rulesBody{}, Handle: s.rules},
		{Method: "POST", Path: "/api/rules/decision", Access: s2a, Tag: "Access Control", Summary: "Auto-certify or auto-request rules",
			Request: ruleDecisionReq{}, Handle: s.ruleDecision},
		{Method: "POST", Path: "/api/rules/decisions", Access: s2a, Tag: "Access Control", Summary: "Auto-certify or auto-request rules (alias)",
			Request: ruleDecisionReq{}, Handle: s.ruleDecision},
		{Method: "GET", Path: "/api/filters/owner", Access: users(GroupSupervisor, GroupEntitlementOwner, GroupAdmin), Tag: "Filters",
			Summary: "Filterable attributes and their values over a supervisor's reports or an owner's holders", Response: filtersBody{}, Handle: s.ownerFilters},
		{Method: "GET", Path: "/api/filters/app", Access: users(GroupApplicationOwner, GroupAdmin), Tag: "Filters",
			Summary: "Filterable attributes and their values over an application's holders", Response: filtersBody{}, Handle: s.appFilters},
	}
}

type rulesInfoApp struct {
	AppID            string  `json:"app_id"`
	AppName          *string `json:"app_name"`
	CountAssignments int64   `json:"countAssignments"`
	Low              int64   `json:"low"`
	Medium           int64   `json:"medium"`
	High             int64   `json:"high"`
}

type rulesInfoBody struct {
	CountRules        int64          `json:"countRules"`
	CountAssignments  int64          `json:"countAssignments"`
	CountApplications int64          `json:"countApplications"`
	Applications      []rulesInfoApp `json:"applications"`
}

func (s *Server) rulesInfo(r *http.Request) (any, error) {
	sc, _, _, err := ownerScope(r, "by", "user")
	if err != nil {
		return nil, err
	}
	sc.Self, sc.Supervisor = "", ""
	if !scopeOf(r).All() && sc.All() {
		return rulesInfoBody{Applications: []rulesInfoApp{}}, nil
	}
	ri, err := s.db.RulesInfo(r.Context(), sc)
	if err != nil {
		return nil, err
	}
	out := rulesInfoBody{CountRules: ri.Rules, CountAssignments: ri.Assignments, CountApplications: int64(len(ri.Apps)), Applications: []rulesInfoApp{}}
	for _, a := range ri.Apps {
		out.Applications = append(out.Applications, rulesInfoApp{AppID: a.AppID, AppName: a.AppName, CountAssignments: a.Assignments, Low: a.Low, Medium: a.Medium, High: a.High})
	}
	return out, nil
}

type ruleFilter struct {
	LowConfidence       bool        `json:"lowConfidence"`
	MedConfidence       bool        `json:"medConfidence"`
	HighConfidence      bool        `json:"highConfidence"`
	AppID               []string    `json:"app_id"`
	AutoCertify         bool        `json:"autoCertify"`
	AutoRequest         bool        `json:"autoRequest"`
	Entitlement         string      `json:"entitlement"`
	DatasinkStatus      string      `json:"datasinkStatus"`
	TimestampThresholds *timeFilter `json:"timestampThresholds"`
}

type rulesReq struct {
	By       string      `json:"by"`
	User     string      `json:"user"`
	Cursor   string      `json:"cursor"`
	PageSize flexInt     `json:"pageSize"`
	Filter   *ruleFilter `json:"filter"`
}

type userName struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

type ruleItem struct {
	Entitlement           map[string]*string `json:"entitlement"`
	App                   map[string]*string `json:"app"`
	Justification         []titled           `json:"justification"`
	RawJustification      []string           `json:"rawJustification"`
	Assignees             []userName         `json:"assignees"`
	Confidence            float64            `json:"confidence"`
	CountUnassigned       int64              `json:"countUnassigned"`
	CountAssigned         int64              `json:"countAssigned"`
	IsAutoCertify         bool               `json:"isAutoCertify"`
	AutoCertifyDate       *string            `json:"autoCertifyDate"`
	IsAutoRequest         bool               `json:"isAutoRequest"`
	AutoRequestDate       *string            `json:"autoRequestDate"`
	ApprovalAuthor        *userName          `json:"approvalAuthor"`
	RequestApprovalReason *string            `json:"requestApprovalReason"`
	CertifyApprovalReason *string            `json:"certifyApprovalReason"`
	DatasinkStatus        *string            `json:"datasink_status"`
}

type rulesBody struct {
	Cursor          *string    `json:"cursor"`
	TotalRulesCount int64      `json:"totalRulesCount"`
	Rules           []ruleItem `json:"rules"`
}

// rules reads its parameters from the query (filter as JSON, and its
// fields as parameters of their own) or from a JSON body.
func (s *Server) rules(r *http.Request) (any, error) {
	var req rulesReq
	if err := decodeOptionalJSON(r, &req); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	for name, dst := range map[string]*string{"by": &req.By, "user": &req.User, "cursor": &req.Cursor} {
		if v := q.Get(name); v != "" {
			*dst = v
		}
	}
	size, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = int(req.PageSize)
	}
	if req.Filter == nil {
		req.Filter = &ruleFilter{}
	}
	if err := filterParam(r, "filter", req.Filter); err != nil {
		return nil, err
	}
	if v := q.Get("datasinkStatus"); v != "" {
		req.Filter.DatasinkStatus = v
	}
	if v := q.Get("timestampThresholds"); v != "" {
		req.Filter.TimestampThresholds = &timeFilter{}
		if err := json.Unmarshal([]byte(v), req.Filter.TimestampThresholds); err != nil {
			return nil, errorf(KindBadData, "timestampThresholds", "want a JSON object: %v", err)
		}
	}
	by, err := store.ParseOwnerBy("by", req.By)
	if err != nil {
		return nil, storeErr(err)
	}
	if by != store.ByAny {
		if err := required("user", req.User); err != nil {
			return nil, err
		}
	}
	tr, err := req.Filter.TimestampThresholds.parse("filter.timestampThresholds")
	if err != nil {
		return nil, err
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	f := req.Filter
	rs, total, next, err := s.db.Rules(r.Context(), store.RuleQuery{Scope: store.ScopeOf(by, req.User), Low: f.LowConfidence, Medium: f.MedConfidence,
		High: f.HighConfidence, AppIDs: f.AppID, AutoCertify: f.AutoCertify, AutoRequest: f.AutoRequest, EntID: f.Entitlement,
		DatasinkStatus: f.DatasinkStatus, Decided: tr, Thresholds: set.th, Cursor: req.Cursor, PageSize: size})
	if err != nil {
		return nil, storeErr(err)
	}
	out := rulesBody{Cursor: nullCursor(next), TotalRulesCount: total, Rules: []ruleItem{}}
	for _, x := range rs {
		it := ruleItem{Entitlement: x.Ent, App: x.App, Justification: justification(x.Justification, true), RawJustification: x.Justification,
			Assignees: []userName{}, Confidence: round2(x.Confidence), CountUnassigned: x.Freq - x.Frequnion, CountAssigned: x.Frequnion,
			IsAutoCertify: x.AutoCertify, IsAutoRequest: x.AutoRequest, RequestApprovalReason: x.AutoRequestReason,
			CertifyApprovalReason: x.AutoCertifyReason, DatasinkStatus: x.DatasinkStatus}
		for _, a := range x.Assignees {
			it.Assignees = append(it.Assignees, userName{ID: a.ID, Name: a.Name})
		}
		if x.DecidedAt != nil {
			at := formatTime(*x.DecidedAt)
			if x.AutoCertify {
				it.AutoCertifyDate = &at
			}
			if x.AutoRequest {
				it.AutoRequestDate = &at
			}
		}
		if x.Author != nil {
			it.ApprovalAuthor = &userName{ID: *x.Author, Name: x.AuthorName}
		}
		out.Rules = append(out.Rules, it)
	}
	return out, nil
}

type ruleDecisionReq struct {
	Rules []struct {
		Entitlement   string   `json:"entitlement"`
		Justification []string `json:"justification"`
	} `json:"rules"`
	IsAutocertify     *bool  `json:"is_autocertify"`
	IsAutorequest     *bool  `json:"is_autorequest"`
	AutocertifyReason string `json:"autocertify_reason"`
	AutorequestReason string `json:"autorequest_reason"`
	DatasinkStatus    string `json:"datasink_status"`
}

func (s *Server) ruleDecision(r *http.Request) (any, error) {
	var req ruleDecisionReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.IsAutocertify == nil {
		return nil, errorf(KindBadData, "is_autocertify", "is_autocertify is required")
	}
	if req.IsAutorequest == nil {
		return nil, errorf(KindBadData, "is_autorequest", "is_autorequest is required")
	}
	c := callerOf(r.Context())
	in := store.RuleDecisionInput{AutoCertify: *req.IsAutocertify, AutoRequest: *req.IsAutorequest, AutoCertifyReason: req.AutocertifyReason,
		AutoRequestReason: req.AutorequestReason, DatasinkStatus: req.DatasinkStatus, Author: callerID(c), At: s.cfg.Now()}
	sc := scopeOf(r)
	for _, x := range req.Rules {
		in.Rules = append(in.Rules, store.RuleKey{EntID: x.Entitlement, Justification: x.Justification})
		if !sc.All() {
			ok, err := s.db.EntitlementInScope(r.Context(), sc, x.Entitlement)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errorf(KindForbidden, "rules", "rules of %s are outside what %s may decide", x.Entitlement, c.name())
			}
		}
	}
	if err := s.db.PutRuleDecisions(r.Context(), in); err != nil {
		return nil, storeErr(err)
	}
	return response{Status: http.StatusNoContent}, nil
}

type filterOption struct {
	Text  string `json:"text"`
	Value string `json:"value"`
	Count int64  `json:"count"`
}

type filterItem struct {
	Title   string `json:"title"`
	Field   string `json:"field"`
	Filters struct {
		Field   string         `json:"field"`
		Title   string         `json:"title"`
		Options []filterOption `json:"options"`
	} `json:"filters"`
}

type filtersBody struct {
	Items []filterItem `json:"items"`
}

// maxFilterValues: by default an attribute is filterable when it has at
// most this many values overall (unique names and ids are not).
const maxFilterValues = 1000

func filterItems(fs []store.FilterOption) filtersBody {
	out := filtersBody{Items: []filterItem{}}
	for _, f := range fs {
		if n := len(out.Items); n == 0 || out.Items[n-1].Field != f.Attribute {
			it := filterItem{Title: attrTitle(f.Attribute), Field: f.Attribute}
			it.Filters.Field, it.Filters.Title, it.Filters.Options = f.Attribute, attrTitle(f.Attribute), []filterOption{}
			out.Items = append(out.Items, it)
		}
		last := &out.Items[len(out.Items)-1]
		last.Filters.Options = append(last.Filters.Options, filterOption{Text: f.Value, Value: f.Value, Count: f.Count})
	}
	return out
}

func (s *Server) ownerFilters(r *http.Request) (any, error) {
	q := r.URL.Query()
	by, err := store.ParseOwnerBy("by", q.Get("by"))
	if err != nil {
		return nil, storeErr(err)
	}
	user := q.Get("user")
	if c := callerOf(r.Context()); c != nil && c.key == nil && !c.isAdmin() {
		user = callerID(c)
		if by == store.ByAny {
			by = store.BySupervisor
			if !hasGroup(c, GroupSupervisor) {
				by = store.ByEntOwner
			}
		}
	}
	var pop store.FilterPopulation
	switch {
	case by == store.BySupervisor && user != "":
		pop.Supervisor = user
	case by == store.ByEntOwner && user != "":
		pop.EntOwner = user
	case by != store.ByAny:
		return nil, errorf(KindBadData, "user", "user is required with by")
	}
	fs, err := s.db.FilterOptions(r.Context(), pop, nil, maxFilterValues)
	if err != nil {
		return nil, storeErr(err)
	}
	return filterItems(fs), nil
}

func (s *Server) appFilters(r *http.Request) (any, error) {
	id := r.URL.Query().Get("id")
	if err := required("id", id); err != nil {
		return nil, err
	}
	if sc := appScope(r); !sc.All() {
		ok, err := s.db.AppOwnedBy(r.Context(), id, sc.AppOwner)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorf(KindForbidden, "id", "application %s is not owned by the caller", id)
		}
	}
	fs, err := s.db.FilterOptions(r.Context(), store.FilterPopulation{AppID: id}, nil, maxFilterValues)
	if err != nil {
		return nil, storeErr(err)
	}
	return filterItems(fs), nil
}
