package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/autoid-oss/autoid/store"
)

// sinkRoutes are the data sink endpoints: administrators manage sinks with
// bearer tokens; the sink connectors use API keys for the rest.
func (s *Server) sinkRoutes() []route {
	admin := users(groupsAdmin()...)
	return []route{
		{Method: "POST", Path: "/api/datasink/create", Access: admin, Tag: "Data Sink",
			Summary: "Create a data sink", Request: sinkBody{}, Response: message{}, Handle: s.createSink},
		{Method: "POST", Path: "/api/datasink/update", Access: admin, Tag: "Data Sink",
			Summary: "Replace a data sink", Request: sinkBody{}, Response: message{}, Handle: s.updateSink},
		{Method: "POST", Path: "/api/datasink/delete", Access: admin, Tag: "Data Sink",
			Summary: "Remove a data sink", Request: idBody{}, Response: message{}, Handle: s.deleteSink},
		{Method: "POST", Path: "/api/datasink/update/status/assignments", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Data sink status of assignment decisions", Request: assignmentStatusBody{}, Response: message{}, Handle: s.assignmentSinkStatus},
		{Method: "POST", Path: "/api/datasink/update/status/rules", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Data sink status of rule decisions", Request: ruleStatusBody{}, Response: message{}, Handle: s.ruleSinkStatus},
		{Method: "POST", Path: "/api/datasink/update/status/roles", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Data sink status of exported roles", Request: roleStatusBody{}, Response: message{}, Handle: s.roleSinkStatus},
		{Method: "POST", Path: "/api/datasink/query", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Data sinks by id, name and timestamp ranges (gt/gte/lt/lte)", Request: sinkQueryBody{}, Response: []sinkDoc{}, Handle: s.querySinks},
		{Method: "POST", Path: "/api/datasink/update/timestamp", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Set a data sink's operation timestamps", Request: sinkTimestampsBody{}, Response: message{}, Handle: s.sinkTimestamps},
		{Method: "POST", Path: "/api/datasink/query/logs", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Data sink logs by id and name", Request: sinkQueryBody{}, Response: []sinkDoc{}, Handle: s.querySinkLogs},
		{Method: "POST", Path: "/api/datasink/update/logs", Access: keyOnly(), Tag: "Data Sink",
			Summary: "Replace a data sink's logs", Request: sinkLogsBody{}, Response: message{}, Handle: s.sinkLogs},
	}
}

var okMessage = message{Message: "ok"}

// sinkTimes are the five timestamps of a data sink in a request.
type sinkTimes struct {
	AutoCertifyTimestamp *string `json:"autoCertifyTimestamp,omitempty"`
	AutoRequestTimestamp *string `json:"autoRequestTimestamp,omitempty"`
	CertifyTimestamp     *string `json:"certifyTimestamp,omitempty"`
	RevokeTimestamp      *string `json:"revokeTimestamp,omitempty"`
	RolePublishTimestamp *string `json:"rolePublishTimestamp,omitempty"`
}

func (t sinkTimes) parse() (map[store.SinkTimestamp]time.Time, error) {
	out := map[store.SinkTimestamp]time.Time{}
	for name, v := range map[store.SinkTimestamp]*string{
		store.SinkAutoCertify: t.AutoCertifyTimestamp, store.SinkAutoRequest: t.AutoRequestTimestamp,
		store.SinkCertify: t.CertifyTimestamp, store.SinkRevoke: t.RevokeTimestamp, store.SinkRolePublish: t.RolePublishTimestamp,
	} {
		if v == nil {
			continue
		}
		ts, err := parseTime(string(name), *v)
		if err != nil {
			return nil, err
		}
		out[name] = ts
	}
	return out, nil
}

type sinkBody struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config,omitempty"`
	sinkTimes
	Logs json.RawMessage `json:"logs,omitempty"`
}

type idBody struct {
	ID string `json:"id"`
}

func checkSinkID(id string) error {
	if err := required("id", id); err != nil {
		return err
	}
	if _, err := uuid.Parse(id); err != nil {
		return errorf(KindBadData, "id", "want a UUID, got %q", id)
	}
	return nil
}

func (b sinkBody) sink() (store.DataSink, error) {
	if err := checkSinkID(b.ID); err != nil {
		return store.DataSink{}, err
	}
	if err := required("name", b.Name); err != nil {
		return store.DataSink{}, err
	}
	if len(b.Config) > 0 && !isJSONObject(b.Config) {
		return store.DataSink{}, errorf(KindBadData, "config", "want a JSON object")
	}
	ts, err := b.parse()
	if err != nil {
		return store.DataSink{}, err
	}
	return store.DataSink{ID: b.ID, Name: b.Name, Config: nullIfEmpty(b.Config), Timestamps: ts, Logs: nullIfEmpty(b.Logs)}, nil
}

func isJSONObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func nullIfEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

func (s *Server) createSink(r *http.Request) (any, error) {
	var b sinkBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	sk, err := b.sink()
	if err != nil {
		return nil, err
	}
	if err := s.db.CreateDataSink(r.Context(), sk); err != nil {
		return nil, err
	}
	return okMessage, nil
}

func (s *Server) updateSink(r *http.Request) (any, error) {
	var b sinkBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	sk, err := b.sink()
	if err != nil {
		return nil, err
	}
	if err := s.db.UpdateDataSink(r.Context(), sk); err != nil {
		return nil, err
	}
	return okMessage, nil
}

func (s *Server) deleteSink(r *http.Request) (any, error) {
	var b idBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if err := checkSinkID(b.ID); err != nil {
		return nil, err
	}
	if err := s.db.DeleteDataSink(r.Context(), b.ID); err != nil {
		return nil, err
	}
	return okMessage, nil
}

type assignmentStatus struct {
	User           string   `json:"user"`
	Entitlements   []string `json:"entitlements"`
	DatasinkStatus string   `json:"datasink_status"`
}

type assignmentStatusBody struct {
	Assignments []assignmentStatus `json:"assignments"`
}

// nonEmpty fails with the field's name when its array has no items.
func nonEmpty(field, name string, n int) error {
	if n == 0 {
		return errorf(KindBadData, field, "%s is required: a non-empty array", name)
	}
	return nil
}

// sinkStatuses checks that a status report's list (named field) is not
// empty and gathers the statuses each item gives; each is told the item's
// path, field[i], for its errors.
func sinkStatuses[T any](field string, items []T, each func(f string, x T) ([]store.SinkStatus, error)) ([]store.SinkStatus, error) {
	if err := nonEmpty(field, field, len(items)); err != nil {
		return nil, err
	}
	var ss []store.SinkStatus
	for i, x := range items {
		got, err := each(fmt.Sprintf("%s[%d]", field, i), x)
		if err != nil {
			return nil, err
		}
		ss = append(ss, got...)
	}
	return ss, nil
}

func (s *Server) assignmentSinkStatus(r *http.Request) (any, error) {
	var b assignmentStatusBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	ss, err := sinkStatuses("assignments", b.Assignments, func(f string, a assignmentStatus) ([]store.SinkStatus, error) {
		if err := required(f+".user", a.User); err != nil {
			return nil, err
		}
		if err := nonEmpty(f+".entitlements", "entitlements", len(a.Entitlements)); err != nil {
			return nil, err
		}
		if err := required(f+".datasink_status", a.DatasinkStatus); err != nil {
			return nil, err
		}
		var ss []store.SinkStatus
		for _, e := range a.Entitlements {
			ss = append(ss, store.SinkStatus{User: a.User, EntID: e, Status: a.DatasinkStatus})
		}
		return ss, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.db.SetAssignmentSinkStatus(r.Context(), ss); err != nil {
		return nil, err
	}
	return okMessage, nil
}

type ruleStatus struct {
	Entitlement    string   `json:"entitlement"`
	Justification  []string `json:"justification"`
	DatasinkStatus string   `json:"datasink_status"`
}

type ruleStatusBody struct {
	Rules []ruleStatus `json:"rules"`
}

func (s *Server) ruleSinkStatus(r *http.Request) (any, error) {
	var b ruleStatusBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	ss, err := sinkStatuses("rules", b.Rules, func(f string, x ruleStatus) ([]store.SinkStatus, error) {
		if err := required(f+".entitlement", x.Entitlement); err != nil {
			return nil, err
		}
		if err := nonEmpty(f+".justification", "justification", len(x.Justification)); err != nil {
			return nil, err
		}
		if err := required(f+".datasink_status", x.DatasinkStatus); err != nil {
			return nil, err
		}
		return []store.SinkStatus{{EntID: x.Entitlement, Justification: x.Justification, Status: x.DatasinkStatus}}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.db.SetRuleSinkStatus(r.Context(), ss); err != nil {
		return nil, err
	}
	return okMessage, nil
}

type roleStatus struct {
	RoleID         string `json:"role_id"`
	Status         string `json:"status"`
	DatasinkStatus string `json:"datasink_status"`
}

type roleStatusBody struct {
	Roles []roleStatus `json:"roles"`
}

func (s *Server) roleSinkStatus(r *http.Request) (any, error) {
	var b roleStatusBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	ss, err := sinkStatuses("roles", b.Roles, func(f string, x roleStatus) ([]store.SinkStatus, error) {
		for _, c := range [][2]string{{"role_id", x.RoleID}, {"status", x.Status}, {"datasink_status", x.DatasinkStatus}} {
			if err := required(f+"."+c[0], c[1]); err != nil {
				return nil, err
			}
		}
		return []store.SinkStatus{{RoleID: x.RoleID, RoleStatus: x.Status, Status: x.DatasinkStatus}}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.db.SetRoleSinkStatus(r.Context(), ss); err != nil {
		return nil, err
	}
	return okMessage, nil
}

// timeRangeBody is a timestampThresholds object.
type timeRangeBody struct {
	Gt  string `json:"gt,omitempty"`
	Gte string `json:"gte,omitempty"`
	Lt  string `json:"lt,omitempty"`
	Lte string `json:"lte,omitempty"`
}

type sinkQueryBody struct {
	ID                   string         `json:"id,omitempty"`
	Name                 string         `json:"name,omitempty"`
	AutoCertifyTimestamp *timeRangeBody `json:"autoCertifyTimestamp,omitempty"`
	AutoRequestTimestamp *timeRangeBody `json:"autoRequestTimestamp,omitempty"`
	CertifyTimestamp     *timeRangeBody `json:"certifyTimestamp,omitempty"`
	RevokeTimestamp      *timeRangeBody `json:"revokeTimestamp,omitempty"`
	RolePublishTimestamp *timeRangeBody `json:"rolePublishTimestamp,omitempty"`
}

func (b sinkQueryBody) query() (store.SinkQuery, error) {
	q := store.SinkQuery{ID: b.ID, Name: b.Name, Ranges: map[store.SinkTimestamp]store.TimeRange{}}
	for name, tr := range map[store.SinkTimestamp]*timeRangeBody{
		store.SinkAutoCertify: b.AutoCertifyTimestamp, store.SinkAutoRequest: b.AutoRequestTimestamp,
		store.SinkCertify: b.CertifyTimestamp, store.SinkRevoke: b.RevokeTimestamp, store.SinkRolePublish: b.RolePublishTimestamp,
	} {
		if tr == nil {
			continue
		}
		rg, err := store.ParseTimeRange(string(name), tr.Gt, tr.Gte, tr.Lt, tr.Lte)
		if err != nil {
			return q, err
		}
		q.Ranges[name] = rg
	}
	return q, nil
}

// sinkDoc is a data sink in a query answer: set timestamps only.
type sinkDoc struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	Config               json.RawMessage `json:"config,omitempty"`
	AutoCertifyTimestamp string          `json:"autoCertifyTimestamp,omitempty"`
	AutoRequestTimestamp string          `json:"autoRequestTimestamp,omitempty"`
	CertifyTimestamp     string          `json:"certifyTimestamp,omitempty"`
	RevokeTimestamp      string          `json:"revokeTimestamp,omitempty"`
	RolePublishTimestamp string          `json:"rolePublishTimestamp,omitempty"`
	Logs                 json.RawMessage `json:"logs,omitempty"`
}

func sinkDocOf(sk store.DataSink) sinkDoc {
	d := sinkDoc{ID: sk.ID, Name: sk.Name}
	f := func(t store.SinkTimestamp) string {
		if v, ok := sk.Timestamps[t]; ok {
			return formatTime(v)
		}
		return ""
	}
	d.AutoCertifyTimestamp, d.AutoRequestTimestamp = f(store.SinkAutoCertify), f(store.SinkAutoRequest)
	d.CertifyTimestamp, d.RevokeTimestamp, d.RolePublishTimestamp = f(store.SinkCertify), f(store.SinkRevoke), f(store.SinkRolePublish)
	return d
}

func (s *Server) findSinks(r *http.Request) ([]store.DataSink, error) {
	var b sinkQueryBody
	if err := decodeOptionalJSON(r, &b); err != nil {
		return nil, err
	}
	q, err := b.query()
	if err != nil {
		return nil, err
	}
	return s.db.DataSinks(r.Context(), q)
}

func (s *Server) querySinks(r *http.Request) (any, error) {
	sks, err := s.findSinks(r)
	if err != nil {
		return nil, err
	}
	out := []sinkDoc{}
	for _, sk := range sks {
		d := sinkDocOf(sk)
		d.Config = sk.Config
		out = append(out, d)
	}
	return out, nil
}

// querySinkLogs answers the sinks with their logs; logs stored as the
// reference's {"logs": [...]} object are given as the list.
func (s *Server) querySinkLogs(r *http.Request) (any, error) {
	sks, err := s.findSinks(r)
	if err != nil {
		return nil, err
	}
	out := []sinkDoc{}
	for _, sk := range sks {
		d := sinkDocOf(sk)
		d.Logs = sk.Logs
		var wrapped struct {
			Logs json.RawMessage `json:"logs"`
		}
		if isJSONObject(sk.Logs) && json.Unmarshal(sk.Logs, &wrapped) == nil && len(wrapped.Logs) > 0 {
			d.Logs = wrapped.Logs
		}
		out = append(out, d)
	}
	return out, nil
}

type sinkTimestampsBody struct {
	ID string `json:"id"`
	sinkTimes
}

func (s *Server) sinkTimestamps(r *http.Request) (any, error) {
	var b sinkTimestampsBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if err := checkSinkID(b.ID); err != nil {
		return nil, err
	}
	ts, err := b.parse()
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, errorf(KindBadData, "body", "name at least one of autoCertifyTimestamp, autoRequestTimestamp, certifyTimestamp, revokeTimestamp, rolePublishTimestamp")
	}
	if err := s.db.SetDataSinkTimestamps(r.Context(), b.ID, ts); err != nil {
		return nil, err
	}
	return okMessage, nil
}

type sinkLogsBody struct {
	ID   string          `json:"id"`
	Logs json.RawMessage `json:"logs"`
}

func (s *Server) sinkLogs(r *http.Request) (any, error) {
	var b sinkLogsBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if err := checkSinkID(b.ID); err != nil {
		return nil, err
	}
	if nullIfEmpty(b.Logs) == nil {
		return nil, errorf(KindBadData, "logs", "logs is required: a JSON object")
	}
	if err := s.db.SetDataSinkLogs(r.Context(), b.ID, b.Logs); err != nil {
		return nil, err
	}
	return okMessage, nil
}
