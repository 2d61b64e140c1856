package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// EntRef is an entitlement's id, name and application.
type EntRef struct {
	EntID          string
	EntName, AppID *string
	AppName        *string
	OwnerID        *string
	Criticality    *string
	RiskLevel      *string
}

func scanEntRef(r Rows) (EntRef, error) {
	var e EntRef
	var en, app, an, owner, crit, risk sql.NullString
	err := r.Scan(&e.EntID, &en, &app, &an, &owner, &crit, &risk)
	e.EntName, e.AppID, e.AppName, e.OwnerID, e.Criticality, e.RiskLevel = ns(en), ns(app), ns(an), ns(owner), ns(crit), ns(risk)
	return e, err
}

const entRefCols = `e.ent_id, e.ent_name, e.app_id, p.app_name, e.ent_owner_id, e.ent_criticality, e.ent_risk_level`
const entRefFrom = `entitlements e LEFT JOIN applications p ON p.app_id = e.app_id`

// SearchEntitlements finds entitlements whose id or name contains text
// (case insensitive for ASCII), optionally of one application and owned
// (ByEntOwner) or in applications owned (ByAppOwner) by user.
func (db *DB) SearchEntitlements(ctx context.Context, by OwnerBy, user, text, appID string, limit int) ([]EntRef, error) {
	b := &sqlb{}
	b.idOrNameContains("e.ent_id", "e.ent_name", text)
	if appID != "" {
		b.where("e.app_id = %s", b.arg(appID))
	}
	if user != "" {
		switch by {
		case ByEntOwner:
			b.where("e.ent_owner_id = %s", b.arg(user))
		case ByAppOwner:
			b.where("p.app_owner_id = %s", b.arg(user))
		}
	}
	out := []EntRef{}
	err := queryEach(ctx, db.b, "entitlement search", `SELECT `+entRefCols+` FROM `+entRefFrom+` WHERE `+b.and()+` ORDER BY e.ent_id LIMIT `+b.arg(int64(pageSize(limit))),
		b.args, func(r Rows) error {
			e, err := scanEntRef(r)
			out = append(out, e)
			return err
		})
	return out, err
}

// DistinctEntitlements returns a page of all entitlements in ent_id order
// and the next cursor ("" at the end).
func (db *DB) DistinctEntitlements(ctx context.Context, cursor string, size int) ([]EntRef, string, error) {
	after, err := keyCursor("cursor", cursor, 1)
	if err != nil {
		return nil, "", err
	}
	b := &sqlb{}
	if after != nil {
		b.where("e.ent_id > %s", b.arg(after[0]))
	}
	if size <= 0 {
		size = 1 << 30
	}
	out := []EntRef{}
	err = queryEach(ctx, db.b, "distinct entitlements", `SELECT `+entRefCols+` FROM `+entRefFrom+` WHERE `+b.and()+` ORDER BY e.ent_id LIMIT `+b.arg(int64(size+1)),
		b.args, func(r Rows) error {
			e, err := scanEntRef(r)
			out = append(out, e)
			return err
		})
	out, next := pageOf(out, size, func(e EntRef) any { return []string{e.EntID} })
	return out, next, err
}

// StatsFilter restricts the entitlements view: Type "app_id" or "ent_id"
// with Group criticality or risk_level; Type "user" with Group an
// identity attribute.
type StatsFilter struct {
	Type, Group string
	Values      []string
}

// EntStatsQuery asks for the entitlements view of an owner.
type EntStatsQuery struct {
	By                          OwnerBy // supervisor or enttOwner ("" : everything)
	OwnerID                     string
	HighRiskOnly, MediumLowOnly bool
	IncludeUsers                bool
	Filters                     []StatsFilter
	Thresholds                  Thresholds
}

// UserStat is an identity with its assignments by band.
type UserStat struct {
	UsrID   string
	UsrName *string
	Bands   Bands
}

// AppBands is an application with assignments by band.
type AppBands struct {
	AppID   string
	AppName *string
	Bands   Bands
}

// EntStats is the entitlements view.
type EntStats struct {
	TotalEnts, Subordinates, Unscored, Scored int64
	UsersNoEnt, UsersNoScored                 int64
	Apps                                      []AppBands
	Users                                     []UserStat
	Ents                                      []EntStat
}

