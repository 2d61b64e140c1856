package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) roleRoutes() []route {
	admin := users(groupsAdmin()...)
	return []route{
		{Method: "POST", Path: "/api/roles", Access: admin.orKey(), Tag: "Roles", Summary: "Create, save, publish or unpublish a role",
			Request: roleReq{}, Handle: s.saveRole},
		{Method: "POST", Path: "/api/roles/delete", Access: admin, Tag: "Roles", Summary: "Delete a draft or active role",
			Request: roleDeleteReq{}, Handle: s.deleteRole},
		{Method: "POST", Path: "/api/roles/export", Access: admin.orKey(), Tag: "Roles", Summary: "Roles with entitlement metadata and members",
			Request: roleExportReq{}, Response: rolesExportBody{}, Handle: s.exportRoles},
		{Method: "POST", Path: "/api/report", Access: users(), Tag: "Report", Summary: "A report of the served run, with the fields asked for",
			Request: reportReq{}, Handle: s.report},
	}
}

type roleMetadata struct {
	RoleName             string `json:"role_name"`
	Description          string `json:"description"`
	RoleOwnerID          string `json:"role_owner_id"`
	RoleOwnerDisplayName string `json:"role_owner_display_name"`
}

type roleBody struct {
	RoleID               string          `json:"role_id"`
	Status               string          `json:"status"`
	CustomRole           bool            `json:"custom_role"`
	MemberCount          *int64          `json:"member_count,omitempty"`
	AssignmentCount      *int64          `json:"assignment_count,omitempty"`
	Entitlements         []string        `json:"entitlements,omitempty"`
	Justifications       []string        `json:"justifications,omitempty"`
	DatasinkStatus       string          `json:"datasink_status,omitempty"`
	RoleMetadata         *roleMetadata   `json:"role_metadata,omitempty"`
	EntitlementsMetadata json.RawMessage `json:"entitlements_metadata,omitempty"`
}

type roleReq struct {
	Action            string   `json:"action"`
	UpdateAllMetadata bool     `json:"updateAllMetadata"`
	Role              roleBody `json:"role"`
}

// saveRole: create makes a custom draft role (a new id when none is
// given; 409 when the id exists); save records a draft of a mined or
// custom role; publish makes it active; unpublish makes it a draft again.
func (s *Server) saveRole(r *http.Request) (any, error) {
	var req roleReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	ctx := r.Context()
	role := req.Role
	if req.Action == "create" && role.RoleID == "" {
		role.RoleID = uuid.NewString()
	}
	if err := required("role.role_id", role.RoleID); err != nil {
		return nil, err
	}
	mined, edit, err := s.db.RoleState(ctx, role.RoleID)
	if err != nil {
		return nil, err
	}
	exists := mined || edit != nil
	// A save or publish without a body keeps the role's recorded body.
	if edit != nil && role.Entitlements == nil && role.Justifications == nil && role.RoleMetadata == nil {
		var prev roleBody
		if json.Unmarshal([]byte(edit.Body), &prev) == nil {
			prev.Status = role.Status
			role = prev
		}
	}
	custom := role.CustomRole || (edit != nil && edit.Custom)
	switch req.Action {
	case "create":
		if exists {
			return nil, errorf(KindConflict, "role.role_id", "role %s exists", role.RoleID)
		}
		role.Status, custom = "draft", true
	case "save":
		if role.Status == "" || role.Status == "candidate" {
			role.Status = "draft"
		}
		if !exists && !custom {
			return nil, errorf(KindNotFound, "role.role_id", "role %q not found", role.RoleID)
		}
	case "publish":
		if !exists {
			return nil, errorf(KindNotFound, "role.role_id", "role %q not found", role.RoleID)
		}
		role.Status = "active"
	case "unpublish":
		if edit == nil || edit.Status != "active" {
			return nil, errorf(KindBadData, "action", "role %s is not active", role.RoleID)
		}
		role.Status = "draft"
	default:
		return nil, errorf(KindBadData, "action", "want create, save, publish or unpublish, got %q", req.Action)
	}
	role.CustomRole = custom
	body, err := json.Marshal(role)
	if err != nil {
		return nil, err
	}
	c := callerOf(ctx)
	if err := s.db.PutRoleEdit(ctx, store.RoleEdit{RoleID: role.RoleID, Status: role.Status, Custom: custom, Body: string(body),
		Author: c.name(), DatasinkStatus: role.DatasinkStatus, At: s.cfg.Now()}); err != nil {
		return nil, storeErr(err)
	}
	return response{Status: http.StatusNoContent}, nil
}

