package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) companyRoutes() []route {
	ex := users(groupsExecutiveAdmin()...)
	const tag = "Company View"
	return []route{
		{Method: "GET", Path: "/api/companyview", Access: ex, Tag: tag, Summary: "The company overview figures", Response: companyViewBody{}, Handle: s.companyView},
		{Method: "GET", Path: "/api/companyview/allEntitlementsAvgGroups", Access: ex, Tag: tag, Summary: "Entitlements by average score in bins of 0.05", Response: avgGroupsBody{}, Handle: s.avgGroups},
		{Method: "GET", Path: "/api/companyview/allEntitlementAvgGroups", Access: ex, Tag: tag, Summary: "Entitlements by average score (alias)", Response: avgGroupsBody{}, Handle: s.avgGroups},
		{Method: "GET", Path: "/api/companyview/mostCriticalEntitlements", Access: ex, Tag: tag, Summary: "Entitlements with the lowest average score", Response: []criticalEnt{}, Handle: s.mostCritical},
		{Method: "GET", Path: "/api/companyview/assignmentStats", Access: ex, Tag: tag, Summary: "Assignment totals, most assigned and high-volume entitlements", Response: assignmentStatsBody{}, Handle: s.assignmentStats},
		{Method: "GET", Path: "/api/companyview/assignmentsStats", Access: ex, Tag: tag, Summary: "Assignment statistics (alias)", Response: assignmentStatsBody{}, Handle: s.assignmentStats},
		{Method: "GET", Path: "/api/companyview/assignmentHistConfSummary/{year}/{month}", Access: ex, Tag: tag, Summary: "Band counts of the latest run of each of 12 months", Response: []monthBody{}, Handle: s.histConf},
		{Method: "GET", Path: "/api/companyview/assignmentsHistConfSummary/{year}/{month}", Access: ex, Tag: tag, Summary: "Band counts per month (alias)", Response: []monthBody{}, Handle: s.histConf},
	}
}

type companyViewBody struct {
	CompanyView map[string]json.RawMessage `json:"companyView"`
}

func (s *Server) companyView(r *http.Request) (any, error) {
	figs, err := s.db.CompanyFigures(r.Context())
	if err != nil {
		return nil, err
	}
	// assignmentStats has its own endpoint; maxRuleLength is internal.
	delete(figs, "assignmentStats")
	delete(figs, store.FigureMaxRuleLength)
	delete(figs, store.FigureScoreCounts)
	delete(figs, store.FigureAttributes)
	delete(figs, store.FigureAttributeValues)
	for k := range figs {
		if strings.HasPrefix(k, store.FigureAppFilters) {
			delete(figs, k)
		}
	}
	return companyViewBody{CompanyView: figs}, nil
}

type avgGroup struct {
	Start            float64 `json:"start"`
	End              float64 `json:"end"`
	EntitlementCount int64   `json:"entitlementCount"`
}

type avgGroupsBody struct {
	EntitlementList []avgGroup `json:"entitlementList"`
}

func (s *Server) avgGroups(r *http.Request) (any, error) {
	gs, err := s.db.AvgGroups(r.Context())
	if err != nil {
		return nil, err
	}
	out := avgGroupsBody{EntitlementList: []avgGroup{}}
	for _, g := range gs {
		start := float64(g.Bin) * 0.05
		if g.Bin > 0 {
			start += 0.01
		}
		out.EntitlementList = append(out.EntitlementList, avgGroup{Start: round2(start), End: round2(float64(g.Bin+1) * 0.05), EntitlementCount: g.Count})
	}
	return out, nil
}

type criticalEnt struct {
	Org            *string  `json:"org"`
	EnttID         string   `json:"entt_id"`
	AvgConfScore   *float64 `json:"avg_conf_score"`
	EnttName       *string  `json:"entt_name"`
	High           int64    `json:"high"`
	Low            int64    `json:"low"`
	Medium         int64    `json:"medium"`
	Seq            int      `json:"seq"`
	TotalEmployees int64    `json:"total_employees"`
}

func (s *Server) mostCritical(r *http.Request) (any, error) {
	limit, err := queryInt(r, "limit", 10)
	if err != nil {
		return nil, err
	}
	es, err := s.db.MostCritical(r.Context(), limit)
	if err != nil {
		return nil, err
	}
	out := []criticalEnt{}
	for i, e := range es {
		org := e.AppName
		if org == nil {
			org = e.AppID
		}
		out = append(out, criticalEnt{Org: org, EnttID: e.EntID, AvgConfScore: conf(e.AvgScore), EnttName: e.EntName,
			High: e.High, Low: e.Low, Medium: e.Medium, Seq: i, TotalEmployees: e.Holders})
	}
	return out, nil
}

