package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Identity is a published identity with its attributes in source order.
type Identity struct {
	UsrID     string
	Name      *string
	ManagerID *string
	Attrs     []Attr
}

// identityCols are the columns scanIdentity reads, of identities i.
const identityCols = `i.usr_id, i.usr_name, i.usr_manager_id, i.attributes`

// scanIdentity reads a row of identityCols.
func scanIdentity(r Rows) (Identity, error) {
	var id Identity
	var name, mgr sql.NullString
	var attrs string
	if err := r.Scan(&id.UsrID, &name, &mgr, &attrs); err != nil {
		return id, err
	}
	id.Name, id.ManagerID = ns(name), ns(mgr)
	var err error
	id.Attrs, err = jsonAttrs(attrs)
	return id, err
}

// GetIdentity returns a published identity; a *NotFoundError when absent.
func (db *DB) GetIdentity(ctx context.Context, usrID string) (Identity, error) {
	var id Identity
	found := false
	err := queryEach(ctx, db.b, "identity "+usrID, `SELECT `+identityCols+` FROM identities i WHERE i.usr_id = $1`,
		[]any{usrID}, func(r Rows) error {
			var err error
			id, err = scanIdentity(r)
			found = true
			return err
		})
	if err != nil {
		return Identity{}, err
	}
	if !found {
		return Identity{}, notFound("user", usrID)
	}
	return id, nil
}

// AssignmentView is a published assignment with its identity,
// entitlement, application and decision.
type AssignmentView struct {
	UsrID, EntID                     string
	UsrName, ManagerID               *string
	EntName, AppID, AppName          *string
	EntOwner, AppOwner, EntRiskLevel *string
	Score                            *float64
	Justification                    []string
	Freq, Frequnion                  *int64
	LastUsed                         *time.Time
	Decision                         *Decision // nil: none recorded
}