type roleDeleteReq struct {
	RoleID string `json:"role_id"`
	Status string `json:"status"`
}

func (s *Server) deleteRole(r *http.Request) (any, error) {
	var req roleDeleteReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("role_id", req.RoleID); err != nil {
		return nil, err
	}
	if req.Status != "draft" && req.Status != "active" {
		return nil, errorf(KindBadData, "status", "want draft or active, got %q", req.Status)
	}
	if err := s.db.DeleteRoleEdit(r.Context(), req.RoleID, req.Status); err != nil {
		return nil, storeErr(err)
	}
	return response{Status: http.StatusNoContent}, nil
}

type roleExportReq struct {
	UsrID                string      `json:"usrId"`
	EntID                string      `json:"entId"`
	Status               string      `json:"status"`
	RoleName             string      `json:"role_name"`
	Description          string      `json:"description"`
	RoleOwnerID          string      `json:"role_owner_id"`
	RoleOwnerDisplayName string      `json:"role_owner_display_name"`
	DatasinkStatus       string      `json:"datasinkStatus"`
	TimestampThresholds  *timeFilter `json:"timestampThresholds"`
}

type exportedUser struct {
	UsrID          string   `json:"usr_id"`
	UsrDisplayName *string  `json:"usr_display_name"`
	Attributes     []string `json:"attributes"`
}

type exportedRole struct {
	TempRoleName         string           `json:"temp_role_name"`
	NormalizedRoleName   string           `json:"normalized_role_name"`
	MemberCount          *int64           `json:"member_count"`
	AssignmentCount      *int64           `json:"assignment_count"`
	EntitlementCount     int              `json:"entitlement_count"`
	RoleID               string           `json:"role_id"`
	Status               string           `json:"status"`
	CustomRole           bool             `json:"custom_role"`
	Entitlements         []string         `json:"entitlements"`
	EntitlementsMetadata []map[string]any `json:"entitlements_metadata"`
	Justifications       []string         `json:"justifications"`
	RoleMetadata         *roleMetadata    `json:"role_metadata,omitempty"`
	Users                []exportedUser   `json:"users"`
	DatasinkStatus       string           `json:"datasink_status"`
	LastUpdated          *string          `json:"last_updated"`
}

type rolesExportBody struct {
	Roles []exportedRole `json:"roles"`
}

// exportedRoleJSON is exportedRole as answered: the entitlements' metadata
// and the members encoded once per request (an identity's roles share
// most of them: 5,406 members listed, 1,623 distinct, in a 4 MB answer on
// the large preset).
type exportedRoleJSON struct {
	TempRoleName         string            `json:"temp_role_name"`
	NormalizedRoleName   string            `json:"normalized_role_name"`
	MemberCount          *int64            `json:"member_count"`
	AssignmentCount      *int64            `json:"assignment_count"`
	EntitlementCount     int               `json:"entitlement_count"`
	RoleID               string            `json:"role_id"`
	Status               string            `json:"status"`
	CustomRole           bool              `json:"custom_role"`
	Entitlements         []string          `json:"entitlements"`
	EntitlementsMetadata []json.RawMessage `json:"entitlements_metadata"`
	Justifications       []string          `json:"justifications"`
	RoleMetadata         *roleMetadata     `json:"role_metadata,omitempty"`
	Users                []json.RawMessage `json:"users"`
	DatasinkStatus       string            `json:"datasink_status"`
	LastUpdated          *string           `json:"last_updated"`
}

type rolesExportJSON struct {
	Roles []exportedRoleJSON `json:"roles"`
}

// personOf is an identity as the export shows owners: id, name, manager
// and every attribute under its lower-case name.
func personOf(id store.Identity) map[string]any {
	m := map[string]any{"usr_id": id.UsrID, "usr_name": id.Name, "usr_manager_id": id.ManagerID}
	for _, a := range id.Attrs {
		m[strings.ToLower(a.Name)] = a.Value
	}
	return m
}

