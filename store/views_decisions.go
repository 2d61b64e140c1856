package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/autoid-oss/autoid/model"
)

// DecisionInput is a decision taken through the API on some assignments
// (certify, revoke, request).
type DecisionInput struct {
	// Assignments: per user, the entitlements the decision is about.
	Assignments                              []UserEntitlements
	Certified, Revoked, Requested, Processed bool
	Reason                                   string
	// DatasinkStatus: "nack" (the default) until a data sink acknowledges.
	DatasinkStatus                 string
	Author, AuthorName, AuthorType string
	At                             time.Time
}

// UserEntitlements names entitlements of one user.
type UserEntitlements struct {
	User         string
	Entitlements []string
}

// PutDecisions records a decision on every named assignment, with its
// history, in one transaction: nothing is recorded when a user or
// entitlement is unknown (a *NotFoundError naming it).
func (db *DB) PutDecisions(ctx context.Context, in DecisionInput) error {
	if in.DatasinkStatus == "" {
		in.DatasinkStatus = "nack"
	}
	if err := DatasinkStatus("datasink_status", in.DatasinkStatus); err != nil {
		return err
	}
	if len(in.Assignments) == 0 {
		return badField("assignments", "name at least one assignment")
	}
	for _, a := range in.Assignments {
		if a.User == "" {
			return badField("assignments.user", "required")
		}
		if len(a.Entitlements) == 0 {
			return badField("assignments.entitlements", "name at least one entitlement of %s", a.User)
		}
		if err := db.mustUser(ctx, a.User); err != nil {
			return err
		}
		for _, e := range a.Entitlements {
			if err := db.mustEntitlement(ctx, e); err != nil {
				return err
			}
		}
	}
	if in.At.IsZero() {
		in.At = time.Now()
	}
	at := in.At.UnixMicro()
	return db.b.Tx(ctx, func(c Conn) error {
		for _, a := range in.Assignments {
			for _, e := range a.Entitlements {
				if _, err := c.Exec(ctx, q("decision_upsert"), a.User, e, in.Certified, in.Revoked, in.Requested, in.Processed, false,
					nullable(in.Reason), nullable(in.Author), nullable(in.AuthorName), nullable(in.AuthorType), in.DatasinkStatus, at); err != nil {
					return err
				}
				if _, err := c.Exec(ctx, q("decision_history"), a.User, e, in.Certified, in.Revoked, in.Requested, in.Processed, false,
					nullable(in.Reason), nullable(in.Author), in.DatasinkStatus, at); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DecisionView is a decision with the assignment's context.
type DecisionView struct {
	Decision
	UsrName, ManagerID, EntName, AppID, AppName *string
	Score                                       *float64
	Freq, Frequnion                             *int64
}

// DecisionQuery filters decisions.
type DecisionQuery struct {
	UsrID          string // required
	DatasinkStatus string // "", ack, nack
	Updated        TimeRange
	Scope          Scope
}

// Decisions lists the decisions on a user's assignments, in ent_id order.
func (db *DB) Decisions(ctx context.Context, dq DecisionQuery) ([]DecisionView, error) {
	if dq.UsrID == "" {
		return nil, badField("user", "required")
	}
	if err := DatasinkStatus("filter.datasinkStatus", dq.DatasinkStatus); err != nil {
		return nil, err
	}
	if err := dq.Updated.Validate("filter.timestampThresholds"); err != nil {
		return nil, err
	}
	if err := db.mustUser(ctx, dq.UsrID); err != nil {
		return nil, err
	}
	b := &sqlb{}
	b.where("d.usr_id = %s", b.arg(dq.UsrID))
	if dq.DatasinkStatus != "" {
		b.where("COALESCE(d.datasink_status, 'nack') = %s", b.arg(dq.DatasinkStatus))
	}
	b.timeRange(dq.Updated, "d.updated_at")
	b.scopeCols(dq.Scope, "d.usr_id", "d.ent_id", "e.app_id")
	out := []DecisionView{}
	err := queryEach(ctx, db.b, "decisions", viewSQL("view_decisions", map[string]string{"where": b.and()}), b.args, func(r Rows) error {
		var d DecisionView
		var reason, author, an, at, ds, un, mgr, en, app, appName sql.NullString
		var upd int64
		var score sql.NullFloat64
		var freq, fu sql.NullInt64
		if err := r.Scan(&d.UsrID, &d.EntID, &d.Certified, &d.Revoked, &d.Requested, &d.Processed, &d.Archived,
			&reason, &author, &an, &at, &ds, &upd, &un, &mgr, &en, &app, &appName, &score, &freq, &fu); err != nil {
			return err
		}
		d.Reason, d.Author, d.AuthorName, d.AuthorType, d.DatasinkStatus = reason.String, author.String, an.String, at.String, ds.String
		if d.DatasinkStatus == "" {
			d.DatasinkStatus = "nack"
		}
		d.UpdatedAt = time.UnixMicro(upd).UTC()
		d.UsrName, d.ManagerID, d.EntName, d.AppID, d.AppName = ns(un), ns(mgr), ns(en), ns(app), ns(appName)
		d.Score, d.Freq, d.Frequnion = nf(score), ni(freq), ni(fu)
		out = append(out, d)
		return nil
	})
	return out, err
}

// RuleKey names a rule: its entitlement and justification (items).
type RuleKey struct {
	EntID         string
	Justification []string
}

// RuleDecisionInput is an auto-certify / auto-request decision on rules.
type RuleDecisionInput struct {
	Rules                                []RuleKey
	AutoCertify, AutoRequest             bool
	AutoCertifyReason, AutoRequestReason string
	DatasinkStatus                       string // default nack
	Author                               string
	At                                   time.Time
}

// justKey is the stored form of a justification: the sorted items as a
// JSON list, as the rules table has it.
func justKey(items []string) string {
	s := append([]string(nil), items...)
	model.SortItems(s)
	return jsonText(s)
}

// PutRuleDecisions records a decision on every named rule, with history,
// in one transaction; a rule that is not published is a *NotFoundError
// naming its entitlement, and nothing is recorded.
func (db *DB) PutRuleDecisions(ctx context.Context, in RuleDecisionInput) error {
	if in.DatasinkStatus == "" {
		in.DatasinkStatus = "nack"
	}
	if err := DatasinkStatus("datasink_status", in.DatasinkStatus); err != nil {
		return err
	}
	if len(in.Rules) == 0 {
		return badField("rules", "name at least one rule")
	}
	for _, r := range in.Rules {
		if r.EntID == "" {
			return badField("rules.entitlement", "required")
		}
		if len(r.Justification) == 0 {
			return badField("rules.justification", "required")
		}
		if err := db.mustEntitlement(ctx, r.EntID); err != nil {
			return err
		}
		ok, err := exists(ctx, db.b, "rule", `SELECT 1 FROM rules WHERE ent_id = $1 AND justification = $2`, r.EntID, justKey(r.Justification))
		if err != nil {
			return err
		}
		if !ok {
			return notFound("rule", r.EntID+" "+justKey(r.Justification))
		}
	}
	if in.At.IsZero() {
		in.At = time.Now()
	}
	at := in.At.UnixMicro()
	return db.b.Tx(ctx, func(c Conn) error {
		for _, r := range in.Rules {
			k := justKey(r.Justification)
			if _, err := c.Exec(ctx, q("view_rule_decision_upsert"), r.EntID, k, in.AutoCertify, in.AutoRequest,
				nullable(in.AutoCertifyReason), nullable(in.AutoRequestReason), nullable(in.Author), in.DatasinkStatus, at); err != nil {
				return err
			}
			if _, err := c.Exec(ctx, `INSERT INTO rule_decision_history (ent_id, justification, is_autocertify, is_autorequest,
autocertify_reason, autorequest_reason, author, datasink_status, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				r.EntID, k, in.AutoCertify, in.AutoRequest, nullable(in.AutoCertifyReason), nullable(in.AutoRequestReason),
				nullable(in.Author), in.DatasinkStatus, at); err != nil {
				return err
			}
		}
		return nil
	})
}