// EntitlementStats returns the entitlements view of a supervisor's
// reports or an entitlement owner's entitlements.
func (db *DB) EntitlementStats(ctx context.Context, q EntStatsQuery) (EntStats, error) {
	filter := func() (*sqlb, error) {
		b := &sqlb{}
		b.where("a.valid")
		switch q.By {
		case BySupervisor:
			b.scope(Scope{Supervisor: q.OwnerID}, "a")
		case ByEntOwner:
			b.scope(Scope{EntOwner: q.OwnerID}, "a")
		case ByAppOwner:
			b.scope(Scope{AppOwner: q.OwnerID}, "a")
		}
		if q.HighRiskOnly {
			b.where("e.ent_risk_level = 'High'")
		}
		if q.MediumLowOnly {
			b.where("e.ent_risk_level IN ('Medium', 'Low')")
		}
		for i, f := range q.Filters {
			if len(f.Values) == 0 {
				continue
			}
			col := ""
			switch f.Type + "." + f.Group {
			case "app_id.criticality", "app_id.app_criticality":
				col = "p.app_criticality"
			case "app_id.risk_level", "app_id.app_risk_level":
				col = "p.app_risk_level"
			case "ent_id.criticality", "ent_id.ent_criticality":
				col = "e.ent_criticality"
			case "ent_id.risk_level", "ent_id.ent_risk_level":
				col = "e.ent_risk_level"
			case "app_id.app_id":
				col = "a.app_id"
			}
			switch {
			case col != "":
				b.where("%s IN (%s)", col, b.list(f.Values))
			case f.Type == "user":
				fs, err := db.ResolveAttrFilters(ctx, "filters", []AttrFilter{{Attribute: f.Group, Values: f.Values}})
				if err != nil {
					return nil, err
				}
				b.attrs(fs, "a.usr_id")
			default:
				return nil, badField("filters["+itoa(i)+"]", "unknown filter type %q with group %q", f.Type, f.Group)
			}
		}
		return b, nil
	}
	const from = `assignments a LEFT JOIN entitlements e ON e.ent_id = a.ent_id LEFT JOIN applications p ON p.app_id = a.app_id
LEFT JOIN identities i ON i.usr_id = a.usr_id`
	var out EntStats
	b, err := filter()
	if err != nil {
		return out, err
	}
	// One pass over the assignments in scope; the counts by entitlement,
	// application and identity are made as the rows stream by.
	ents := map[string]*EntStat{}
	apps := map[string]*AppBands{}
	userMap := map[string]*UserStat{}
	add := func(bs *Bands, score *float64) {
		switch q.Thresholds.Band(score) {
		case "high":
			bs.High++
		case "medium":
			bs.Medium++
		case "low":
			bs.Low++
		default:
			bs.Unscored++
		}
		if score != nil {
			bs.Sum += *score
		}
	}
	err = queryEach(ctx, db.b, "entitlement stats", `SELECT a.usr_id, i.usr_name, a.ent_id, e.ent_name, e.app_id, e.ent_risk_level, a.app_id, p.app_name, a.score
FROM `+from+` WHERE `+b.and(), b.args, func(r Rows) error {
		var usr, ent string
		var un, en, eapp, risk, app, an sql.NullString
		var score sql.NullFloat64
		if err := r.Scan(&usr, &un, &ent, &en, &eapp, &risk, &app, &an, &score); err != nil {
			return err
		}
		sc := nf(score)
		e := ents[ent]
		if e == nil {
			e = &EntStat{EntID: ent, EntName: ns(en), AppID: ns(eapp), RiskLevel: ns(risk)}
			ents[ent] = e
		}
		add(&e.Bands, sc)
		if app.Valid {
			x := apps[app.String]
			if x == nil {
				x = &AppBands{AppID: app.String, AppName: ns(an)}
				apps[app.String] = x
			}
			add(&x.Bands, sc)
		}
		u := userMap[usr]
		if u == nil {
			u = &UserStat{UsrID: usr, UsrName: ns(un)}
			userMap[usr] = u
		}
		add(&u.Bands, sc)
		return nil
	})
	if err != nil {
		return out, err
	}
	out.Ents = []EntStat{}
	for _, e := range ents {
		out.Ents = append(out.Ents, *e)
		if e.Bands.Scored() > 0 {
			out.Scored++
		} else {
			out.Unscored++
		}
	}
	sort.Slice(out.Ents, func(i, j int) bool { return out.Ents[i].EntID < out.Ents[j].EntID })
	out.TotalEnts = int64(len(out.Ents))
	out.Apps = []AppBands{}
	for _, x := range apps {
		out.Apps = append(out.Apps, *x)
	}
	sort.Slice(out.Apps, func(i, j int) bool { return out.Apps[i].AppID < out.Apps[j].AppID })
	users := []UserStat{}
	seen := map[string]bool{}
	for _, u := range userMap {
		users = append(users, *u)
		seen[u.UsrID] = u.Bands.Scored() > 0
	}
	sort.Slice(users, func(i, j int) bool { return users[i].UsrID < users[j].UsrID })
	if q.By == BySupervisor {
		err = queryEach(ctx, db.b, "subordinates", `SELECT usr_id FROM identities WHERE usr_manager_id = $1`, []any{q.OwnerID}, func(r Rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			out.Subordinates++
			scored, has := seen[id]
			if !has {
				out.UsersNoEnt++
			}
			if !scored {
				out.UsersNoScored++
			}
			return nil
		})
		if err != nil {
			return out, err
		}
	} else {
		out.Subordinates = int64(len(users))
		for _, s := range seen {
			if !s {
				out.UsersNoScored++
			}
		}
	}
	out.Users = []UserStat{}
	if q.IncludeUsers {
		out.Users = users
	}
	return out, nil
}

