package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// RoleEdit is a role written through the API: a mined role's new status
// (draft, active) or a custom role. Body is the role object as sent (JSON).
type RoleEdit struct {
	RoleID, Status string
	Custom         bool
	Body           string
	Author         string
	DatasinkStatus string // default nack
	At             time.Time
}

// RoleState says what exists of a role: a mined candidate and/or an edit.
func (db *DB) RoleState(ctx context.Context, roleID string) (mined bool, edit *RoleEdit, err error) {
	if mined, err = exists(ctx, db.b, "role", `SELECT 1 FROM roles WHERE role_id = $1`, roleID); err != nil {
		return false, nil, err
	}
	err = queryEach(ctx, db.b, "role edit", `SELECT role_id, status, custom_role, body, author, datasink_status, updated_at FROM role_edits WHERE role_id = $1`,
		[]any{roleID}, func(r Rows) error {
			var e RoleEdit
			var author, ds sql.NullString
			var at int64
			if err := r.Scan(&e.RoleID, &e.Status, &e.Custom, &e.Body, &author, &ds, &at); err != nil {
				return err
			}
			e.Author, e.DatasinkStatus, e.At = author.String, ds.String, time.UnixMicro(at).UTC()
			edit = &e
			return nil
		})
	return mined, edit, err
}

