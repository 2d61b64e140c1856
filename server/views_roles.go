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
	out := rolesExportBody{Roles: []exportedRole{}}
	for _, rv := range roles {
		var body roleBody
		if rv.Body != nil {
			json.Unmarshal(rv.Body, &body)
		}
		md := body.RoleMetadata
		if !metaMatches(md, req) {
			continue
		}
		name := "Role " + rv.RoleID[:min(8, len(rv.RoleID))]
		if md != nil && md.RoleName != "" {
			name = md.RoleName
		}
		x := exportedRole{TempRoleName: name, NormalizedRoleName: strings.ToLower(name), MemberCount: rv.MemberCount, AssignmentCount: rv.AssignmentCount,
			EntitlementCount: len(rv.Entitlements), RoleID: rv.RoleID, Status: rv.Status, CustomRole: rv.Custom, Entitlements: rv.Entitlements,
			Justifications: rv.Justifications, RoleMetadata: md, DatasinkStatus: rv.DatasinkStatus, Users: []exportedUser{}, EntitlementsMetadata: []map[string]any{}}
		if rv.UpdatedAt != nil {
			t := formatTime(*rv.UpdatedAt)
			x.LastUpdated = &t
		}
		if x.EntitlementsMetadata, err = s.entitlementsMetadata(r, rv.Entitlements); err != nil {
			return nil, err
		}
		members, err := s.db.RoleMembers(ctx, rv.RoleID, roleMembersShown)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			x.Users = append(x.Users, exportedUser{UsrID: m.UsrID, UsrDisplayName: displayName(m), Attributes: itemsOf(m)})
		}
		out.Roles = append(out.Roles, x)
	}
	return out, nil
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

// entitlementsMetadata describes entitlements with their application and
// the two owners.
func (s *Server) entitlementsMetadata(r *http.Request, ids []string) ([]map[string]any, error) {
	ctx := r.Context()
	ents, err := s.db.EntitlementsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var appIDs, people []string
	for _, e := range ents {
		if e.AppID != nil {
			appIDs = append(appIDs, *e.AppID)
		}
		if e.OwnerID != nil {
			people = append(people, *e.OwnerID)
		}
	}
	apps, err := s.db.ApplicationsByID(ctx, appIDs)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		if a.OwnerID != nil {
			people = append(people, *a.OwnerID)
		}
	}
	ids2, err := s.db.IdentitiesByID(ctx, people)
	if err != nil {
		return nil, err
	}
	person := func(id *string) any {
		if id == nil {
			return nil
		}
		if p, ok := ids2[*id]; ok {
			return personOf(p)
		}
		return map[string]any{"usr_id": *id}
	}
	out := []map[string]any{}
	for _, id := range ids {
		e, ok := ents[id]
		if !ok {
			out = append(out, map[string]any{"ent_id": id})
			continue
		}
		m := map[string]any{"ent_id": e.EntID, "ent_name": e.EntName, "ent_criticality": e.Criticality, "ent_risk_level": e.RiskLevel,
			"entitlement_owner": person(e.OwnerID)}
		if e.AppID != nil {
			app := map[string]any{"app_id": *e.AppID}
			if a, ok := apps[*e.AppID]; ok {
				app["app_name"], app["app_criticality"], app["app_risk_level"], app["application_owner"] = a.Name, a.Criticality, a.Risk, person(a.OwnerID)
			}
			m["application"] = app
		}
		out = append(out, m)
	}
	return out, nil
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
