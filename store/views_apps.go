package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// AppStat is an application with its valid assignments by band.
type AppStat struct {
	AppID        string
	AppName      *string
	Entitlements int64
	Bands        Bands
}

// AppsQuery pages applications.
type AppsQuery struct {
	OwnerID  string // only this owner's applications ("" : all)
	Scope    Scope
	Cursor   string
	PageSize int
}

// AppsPage is a page of applications and the totals under the filter.
type AppsPage struct {
	Apps                                []AppStat
	Next                                string
	TotalApps, TotalEnts, TotalAssigned int64
}

// Applications returns a page of applications (app_id order) with their
// figures from entitlement_stats.
func (db *DB) Applications(ctx context.Context, aq AppsQuery) (AppsPage, error) {
	after, err := keyCursor("cursor", aq.Cursor, 1)
	if err != nil {
		return AppsPage{}, err
	}
	size := pageSize(aq.PageSize)
	if aq.Scope.All() {
		return db.applicationsCached(ctx, aq, after, size)
	}
	filter := func() *sqlb {
		b := &sqlb{}
		if aq.OwnerID != "" {
			b.where("p.app_owner_id = %s", b.arg(aq.OwnerID))
		}
		b.scopeCols(aq.Scope, "NULL", "NULL", "p.app_id")
		return b
	}
	var out AppsPage
	b := filter()
	err = queryEach(ctx, db.b, "application totals", `SELECT COUNT(DISTINCT p.app_id), COUNT(es.ent_id), COALESCE(SUM(es.holders), 0)
FROM applications p LEFT JOIN entitlement_stats es ON es.app_id = p.app_id WHERE `+b.and(), b.args, func(r Rows) error {
		return r.Scan(&out.TotalApps, &out.TotalEnts, &out.TotalAssigned)
	})
	if err != nil {
		return out, err
	}
	b = filter()
	if after != nil {
		b.where("p.app_id > %s", b.arg(after[0]))
	}
	text := `SELECT p.app_id, p.app_name, COUNT(es.ent_id), COALESCE(SUM(es.high), 0), COALESCE(SUM(es.medium), 0), COALESCE(SUM(es.low), 0),
COALESCE(SUM(es.unscored), 0), COALESCE(SUM(es.avg_score * es.scored), 0)
FROM applications p LEFT JOIN entitlement_stats es ON es.app_id = p.app_id
WHERE ` + b.and() + ` GROUP BY p.app_id, p.app_name ORDER BY p.app_id LIMIT ` + b.arg(int64(size+1))
	out.Apps = []AppStat{}
	err = queryEach(ctx, db.b, "applications", text, b.args, func(r Rows) error {
		var a AppStat
		var name sql.NullString
		if err := r.Scan(&a.AppID, &name, &a.Entitlements, &a.Bands.High, &a.Bands.Medium, &a.Bands.Low, &a.Bands.Unscored, &a.Bands.Sum); err != nil {
			return err
		}
		a.AppName = ns(name)
		out.Apps = append(out.Apps, a)
		return nil
	})
	out.Apps, out.Next = pageOf(out.Apps, size, func(a AppStat) any { return []string{a.AppID} })
	return out, err
}

// appFigures is an application's line of the applications view with its
// owner and holders.
type appFigures struct {
	AppStat
	owner   *string
	holders int64
}

// applicationsCached is Applications without a scope, from the figures
// of every application kept per publication (entitlement_stats was
// aggregated by application for every page).
func (db *DB) applicationsCached(ctx context.Context, aq AppsQuery, after []string, size int) (AppsPage, error) {
	all, err := cachedView(ctx, db, "applications", db.applicationFigures)
	if err != nil {
		return AppsPage{}, err
	}
	out := AppsPage{Apps: []AppStat{}}
	for _, a := range all {
		if aq.OwnerID != "" && (a.owner == nil || *a.owner != aq.OwnerID) {
			continue
		}
		out.TotalApps++
		out.TotalEnts += a.Entitlements
		out.TotalAssigned += a.holders
		if (after == nil || a.AppID > after[0]) && len(out.Apps) <= size {
			out.Apps = append(out.Apps, a.AppStat)
		}
	}
	out.Apps, out.Next = pageOf(out.Apps, size, func(a AppStat) any { return []string{a.AppID} })
	return out, nil
}

// applicationFigures reads every application's figures, in app_id (byte)
// order.
func (db *DB) applicationFigures(ctx context.Context) ([]appFigures, error) {
	var out []appFigures
	err := queryEach(ctx, db.b, "applications", `SELECT p.app_id, p.app_name, p.app_owner_id, COUNT(es.ent_id), COALESCE(SUM(es.high), 0), COALESCE(SUM(es.medium), 0),
COALESCE(SUM(es.low), 0), COALESCE(SUM(es.unscored), 0), COALESCE(SUM(es.avg_score * es.scored), 0), COALESCE(SUM(es.holders), 0)
FROM applications p LEFT JOIN entitlement_stats es ON es.app_id = p.app_id GROUP BY p.app_id, p.app_name, p.app_owner_id`, nil, func(r Rows) error {
		var a appFigures
		var name, owner sql.NullString
		if err := r.Scan(&a.AppID, &name, &owner, &a.Entitlements, &a.Bands.High, &a.Bands.Medium, &a.Bands.Low, &a.Bands.Unscored, &a.Bands.Sum, &a.holders); err != nil {
			return err
		}
		a.AppName, a.owner = ns(name), ns(owner)
		out = append(out, a)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].AppID < out[j].AppID })
	return out, err
}