// PutRoleEdit records a role edit (replacing the role's previous one).
func (db *DB) PutRoleEdit(ctx context.Context, e RoleEdit) error {
	if e.DatasinkStatus == "" {
		e.DatasinkStatus = "nack"
	}
	if err := DatasinkStatus("role.datasink_status", e.DatasinkStatus); err != nil {
		return err
	}
	switch e.Status {
	case "draft", "active", "candidate":
	default:
		return badField("role.status", "want draft, candidate or active, got %q", e.Status)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := db.b.Exec(ctx, `INSERT INTO role_edits (role_id, status, custom_role, body, author, datasink_status, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (role_id) DO UPDATE SET status = excluded.status, custom_role = excluded.custom_role, body = excluded.body,
    author = excluded.author, datasink_status = excluded.datasink_status, updated_at = excluded.updated_at`,
		e.RoleID, e.Status, e.Custom, e.Body, nullable(e.Author), e.DatasinkStatus, e.At.UnixMicro())
	if err != nil {
		return fmt.Errorf("role %s: %w", e.RoleID, err)
	}
	return nil
}

// DeleteRoleEdit removes a role's edit of the given status (a mined role
// goes back to candidate); a *NotFoundError when there is none.
func (db *DB) DeleteRoleEdit(ctx context.Context, roleID, status string) error {
	n, err := db.b.Exec(ctx, `DELETE FROM role_edits WHERE role_id = $1 AND status = $2`, roleID, status)
	if err != nil {
		return fmt.Errorf("delete role %s: %w", roleID, err)
	}
	if n == 0 {
		return notFound("role", roleID+" ("+status+")")
	}
	return nil
}

// RoleView is a role as served: a mined role with its edit applied, or a
// custom role.
type RoleView struct {
	RoleID, Status  string
	Custom          bool
	MemberCount     *int64
	AssignmentCount *int64
	Entitlements    []string
	Justifications  []string
	Body            json.RawMessage // the edit's role object; nil for an unedited candidate
	DatasinkStatus  string
	UpdatedAt       *time.Time
}

// RolesQuery filters roles.
type RolesQuery struct {
	UsrID, EntID   string // members / entitlements contain
	Status         string
	DatasinkStatus string
	Updated        TimeRange
}

// Roles returns the roles (role_id order) matching the filters.
func (db *DB) Roles(ctx context.Context, rq RolesQuery) ([]RoleView, error) {
	if err := DatasinkStatus("datasinkStatus", rq.DatasinkStatus); err != nil {
		return nil, err
	}
	if err := rq.Updated.Validate("timestampThresholds"); err != nil {
		return nil, err
	}
	switch rq.Status {
	case "", "draft", "candidate", "active":
	default:
		return nil, badField("status", "want draft, candidate or active, got %q", rq.Status)
	}
	b := &sqlb{}
	mined, custom := "TRUE", "TRUE"
	if rq.UsrID != "" {
		mined, custom = "r.role_id IN (SELECT role_id FROM role_members WHERE usr_id = "+b.arg(rq.UsrID)+")", "FALSE"
	}
	if rq.Status != "" {
		b.where("t.status = %s", b.arg(rq.Status))
	}
	if rq.DatasinkStatus != "" {
		b.where("t.datasink_status = %s", b.arg(rq.DatasinkStatus))
	}
	b.timeRange(rq.Updated, "t.updated_at")
	text := viewSQL("view_roles", map[string]string{"mined": mined, "custom": custom, "where": b.and()})
	out := []RoleView{}
	err := queryEach(ctx, db.b, "roles", text, b.args, func(r Rows) error {
		var x RoleView
		var mc, ac, upd sql.NullInt64
		var ents, just string
		var body sql.NullString
		if err := r.Scan(&x.RoleID, &x.Status, &x.Custom, &mc, &ac, &ents, &just, &body, &x.DatasinkStatus, &upd); err != nil {
			return err
		}
		x.MemberCount, x.AssignmentCount, x.UpdatedAt = ni(mc), ni(ac), microsTime(upd)
		var err error
		if x.Entitlements, err = jsonList(ents); err != nil {
			return err
		}
		if x.Justifications, err = jsonList(just); err != nil {
			return err
		}
		if body.Valid {
			x.Body = json.RawMessage(body.String)
			// An edit's entitlements and justifications replace the mined ones.
			var edited struct {
				Entitlements   *[]string `json:"entitlements"`
				Justifications *[]string `json:"justifications"`
			}
			if json.Unmarshal(x.Body, &edited) == nil {
				if edited.Entitlements != nil {
					x.Entitlements = *edited.Entitlements
				}
				if edited.Justifications != nil {
					x.Justifications = *edited.Justifications
				}
			}
		}
		if rq.EntID != "" && !contains(x.Entitlements, rq.EntID) {
			return nil
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// RoleMembers returns up to limit members of a mined role (usr_id order)
// with their attributes.
func (db *DB) RoleMembers(ctx context.Context, roleID string, limit int) ([]Identity, error) {
	out := []Identity{}
	err := queryEach(ctx, db.b, "role members", `SELECT `+identityCols+` FROM role_members m
JOIN identities i ON i.usr_id = m.usr_id WHERE m.role_id = $1 ORDER BY m.usr_id LIMIT $2`, []any{roleID, int64(pageSize(limit))}, func(r Rows) error {
		id, err := scanIdentity(r)
		out = append(out, id)
		return err
	})
	return out, err
}

// RoleMemberIDs returns, per mined role among roleIDs, the ids of its
// first limit members (usr_id order) that are published identities: the
// members RoleMembers lists, in one statement for all the roles.
func (db *DB) RoleMemberIDs(ctx context.Context, roleIDs []string, limit int) (map[string][]string, error) {
	out := map[string][]string{}
	if len(roleIDs) == 0 {
		return out, nil
	}
	return out, inChunks(roleIDs, func(part []string) error {
		return db.roleMemberIDs(ctx, part, limit, out)
	})
}

func (db *DB) roleMemberIDs(ctx context.Context, roleIDs []string, limit int, out map[string][]string) error {
	scan := func(r Rows) error {
		var role, usr string
		if err := r.Scan(&role, &usr); err != nil {
			return err
		}
		out[role] = append(out[role], usr)
		return nil
	}
	// Each role's first members come from its (role_id, usr_id) index,
	// which stops after limit: roles have thousands of members. PostgreSQL
	// does it for all the roles in one statement (a lateral subquery with
	// its own limit); the embedded store, without LATERAL, per role.
	if db.b.Dialect() == Postgres {
		b := &sqlb{}
		text := `SELECT r.role_id, m.usr_id FROM roles r CROSS JOIN LATERAL (
    SELECT m.usr_id FROM role_members m JOIN identities i ON i.usr_id = m.usr_id
    WHERE m.role_id = r.role_id ORDER BY m.usr_id LIMIT ` + b.arg(int64(pageSize(limit))) + `
) m WHERE r.role_id IN (` + b.list(roleIDs) + `) ORDER BY r.role_id, m.usr_id`
		return queryEach(ctx, db.b, "role members", text, b.args, scan)
	}
	for _, id := range roleIDs {
		err := queryEach(ctx, db.b, "role members", `SELECT m.role_id, m.usr_id FROM role_members m
JOIN identities i ON i.usr_id = m.usr_id WHERE m.role_id = $1 ORDER BY m.usr_id LIMIT $2`, []any{id, int64(pageSize(limit))}, scan)
		if err != nil {
			return err
		}
	}
	return nil
}

// inChunks calls fn on consecutive parts of ids small enough for one
// statement's parameters.
func inChunks(ids []string, fn func(part []string) error) error {
	const chunk = 1000
	for lo := 0; lo < len(ids); lo += chunk {
		if err := fn(ids[lo:min(lo+chunk, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

// AppInfo is a published application.
type AppInfo struct {
	AppID                            string
	Name, OwnerID, Criticality, Risk *string
}

// EntitlementsByID returns the published entitlements among ids.
func (db *DB) EntitlementsByID(ctx context.Context, ids []string) (map[string]EntRef, error) {
	out := map[string]EntRef{}
	if len(ids) == 0 {
		return out, nil
	}
	return out, inChunks(ids, func(ids []string) error {
		b := &sqlb{}
		return queryEach(ctx, db.b, "entitlements", `SELECT `+entRefCols+` FROM `+entRefFrom+` WHERE e.ent_id IN (`+b.list(ids)+`)`, b.args, func(r Rows) error {
			e, err := scanEntRef(r)
			out[e.EntID] = e
			return err
		})
	})
}

// ApplicationsByID returns the published applications among ids.
func (db *DB) ApplicationsByID(ctx context.Context, ids []string) (map[string]AppInfo, error) {
	out := map[string]AppInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	return out, inChunks(ids, func(ids []string) error {
		b := &sqlb{}
		return queryEach(ctx, db.b, "applications", `SELECT app_id, app_name, app_owner_id, app_criticality, app_risk_level FROM applications WHERE app_id IN (`+b.list(ids)+`)`,
			b.args, func(r Rows) error {
				var a AppInfo
				var n, o, c, k sql.NullString
				if err := r.Scan(&a.AppID, &n, &o, &c, &k); err != nil {
					return err
				}
				a.Name, a.OwnerID, a.Criticality, a.Risk = ns(n), ns(o), ns(c), ns(k)
				out[a.AppID] = a
				return nil
			})
	})
}

// IdentitiesByID returns the published identities among ids.
func (db *DB) IdentitiesByID(ctx context.Context, ids []string) (map[string]Identity, error) {
	out := map[string]Identity{}
	if len(ids) == 0 {
		return out, nil
	}
	return out, inChunks(ids, func(ids []string) error {
		b := &sqlb{}
		return queryEach(ctx, db.b, "identities", `SELECT `+identityCols+` FROM identities i WHERE i.usr_id IN (`+b.list(ids)+`)`,
			b.args, func(r Rows) error {
				id, err := scanIdentity(r)
				out[id.UsrID] = id
				return err
			})
	})
}
