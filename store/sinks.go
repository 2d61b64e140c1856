package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SinkTimestamp names one of a data sink's operation timestamps.
type SinkTimestamp string

// The data sink timestamps, by their API names.
const (
	SinkAutoCertify SinkTimestamp = "autoCertifyTimestamp"
	SinkAutoRequest SinkTimestamp = "autoRequestTimestamp"
	SinkCertify     SinkTimestamp = "certifyTimestamp"
	SinkRevoke      SinkTimestamp = "revokeTimestamp"
	SinkRolePublish SinkTimestamp = "rolePublishTimestamp"
)

// SinkTimestamps lists the timestamps in documentation order.
func SinkTimestamps() []SinkTimestamp {
	return []SinkTimestamp{SinkAutoCertify, SinkAutoRequest, SinkCertify, SinkRevoke, SinkRolePublish}
}

// column is the timestamp's column in data_sinks.
func (t SinkTimestamp) column() (string, error) {
	switch t {
	case SinkAutoCertify:
		return "auto_certify_timestamp", nil
	case SinkAutoRequest:
		return "auto_request_timestamp", nil
	case SinkCertify:
		return "certify_timestamp", nil
	case SinkRevoke:
		return "revoke_timestamp", nil
	case SinkRolePublish:
		return "role_publish_timestamp", nil
	}
	return "", badField(string(t), "not a data sink timestamp")
}

// DataSink is a downstream consumer's record: its free-form configuration
// and logs, and the time of its last operation of each kind.
type DataSink struct {
	ID     string
	Name   string
	Config json.RawMessage // a JSON object; nil: {}
	// Timestamps set; an absent key is null.
	Timestamps map[SinkTimestamp]time.Time
	Logs       json.RawMessage // any JSON; nil: []
	Created    time.Time
	Updated    time.Time
}

const sinkColumns = `id, name, config, auto_certify_timestamp, auto_request_timestamp, certify_timestamp,
revoke_timestamp, role_publish_timestamp, logs, created_at, updated_at`

func sinkArgs(s DataSink) ([]any, error) {
	cfg, logs := s.Config, s.Logs
	if cfg == nil {
		cfg = json.RawMessage("{}")
	}
	if logs == nil {
		logs = json.RawMessage("[]")
	}
	if !json.Valid(cfg) {
		return nil, badField("config", "not JSON")
	}
	if !json.Valid(logs) {
		return nil, badField("logs", "not JSON")
	}
	args := []any{s.ID, s.Name, string(cfg)}
	for _, t := range SinkTimestamps() {
		args = append(args, micros(s.Timestamps[t]))
	}
	return append(args, string(logs)), nil
}

