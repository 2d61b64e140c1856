package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
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
// (ByEntOwner) or in applications owned (ByAppOwner) by user. The
// entitlements are kept per publication and searched in memory (no index
// serves a substring match).
func (db *DB) SearchEntitlements(ctx context.Context, by OwnerBy, user, text, appID string, limit int) ([]EntRef, error) {
	list, err := cachedView(ctx, db, "entitlement search", db.entSearchList)
	if err != nil {
		return nil, err
	}
	pat := strings.ToLower(text)
	n := pageSize(limit)
	out := []EntRef{}
	for i := range list {
		if len(out) == n {
			break
		}
		x := &list[i]
		if text != "" && !strings.Contains(x.id, pat) && !strings.Contains(x.name, pat) {
			continue
		}
		if appID != "" && (x.ref.AppID == nil || *x.ref.AppID != appID) {
			continue
		}
		if user != "" {
			switch by {
			case ByEntOwner:
				if x.ref.OwnerID == nil || *x.ref.OwnerID != user {
					continue
				}
			case ByAppOwner:
				if x.appOwner == nil || *x.appOwner != user {
					continue
				}
			}
		}
		out = append(out, x.ref)
	}
	return out, nil
}

// entSearchEntry is an entitlement with its id and name lower-cased as
// SQL's LOWER does it (ASCII letters only) and its application's owner.
type entSearchEntry struct {
	ref      EntRef
	id, name string
	appOwner *string
}

func (db *DB) entSearchList(ctx context.Context) ([]entSearchEntry, error) {
	var out []entSearchEntry
	err := queryEach(ctx, db.b, "entitlement search", `SELECT `+entRefCols+`, p.app_owner_id FROM `+entRefFrom, nil, func(r Rows) error {
		var x entSearchEntry
		var en, app, an, owner, crit, risk, ao sql.NullString
		if err := r.Scan(&x.ref.EntID, &en, &app, &an, &owner, &crit, &risk, &ao); err != nil {
			return err
		}
		x.ref.EntName, x.ref.AppID, x.ref.AppName, x.ref.OwnerID, x.ref.Criticality, x.ref.RiskLevel = ns(en), ns(app), ns(an), ns(owner), ns(crit), ns(risk)
		x.appOwner = ns(ao)
		x.id, x.name = asciiLower(x.ref.EntID), asciiLower(en.String)
		out = append(out, x)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ref.EntID < out[j].ref.EntID })
	return out, err
}