// figure returns a company_view figure (nil when absent).
func (db *DB) figure(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	err := queryEach(ctx, db.b, "figure "+name, `SELECT value FROM company_view WHERE figure = $1`, []any{name}, func(r Rows) error {
		var v string
		if err := r.Scan(&v); err != nil {
			return err
		}
		out = json.RawMessage(v)
		return nil
	})
	return out, err
}

func itoa(i int) string { return strconv.Itoa(i) }

// EntDetail is one entitlement's view.
type EntDetail struct {
	Ent            EntRef
	Bands          Bands
	DrivingFactors []DrivingFactor
	Users          []AssignmentView
}

// EntitlementDetail returns an entitlement with its holders (in scope, at
// most limit, usr_id order), their bands and its driving factors.
func (db *DB) EntitlementDetail(ctx context.Context, entID string, s Scope, t Thresholds, limit int) (EntDetail, error) {
	var out EntDetail
	found := false
	err := queryEach(ctx, db.b, "entitlement", `SELECT `+entRefCols+` FROM `+entRefFrom+` WHERE e.ent_id = $1`, []any{entID}, func(r Rows) error {
		var err error
		out.Ent, err = scanEntRef(r)
		found = true
		return err
	})
	if err != nil {
		return out, err
	}
	if !found {
		return out, notFound("entitlement", entID)
	}
	b := &sqlb{}
	cols := b.bandCounts(t, "a.score")
	b.where("a.ent_id = %s", b.arg(entID))
	b.where("a.valid")
	b.scope(s, "a")
	err = queryEach(ctx, db.b, "entitlement bands", `SELECT `+cols+` FROM assignments a WHERE `+b.and(), b.args, func(r Rows) error {
		return r.Scan(out.Bands.dest()...)
	})
	if err != nil {
		return out, err
	}
	if out.DrivingFactors, err = db.DrivingFactors(ctx, entID); err != nil {
		return out, err
	}
	b = &sqlb{}
	b.where("a.ent_id = %s", b.arg(entID))
	b.scope(s, "a")
	if out.Users, err = db.assignmentViews(ctx, b, "a.usr_id", pageSize(limit)); err != nil {
		return out, err
	}
	if out.Users == nil {
		out.Users = []AssignmentView{}
	}
	return out, nil
}

// UnscoredEnt is an entitlement with its unscored holders.
type UnscoredEnt struct {
	EntID          string
	EntName, AppID *string
	Users          []UserRef
}

// UnscoredEntitlements lists the valid unscored assignments in scope,
// grouped by entitlement (ent_id order, users in usr_id order).
func (db *DB) UnscoredEntitlements(ctx context.Context, s Scope) ([]UnscoredEnt, error) {
	b := &sqlb{}
	b.where("a.valid")
	b.where("a.score IS NULL")
	b.scope(s, "a")
	out := []UnscoredEnt{}
	err := queryEach(ctx, db.b, "unscored", `SELECT a.ent_id, e.ent_name, e.app_id, a.usr_id, i.usr_name FROM assignments a
LEFT JOIN entitlements e ON e.ent_id = a.ent_id LEFT JOIN identities i ON i.usr_id = a.usr_id
WHERE `+b.and()+` ORDER BY a.ent_id, a.usr_id`, b.args, func(r Rows) error {
		var ent, usr string
		var en, app, un sql.NullString
		if err := r.Scan(&ent, &en, &app, &usr, &un); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].EntID != ent {
			out = append(out, UnscoredEnt{EntID: ent, EntName: ns(en), AppID: ns(app)})
		}
		last := &out[len(out)-1]
		last.Users = append(last.Users, UserRef{ID: usr, Name: ns(un)})
		return nil
	})
	return out, err
}