// EntStat is an entitlement with assignments by band.
type EntStat struct {
	EntID          string
	EntName, AppID *string
	RiskLevel      *string
	Bands          Bands
}

// AppEntsQuery pages the entitlements of an application.
type AppEntsQuery struct {
	AppID      string
	Filters    []AttrFilter // on the holders' attributes
	Scope      Scope
	Thresholds Thresholds
	Cursor     string
	PageSize   int
}

// AppEntsPage is a page of an application's entitlements and totals.
type AppEntsPage struct {
	Ents                         []EntStat
	Next                         string
	TotalEnts, TotalUsers, Rules int64
}

// mustApp fails with a *NotFoundError for an unknown application.
func (db *DB) mustApp(ctx context.Context, id string) error {
	ok, err := exists(ctx, db.b, "application "+id, `SELECT 1 FROM applications WHERE app_id = $1`, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("application", id)
	}
	return nil
}

// AppEntitlements returns a page (ent_id order) of the entitlements of
// an application that have valid assignments matching the filters, with
// those assignments by band.
func (db *DB) AppEntitlements(ctx context.Context, aq AppEntsQuery) (AppEntsPage, error) {
	if err := db.mustApp(ctx, aq.AppID); err != nil {
		return AppEntsPage{}, err
	}
	after, err := keyCursor("cursor", aq.Cursor, 1)
	if err != nil {
		return AppEntsPage{}, err
	}
	size := pageSize(aq.PageSize)
	filter := func() *sqlb {
		b := &sqlb{}
		b.where("a.app_id = %s", b.arg(aq.AppID))
		b.where("a.valid")
		b.attrs(aq.Filters, "a.usr_id")
		b.scope(aq.Scope, "a")
		return b
	}
	var out AppEntsPage
	b := filter()
	err = queryEach(ctx, db.b, "application totals", `SELECT COUNT(DISTINCT a.ent_id), COUNT(DISTINCT a.usr_id) FROM assignments a WHERE `+b.and(), b.args,
		func(r Rows) error { return r.Scan(&out.TotalEnts, &out.TotalUsers) })
	if err != nil {
		return out, err
	}
	b = filter()
	err = queryEach(ctx, db.b, "application rules", `SELECT COALESCE(SUM(es.rules), 0) FROM entitlement_stats es
WHERE es.ent_id IN (SELECT DISTINCT a.ent_id FROM assignments a WHERE `+b.and()+`)`, b.args, func(r Rows) error { return r.Scan(&out.Rules) })
	if err != nil {
		return out, err
	}
	b = filter()
	cols := b.bandCounts(aq.Thresholds, "a.score")
	if after != nil {
		b.where("a.ent_id > %s", b.arg(after[0]))
	}
	text := `SELECT a.ent_id, e.ent_name, e.app_id, e.ent_risk_level, ` + cols + `
FROM assignments a LEFT JOIN entitlements e ON e.ent_id = a.ent_id
WHERE ` + b.and() + ` GROUP BY a.ent_id, e.ent_name, e.app_id, e.ent_risk_level ORDER BY a.ent_id LIMIT ` + b.arg(int64(size+1))
	out.Ents = []EntStat{}
	err = queryEach(ctx, db.b, "application entitlements", text, b.args, func(r Rows) error {
		e, err := scanEntStatBands(r)
		out.Ents = append(out.Ents, e)
		return err
	})
	out.Ents, out.Next = pageOf(out.Ents, size, func(e EntStat) any { return []string{e.EntID} })
	return out, err
}

func scanEntStatBands(r Rows) (EntStat, error) {
	var e EntStat
	var en, app, risk sql.NullString
	dest := append([]any{&e.EntID, &en, &app, &risk}, e.Bands.dest()...)
	err := r.Scan(dest...)
	e.EntName, e.AppID, e.RiskLevel = ns(en), ns(app), ns(risk)
	return e, err
}

// AppAssignmentsQuery pages the assignments of an application.
type AppAssignmentsQuery struct {
	AppID    string
	UsrID    string // "" : every user
	Filters  []AttrFilter
	Scope    Scope
	SortBy   string // "" / usr_id / user, ent / ent_id, confidence / score
	Desc     bool
	Cursor   string
	PageSize int
}

// AppAssignmentsPage is a page of assignments with totals.
type AppAssignmentsPage struct {
	Assignments                        []AssignmentView
	Next                               string
	TotalUsers, TotalEnts, TotalAssign int64
}

