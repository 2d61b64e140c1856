package server

import (
	"slices"
	"strings"
)

// Group is one of the reference's user groups.
type Group string

// The groups of the reference API.
const (
	GroupAdmin            Group = "Zoran Admin"
	GroupExecutive        Group = "Zoran Executive"
	GroupSupervisor       Group = "Zoran Supervisor"
	GroupEntitlementOwner Group = "Zoran Entitlement Owner"
	GroupApplicationOwner Group = "Zoran Application Owner"
	GroupRoleEngineer     Group = "Zoran Role Engineer"
	GroupUser             Group = "Zoran User"
)

// AllGroups lists the groups in a fixed order.
func AllGroups() []Group {
	return []Group{GroupAdmin, GroupExecutive, GroupSupervisor, GroupEntitlementOwner,
		GroupApplicationOwner, GroupRoleEngineer, GroupUser}
}

// ParseGroup reads a group name, with or without the "Zoran " prefix and in
// the reference's short forms; ok is false for an unknown group.
func ParseGroup(s string) (Group, bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.TrimPrefix(k, "zoran ")
	// The short names the reference prints beside endpoints and in
	// examples ("Admin", "Ent Owner"...).
	switch k {
	case "admin":
		return GroupAdmin, true
	case "executive":
		return GroupExecutive, true
	case "supervisor":
		return GroupSupervisor, true
	case "entitlement owner", "ent owner":
		return GroupEntitlementOwner, true
	case "application owner", "app owner":
		return GroupApplicationOwner, true
	case "role engineer":
		return GroupRoleEngineer, true
	case "user":
		return GroupUser, true
	}
	return "", false
}

// The role lists the reference prints beside endpoints, for route tables.
func groupsAdmin() []Group          { return []Group{GroupAdmin} }
func groupsExecutiveAdmin() []Group { return []Group{GroupExecutive, GroupAdmin} }

// groupsUserToAdmin is "User, Supervisor, Ent Owner, App Owner, Admin".
func groupsUserToAdmin() []Group {
	return []Group{GroupUser, GroupSupervisor, GroupEntitlementOwner, GroupApplicationOwner, GroupAdmin}
}

// groupsSupervisorToAdmin is "Supervisor, Ent Owner, App Owner, Admin".
func groupsSupervisorToAdmin() []Group {
	return []Group{GroupSupervisor, GroupEntitlementOwner, GroupApplicationOwner, GroupAdmin}
}

// access says who may call an endpoint. Build it with public, users and
// keyOnly; orKey adds API keys to a users rule.
type access struct {
	// public: no credentials needed.
	public bool
	// groups a signed-in user must be in one of; empty: any signed-in user.
	groups []Group
	// apiKey: an API key is accepted. A key acts for the deployment, not
	// for a user, and passes the group check.
	apiKey bool
	// keyOnly: only an API key is accepted (ingest and data-sink feeds).
	keyOnly bool
}

// public: anyone, no credentials.
func public() access { return access{public: true} }

// users: a signed-in user (bearer token) in one of the groups; with no
// groups, any signed-in user.
func users(groups ...Group) access { return access{groups: groups} }

// keyOnly: an API key, and nothing else.
func keyOnly() access { return access{apiKey: true, keyOnly: true} }

// orKey accepts API keys as well.
func (a access) orKey() access { a.apiKey = true; return a }

// allows reports whether a user with these groups passes the group check.
func (a access) allows(groups []Group) bool {
	if len(a.groups) == 0 {
		return true
	}
	for _, g := range groups {
		if slices.Contains(a.groups, g) {
			return true
		}
	}
	return false
}

// authorize applies a route's access rule to the caller (nil: anonymous).
// It is the one place where access is decided.
func authorize(rt route, c *caller) *Error {
	a := rt.Access
	if a.public {
		return nil
	}
	if c == nil {
		if a.keyOnly {
			return errorf(KindUnauthorized, "X-API-KEY", "%s %s needs an API key in the X-API-KEY header", rt.Method, rt.Path)
		}
		if a.apiKey {
			return errorf(KindUnauthorized, "Authorization", "sign in: send a bearer token (Authorization: Bearer JWT) or an API key (X-API-KEY)")
		}
		return errorf(KindUnauthorized, "Authorization", "sign in: send a bearer token (Authorization: Bearer JWT)")
	}
	if c.key != nil {
		if !a.apiKey {
			return errorf(KindForbidden, "X-API-KEY", "%s %s does not accept API keys: use a bearer token", rt.Method, rt.Path)
		}
		return nil
	}
	if a.keyOnly {
		return errorf(KindForbidden, "Authorization", "%s %s accepts only API keys (X-API-KEY)", rt.Method, rt.Path)
	}
	if !a.allows(c.groups) {
		return errorf(KindForbidden, "", "%s %s is not allowed for the groups of %s", rt.Method, rt.Path, c.user.Username)
	}
	return nil
}

// permitted lists "METHOD path" of the non-public routes a caller may call.
func permitted(routes []route, c *caller) []string {
	var out []string
	for _, r := range routes {
		if !r.Access.public && authorize(r, c) == nil {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}