type mostAssigned struct {
	Count       int64  `json:"count"`
	Entitlement string `json:"entitlement"`
}

type assignmentStatsBody struct {
	Total             int64          `json:"total"`
	High              int64          `json:"high"`
	Low               int64          `json:"low"`
	Unscored          int64          `json:"unscored"`
	MostAssigned      []mostAssigned `json:"mostAssigned"`
	MostAssignedCount int64          `json:"mostAssignedCount"`
	HighVolume        struct {
		High int64 `json:"high"`
		Low  int64 `json:"low"`
	} `json:"highVolume"`
}

// queryFloat reads a number query parameter under any of its names.
func queryFloat(r *http.Request, def float64, names ...string) (float64, error) {
	for _, n := range names {
		if v := r.URL.Query().Get(n); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, errorf(KindBadData, n, "want a number, got %q", v)
			}
			return f, nil
		}
	}
	return def, nil
}

// assignmentStats follows /api/config's defaults: volumeThresholds high
// 90 and low 20 (percent), mostAssignedStats.count 100, highVolumeStats
// (0.9, 100) and (0.2, 100). The reference's misspelt parameter names are
// accepted.
func (s *Server) assignmentStats(r *http.Request) (any, error) {
	var q store.AssignmentStatsQuery
	var err error
	var limit, hvHighUsers, hvLowUsers, volHigh, volLow float64
	for _, p := range []struct {
		dst   *float64
		def   float64
		names []string
	}{
		{&limit, 100, []string{"assignmentLimit", "assignmentsLimit"}},
		{&q.HighVolumeHighScore, 0.9, []string{"highVolumeHighMinScore"}},
		{&hvHighUsers, 100, []string{"highVolumeHighMinUsersCount", "highVolumentHighMinUsersCount"}},
		{&q.HighVolumeLowScore, 0.2, []string{"highVolumeLowMaxScore", "highVolumenLowMaxScore"}},
		{&hvLowUsers, 100, []string{"highVolumeLowMinUsersCount"}},
		{&volHigh, 90, []string{"volumeThresholdsHigh"}},
		{&volLow, 20, []string{"volumeThresholdsLow"}},
	} {
		if *p.dst, err = queryFloat(r, p.def, p.names...); err != nil {
			return nil, err
		}
	}
	q.Limit, q.HighVolumeHighUsers, q.HighVolumeLowUsers = int(limit), int64(hvHighUsers), int64(hvLowUsers)
	q.HighMin, q.LowMax = volHigh/100, volLow/100
	st, err := s.db.AssignmentStats(r.Context(), q)
	if err != nil {
		return nil, err
	}
	out := assignmentStatsBody{Total: st.Total, High: st.High, Low: st.Low, Unscored: st.Unscored, MostAssigned: []mostAssigned{}, MostAssignedCount: st.MostAssignedCount}
	for _, e := range st.MostAssigned {
		out.MostAssigned = append(out.MostAssigned, mostAssigned{Count: e.Holders, Entitlement: e.EntID})
	}
	out.HighVolume.High, out.HighVolume.Low = st.HighVolumeHigh, st.HighVolumeLow
	return out, nil
}

type monthBody struct {
	Year     int   `json:"year"`
	Month    int   `json:"month"`
	HighConf int64 `json:"highConf"`
	MedConf  int64 `json:"medConf"`
	LowConf  int64 `json:"lowConf"`
	Total    int64 `json:"total"`
}

func (s *Server) histConf(r *http.Request) (any, error) {
	year, err := strconv.Atoi(chi.URLParam(r, "year"))
	if err != nil || year < 1 || year > 9999 {
		return nil, errorf(KindBadData, "year", "want a year, got %q", chi.URLParam(r, "year"))
	}
	month, err := strconv.Atoi(chi.URLParam(r, "month"))
	if err != nil || month < 1 || month > 12 {
		return nil, errorf(KindBadData, "month", "want a month 1..12, got %q", chi.URLParam(r, "month"))
	}
	ms, err := s.db.HistConfSummary(r.Context(), year, month)
	if err != nil {
		return nil, err
	}
	out := []monthBody{}
	for _, m := range ms {
		out = append(out, monthBody{Year: m.Year, Month: m.Month, HighConf: m.High, MedConf: m.Medium, LowConf: m.Low, Total: m.High + m.Medium + m.Low})
	}
	return out, nil
}
