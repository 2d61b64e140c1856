package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The query views answer the same on every backend: each case runs on a
// freshly loaded fixture run and its answer, printed, must equal want.

func sp(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func fp(f *float64) string {
	if f == nil {
		return "null"
	}
	return fmt.Sprintf("%.4g", *f)
}

type viewCase struct {
	name string
	run  func(t *testing.T, db *DB) string
	want string
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func viewCases() []viewCase {
	ctx := context.Background()
	th := DefaultThresholds()
	return []viewCase{
		{"user details", func(t *testing.T, db *DB) string {
			ud, err := db.UserDetails(ctx, UserDetailsQuery{UsrID: "B", RecommendMin: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s mgr=%s %v|", ud.User.UsrID, sp(ud.User.Name), sp(ud.User.ManagerID), ud.User.Attrs)
			for _, a := range ud.Assignments {
				fmt.Fprintf(&b, "%s %s %s %v %s;", a.EntID, fp(a.Score), sp(a.AppName), a.Justification, sp(a.EntOwner))
			}
			fmt.Fprintf(&b, "|%d %d", ud.AssignmentCount, ud.AssignRemain)
			return b.String()
		}, "B Bea mgr=null [{USR_EMP_TYPE Employee} {CITY Paris}]|e1 0.9 App <1> [04_CITY_Paris] B;e2 0.5 App <1> [04_CITY_Paris 0C_USR_EMP_TYPE_Employee] null;|2 0"},
		{"user details pages and recommendations", func(t *testing.T, db *DB) string {
			var b strings.Builder
			after, afterRec := "", ""
			for i := 0; i < 4; i++ {
				ud, err := db.UserDetails(ctx, UserDetailsQuery{UsrID: "a", PageSize: 1, AfterEnt: after, AfterRec: afterRec, RecommendMin: 0.1})
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range ud.Assignments {
					after = a.EntID
					fmt.Fprintf(&b, "a:%s ", a.EntID)
				}
				for _, r := range ud.Recommendations {
					afterRec = r.EntID
					fmt.Fprintf(&b, "r:%s/%.2f/%s ", r.EntID, r.Confidence, sp(r.EntOwnerName))
				}
				fmt.Fprintf(&b, "(%d %d %d %d) ", ud.AssignmentCount, ud.AssignRemain, ud.RecCount, ud.RecRemain)
			}
			return b.String()
		}, "a:e1 r:e2/0.50/null (1 0 1 0) (1 0 1 0) (1 0 1 0) (1 0 1 0) "},
		{"descending order and scope", func(t *testing.T, db *DB) string {
			ud, err := db.UserDetails(ctx, UserDetailsQuery{UsrID: "B", Desc: true})
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			for _, a := range ud.Assignments {
				s += a.EntID + " "
			}
			ud, err = db.UserDetails(ctx, UserDetailsQuery{UsrID: "B", Scope: Scope{EntOwner: "B"}})
			if err != nil {
				t.Fatal(err)
			}
			s += "| owner B sees "
			for _, a := range ud.Assignments {
				s += a.EntID + " "
			}
			ud, err = db.UserDetails(ctx, UserDetailsQuery{UsrID: "B", Scope: Scope{Supervisor: "B"}})
			if err != nil {
				t.Fatal(err)
			}
			return s + fmt.Sprintf("| supervisor B sees %d", len(ud.Assignments))
		}, "e2 e1 | owner B sees e1 | supervisor B sees 0"},
		{"unknown user and bad cursor", func(t *testing.T, db *DB) string {
			_, err := db.UserDetails(ctx, UserDetailsQuery{UsrID: "nobody"})
			var nf *NotFoundError
			if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
			_, _, err = db.AutoAction(ctx, AutoActionQuery{Action: "addAccess", UsrID: "a", Cursor: "!!"})
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("bad cursor: %v", err)
			}
			_, err = db.DrivingFactors(ctx, "e9")
			var nf2 *NotFoundError
			errors.As(err, &nf2)
			return nf.Kind + " " + nf.ID + " | " + fe.Field + " | " + nf2.Kind + " " + nf2.ID
		}, "user nobody | cursor | entitlement e9"},
		{"decisions", func(t *testing.T, db *DB) string {
			err := db.PutDecisions(ctx, DecisionInput{Assignments: []UserEntitlements{{User: "B", Entitlements: []string{"e1", "e2"}}},
				Certified: true, Reason: "ok", Author: "boss", AuthorName: "The Boss", At: t0})
			if err != nil {
				t.Fatal(err)
			}
			err = db.PutDecisions(ctx, DecisionInput{Assignments: []UserEntitlements{{User: "B", Entitlements: []string{"e2"}}},
				Revoked: true, Author: "boss", DatasinkStatus: "ack", At: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			err = db.PutDecisions(ctx, DecisionInput{Assignments: []UserEntitlements{{User: "B", Entitlements: []string{"nope"}}}, Certified: true})
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.ID != "nope" {
				t.Fatalf("unknown entitlement: %v", err)
			}
			var b strings.Builder
			for _, f := range []DecisionQuery{
				{UsrID: "B"},
				{UsrID: "B", DatasinkStatus: "nack"},
				{UsrID: "B", Updated: TimeRange{Gt: &t0}},
				{UsrID: "B", Updated: TimeRange{Lte: &t0}},
				{UsrID: "B", Scope: Scope{EntOwner: "B"}},
			} {
				ds, err := db.Decisions(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					fmt.Fprintf(&b, "%s/%s c=%v r=%v %s %s %s %s;", d.UsrID, d.EntID, d.Certified, d.Revoked, d.DatasinkStatus, d.Author, fp(d.Score), d.UpdatedAt.Format(time.RFC3339))
				}
				b.WriteString("|")
			}
			_, err = db.Decisions(ctx, DecisionQuery{UsrID: "B", Updated: TimeRange{Gt: &t0, Gte: &t0}})
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("gt with gte: %v", err)
			}
			d, err := db.GetDecision(ctx, "B", "e2")
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s versions=%d", fe.Field, d.Versions)
			return b.String()
		}, "B/e1 c=true r=false nack boss 0.9 2026-05-01T12:00:00Z;B/e2 c=false r=true ack boss 0.5 2026-05-01T13:00:00Z;|" +
			"B/e1 c=true r=false nack boss 0.9 2026-05-01T12:00:00Z;|B/e2 c=false r=true ack boss 0.5 2026-05-01T13:00:00Z;|" +
			"B/e1 c=true r=false nack boss 0.9 2026-05-01T12:00:00Z;|B/e1 c=true r=false nack boss 0.9 2026-05-01T12:00:00Z;|filter.timestampThresholds.gte versions=2"},
		{"decisions show in assignment views", func(t *testing.T, db *DB) string {
			if err := db.PutDecisions(ctx, DecisionInput{Assignments: []UserEntitlements{{User: "a", Entitlements: []string{"e1"}}}, Requested: true, Author: "x", At: t0}); err != nil {
				t.Fatal(err)
			}
			p, err := db.AppAssignments(ctx, AppAssignmentsQuery{AppID: "app1"})
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			for _, a := range p.Assignments {
				s += fmt.Sprintf("%s/%s:%v ", a.UsrID, a.EntID, a.Decision != nil && a.Decision.Requested)
			}
			return s + fmt.Sprintf("%d %d %d", p.TotalUsers, p.TotalEnts, p.TotalAssign)
		}, "B/e1:false B/e2:false a/e1:true é/e2:false 3 2 4"},
		{"application assignments sorted and paged", func(t *testing.T, db *DB) string {
			var b strings.Builder
			for _, sort := range []struct {
				by   string
				desc bool
			}{{"", false}, {"ent", false}, {"confidence", true}, {"confidence", false}} {
				cursor := ""
				for {
					p, err := db.AppAssignments(ctx, AppAssignmentsQuery{AppID: "app1", SortBy: sort.by, Desc: sort.desc, Cursor: cursor, PageSize: 1})
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range p.Assignments {
						fmt.Fprintf(&b, "%s/%s ", a.UsrID, a.EntID)
					}
					if p.Next == "" {
						break
					}
					cursor = p.Next
				}
				b.WriteString("| ")
			}
			return b.String()
		}, "B/e1 B/e2 a/e1 é/e2 | B/e1 a/e1 B/e2 é/e2 | é/e2 B/e1 B/e2 a/e1 | a/e1 B/e2 B/e1 é/e2 | "},
		{"application views with filters and scope", func(t *testing.T, db *DB) string {
			var b strings.Builder
			ap, err := db.Applications(ctx, AppsQuery{})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range ap.Apps {
				fmt.Fprintf(&b, "%s %s h%d m%d l%d avg=%s ents=%d|", a.AppID, sp(a.AppName), a.Bands.High, a.Bands.Medium, a.Bands.Low, fp(a.Bands.Avg()), a.Entitlements)
			}
			fmt.Fprintf(&b, "%d %d %d|", ap.TotalApps, ap.TotalEnts, ap.TotalAssigned)
			ep, err := db.AppEntitlements(ctx, AppEntsQuery{AppID: "app1", Thresholds: th, Filters: []AttrFilter{{Attribute: "CITY", Values: []string{"Paris"}}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ep.Ents {
				fmt.Fprintf(&b, "%s h%d m%d l%d;", e.EntID, e.Bands.High, e.Bands.Medium, e.Bands.Low)
			}
			fmt.Fprintf(&b, "%d %d %d|", ep.TotalEnts, ep.TotalUsers, ep.Rules)
			ep, err = db.AppEntitlements(ctx, AppEntsQuery{AppID: "app1", Thresholds: th, Scope: Scope{Supervisor: "B"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ep.Ents {
				fmt.Fprintf(&b, "%s h%d m%d l%d;", e.EntID, e.Bands.High, e.Bands.Medium, e.Bands.Low)
			}
			_, err = db.AppEntitlements(ctx, AppEntsQuery{AppID: "nope"})
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("unknown app: %v", err)
			}
			hits, err := db.SearchApps(ctx, ByAppOwner, "B", "APP", 10)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "|search %d", len(hits))
			return b.String()
		}, "app1 App <1> h2 m1 l1 avg=0.6444 ents=2|1 2 4|e1 h1 m0 l0;e2 h0 m1 l0;2 1 2|e1 h0 m0 l1;|search 1"},
		{"rules paged and filtered", func(t *testing.T, db *DB) string {
			var b strings.Builder
			cursor := ""
			for {
				rs, total, next, err := db.Rules(ctx, RuleQuery{Thresholds: th, PageSize: 1, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					fmt.Fprintf(&b, "%s %v %d/%d %s assignees=%d;", r.EntID, r.Justification, r.Frequnion, r.Freq, sp(r.App["app_name"]), len(r.Assignees))
				}
				fmt.Fprintf(&b, "total=%d|", total)
				if next == "" {
					break
				}
				cursor = next
			}
			rs, total, _, err := db.Rules(ctx, RuleQuery{Thresholds: th, High: true})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "high %d %s|", total, rs[0].EntID)
			err = db.PutRuleDecisions(ctx, RuleDecisionInput{Rules: []RuleKey{{EntID: "e1", Justification: []string{"04_CITY_Paris"}}}, AutoCertify: true, Author: "B", At: t0})
			if err != nil {
				t.Fatal(err)
			}
			rs, total, _, err = db.Rules(ctx, RuleQuery{Thresholds: th, AutoCertify: true, DatasinkStatus: "nack"})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "autocertify %d %s %s %s|", total, rs[0].EntID, sp(rs[0].AuthorName), rs[0].DecidedAt.Format(time.RFC3339))
			err = db.PutRuleDecisions(ctx, RuleDecisionInput{Rules: []RuleKey{{EntID: "e1", Justification: []string{"nope"}}}})
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("unknown rule: %v", err)
			}
			ri, err := db.RulesInfo(ctx, Scope{EntOwner: "B"})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "info %d %d %d", ri.Rules, ri.Assignments, len(ri.Apps))
			var rows []string
			if err := db.Report(ctx, ReportAutoRecertification, 0.5, func(row []any) error {
				rows = append(rows, fmt.Sprintf("%v/%v", row[0], row[1]))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return b.String() + fmt.Sprintf(" feed %v", rows)
		}, "e1 [04_CITY_Paris] 9/10 App <1> assignees=1;total=2|e2 [04_CITY_Paris 0C_USR_EMP_TYPE_Employee] 4/8 App <1> assignees=1;total=2|" +
			"high 1 e1|autocertify 1 e1 Bea 2026-05-01T12:00:00Z|info 1 2 1 feed [B/e1]"},
		{"recommendations for items", func(t *testing.T, db *DB) string {
			rs, err := db.RecommendForItems(ctx, []string{"0C_USR_EMP_TYPE_Employee", "04_CITY_Paris", "zz"}, 0.1, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			for _, r := range rs {
				s += fmt.Sprintf("%s %v %.2f %d;", r.EntID, r.Attributes, r.Confidence, r.Freq)
			}
			rs, err = db.RecommendForItems(ctx, []string{"0C_USR_EMP_TYPE_Employee", "04_CITY_Paris"}, 0.1, 1, 10)
			if err != nil {
				t.Fatal(err)
			}
			return s + fmt.Sprintf("|offset 1: %d %s", len(rs), rs[0].EntID)
		}, "e1 [04_CITY_Paris] 0.90 10;e2 [04_CITY_Paris 0C_USR_EMP_TYPE_Employee] 0.50 8;|offset 1: 1 e2"},
		{"user search and distinct users", func(t *testing.T, db *DB) string {
			hits, err := db.SearchUsers(ctx, "AL", 10)
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			for _, h := range hits {
				s += fmt.Sprintf("%q app=%v ent=%v sup=%v;", h.UsrID, h.IsAppOwner, h.IsEntOwner, h.IsSupervisor)
			}
			hits, _ = db.SearchUsers(ctx, "b", 10)
			s += fmt.Sprintf("%q app=%v ent=%v sup=%v|", hits[0].UsrID, hits[0].IsAppOwner, hits[0].IsEntOwner, hits[0].IsSupervisor)
			cursor := ""
			for {
				us, next, err := db.DistinctUsers(ctx, DistinctUsersQuery{PageSize: 1, Cursor: cursor, Prefix: map[string]string{"city": "R"}})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range us {
					s += fmt.Sprintf("%q %v;", u.UsrID, u.Attrs)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			return s
		}, `"a" app=false ent=true sup=false;"a " app=false ent=false sup=false;"B" app=true ent=true sup=true|"a " map[city:Rome];"é" map[city:Rome];`},
		{"company view", func(t *testing.T, db *DB) string {
			var b strings.Builder
			gs, err := db.AvgGroups(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				if g.Count > 0 {
					fmt.Fprintf(&b, "bin%d=%d ", g.Bin, g.Count)
				}
			}
			mc, err := db.MostCritical(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "|critical %s %s %d|", mc[0].EntID, fp(mc[0].AvgScore), mc[0].Holders)
			st, err := db.AssignmentStats(ctx, AssignmentStatsQuery{HighMin: 0.9, LowMax: 0.2, Limit: 1, HighVolumeHighUsers: 2, HighVolumeHighScore: 0.5, HighVolumeLowUsers: 1, HighVolumeLowScore: 0.6})
			if err != nil {
				t.Fatal(err)
			}
			var scan AssignmentStats
			if err := db.assignmentStatsScan(ctx, AssignmentStatsQuery{HighMin: 0.9, LowMax: 0.2}, &scan); err != nil {
				t.Fatal(err)
			}
			if scan.Total != st.Total || scan.High != st.High || scan.Low != st.Low || scan.Unscored != st.Unscored {
				t.Errorf("the load's figures %+v differ from a scan %+v", st, scan)
			}
			fmt.Fprintf(&b, "total=%d high=%d low=%d unscored=%d most=%s/%d count=%d hv=%d/%d|", st.Total, st.High, st.Low, st.Unscored,
				st.MostAssigned[0].EntID, st.MostAssigned[0].Holders, st.MostAssignedCount, st.HighVolumeHigh, st.HighVolumeLow)
			hs, err := db.HistConfSummary(ctx, 2026, 3)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%d months, first %d-%02d, last %d-%02d h%d m%d l%d", len(hs), hs[0].Year, hs[0].Month, hs[11].Year, hs[11].Month, hs[11].High, hs[11].Medium, hs[11].Low)
			figs, err := db.CompanyFigures(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return b.String() + " | " + string(figs["coverage"])
		}, "bin11=1 bin14=1 |critical e1 0.55 2|total=5 high=2 low=1 unscored=1 most=e1/2 count=3 hv=2/1|12 months, first 2025-04, last 2026-03 h2 m1 l1 | {\"total\":3,\"covered\":2,\"not_covered\":1}"},
		{"entitlement views", func(t *testing.T, db *DB) string {
			var b strings.Builder
			ed, err := db.EntitlementDetail(ctx, "e1", Scope{}, th, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s h%d m%d l%d users=%d|", ed.Ent.EntID, sp(ed.Ent.EntName), ed.Bands.High, ed.Bands.Medium, ed.Bands.Low, len(ed.Users))
			un, err := db.UnscoredEntitlements(ctx, Scope{})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range un {
				fmt.Fprintf(&b, "unscored %q %v|", u.EntID, len(u.Users))
			}
			es, err := db.EntitlementStats(ctx, EntStatsQuery{By: BySupervisor, OwnerID: "B", IncludeUsers: true, Thresholds: th})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "stats ents=%d subs=%d scored=%d unscored=%d noEnt=%d noScored=%d apps=%d users=%d|", es.TotalEnts, es.Subordinates,
				es.Scored, es.Unscored, es.UsersNoEnt, es.UsersNoScored, len(es.Apps), len(es.Users))
			found, _ := db.SearchEntitlements(ctx, ByEntOwner, "B", "E", "", 10)
			all, next, err := db.DistinctEntitlements(ctx, "", 2)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "search %d distinct %d next=%v", len(found), len(all), next != "")
			return b.String()
		}, "e1 E one h1 m0 l1 users=3|unscored \"e3 \" 1|stats ents=2 subs=2 scored=1 unscored=1 noEnt=0 noScored=1 apps=1 users=2|search 1 distinct 2 next=true"},
		{"filter options", func(t *testing.T, db *DB) string {
			var b strings.Builder
			for _, pop := range []FilterPopulation{{}, {Supervisor: "B"}, {AppID: "app1"}} {
				fs, err := db.FilterOptions(ctx, pop, nil, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fs {
					fmt.Fprintf(&b, "%s=%q:%d ", f.Attribute, f.Value, f.Count)
				}
				b.WriteString("| ")
			}
			return b.String()
		}, `CITY="Paris":1 CITY="Paris ":1 CITY="Rome":2 USR_EMP_TYPE="Contractor":1 USR_EMP_TYPE="Employee":2 | ` +
			`CITY="Paris ":1 CITY="Rome":1 USR_EMP_TYPE="Contractor":1 USR_EMP_TYPE="Employee":1 | ` +
			`CITY="Paris":1 CITY="Paris ":1 CITY="Rome":1 USR_EMP_TYPE="Employee":2 | `},
		{"roles", func(t *testing.T, db *DB) string {
			if err := db.PutRoleEdit(ctx, RoleEdit{RoleID: "r1", Status: "draft", Custom: true, Body: `{"role_id":"r1","entitlements":["e1"]}`, Author: "B", At: t0}); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, q := range []RolesQuery{{}, {EntID: "e1"}, {EntID: "e2"}, {Status: "active"}, {DatasinkStatus: "nack", Updated: TimeRange{Gte: &t0}}} {
				rs, err := db.Roles(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					fmt.Fprintf(&b, "%s %s %v %v;", r.RoleID, r.Status, r.Custom, r.Entitlements)
				}
				b.WriteString("|")
			}
			if err := db.DeleteRoleEdit(ctx, "r1", "active"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("delete of a missing status: %v", err)
			}
			if err := db.DeleteRoleEdit(ctx, "r1", "draft"); err != nil {
				t.Fatal(err)
			}
			rs, _ := db.Roles(ctx, RolesQuery{})
			fmt.Fprintf(&b, "after delete %d", len(rs))
			return b.String()
		}, "r1 draft true [e1];|r1 draft true [e1];|||r1 draft true [e1];|after delete 0"},
	}
}

func TestViews(t *testing.T) {
	for _, c := range viewCases() {
		t.Run(c.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, h harness) {
				db, _, _ := h.open(t)
				mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
				if got := c.run(t, db); got != c.want {
					t.Errorf("got  %s\nwant %s", got, c.want)
				}
			})
		})
	}
}

// TestFlatAttrs: the fast reading of an attributes object gives what the
// token decoder gives, and leaves to it what it cannot read.
func TestFlatAttrs(t *testing.T) {
	decoded := func(s string) ([]Attr, error) {
		dec := json.NewDecoder(strings.NewReader(s))
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		var out []Attr
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			if sv, ok := v.(string); ok && sv != "" {
				out = append(out, Attr{Name: k.(string), Value: sv})
			}
		}
		return out, nil
	}
	for _, c := range []struct {
		in   string
		fast bool
	}{
		{`{}`, true},
		{` { } `, true},
		{`{"city":"New York","dept":""}`, true},
		{`{"a":"x", "b" : "y\"z\\w\u00e9" , "a":"again"}`, true},
		{`{"name":"Zoë Ünal"}`, true},
		{`{"n":1,"s":"x"}`, false},
		{`{"n":null}`, false},
		{"{\"bad\":\"\xff\"}", false},
		{"{\"ctl\":\"a\tb\"}", false},
		{`{"a":"x",}`, false},
		{`{"a":"x"} trailing`, false},
	} {
		got, ok := flatAttrs(c.in)
		if ok != c.fast {
			t.Errorf("%s: fast %v, want %v", c.in, ok, c.fast)
		}
		want, werr := decoded(c.in)
		if ok && (werr != nil || fmt.Sprint(got) != fmt.Sprint(want)) {
			t.Errorf("%s: %v, the decoder %v (%v)", c.in, got, want, werr)
		}
		all, err := jsonAttrs(c.in)
		if werr == nil && (err != nil || fmt.Sprint(all) != fmt.Sprint(want)) {
			t.Errorf("%s: jsonAttrs %v (%v), the decoder %v", c.in, all, err, want)
		}
	}
}

// TestViewCache: a cached view value is computed once per publication,
// again after a load, and not kept when its computation fails.
func TestViewCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		db, _, _ := h.open(t)
		mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
		fills := 0
		fill := func(context.Context) (int, error) { fills++; return fills, nil }
		for i := 0; i < 2; i++ {
			if v, err := cachedView(ctx, db, "k", fill); err != nil || v != 1 {
				t.Fatalf("first publication: %d, %v", v, err)
			}
		}
		fail := errors.New("no")
		if _, err := cachedView(ctx, db, "bad", func(context.Context) (int, error) { return 0, fail }); !errors.Is(err, fail) {
			t.Fatalf("failed fill: %v", err)
		}
		if v, err := cachedView(ctx, db, "bad", fill); err != nil || v != 2 {
			t.Fatalf("after a failed fill: %d, %v", v, err)
		}
		hits, err := db.SearchUsers(ctx, "a", 1000)
		if err != nil {
			t.Fatal(err)
		}
		mustLoad(t, db, newFakeRun(t, "run-2", true, 1))
		if v, err := cachedView(ctx, db, "k", fill); err != nil || v != 3 {
			t.Fatalf("second publication: %d, %v", v, err)
		}
		again, err := db.SearchUsers(ctx, "a", 1000)
		show := func(hs []UserHit) string {
			var b strings.Builder
			for _, h := range hs {
				fmt.Fprintf(&b, "%s %s %v %v %v;", h.UsrID, sp(h.Name), h.IsAppOwner, h.IsEntOwner, h.IsSupervisor)
			}
			return b.String()
		}
		if err != nil || show(again) != show(hits) || len(hits) == 0 {
			t.Fatalf("search after a load: %v (%v), before %v", again, err, hits)
		}
	})
}