// asciiLower lower-cases the ASCII letters of s (what LOWER does in
// SQLite and under PostgreSQL's C collation).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
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
// reports or an entitlement owner's entitlements. The assignments in
// scope are counted by band in SQL, per entitlement, application and
// identity, in one statement.
func (db *DB) EntitlementStats(ctx context.Context, q EntStatsQuery) (EntStats, error) {
	var out EntStats
	b := &sqlb{}
	b.where("a.valid")
	// The owner's rows: for a supervisor or an entitlement owner the
	// assignments are reached from the owner's reports or entitlements
	// through the (usr_id, ...) or (ent_id, ...) index. PostgreSQL's
	// estimate of an owner's assignments is the mean over all values
	// (about a thousand per entitlement), which makes it scan all 10M
	// assignments for owners with a few hundred; a lateral subquery it
	// cannot flatten (OFFSET 0) keeps the index lookups.
	from := `assignments a`
	drive := func(table, key, col string) {
		if db.b.Dialect() == Postgres {
			from = table + ` o CROSS JOIN LATERAL (SELECT a0.usr_id, a0.ent_id, a0.app_id, a0.score, a0.valid FROM assignments a0
WHERE a0.` + key + ` = o.` + key + ` OFFSET 0) a`
		} else {
			from = table + ` o JOIN assignments a ON a.` + key + ` = o.` + key
		}
		b.where("o.%s = %s", col, b.arg(q.OwnerID))
	}
	switch q.By {
	case BySupervisor:
		drive("identities", "usr_id", "usr_manager_id")
	case ByEntOwner:
		drive("entitlements", "ent_id", "ent_owner_id")
	case ByAppOwner:
		b.scope(Scope{AppOwner: q.OwnerID}, "a")
	}
	// The entitlements and applications are joined for the filters that
	// name their columns only.
	needEnt, needApp := q.HighRiskOnly || q.MediumLowOnly, false
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
			needEnt = needEnt || strings.HasPrefix(col, "e.")
			needApp = needApp || strings.HasPrefix(col, "p.")
			b.where("%s IN (%s)", col, b.list(f.Values))
		case f.Type == "user":
			fs, err := db.ResolveAttrFilters(ctx, "filters", []AttrFilter{{Attribute: f.Group, Values: f.Values}})
			if err != nil {
				return out, err
			}
			b.attrs(fs, "a.usr_id")
		default:
			return out, badField("filters["+itoa(i)+"]", "unknown filter type %q with group %q", f.Type, f.Group)
		}
	}
	where := b.and()
	if needEnt {
		from += ` LEFT JOIN entitlements e ON e.ent_id = a.ent_id`
	}
	if needApp {
		from += ` LEFT JOIN applications p ON p.app_id = a.app_id`
	}
	// kind 0: per entitlement (its name, application, risk), 1: per
	// application of the assignment (its name), 2: per identity (its name).
	text := `WITH s AS MATERIALIZED (SELECT a.usr_id, a.ent_id, a.app_id, a.score FROM ` + from + ` WHERE ` + where + `)
SELECT 0, g.k, e.ent_name, e.app_id, e.ent_risk_level, g.h, g.m, g.l, g.u, g.t
FROM (SELECT s.ent_id AS k, ` + b.bandAliases(q.Thresholds, "s.score") + ` FROM s GROUP BY s.ent_id) g LEFT JOIN entitlements e ON e.ent_id = g.k
UNION ALL
SELECT 1, g.k, p.app_name, NULL, NULL, g.h, g.m, g.l, g.u, g.t
FROM (SELECT s.app_id AS k, ` + b.bandAliases(q.Thresholds, "s.score") + ` FROM s WHERE s.app_id IS NOT NULL GROUP BY s.app_id) g LEFT JOIN applications p ON p.app_id = g.k
UNION ALL
SELECT 2, g.k, i.usr_name, NULL, NULL, g.h, g.m, g.l, g.u, g.t
FROM (SELECT s.usr_id AS k, ` + b.bandAliases(q.Thresholds, "s.score") + ` FROM s GROUP BY s.usr_id) g LEFT JOIN identities i ON i.usr_id = g.k`
	out.Ents, out.Apps = []EntStat{}, []AppBands{}
	users := []UserStat{}
	err := db.withoutJIT(ctx, func(c Conn) error {
		return queryEach(ctx, c, "entitlement stats", text, b.args, func(r Rows) error {
			var kind int64
			var key string
			var name, app, risk sql.NullString
			var bs Bands
			if err := r.Scan(append([]any{&kind, &key, &name, &app, &risk}, bs.dest()...)...); err != nil {
				return err
			}
			switch kind {
			case 0:
				out.Ents = append(out.Ents, EntStat{EntID: key, EntName: ns(name), AppID: ns(app), RiskLevel: ns(risk), Bands: bs})
			case 1:
				out.Apps = append(out.Apps, AppBands{AppID: key, AppName: ns(name), Bands: bs})
			default:
				users = append(users, UserStat{UsrID: key, UsrName: ns(name), Bands: bs})
			}
			return nil
		})
	})
	if err != nil {
		return out, err
	}
	for _, e := range out.Ents {
		if e.Bands.Scored() > 0 {
			out.Scored++
		} else {
			out.Unscored++
		}
	}
	sort.Slice(out.Ents, func(i, j int) bool { return out.Ents[i].EntID < out.Ents[j].EntID })
	out.TotalEnts = int64(len(out.Ents))
	sort.Slice(out.Apps, func(i, j int) bool { return out.Apps[i].AppID < out.Apps[j].AppID })
	seen := map[string]bool{}
	for _, u := range users {
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
// most limit, usr_id order: their id, name, application, score,
// justification, freq and frequnion), their bands and its driving factors.
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
	if out.DrivingFactors, err = db.DrivingFactors(ctx, entID); err != nil {
		return out, err
	}
	// The holders (the fields the view shows) and, when they are all read,
	// the bands of the valid ones from the same rows: one pass over the
	// entitlement's assignments instead of two.
	size := pageSize(limit)
	b := &sqlb{}
	b.where("a.ent_id = %s", b.arg(entID))
	b.scope(s, "a")
	out.Users = []AssignmentView{}
	var bands Bands
	err = queryEach(ctx, db.b, "entitlement holders", `SELECT a.usr_id, i.usr_name, a.app_id, a.score, a.justification, a.freq, a.frequnion, a.valid
FROM assignments a LEFT JOIN identities i ON i.usr_id = a.usr_id WHERE `+b.and()+` ORDER BY a.usr_id LIMIT `+b.arg(int64(size+1)), b.args, func(r Rows) error {
		a := AssignmentView{EntID: entID}
		var un, app sql.NullString
		var score sql.NullFloat64
		var just string
		var freq, fu sql.NullInt64
		var valid bool
		if err := r.Scan(&a.UsrID, &un, &app, &score, &just, &freq, &fu, &valid); err != nil {
			return err
		}
		a.UsrName, a.AppID, a.Score, a.Freq, a.Frequnion = ns(un), ns(app), nf(score), ni(freq), ni(fu)
		var err error
		if a.Justification, err = jsonList(just); err != nil {
			return err
		}
		if valid {
			switch t.Band(a.Score) {
			case "high":
				bands.High++
			case "medium":
				bands.Medium++
			case "low":
				bands.Low++
			default:
				bands.Unscored++
			}
			if a.Score != nil {
				bands.Sum += *a.Score
			}
		}
		out.Users = append(out.Users, a)
		return nil
	})
	if err != nil {
		return out, err
	}
	if len(out.Users) <= size {
		out.Bands = bands
		return out, nil
	}
	out.Users = out.Users[:size]
	b = &sqlb{}
	cols := b.bandCounts(t, "a.score")
	b.where("a.ent_id = %s", b.arg(entID))
	b.where("a.valid")
	b.scope(s, "a")
	err = queryEach(ctx, db.b, "entitlement bands", `SELECT `+cols+` FROM assignments a WHERE `+b.and(), b.args, func(r Rows) error {
		return r.Scan(out.Bands.dest()...)
	})
	return out, err
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
		counts, err := cachedView(ctx, db, "figure "+FigureAttributeValues, func(ctx context.Context) (map[string]int64, error) {
			var counts map[string]int64
			raw, err := db.figure(ctx, FigureAttributeValues)
			if err != nil || raw == nil || json.Unmarshal(raw, &counts) != nil {
				return nil, err
			}
			return counts, nil
		})
		if err != nil {
			return nil, err
		}
		if counts != nil {
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
		// The figure (a JSON list of every attribute's values over the
		// application's holders, 145 KB on average on the large preset) is
		// read and parsed once per publication and list of attributes, and
		// only the options asked for are kept.
		key := "figure " + FigureAppFilters + pop.AppID + "\x00" + strings.Join(attributes, "\x00")
		fs, err := cachedView(ctx, db, key, func(ctx context.Context) ([]FilterOption, error) {
			out := []FilterOption{}
			raw, err := db.figure(ctx, FigureAppFilters+pop.AppID)
			if err != nil || raw == nil {
				return out, err // none: no holders
			}
			var rows [][3]json.RawMessage
			if err := json.Unmarshal(raw, &rows); err != nil {
				return nil, fmt.Errorf("filter options of %s: %w", pop.AppID, err)
			}
			// Rows of other attributes (most: those with many values) are
			// recognised by their attribute's JSON text, as the load wrote
			// it, and not decoded.
			keep, keepJSON := map[string]bool{}, map[string]bool{}
			for _, a := range attributes {
				keep[a], keepJSON[jsonText(a)] = true, true
			}
			for _, r := range rows {
				if !keepJSON[string(r[0])] && !bytes.ContainsRune(r[0], '\\') {
					continue
				}
				var f FilterOption
				if json.Unmarshal(r[0], &f.Attribute) != nil || json.Unmarshal(r[1], &f.Value) != nil || json.Unmarshal(r[2], &f.Count) != nil {
					return nil, fmt.Errorf("filter options of %s: bad row", pop.AppID)
				}
				if keep[f.Attribute] {
					out = append(out, f)
				}
			}
			return out, nil
		})
		return slices.Clone(fs), err // the caller's own copy
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