// assignmentViews runs view_assignments with the builder's conditions.
func (db *DB) assignmentViews(ctx context.Context, b *sqlb, order string, limit int) ([]AssignmentView, error) {
	text := viewSQL("view_assignments", map[string]string{"where": b.and(), "order": order, "limit": b.arg(int64(limit))})
	var out []AssignmentView
	err := queryEach(ctx, db.b, "assignment view", text, b.args, func(r Rows) error {
		var a AssignmentView
		var un, mgr, en, app, an, eo, ao, risk sql.NullString
		var score sql.NullFloat64
		var just string
		var freq, fu, lu sql.NullInt64
		var cert, rev, req, proc, arch sql.NullBool
		var reason, author, authorName, authorType, ds sql.NullString
		var upd sql.NullInt64
		if err := r.Scan(&a.UsrID, &a.EntID, &un, &mgr, &en, &app, &an, &eo, &ao, &risk, &score, &just, &freq, &fu, &lu,
			&cert, &rev, &req, &proc, &arch, &reason, &author, &authorName, &authorType, &ds, &upd); err != nil {
			return err
		}
		a.UsrName, a.ManagerID, a.EntName, a.AppID, a.AppName = ns(un), ns(mgr), ns(en), ns(app), ns(an)
		a.EntOwner, a.AppOwner, a.EntRiskLevel = ns(eo), ns(ao), ns(risk)
		a.Score, a.Freq, a.Frequnion, a.LastUsed = nf(score), ni(freq), ni(fu), microsTime(lu)
		var err error
		if a.Justification, err = jsonList(just); err != nil {
			return err
		}
		if upd.Valid {
			a.Decision = &Decision{UsrID: a.UsrID, EntID: a.EntID, Certified: cert.Bool, Revoked: rev.Bool, Requested: req.Bool,
				Processed: proc.Bool, Archived: arch.Bool, Reason: reason.String, Author: author.String, AuthorName: authorName.String,
				AuthorType: authorType.String, DatasinkStatus: ds.String, UpdatedAt: time.UnixMicro(upd.Int64).UTC()}
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// count runs SELECT COUNT(*) with the builder's conditions over from.
func (db *DB) count(ctx context.Context, b *sqlb, from string) (int64, error) {
	var n int64
	err := queryEach(ctx, db.b, "count", "SELECT COUNT(*) FROM "+from+" WHERE "+b.and(), b.args, func(r Rows) error {
		return r.Scan(&n)
	})
	return n, err
}

// Recommendation is a recommended entitlement for an identity, with the
// entitlement's metadata.
type Recommendation struct {
	UsrID, EntID                      string
	Confidence                        float64
	Freq, Frequnion                   *int64
	Justification                     []string
	Rank                              int64
	EntName, AppID, AppName, EntOwner *string
	EntOwnerName, AppOwner, RiskLevel *string
}

func (db *DB) recommendationViews(ctx context.Context, b *sqlb, order string, limit int) ([]Recommendation, error) {
	text := viewSQL("view_recommendations", map[string]string{"where": b.and(), "order": order, "limit": b.arg(int64(limit))})
	var out []Recommendation
	err := queryEach(ctx, db.b, "recommendation view", text, b.args, func(r Rows) error {
		var x Recommendation
		var freq, fu sql.NullInt64
		var just string
		var en, app, an, eo, on, ao, risk sql.NullString
		if err := r.Scan(&x.UsrID, &x.EntID, &x.Confidence, &freq, &fu, &just, &x.Rank, &en, &app, &an, &eo, &on, &ao, &risk); err != nil {
			return err
		}
		x.Freq, x.Frequnion = ni(freq), ni(fu)
		x.EntName, x.AppID, x.AppName, x.EntOwner, x.EntOwnerName, x.AppOwner, x.RiskLevel = ns(en), ns(app), ns(an), ns(eo), ns(on), ns(ao), ns(risk)
		var err error
		x.Justification, err = jsonList(just)
		out = append(out, x)
		return err
	})
	return out, err
}

// UserDetailsQuery asks for one identity's page of assignments and page
// of recommendations.
type UserDetailsQuery struct {
	UsrID string
	// Desc sorts the assignments by ent_id descending (else ascending).
	Desc bool
	// AfterEnt and AfterRec continue the two lists after these
	// entitlement ids ("" : from the start).
	AfterEnt, AfterRec string
	PageSize           int
	// RecommendMin is the confidence from which recommendations are
	// listed (recommend_threshold).
	RecommendMin float64
	Scope        Scope
}

// UserDetails is one identity's view.
type UserDetails struct {
	User                          Identity
	Assignments                   []AssignmentView
	AssignmentCount, AssignRemain int64
	Recommendations               []Recommendation
	RecCount, RecRemain           int64
}

// UserDetails returns an identity, a page of its assignments (in the
// caller's scope) ordered by ent_id and a page of its recommendations,
// best first.
func (db *DB) UserDetails(ctx context.Context, uq UserDetailsQuery) (UserDetails, error) {
	var out UserDetails
	var err error
	if out.User, err = db.GetIdentity(ctx, uq.UsrID); err != nil {
		return out, err
	}
	size := pageSize(uq.PageSize)
	base := func() *sqlb {
		b := &sqlb{}
		b.where("a.usr_id = %s", b.arg(uq.UsrID))
		b.scope(uq.Scope, "a")
		return b
	}
	b := base()
	if out.AssignmentCount, err = db.count(ctx, b, "assignments a"); err != nil {
		return out, err
	}
	b = base()
	op, dir := ">", "ASC"
	if uq.Desc {
		op, dir = "<", "DESC"
	}
	if uq.AfterEnt != "" {
		b.where("a.ent_id %s %s", op, b.arg(uq.AfterEnt))
	}
	if out.Assignments, err = db.assignmentViews(ctx, b, "a.ent_id "+dir, size); err != nil {
		return out, err
	}
	if n := len(out.Assignments); n > 0 && uq.AfterEnt == "" {
		out.AssignRemain = out.AssignmentCount - int64(n)
	} else if n > 0 {
		b = base()
		b.where("a.ent_id %s %s", op, b.arg(out.Assignments[n-1].EntID))
		if out.AssignRemain, err = db.count(ctx, b, "assignments a"); err != nil {
			return out, err
		}
	}
	recBase := func() *sqlb {
		b := &sqlb{}
		b.where("r.usr_id = %s", b.arg(uq.UsrID))
		b.where("r.confidence >= %s", b.arg(uq.RecommendMin))
		b.scopeCols(uq.Scope, "r.usr_id", "r.ent_id", "(SELECT app_id FROM entitlements WHERE ent_id = r.ent_id)")
		return b
	}
	b = recBase()
	if out.RecCount, err = db.count(ctx, b, "recommendations r"); err != nil {
		return out, err
	}
	b = recBase()
	if uq.AfterRec != "" {
		b.where("r.rank > COALESCE((SELECT rank FROM recommendations WHERE usr_id = %s AND ent_id = %s), -1)", b.arg(uq.UsrID), b.arg(uq.AfterRec))
	}
	if out.Recommendations, err = db.recommendationViews(ctx, b, "r.rank", size); err != nil {
		return out, err
	}
	if n := len(out.Recommendations); n > 0 && uq.AfterRec == "" {
		out.RecRemain = out.RecCount - int64(n)
	} else if n > 0 {
		b = recBase()
		b.where("r.rank > %s", b.arg(out.Recommendations[n-1].Rank))
		if out.RecRemain, err = db.count(ctx, b, "recommendations r"); err != nil {
			return out, err
		}
	}
	return out, nil
}

// UserBands counts one identity's assignments (in scope) by band.
func (db *DB) UserBands(ctx context.Context, usrID string, t Thresholds, s Scope) (Bands, error) {
	b := &sqlb{}
	cols := b.bandCounts(t, "a.score")
	b.where("a.usr_id = %s", b.arg(usrID))
	b.scope(s, "a")
	var out Bands
	err := queryEach(ctx, db.b, "user bands", "SELECT "+cols+" FROM assignments a WHERE "+b.and(), b.args, func(r Rows) error {
		return r.Scan(out.dest()...)
	})
	return out, err
}

// UserHit is one result of a user search.
type UserHit struct {
	UsrID                                string
	Name                                 *string
	IsAppOwner, IsEntOwner, IsSupervisor bool
}

// SearchUsers finds identities whose id or name contains text (case
// insensitive), in id order, at most limit. The search list (user_search:
// lower-cased id and name per identity) and who owns or manages are kept
// per publication and searched in memory: no index serves a substring
// match, and the statement scanned the list for each search.
func (db *DB) SearchUsers(ctx context.Context, text string, limit int) ([]UserHit, error) {
	list, err := cachedView(ctx, db, "user search", db.userSearchList)
	if err != nil {
		return nil, err
	}
	pat := strings.ToLower(text)
	n := pageSize(limit)
	var out []UserHit
	for i := range list {
		if len(out) == n {
			break
		}
		if u := &list[i]; strings.Contains(u.text, pat) {
			out = append(out, u.hit)
		}
	}
	return out, nil
}

type searchEntry struct {
	text string
	hit  UserHit
}

// userSearchList reads the search list in id (byte) order with each
// identity's roles.
func (db *DB) userSearchList(ctx context.Context) ([]searchEntry, error) {
	owners := func(what, q string) (map[string]bool, error) {
		m := map[string]bool{}
		err := queryEach(ctx, db.b, what, q, nil, func(r Rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			m[id] = true
			return nil
		})
		return m, err
	}
	apps, err := owners("application owners", `SELECT DISTINCT app_owner_id FROM applications WHERE app_owner_id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	ents, err := owners("entitlement owners", `SELECT DISTINCT ent_owner_id FROM entitlements WHERE ent_owner_id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	sups, err := owners("supervisors", `SELECT DISTINCT usr_manager_id FROM identities WHERE usr_manager_id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	var out []searchEntry
	err = queryEach(ctx, db.b, "user search", `SELECT usr_id, usr_name, search_text FROM user_search`, nil, func(r Rows) error {
		var e searchEntry
		var name sql.NullString
		if err := r.Scan(&e.hit.UsrID, &name, &e.text); err != nil {
			return err
		}
		e.hit.Name = ns(name)
		e.hit.IsAppOwner, e.hit.IsEntOwner, e.hit.IsSupervisor = apps[e.hit.UsrID], ents[e.hit.UsrID], sups[e.hit.UsrID]
		out = append(out, e)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].hit.UsrID < out[j].hit.UsrID })
	return out, err
}

// DrivingFactor is one item that drives an entitlement's rules.
type DrivingFactor struct {
	EntID, Item    string
	Count, Holders int64
}

// DrivingFactors returns an entitlement's driving factors with a count,
// by count descending then item.
func (db *DB) DrivingFactors(ctx context.Context, entID string) ([]DrivingFactor, error) {
	if err := db.mustEntitlement(ctx, entID); err != nil {
		return nil, err
	}
	out := []DrivingFactor{}
	err := queryEach(ctx, db.b, "driving factors", `SELECT ent_id, item, COALESCE(count, 0), COALESCE(holders, 0) FROM driving_factors
WHERE ent_id = $1 AND count > 0 ORDER BY count DESC, item`, []any{entID}, func(r Rows) error {
		var f DrivingFactor
		if err := r.Scan(&f.EntID, &f.Item, &f.Count, &f.Holders); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// Autoprovision returns a page of the identity's recommendations with
// confidence ≥ autoAccess whose rule has an auto-request decision (SPEC
// 14), in ent_id order after the cursor; the next cursor is "" at the end.
func (db *DB) Autoprovision(ctx context.Context, usrID string, autoAccess float64, cursor string, size int) ([]Recommendation, string, error) {
	if err := db.mustUser(ctx, usrID); err != nil {
		return nil, "", err
	}
	after, err := keyCursor("cursor", cursor, 1)
	if err != nil {
		return nil, "", err
	}
	size = pageSize(size)
	b := &sqlb{}
	b.where("r.usr_id = %s", b.arg(usrID))
	b.where("r.confidence >= %s", b.arg(autoAccess))
	b.where("EXISTS (SELECT 1 FROM rule_decisions rd WHERE rd.ent_id = r.ent_id AND rd.justification = r.justification AND rd.is_autorequest)")
	if after != nil {
		b.where("r.ent_id > %s", b.arg(after[0]))
	}
	recs, err := db.recommendationViews(ctx, b, "r.ent_id", size+1)
	if err != nil {
		return nil, "", err
	}
	recs, next := pageOf(recs, size, func(r Recommendation) any { return []string{r.EntID} })
	return recs, next, nil
}

// AutoActionQuery asks for the candidates of an automatic action.
type AutoActionQuery struct {
	Action       string // addAccess, revokeAccess, certifyAccess
	UsrID, EntID string // at least one
	Thresholds   ScoreRange
	Cursor       string
	PageSize     int
}

// AutoActionRow is one candidate: a recommendation (addAccess) or an
// assignment.
type AutoActionRow struct {
	UsrID, EntID    string
	Score           *float64
	Freq, Frequnion *int64
	Justification   []string
}

// AutoAction lists, for a user or an entitlement, the recommendations
// (addAccess) or assignments (revokeAccess, certifyAccess) whose
// confidence satisfies the thresholds, in (usr_id, ent_id) order.
func (db *DB) AutoAction(ctx context.Context, aq AutoActionQuery) ([]AutoActionRow, string, error) {
	if err := aq.Thresholds.Validate("thresholds"); err != nil {
		return nil, "", err
	}
	if aq.UsrID == "" && aq.EntID == "" {
		return nil, "", badField("usrId", "give usrId or entId")
	}
	var table, scoreCol string
	switch aq.Action {
	case "addAccess":
		table, scoreCol = "recommendations", "confidence"
	case "revokeAccess", "certifyAccess":
		table, scoreCol = "assignments", "score"
	default:
		return nil, "", badField("action", "want addAccess, revokeAccess or certifyAccess, got %q", aq.Action)
	}
	if aq.UsrID != "" {
		if err := db.mustUser(ctx, aq.UsrID); err != nil {
			return nil, "", err
		}
	}
	if aq.EntID != "" {
		if err := db.mustEntitlement(ctx, aq.EntID); err != nil {
			return nil, "", err
		}
	}
	after, err := keyCursor("cursor", aq.Cursor, 2)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(aq.PageSize)
	b := &sqlb{}
	if aq.UsrID != "" {
		b.where("t.usr_id = %s", b.arg(aq.UsrID))
	}
	if aq.EntID != "" {
		b.where("t.ent_id = %s", b.arg(aq.EntID))
	}
	bound := func(v *float64, op string) {
		if v != nil {
			b.where("t.%s %s %s", scoreCol, op, b.arg(*v))
		}
	}
	bound(aq.Thresholds.Gt, ">")
	bound(aq.Thresholds.Gte, ">=")
	bound(aq.Thresholds.Lt, "<")
	bound(aq.Thresholds.Lte, "<=")
	if after != nil {
		b.where("(t.usr_id > %s OR (t.usr_id = %s AND t.ent_id > %s))", b.arg(after[0]), b.arg(after[0]), b.arg(after[1]))
	}
	text := fmt.Sprintf(`SELECT t.usr_id, t.ent_id, t.%s, t.freq, t.frequnion, t.justification FROM %s t WHERE %s ORDER BY t.usr_id, t.ent_id LIMIT %s`,
		scoreCol, table, b.and(), b.arg(int64(size+1)))
	out := []AutoActionRow{}
	err = queryEach(ctx, db.b, "auto action", text, b.args, func(r Rows) error {
		var x AutoActionRow
		var s sql.NullFloat64
		var freq, fu sql.NullInt64
		var just string
		if err := r.Scan(&x.UsrID, &x.EntID, &s, &freq, &fu, &just); err != nil {
			return err
		}
		x.Score, x.Freq, x.Frequnion = nf(s), ni(freq), ni(fu)
		var err error
		x.Justification, err = jsonList(just)
		out = append(out, x)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out, next := pageOf(out, size, func(a AutoActionRow) any { return []string{a.UsrID, a.EntID} })
	return out, next, nil
}

// DistinctUser is one identity of the distinct list, with the attributes
// asked for.
type DistinctUser struct {
	UsrID           string
	Name, ManagerID *string
	Attrs           map[string]string // requested name -> value
}

// DistinctUsersQuery pages all identities; Prefix keeps those whose
// attribute (named case-insensitively) starts with the value.
type DistinctUsersQuery struct {
	Prefix   map[string]string
	Cursor   string // base64 of {"usr_id": ...}
	PageSize int
}

// DistinctUsers returns a page of identities in usr_id order and the next
// cursor ("" at the end).
func (db *DB) DistinctUsers(ctx context.Context, dq DistinctUsersQuery) ([]DistinctUser, string, error) {
	var after struct {
		UsrID *string `json:"usr_id"`
	}
	if dq.Cursor != "" {
		if err := DecodeCursor("cursor", dq.Cursor, &after); err != nil {
			return nil, "", err
		}
		if after.UsrID == nil {
			return nil, "", badField("cursor", "not a cursor this server made")
		}
	}
	var names attrNames
	if len(dq.Prefix) > 0 {
		var err error
		if names, err = db.attributeNames(ctx); err != nil {
			return nil, "", err
		}
	}
	size := pageSize(dq.PageSize)
	b := &sqlb{}
	resolved := map[string]string{}
	for req, v := range dq.Prefix {
		attr, ok := names.resolve(req)
		if !ok {
			return nil, "", badField(req, "no identity attribute %q", req)
		}
		resolved[req] = attr
		b.where(`i.usr_id IN (SELECT usr_id FROM identity_attributes WHERE attribute = %s AND value LIKE %s ESCAPE '\')`, b.arg(attr), b.arg(likeEscape(v)+"%"))
	}
	if after.UsrID != nil {
		b.where("i.usr_id > %s", b.arg(*after.UsrID))
	}
	text := fmt.Sprintf(`SELECT `+identityCols+` FROM identities i WHERE %s ORDER BY i.usr_id LIMIT %s`,
		b.and(), b.arg(int64(size+1)))
	out := []DistinctUser{}
	err := queryEach(ctx, db.b, "distinct users", text, b.args, func(r Rows) error {
		id, err := scanIdentity(r)
		if err != nil {
			return err
		}
		u := DistinctUser{UsrID: id.UsrID, Name: id.Name, ManagerID: id.ManagerID, Attrs: map[string]string{}}
		for req, attr := range resolved {
			for _, a := range id.Attrs {
				if a.Name == attr {
					u.Attrs[req] = a.Value
				}
			}
		}
		out = append(out, u)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	out, next := pageOf(out, size, func(u DistinctUser) any { return map[string]string{"usr_id": u.UsrID} })
	return out, next, nil
}

// attrNames are the published identity attribute names.
type attrNames []string

// resolve finds the attribute a request names, exactly or ignoring case.
func (n attrNames) resolve(req string) (string, bool) {
	for _, a := range n {
		if a == req {
			return a, true
		}
	}
	for _, a := range n {
		if strings.EqualFold(a, req) {
			return a, true
		}
	}
	return "", false
}

// attributeNames lists the identity attributes that have values (the
// load's figure; a scan of the filter options for a store loaded before
// it existed).
func (db *DB) attributeNames(ctx context.Context) (attrNames, error) {
	var out attrNames
	found := false
	err := queryEach(ctx, db.b, "attribute names", `SELECT value FROM company_view WHERE figure = $1`, []any{FigureAttributes}, func(r Rows) error {
		var v string
		if err := r.Scan(&v); err != nil {
			return err
		}
		found = true
		return json.Unmarshal([]byte(v), &out)
	})
	if err != nil || found {
		return out, err
	}
	err = queryEach(ctx, db.b, "attribute names", `SELECT DISTINCT attribute FROM filter_options ORDER BY attribute`, nil, func(r Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// ResolveAttrFilters maps request attribute names (any case) to the
// published ones; field names the request field in errors.
func (db *DB) ResolveAttrFilters(ctx context.Context, field string, fs []AttrFilter) ([]AttrFilter, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	names, err := db.attributeNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AttrFilter, len(fs))
	for i, f := range fs {
		a, ok := names.resolve(f.Attribute)
		if !ok {
			return nil, badField(field+"["+strconv.Itoa(i)+"].attribute", "no identity attribute %q", f.Attribute)
		}
		out[i] = AttrFilter{Attribute: a, Values: f.Values}
	}
	return out, nil
}