// CreateDataSink adds a data sink; ErrConflict when its id exists.
func (db *DB) CreateDataSink(ctx context.Context, s DataSink) error {
	if s.ID == "" || s.Name == "" {
		return badField("id", "id and name are required")
	}
	args, err := sinkArgs(s)
	if err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	n, err := db.b.Exec(ctx, q("sink_insert"), append(args, now, now)...)
	if err != nil {
		return fmt.Errorf("create data sink %s: %w", s.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("data sink %q: %w", s.ID, ErrConflict)
	}
	return nil
}

// UpdateDataSink replaces a data sink's name, configuration, timestamps and
// logs; ErrNotFound when absent.
func (db *DB) UpdateDataSink(ctx context.Context, s DataSink) error {
	args, err := sinkArgs(s)
	if err != nil {
		return err
	}
	n, err := db.b.Exec(ctx, q("sink_update"), append(args, time.Now().UnixMicro())...)
	if err != nil {
		return fmt.Errorf("update data sink %s: %w", s.ID, err)
	}
	if n == 0 {
		return notFound("data sink", s.ID)
	}
	return nil
}

// DeleteDataSink removes a data sink; ErrNotFound when absent.
func (db *DB) DeleteDataSink(ctx context.Context, id string) error {
	n, err := db.b.Exec(ctx, `DELETE FROM data_sinks WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete data sink %s: %w", id, err)
	}
	if n == 0 {
		return notFound("data sink", id)
	}
	return nil
}

// SetDataSinkTimestamps sets some timestamps of a data sink, leaving the
// others; ErrNotFound when absent.
func (db *DB) SetDataSinkTimestamps(ctx context.Context, id string, ts map[SinkTimestamp]time.Time) error {
	if len(ts) == 0 {
		return badField("body", "name at least one timestamp")
	}
	var sets []string
	var args []any
	for _, t := range SinkTimestamps() {
		v, ok := ts[t]
		if !ok {
			continue
		}
		col, _ := t.column()
		args = append(args, v.UnixMicro())
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if len(sets) != len(ts) {
		for t := range ts {
			if _, err := t.column(); err != nil {
				return err
			}
		}
	}
	args = append(args, time.Now().UnixMicro(), id)
	n, err := db.b.Exec(ctx, fmt.Sprintf(`UPDATE data_sinks SET %s, updated_at = $%d WHERE id = $%d`,
		strings.Join(sets, ", "), len(args)-1, len(args)), args...)
	if err != nil {
		return fmt.Errorf("data sink %s timestamps: %w", id, err)
	}
	if n == 0 {
		return notFound("data sink", id)
	}
	return nil
}

// SetDataSinkLogs replaces a data sink's logs; ErrNotFound when absent.
func (db *DB) SetDataSinkLogs(ctx context.Context, id string, logs json.RawMessage) error {
	if !json.Valid(logs) {
		return badField("logs", "not JSON")
	}
	n, err := db.b.Exec(ctx, `UPDATE data_sinks SET logs = $1, updated_at = $2 WHERE id = $3`, string(logs), time.Now().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("data sink %s logs: %w", id, err)
	}
	if n == 0 {
		return notFound("data sink", id)
	}
	return nil
}

// SinkQuery filters data sinks; zero fields match everything. A TimeRange
// (views_common.go) bounds a timestamp.
type SinkQuery struct {
	ID, Name string
	Ranges   map[SinkTimestamp]TimeRange
}

// DataSinks lists the data sinks that match, by name then id. A range on a
// timestamp excludes sinks where it is null.
func (db *DB) DataSinks(ctx context.Context, sq SinkQuery) ([]DataSink, error) {
	var b sqlb
	if sq.ID != "" {
		b.where("id = %s", b.arg(sq.ID))
	}
	if sq.Name != "" {
		b.where("name = %s", b.arg(sq.Name))
	}
	for _, t := range SinkTimestamps() {
		r, ok := sq.Ranges[t]
		if !ok {
			continue
		}
		col, _ := t.column()
		if err := r.Validate(string(t)); err != nil {
			return nil, err
		}
		b.where("%s IS NOT NULL", col)
		for _, c := range []struct {
			op string
			v  *time.Time
		}{{">", r.Gt}, {">=", r.Gte}, {"<", r.Lt}, {"<=", r.Lte}} {
			if c.v != nil {
				b.where(col+" "+c.op+" %s", b.arg(c.v.UnixMicro()))
			}
		}
	}
	for t := range sq.Ranges {
		if _, err := t.column(); err != nil {
			return nil, err
		}
	}
	text := `SELECT ` + sinkColumns + ` FROM data_sinks`
	if len(b.conds) > 0 {
		text += ` WHERE ` + strings.Join(b.conds, " AND ")
	}
	rows, err := db.b.Query(ctx, text+` ORDER BY name, id`, b.args...)
	if err != nil {
		return nil, fmt.Errorf("data sinks: %w", err)
	}
	defer rows.Close()
	var out []DataSink
	for rows.Next() {
		var s DataSink
		var cfg, logs string
		var ts [5]sql.NullInt64
		var created, updated int64
		if err := rows.Scan(&s.ID, &s.Name, &cfg, &ts[0], &ts[1], &ts[2], &ts[3], &ts[4], &logs, &created, &updated); err != nil {
			return nil, fmt.Errorf("data sinks: %w", err)
		}
		s.Config, s.Logs = json.RawMessage(cfg), json.RawMessage(logs)
		s.Timestamps = map[SinkTimestamp]time.Time{}
		for i, t := range SinkTimestamps() {
			if ts[i].Valid {
				s.Timestamps[t] = time.UnixMicro(ts[i].Int64).UTC()
			}
		}
		s.Created, s.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("data sinks: %w", err)
	}
	return out, nil
}

// SinkStatus is a data sink's acknowledgement of one decision.
type SinkStatus struct {
	// Assignment decisions: the user and entitlement.
	User, EntID string
	// Rule decisions: the entitlement and justification.
	Justification []string
	// Roles: the role id and its status (draft, candidate, active).
	RoleID, RoleStatus string
	// Status is the data sink status: ack or nack.
	Status string
}

// SetAssignmentSinkStatus records data sink statuses of assignment
// decisions in one transaction; a pair without a decision is a
// *NotFoundError and nothing is changed.
func (db *DB) SetAssignmentSinkStatus(ctx context.Context, ss []SinkStatus) error {
	now := time.Now().UnixMicro()
	return db.b.Tx(ctx, func(c Conn) error {
		for _, s := range ss {
			if err := DatasinkStatus("datasink_status", s.Status); err != nil {
				return err
			}
			n, err := c.Exec(ctx, `UPDATE assignment_decisions SET datasink_status = $1, updated_at = $2 WHERE usr_id = $3 AND ent_id = $4`,
				s.Status, now, s.User, s.EntID)
			if err != nil {
				return fmt.Errorf("assignment data sink status: %w", err)
			}
			if n == 0 {
				return notFound("assignment decision", s.User+" / "+s.EntID)
			}
		}
		return nil
	})
}

// SetRuleSinkStatus records data sink statuses of rule decisions in one
// transaction; a rule without a decision is a *NotFoundError and nothing
// is changed.
func (db *DB) SetRuleSinkStatus(ctx context.Context, ss []SinkStatus) error {
	now := time.Now().UnixMicro()
	return db.b.Tx(ctx, func(c Conn) error {
		for _, s := range ss {
			if err := DatasinkStatus("datasink_status", s.Status); err != nil {
				return err
			}
			n, err := c.Exec(ctx, `UPDATE rule_decisions SET datasink_status = $1, updated_at = $2 WHERE ent_id = $3 AND justification = $4`,
				s.Status, now, s.EntID, justKey(s.Justification))
			if err != nil {
				return fmt.Errorf("rule data sink status: %w", err)
			}
			if n == 0 {
				return notFound("rule decision", s.EntID+" "+justKey(s.Justification))
			}
		}
		return nil
	})
}

// SetRoleSinkStatus records data sink statuses of roles in one
// transaction. A role edited through the API keeps its edit and gets the
// status; a published role without an edit gets an edit row holding only
// its status; an unknown role is a *NotFoundError and nothing is changed.
func (db *DB) SetRoleSinkStatus(ctx context.Context, ss []SinkStatus) error {
	now := time.Now().UnixMicro()
	return db.b.Tx(ctx, func(c Conn) error {
		for _, s := range ss {
			if err := DatasinkStatus("datasink_status", s.Status); err != nil {
				return err
			}
			switch s.RoleStatus {
			case "draft", "candidate", "active":
			default:
				return badField("roles.status", "want draft, candidate or active, got %q", s.RoleStatus)
			}
			n, err := c.Exec(ctx, `UPDATE role_edits SET datasink_status = $1, status = $2, updated_at = $3 WHERE role_id = $4`,
				s.Status, s.RoleStatus, now, s.RoleID)
			if err != nil {
				return fmt.Errorf("role data sink status: %w", err)
			}
			if n > 0 {
				continue
			}
			ok, err := exists(ctx, c, "role", `SELECT 1 FROM roles WHERE role_id = $1`, s.RoleID)
			if err != nil {
				return err
			}
			if !ok {
				return notFound("role", s.RoleID)
			}
			if _, err := c.Exec(ctx, `INSERT INTO role_edits (role_id, status, custom_role, body, datasink_status, updated_at)
VALUES ($1, $2, FALSE, '{}', $3, $4)`, s.RoleID, s.RoleStatus, s.Status, now); err != nil {
				return fmt.Errorf("role data sink status: %w", err)
			}
		}
		return nil
	})
}