// FilterOption is one value of a filterable attribute and its count.
type FilterOption struct {
	Attribute, Value string
	Count            int64
}

// FilterPopulation chooses whose attributes filter options count.
type FilterPopulation struct {
	Supervisor string // the supervisor's reports
	EntOwner   string // holders of the owner's entitlements
	AppID      string // holders of the application's entitlements
}

// FilterOptions returns, per attribute (name order), its values and
// counts over the population (everyone when empty). Attributes limits
// the attributes (nil: those with at most maxValues values overall).
func (db *DB) FilterOptions(ctx context.Context, pop FilterPopulation, attributes []string, maxValues int) ([]FilterOption, error) {
	if attributes == nil && maxValues > 0 {
		// The attributes with at most maxValues values, from the load's figure.
		var counts map[string]int64
		raw, err := db.figure(ctx, FigureAttributeValues)
		if err != nil {
			return nil, err
		}
		if raw != nil && json.Unmarshal(raw, &counts) == nil {
			attributes = []string{}
			for k, n := range counts {
				if n <= int64(maxValues) {
					attributes = append(attributes, k)
				}
			}
			sort.Strings(attributes)
		}
	}
	if pop.AppID != "" && attributes != nil {
		if err := db.mustApp(ctx, pop.AppID); err != nil {
			return nil, err
		}
		raw, err := db.figure(ctx, FigureAppFilters+pop.AppID)
		if err != nil {
			return nil, err
		}
		out := []FilterOption{}
		if raw == nil {
			return out, nil // no holders
		}
		var rows [][3]json.RawMessage
		if err := json.Unmarshal(raw, &rows); err != nil {
			return nil, fmt.Errorf("filter options of %s: %w", pop.AppID, err)
		}
		keep := map[string]bool{}
		for _, a := range attributes {
			keep[a] = true
		}
		for _, r := range rows {
			var f FilterOption
			if json.Unmarshal(r[0], &f.Attribute) != nil || json.Unmarshal(r[1], &f.Value) != nil || json.Unmarshal(r[2], &f.Count) != nil {
				return nil, fmt.Errorf("filter options of %s: bad row", pop.AppID)
			}
			if keep[f.Attribute] {
				out = append(out, f)
			}
		}
		return out, nil
	}
	b := &sqlb{}
	var text string
	if pop == (FilterPopulation{}) {
		text = `SELECT attribute, value, count FROM filter_options f WHERE {where} ORDER BY attribute, value`
	} else {
		switch {
		case pop.Supervisor != "":
			b.where("ia.usr_id IN (SELECT usr_id FROM identities WHERE usr_manager_id = %s)", b.arg(pop.Supervisor))
		case pop.EntOwner != "":
			b.where("ia.usr_id IN (SELECT a.usr_id FROM assignments a JOIN entitlements e ON e.ent_id = a.ent_id WHERE e.ent_owner_id = %s)", b.arg(pop.EntOwner))
		case pop.AppID != "":
			// A store loaded before the per-application figures existed.
			if err := db.mustApp(ctx, pop.AppID); err != nil {
				return nil, err
			}
			b.where("ia.usr_id IN (SELECT a.usr_id FROM assignments a WHERE a.app_id = %s)", b.arg(pop.AppID))
		}
		text = `SELECT ia.attribute, ia.value, COUNT(*) FROM identity_attributes ia WHERE {where} GROUP BY ia.attribute, ia.value ORDER BY ia.attribute, ia.value`
	}
	col := "f.attribute"
	if pop != (FilterPopulation{}) {
		col = "ia.attribute"
	}
	if attributes != nil {
		if len(attributes) == 0 {
			return []FilterOption{}, nil
		}
		b.where("%s IN (%s)", col, b.list(attributes))
	} else if maxValues > 0 {
		b.where("%s IN (SELECT attribute FROM filter_options GROUP BY attribute HAVING COUNT(*) <= %s)", col, b.arg(int64(maxValues)))
	}
	out := []FilterOption{}
	err := queryEach(ctx, db.b, "filter options", strings.Replace(text, "{where}", b.and(), 1), b.args, func(r Rows) error {
		var f FilterOption
		err := r.Scan(&f.Attribute, &f.Value, &f.Count)
		out = append(out, f)
		return err
	})
	return out, err
}
