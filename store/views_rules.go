package store

import (
	"context"
	"database/sql"
	"sort"
	"strconv"
	"time"

	"github.com/autoid-oss/autoid/model"
)

// ItemRecommendation is the best rule of one entitlement whose antecedent
// is contained in a given set of items (SPEC 5, on-demand form).
type ItemRecommendation struct {
	EntID           string
	Attributes      []string
	Confidence      float64
	Freq, Frequnion int64
}

// RecommendForItems returns, per entitlement, the best stemmed rule whose
// antecedent is a subset of items (SPEC 4's order: confidence, frequnion,
// freq, shorter, smaller item list), ordered by confidence desc, freq
// desc, ent_id; those with confidence ≥ threshold, after skipping offset,
// at most max (≤ 0: no limit). The antecedents looked up are the subsets
// of items up to the longest published rule.
func (db *DB) RecommendForItems(ctx context.Context, items []string, threshold float64, offset, max int) ([]ItemRecommendation, error) {
	set := append([]string(nil), items...)
	model.SortItems(set)
	set = compactSorted(set)
	var maxLen int64
	if err := queryEach(ctx, db.b, "rule length", `SELECT value FROM company_view WHERE figure = $1`, []any{FigureMaxRuleLength}, func(r Rows) error {
		var v string
		if err := r.Scan(&v); err != nil {
			return err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		maxLen = n
		return err
	}); err != nil {
		return nil, err
	}
	if maxLen == 0 {
		// A store loaded before the figure existed.
		if err := queryEach(ctx, db.b, "rule length", `SELECT COALESCE(MAX(rule_len), 0) FROM rules`, nil, func(r Rows) error {
			return r.Scan(&maxLen)
		}); err != nil {
			return nil, err
		}
	}
	var keys []string
	var subset []string
	var walk func(start int)
	walk = func(start int) {
		if len(subset) > 0 {
			keys = append(keys, jsonText(subset))
		}
		if int64(len(subset)) == maxLen {
			return
		}
		for i := start; i < len(set); i++ {
			subset = append(subset, set[i])
			walk(i + 1)
			subset = subset[:len(subset)-1]
		}
	}
	walk(0)
	best := map[string]*ItemRecommendation{}
	const chunk = 500
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		b := &sqlb{}
		text := `SELECT ent_id, justification, freq, frequnion, confidence FROM rules WHERE justification IN (` + b.list(part) + `)`
		err := queryEach(ctx, db.b, "rules for items", text, b.args, func(r Rows) error {
			var x ItemRecommendation
			var just string
			if err := r.Scan(&x.EntID, &just, &x.Freq, &x.Frequnion, &x.Confidence); err != nil {
				return err
			}
			var err error
			if x.Attributes, err = jsonList(just); err != nil {
				return err
			}
			if cur := best[x.EntID]; cur == nil || betterRule(x, *cur) {
				best[x.EntID] = &x
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]ItemRecommendation, 0, len(best))
	for _, x := range best {
		if x.Confidence >= threshold {
			out = append(out, *x)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if c := cmpRatio(a.Frequnion, a.Freq, b.Frequnion, b.Freq); c != 0 {
			return c > 0
		}
		if a.Freq != b.Freq {
			return a.Freq > b.Freq
		}
		return a.EntID < b.EntID
	})
	if offset > 0 {
		out = out[min(offset, len(out)):]
	}
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func compactSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// cmpRatio compares a/b with c/d exactly.
func cmpRatio(a, b, c, d int64) int {
	l, r := a*d, c*b
	switch {
	case l > r:
		return 1
	case l < r:
		return -1
	}
	return 0
}

// betterRule is SPEC 4's order between two rules of one entitlement.
func betterRule(x, y ItemRecommendation) bool {
	if c := cmpRatio(x.Frequnion, x.Freq, y.Frequnion, y.Freq); c != 0 {
		return c > 0
	}
	if x.Frequnion != y.Frequnion {
		return x.Frequnion > y.Frequnion
	}
	if x.Freq != y.Freq {
		return x.Freq > y.Freq
	}
	if len(x.Attributes) != len(y.Attributes) {
		return len(x.Attributes) < len(y.Attributes)
	}
	return model.CompareItemLists(x.Attributes, y.Attributes) < 0
}

// OwnerBy selects whose rows an owner query means.
type OwnerBy string

// The owner kinds of the by= parameters.
const (
	ByAny        OwnerBy = ""
	BySupervisor OwnerBy = "supervisor"
	ByEntOwner   OwnerBy = "enttOwner"
	ByAppOwner   OwnerBy = "appOwner"
)

// ParseOwnerBy reads a by= parameter in the reference's spellings.
func ParseOwnerBy(field, s string) (OwnerBy, error) {
	switch s {
	case "":
		return ByAny, nil
	case "supervisor":
		return BySupervisor, nil
	case "enttOwner", "entOwner", "entitlementOwner", "roleOwner", "enttowner":
		return ByEntOwner, nil
	case "appOwner", "applicationOwner", "appowner":
		return ByAppOwner, nil
	}
	return "", badField(field, "want supervisor, enttOwner or appOwner, got %q", s)
}

// ScopeOf is the scope of "by=... user=...".
func ScopeOf(by OwnerBy, user string) Scope {
	if user == "" {
		return Scope{}
	}
	switch by {
	case BySupervisor:
		return Scope{Supervisor: user}
	case ByEntOwner:
		return Scope{EntOwner: user}
	case ByAppOwner:
		return Scope{AppOwner: user}
	}
	return Scope{}
}

// RulesInfoApp is one application's line of the rules info.
type RulesInfoApp struct {
	AppID             string
	AppName           *string
	Assignments       int64
	High, Medium, Low int64
}

// RulesInfo summarises the rules and valid assignments of the
// entitlements in scope, per application.
type RulesInfo struct {
	Rules, Assignments int64
	Apps               []RulesInfoApp
}

// RulesInfo returns the rules info for a scope (entitlement or
// application owner; empty: all).
func (db *DB) RulesInfo(ctx context.Context, s Scope) (RulesInfo, error) {
	b := &sqlb{}
	b.scopeCols(s, "NULL", "es.ent_id", "es.app_id")
	text := `SELECT es.app_id, p.app_name, COALESCE(SUM(es.rules), 0), COALESCE(SUM(es.holders), 0),
COALESCE(SUM(es.high), 0), COALESCE(SUM(es.medium), 0), COALESCE(SUM(es.low), 0)
FROM entitlement_stats es LEFT JOIN applications p ON p.app_id = es.app_id
WHERE es.app_id IS NOT NULL AND ` + b.and() + ` GROUP BY es.app_id, p.app_name ORDER BY es.app_id`
	out := RulesInfo{Apps: []RulesInfoApp{}}
	err := queryEach(ctx, db.b, "rules info", text, b.args, func(r Rows) error {
		var a RulesInfoApp
		var name sql.NullString
		var rules int64
		if err := r.Scan(&a.AppID, &name, &rules, &a.Assignments, &a.High, &a.Medium, &a.Low); err != nil {
			return err
		}
		a.AppName = ns(name)
		out.Rules += rules
		out.Assignments += a.Assignments
		out.Apps = append(out.Apps, a)
		return nil
	})
	return out, err
}

// RuleView is a published rule with its entitlement, application and
// decision.
type RuleView struct {
	EntID                                string
	Justification                        []string
	Freq, Frequnion                      int64
	Confidence                           float64
	Ent                                  map[string]*string // ent_id, ent_name, ent_owner_id, ...
	App                                  map[string]*string // app_id, app_name, ...
	AutoCertify, AutoRequest             bool
	AutoCertifyReason, AutoRequestReason *string
	Author, AuthorName, DatasinkStatus   *string
	DecidedAt                            *time.Time
	Assignees                            []UserRef // holders whose assignment the rule justifies
}

// UserRef is an identity's id and name.
type UserRef struct {
	ID   string
	Name *string
}

// RuleQuery filters and pages rules.
type RuleQuery struct {
	Scope             Scope
	Low, Medium, High bool // any set: only rules in these bands
	AppIDs            []string
	AutoCertify       bool
	AutoRequest       bool
	EntID             string
	DatasinkStatus    string
	Decided           TimeRange
	Thresholds        Thresholds
	Cursor            string
	PageSize          int
}

// Rules returns a page of rules in (ent_id, justification) order, the
// total under the filters, and the next cursor ("" at the end).
func (db *DB) Rules(ctx context.Context, rq RuleQuery) ([]RuleView, int64, string, error) {
	if err := DatasinkStatus("filter.datasinkStatus", rq.DatasinkStatus); err != nil {
		return nil, 0, "", err
	}
	if err := rq.Decided.Validate("filter.timestampThresholds"); err != nil {
		return nil, 0, "", err
	}
	after, err := keyCursor("cursor", rq.Cursor, 2)
	if err != nil {
		return nil, 0, "", err
	}
	size := pageSize(rq.PageSize)
	filter := func() *sqlb {
		b := &sqlb{}
		b.scopeCols(rq.Scope, "NULL", "r.ent_id", "e.app_id")
		if rq.Low || rq.Medium || rq.High {
			var alts []string
			if rq.High {
				alts = append(alts, "r.confidence >= "+b.arg(rq.Thresholds.High))
			}
			if rq.Medium {
				alts = append(alts, "(r.confidence < "+b.arg(rq.Thresholds.High)+" AND r.confidence >= "+b.arg(rq.Thresholds.Medium)+")")
			}
			if rq.Low {
				alts = append(alts, "r.confidence < "+b.arg(rq.Thresholds.Medium))
			}
			b.where("%s", joinOr(alts))
		}
		if len(rq.AppIDs) > 0 {
			b.where("e.app_id IN (%s)", b.list(rq.AppIDs))
		}
		if rq.AutoCertify {
			b.where("rd.is_autocertify")
		}
		if rq.AutoRequest {
			b.where("rd.is_autorequest")
		}
		if rq.EntID != "" {
			b.where("r.ent_id = %s", b.arg(rq.EntID))
		}
		if rq.DatasinkStatus != "" {
			b.where("rd.datasink_status = %s", b.arg(rq.DatasinkStatus))
		}
		b.timeRange(rq.Decided, "rd.updated_at")
		return b
	}
	const from = `rules r LEFT JOIN entitlements e ON e.ent_id = r.ent_id
LEFT JOIN rule_decisions rd ON rd.ent_id = r.ent_id AND rd.justification = r.justification`
	total, err := db.count(ctx, filter(), from)
	if err != nil {
		return nil, 0, "", err
	}
	b := filter()
	if after != nil {
		b.where("(r.ent_id > %s OR (r.ent_id = %s AND r.justification > %s))", b.arg(after[0]), b.arg(after[0]), b.arg(after[1]))
	}
	text := viewSQL("view_rules", map[string]string{"where": b.and(), "limit": b.arg(int64(size + 1))})
	out := []RuleView{}
	err = queryEach(ctx, db.b, "rules", text, b.args, func(r Rows) error {
		var x RuleView
		var just string
		var en, eo, ec, er, app, an, ao, ac, ar sql.NullString
		var acert, areq sql.NullBool
		var acr, arr, author, authorName, ds sql.NullString
		var upd sql.NullInt64
		if err := r.Scan(&x.EntID, &just, &x.Freq, &x.Frequnion, &x.Confidence, &en, &eo, &ec, &er, &app,
			&an, &ao, &ac, &ar, &acert, &areq, &acr, &arr, &author, &authorName, &ds, &upd); err != nil {
			return err
		}
		var err error
		if x.Justification, err = jsonList(just); err != nil {
			return err
		}
		id := x.EntID
		x.Ent = map[string]*string{"ent_id": &id, "ent_owner_id": ns(eo), "ent_criticality": ns(ec), "ent_risk_level": ns(er), "ent_name": ns(en), "app_id": ns(app)}
		x.App = map[string]*string{"app_criticality": ns(ac), "app_name": ns(an), "app_owner_id": ns(ao), "app_risk_level": ns(ar), "app_id": ns(app)}
		x.AutoCertify, x.AutoRequest = acert.Bool, areq.Bool
		x.AutoCertifyReason, x.AutoRequestReason, x.Author, x.AuthorName, x.DatasinkStatus = ns(acr), ns(arr), ns(author), ns(authorName), ns(ds)
		x.DecidedAt = microsTime(upd)
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, 0, "", err
	}
	out, next := pageOf(out, size, func(last RuleView) any { return []string{last.EntID, justKey(last.Justification)} })
	if err := db.ruleAssignees(ctx, out); err != nil {
		return nil, 0, "", err
	}
	return out, total, next, nil
}

// ruleAssigneesShown bounds the assignees listed per rule.
const ruleAssigneesShown = 1000

// ruleAssignees fills each rule's holders whose assignment it justifies:
// one query over the page's entitlements, matched to the rules in Go.
func (db *DB) ruleAssignees(ctx context.Context, rules []RuleView) error {
	byKey := map[string]*RuleView{}
	var ents, justs []string
	seen := map[string]bool{}
	for i := range rules {
		x := &rules[i]
		x.Assignees = []UserRef{}
		k := justKey(x.Justification)
		byKey[x.EntID+"\x00"+k] = x
		if !seen[x.EntID] {
			seen[x.EntID] = true
			ents = append(ents, x.EntID)
		}
		if !seen["\x00"+k] {
			seen["\x00"+k] = true
			justs = append(justs, k)
		}
	}
	if len(ents) == 0 {
		return nil
	}
	// The holders' names are read for the assignees listed only (a wide
	// entitlement's rules justify thousands of assignments each).
	b := &sqlb{}
	err := queryEach(ctx, db.b, "rule assignees", `SELECT a.ent_id, a.justification, a.usr_id FROM assignments a
WHERE a.ent_id IN (`+b.list(ents)+`) AND a.justification IN (`+b.list(justs)+`) ORDER BY a.ent_id, a.usr_id`, b.args, func(r Rows) error {
		var ent, just string
		var u UserRef
		if err := r.Scan(&ent, &just, &u.ID); err != nil {
			return err
		}
		if x := byKey[ent+"\x00"+just]; x != nil && len(x.Assignees) < ruleAssigneesShown {
			x.Assignees = append(x.Assignees, u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var ids []string
	for i := range rules {
		for _, u := range rules[i].Assignees {
			ids = append(ids, u.ID)
		}
	}
	names, err := db.userNames(ctx, ids)
	if err != nil {
		return err
	}
	for i := range rules {
		for k := range rules[i].Assignees {
			u := &rules[i].Assignees[k]
			if n, ok := names[u.ID]; ok {
				u.Name = n
			}
		}
	}
	return nil
}

// userNames returns the names of the published identities among ids
// (a nil name: the identity has none).
func (db *DB) userNames(ctx context.Context, ids []string) (map[string]*string, error) {
	seen := make(map[string]bool, len(ids))
	var uniq []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	out := make(map[string]*string, len(uniq))
	return out, inChunks(uniq, func(part []string) error {
		b := &sqlb{}
		return queryEach(ctx, db.b, "user names", `SELECT usr_id, usr_name FROM identities WHERE usr_id IN (`+b.list(part)+`)`, b.args, func(r Rows) error {
			var id string
			var name sql.NullString
			if err := r.Scan(&id, &name); err != nil {
				return err
			}
			out[id] = ns(name)
			return nil
		})
	})
}

func joinOr(alts []string) string {
	s := ""
	for i, a := range alts {
		if i > 0 {
			s += " OR "
		}
		s += a
	}
	return s
}