// itemsOf encodes an identity's attributes as the export's percent-encoded
// items.
func itemsOf(id store.Identity) []string {
	out := []string{}
	for _, a := range id.Attrs {
		name := strings.ToUpper(a.Name)
		out = append(out, hexLen(name)+"_"+name+"_"+strings.ReplaceAll(url.PathEscape(a.Value), "+", "%2B"))
	}
	return out
}

func hexLen(name string) string {
	const digits = "0123456789ABCDEF"
	n := len([]rune(name))
	return string([]byte{digits[n>>4&15], digits[n&15]})
}

// roleMembersShown bounds the members listed per role in an export
// (member_count gives them all).
const roleMembersShown = 100

func (s *Server) exportRoles(r *http.Request) (any, error) {
	var req roleExportReq
	if err := decodeOptionalJSON(r, &req); err != nil {
		return nil, err
	}
	tr, err := req.TimestampThresholds.parse("timestampThresholds")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	roles, err := s.db.Roles(ctx, store.RolesQuery{UsrID: req.UsrID, EntID: req.EntID, Status: req.Status, DatasinkStatus: req.DatasinkStatus, Updated: tr})
	if err != nil {
		return nil, storeErr(err)
	}
	// The roles kept, then their entitlements' metadata and their members
	// read once for all of them (an identity's roles share entitlements,
	// owners and members).
	var kept []store.RoleView
	var bodies []*roleMetadata
	var entIDs, roleIDs []string
	for _, rv := range roles {
		var body roleBody
		if rv.Body != nil {
			json.Unmarshal(rv.Body, &body)
		}
		if !metaMatches(body.RoleMetadata, req) {
			continue
		}
		kept = append(kept, rv)
		bodies = append(bodies, body.RoleMetadata)
		entIDs = append(entIDs, rv.Entitlements...)
		roleIDs = append(roleIDs, rv.RoleID)
	}
	meta, err := s.loadEntMeta(r, entIDs)
	if err != nil {
		return nil, err
	}
	memberIDs, err := s.db.RoleMemberIDs(ctx, roleIDs, roleMembersShown)
	if err != nil {
		return nil, err
	}
	var people []string
	seen := map[string]bool{}
	for _, rid := range roleIDs {
		for _, id := range memberIDs[rid] {
			if !seen[id] {
				seen[id] = true
				people = append(people, id)
			}
		}
	}
	members, err := s.db.IdentitiesByID(ctx, people)
	if err != nil {
		return nil, err
	}
	shown := make(map[string]json.RawMessage, len(members))
	for id, m := range members {
		if shown[id], err = json.Marshal(exportedUser{UsrID: m.UsrID, UsrDisplayName: displayName(m), Attributes: itemsOf(m)}); err != nil {
			return nil, err
		}
	}
	described := map[string]json.RawMessage{}
	out := rolesExportJSON{Roles: []exportedRoleJSON{}}
	for k, rv := range kept {
		md := bodies[k]
		name := "Role " + rv.RoleID[:min(8, len(rv.RoleID))]
		if md != nil && md.RoleName != "" {
			name = md.RoleName
		}
		x := exportedRoleJSON{TempRoleName: name, NormalizedRoleName: strings.ToLower(name), MemberCount: rv.MemberCount, AssignmentCount: rv.AssignmentCount,
			EntitlementCount: len(rv.Entitlements), RoleID: rv.RoleID, Status: rv.Status, CustomRole: rv.Custom, Entitlements: rv.Entitlements,
			Justifications: rv.Justifications, RoleMetadata: md, DatasinkStatus: rv.DatasinkStatus, Users: []json.RawMessage{}, EntitlementsMetadata: []json.RawMessage{}}
		for _, id := range rv.Entitlements {
			d, ok := described[id]
			if !ok {
				if d, err = json.Marshal(meta.describe(id)); err != nil {
					return nil, err
				}
				described[id] = d
			}
			x.EntitlementsMetadata = append(x.EntitlementsMetadata, d)
		}
		if rv.UpdatedAt != nil {
			t := formatTime(*rv.UpdatedAt)
			x.LastUpdated = &t
		}
		for _, id := range memberIDs[rv.RoleID] {
			if u, ok := shown[id]; ok {
				x.Users = append(x.Users, u)
			}
		}
		out.Roles = append(out.Roles, x)
	}
	body, err := out.appendJSON(make([]byte, 0, 1<<16))
	if err != nil {
		return nil, err
	}
	return stream(func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(append(body, '\n'))
		return err
	}), nil
}