// AppAssignments returns a page of an application's assignments with
// their decisions, sorted as asked (ties by usr_id, ent_id).
func (db *DB) AppAssignments(ctx context.Context, aq AppAssignmentsQuery) (AppAssignmentsPage, error) {
	if err := db.mustApp(ctx, aq.AppID); err != nil {
		return AppAssignmentsPage{}, err
	}
	var keyCols []string
	switch aq.SortBy {
	case "", "usr_id", "user", "user_id":
		keyCols = []string{"a.usr_id", "a.ent_id"}
	case "ent", "ent_id", "entitlement":
		keyCols = []string{"a.ent_id", "a.usr_id"}
	case "confidence", "score":
		keyCols = []string{"COALESCE(a.score, -1)", "a.usr_id", "a.ent_id"}
	default:
		return AppAssignmentsPage{}, badField("sortBy", "want user_id, ent or confidence, got %q", aq.SortBy)
	}
	after, err := keyCursor("cursor", aq.Cursor, len(keyCols))
	if err != nil {
		return AppAssignmentsPage{}, err
	}
	size := pageSize(aq.PageSize)
	filter := func() *sqlb {
		b := &sqlb{}
		b.where("a.app_id = %s", b.arg(aq.AppID))
		b.where("a.valid")
		if aq.UsrID != "" {
			b.where("a.usr_id = %s", b.arg(aq.UsrID))
		}
		b.attrs(aq.Filters, "a.usr_id")
		b.scope(aq.Scope, "a")
		return b
	}
	var out AppAssignmentsPage
	b := filter()
	err = queryEach(ctx, db.b, "application assignment totals", `SELECT COUNT(DISTINCT a.usr_id), COUNT(DISTINCT a.ent_id), COUNT(*) FROM assignments a WHERE `+b.and(), b.args,
		func(r Rows) error { return r.Scan(&out.TotalUsers, &out.TotalEnts, &out.TotalAssign) })
	if err != nil {
		return out, err
	}
	b = filter()
	op, dir := ">", "ASC"
	if aq.Desc {
		op, dir = "<", "DESC"
	}
	if after != nil {
		vals := make([]string, len(keyCols))
		for i, v := range after {
			if strings.HasPrefix(keyCols[i], "COALESCE") {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return out, badField("cursor", "not a cursor this server made")
				}
				vals[i] = b.arg(f)
			} else {
				vals[i] = b.arg(v)
			}
		}
		b.where("%s", keysetCond(keyCols, vals, op))
	}
	order := make([]string, len(keyCols))
	for i, c := range keyCols {
		order[i] = c + " " + dir
	}
	rows, err := db.assignmentViews(ctx, b, strings.Join(order, ", "), size+1)
	if err != nil {
		return out, err
	}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		var k []string
		switch len(keyCols) {
		case 3:
			s := -1.0
			if last.Score != nil {
				s = *last.Score
			}
			k = []string{strconv.FormatFloat(s, 'g', -1, 64), last.UsrID, last.EntID}
		default:
			if keyCols[0] == "a.ent_id" {
				k = []string{last.EntID, last.UsrID}
			} else {
				k = []string{last.UsrID, last.EntID}
			}
		}
		out.Next = EncodeCursor(k)
	}
	if rows == nil {
		rows = []AssignmentView{}
	}
	out.Assignments = rows
	return out, nil
}

// keysetCond is the row comparison (c1, c2, ...) op (v1, v2, ...) spelled
// out (both dialects, any mix of directions being the same).
func keysetCond(cols, vals []string, op string) string {
	var alts []string
	for i := range cols {
		var parts []string
		for j := 0; j < i; j++ {
			parts = append(parts, fmt.Sprintf("%s = %s", cols[j], vals[j]))
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", cols[i], op, vals[i]))
		alts = append(alts, "("+strings.Join(parts, " AND ")+")")
	}
	return strings.Join(alts, " OR ")
}

// AppRef is an application's id and name.
type AppRef struct {
	AppID   string
	AppName *string
}

// SearchApps finds applications whose id or name contains text (case
// insensitive for ASCII); by owner kind and user restrict them to the
// applications the user owns (ByAppOwner) or holds entitlements of as
// owner (ByEntOwner).
func (db *DB) SearchApps(ctx context.Context, by OwnerBy, user, text string, limit int) ([]AppRef, error) {
	b := &sqlb{}
	b.idOrNameContains("p.app_id", "p.app_name", text)
	if user != "" {
		switch by {
		case ByAppOwner:
			b.where("p.app_owner_id = %s", b.arg(user))
		case ByEntOwner:
			b.where("p.app_id IN (SELECT app_id FROM entitlements WHERE ent_owner_id = %s)", b.arg(user))
		}
	}
	out := []AppRef{}
	err := queryEach(ctx, db.b, "application search", `SELECT p.app_id, p.app_name FROM applications p WHERE `+b.and()+` ORDER BY p.app_id LIMIT `+b.arg(int64(pageSize(limit))),
		b.args, func(r Rows) error {
			var a AppRef
			var name sql.NullString
			if err := r.Scan(&a.AppID, &name); err != nil {
				return err
			}
			a.AppName = ns(name)
			out = append(out, a)
			return nil
		})
	return out, err
}