// appendJSON appends what json.Marshal makes of the export, the encoded
// metadata and members copied as they are (json.Marshal would check and
// compact each again: a seventh of a role export's CPU).
func (out rolesExportJSON) appendJSON(b []byte) ([]byte, error) {
	var err error
	field := func(key string, v any) {
		if err != nil {
			return
		}
		var j []byte
		if j, err = json.Marshal(v); err == nil {
			b = append(b, `,"`+key+`":`...)
			b = append(b, j...)
		}
	}
	raw := func(key string, list []json.RawMessage) {
		b = append(b, `,"`+key+`":[`...)
		for i, x := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, x...)
		}
		b = append(b, ']')
	}
	b = append(b, `{"roles":[`...)
	for i, x := range out.Roles {
		if i > 0 {
			b = append(b, ',')
		}
		name, err2 := json.Marshal(x.TempRoleName)
		if err2 != nil {
			return nil, err2
		}
		b = append(b, `{"temp_role_name":`...)
		b = append(b, name...)
		field("normalized_role_name", x.NormalizedRoleName)
		field("member_count", x.MemberCount)
		field("assignment_count", x.AssignmentCount)
		field("entitlement_count", x.EntitlementCount)
		field("role_id", x.RoleID)
		field("status", x.Status)
		field("custom_role", x.CustomRole)
		field("entitlements", x.Entitlements)
		raw("entitlements_metadata", x.EntitlementsMetadata)
		field("justifications", x.Justifications)
		if x.RoleMetadata != nil {
			field("role_metadata", x.RoleMetadata)
		}
		raw("users", x.Users)
		field("datasink_status", x.DatasinkStatus)
		field("last_updated", x.LastUpdated)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return b, err
}

func metaMatches(md *roleMetadata, req roleExportReq) bool {
	if req.RoleName == "" && req.Description == "" && req.RoleOwnerID == "" && req.RoleOwnerDisplayName == "" {
		return true
	}
	if md == nil {
		return false
	}
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(req.RoleName, md.RoleName) && eq(req.Description, md.Description) && eq(req.RoleOwnerID, md.RoleOwnerID) &&
		eq(req.RoleOwnerDisplayName, md.RoleOwnerDisplayName)
}

// entMeta holds entitlements with their applications and the two
// owners, read once for a set of entitlements.
type entMeta struct {
	ents   map[string]store.EntRef
	apps   map[string]store.AppInfo
	people map[string]store.Identity
}

// loadEntMeta reads the metadata of the entitlements ids.
func (s *Server) loadEntMeta(r *http.Request, ids []string) (entMeta, error) {
	ctx := r.Context()
	var m entMeta
	var err error
	seen := map[string]bool{}
	var uniq []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if m.ents, err = s.db.EntitlementsByID(ctx, uniq); err != nil {
		return m, err
	}
	var appIDs, people []string
	for _, e := range m.ents {
		if e.AppID != nil {
			appIDs = append(appIDs, *e.AppID)
		}
		if e.OwnerID != nil {
			people = append(people, *e.OwnerID)
		}
	}
	if m.apps, err = s.db.ApplicationsByID(ctx, dedupe(appIDs)); err != nil {
		return m, err
	}
	for _, a := range m.apps {
		if a.OwnerID != nil {
			people = append(people, *a.OwnerID)
		}
	}
	m.people, err = s.db.IdentitiesByID(ctx, dedupe(people))
	return m, err
}

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// describe is an entitlement with its application and the two owners.
func (m entMeta) describe(id string) map[string]any {
	person := func(id *string) any {
		if id == nil {
			return nil
		}
		if p, ok := m.people[*id]; ok {
			return personOf(p)
		}
		return map[string]any{"usr_id": *id}
	}
	e, ok := m.ents[id]
	if !ok {
		return map[string]any{"ent_id": id}
	}
	x := map[string]any{"ent_id": e.EntID, "ent_name": e.EntName, "ent_criticality": e.Criticality, "ent_risk_level": e.RiskLevel,
		"entitlement_owner": person(e.OwnerID)}
	if e.AppID != nil {
		app := map[string]any{"app_id": *e.AppID}
		if a, ok := m.apps[*e.AppID]; ok {
			app["app_name"], app["app_criticality"], app["app_risk_level"], app["application_owner"] = a.Name, a.Criticality, a.Risk, person(a.OwnerID)
		}
		x["application"] = app
	}
	return x
}

type reportReq struct {
	ReportType string   `json:"reportType"`
	Fields     []string `json:"fields"`
}

// report answers {"reportType", "rows": [...]}: each row an object of
// the fields asked for (all when none), streamed. RoleMining lists the
// served roles; EventBasedCertification the identities whose attributes
// changed between the workspace's last two ingests.
func (s *Server) report(r *http.Request) (any, error) {
	var req reportReq
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("reportType", req.ReportType); err != nil {
		return nil, err
	}
	set, err := s.settings()
	if err != nil {
		return nil, err
	}
	var cols []string
	var produce func(fn func(row []any) error) error
	switch req.ReportType {
	case "RoleMining":
		cols = []string{"role_id", "status", "custom_role", "member_count", "assignment_count", "entitlements", "justifications", "datasink_status"}
		roles, err := s.db.Roles(r.Context(), store.RolesQuery{})
		if err != nil {
			return nil, err
		}
		produce = func(fn func(row []any) error) error {
			for _, x := range roles {
				if err := fn([]any{x.RoleID, x.Status, x.Custom, x.MemberCount, x.AssignmentCount, x.Entitlements, x.Justifications, x.DatasinkStatus}); err != nil {
					return err
				}
			}
			return nil
		}
	case "EventBasedCertification":
		cols = []string{"id", "type", "batch_id", "original", "update"}
		changes, err := identityChanges(r.Context(), s.cfg.WorkspaceDir)
		if err != nil {
			return nil, err
		}
		produce = func(fn func(row []any) error) error {
			for _, c := range changes {
				if err := fn([]any{c.ID, c.Type, c.BatchID, c.Original, c.Update}); err != nil {
					return err
				}
			}
			return nil
		}
	default:
		var ok bool
		if cols, ok = store.ReportColumns(req.ReportType); !ok {
			return nil, errorf(KindBadData, "reportType", "want RoleMining, AutomaticRecertificationFeed, FullOutputFeed, AnomalyReport, RecommendPredictions or EventBasedCertification, got %q", req.ReportType)
		}
		produce = func(fn func(row []any) error) error {
			return s.db.Report(r.Context(), req.ReportType, set.th.AutoAccess, fn)
		}
	}
	pick := make([]int, 0, len(cols))
	if len(req.Fields) == 0 {
		for i := range cols {
			pick = append(pick, i)
		}
	} else {
		for _, f := range req.Fields {
			i := indexOf(cols, f)
			if i < 0 {
				return nil, errorf(KindBadData, "fields", "%s has no field %q (fields: %s)", req.ReportType, f, strings.Join(cols, ", "))
			}
			pick = append(pick, i)
		}
	}
	return stream(func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		head, _ := json.Marshal(req.ReportType)
		if _, err := w.Write([]byte(`{"reportType":` + string(head) + `,"rows":[`)); err != nil {
			return err
		}
		n := 0
		err := produce(func(row []any) error {
			var b strings.Builder
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for k, i := range pick {
				if k > 0 {
					b.WriteByte(',')
				}
				key, _ := json.Marshal(cols[i])
				v := row[i]
				if f, ok := v.(float64); ok && (strings.Contains(cols[i], "score") || strings.Contains(cols[i], "conf")) {
					v = round2(f)
				}
				if t, ok := v.(time.Time); ok {
					v = formatTime(t)
				}
				val, err := json.Marshal(v)
				if err != nil {
					return err
				}
				b.Write(key)
				b.WriteByte(':')
				b.Write(val)
			}
			b.WriteByte('}')
			n++
			_, err := w.Write([]byte(b.String()))
			return err
		})
		if err != nil {
			return err
		}
		_, err = w.Write([]byte("]}\n"))
		return err
	}), nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
