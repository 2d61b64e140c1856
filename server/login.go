package server

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/autoid-oss/autoid/store"
)

func (s *Server) authRoutes() []route {
	return []route{
		{Method: "POST", Path: "/api/authentication/login", Access: public(), Tag: "Authentication",
			Summary: "Sign in with username and password: the user and a signed JWT (expiry in its exp claim)",
			Request: loginRequest{}, Response: loginResponse{}, Handle: s.login},
		{Method: "GET", Path: "/api/authentication/verify", Access: users(), Tag: "Authentication",
			Summary: "Verify a bearer token: its user and claims", Response: verifyResponse{}, Handle: s.verify},
		{Method: "POST", Path: "/api/authentication/renewToken", Access: users(), Tag: "Authentication",
			Summary: "A new token for the caller with a fresh expiry", Response: loginResponse{}, Handle: s.renewToken},
		{Method: "GET", Path: "/api/authentication/actions", Access: users(), Tag: "Authentication",
			Summary: "The actions the caller may perform", Response: actionsResponse{}, Handle: s.actions},
	}
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// userDoc is the reference's user object.
type userDoc struct {
	DN          string   `json:"dn"`
	Controls    []string `json:"controls"`
	DisplayName string   `json:"displayName"`
	Email       string   `json:"email"`
	GIDNumber   string   `json:"gidNumber"`
	UID         string   `json:"uid"`
	Groups      []string `json:"_groups"`
}

func userDocOf(u store.User) userDoc {
	g := u.Groups
	if g == nil {
		g = []string{}
	}
	return userDoc{DN: u.DN, Controls: []string{}, DisplayName: u.DisplayName, Email: u.Username,
		GIDNumber: u.GIDNumber, UID: u.UID, Groups: g}
}

type loginResponse struct {
	User  userDoc `json:"user"`
	Token string  `json:"token"`
}

// clientAddr is the request's remote IP (the port dropped).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) login(r *http.Request) (any, error) {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("username", req.Username); err != nil {
		return nil, err
	}
	if err := required("password", req.Password); err != nil {
		return nil, err
	}
	userKey, addrKey := "user:"+strings.ToLower(req.Username), "addr:"+clientAddr(r)
	if blocked, wait := s.logins.blocked(userKey, addrKey); blocked {
		e := errorf(KindTooMany, "username", "too many failed logins: try again in %d seconds", int(wait.Seconds())+1)
		e.retryAfter = wait
		return nil, e
	}
	u, err := s.db.User(r.Context(), req.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = s.dummyHash // as slow as a real check
	}
	if !checkPassword(hash, req.Password) || err != nil || u.PasswordHash == "" {
		s.logins.fail(userKey, addrKey)
		return nil, errorf(KindUnauthorized, "password", "wrong username or password")
	}
	if u.Disabled {
		return nil, errorf(KindUnauthorized, "username", "user %q is disabled", u.Username)
	}
	s.logins.reset(userKey)
	tok, _, err := s.tokens.issue(u)
	if err != nil {
		return nil, err
	}
	return loginResponse{User: userDocOf(u), Token: tok}, nil
}

type verifyUser struct {
	userDoc
	IAT int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Aud string `json:"aud"`
	Sub string `json:"sub"`
}

type verifyResponse struct {
	User verifyUser `json:"user"`
}

func (s *Server) verify(r *http.Request) (any, error) {
	cr := credentialsOf(r)
	cl, err := s.tokens.parse(cr.bearer)
	if err != nil {
		return nil, errorf(KindUnauthorized, "Authorization", "bearer token: %v", err)
	}
	c := callerOf(r.Context())
	v := verifyUser{userDoc: userDocOf(c.user), Sub: cl.Subject}
	if cl.IssuedAt != nil {
		v.IAT = cl.IssuedAt.Unix()
	}
	if cl.ExpiresAt != nil {
		v.Exp = cl.ExpiresAt.Unix()
	}
	if len(cl.Audience) > 0 {
		v.Aud = cl.Audience[0]
	}
	return verifyResponse{User: v}, nil
}

func (s *Server) renewToken(r *http.Request) (any, error) {
	c := callerOf(r.Context())
	tok, _, err := s.tokens.issue(c.user)
	if err != nil {
		return nil, err
	}
	return loginResponse{User: userDocOf(c.user), Token: tok}, nil
}

type actionsResponse struct {
	UserActions []string `json:"userActions"`
	RoleTitle   string   `json:"roleTitle"`
	Homepage    string   `json:"homepage"`
}

// actions lists what the caller may do: "*" for administrators, else the
// "METHOD path" of every endpoint its groups allow. The role title is the
// caller's most privileged group; the home page the view it lands on.
func (s *Server) actions(r *http.Request) (any, error) {
	c := callerOf(r.Context())
	out := actionsResponse{UserActions: []string{"*"}, RoleTitle: "Unknown", Homepage: "company"}
	if !c.isAdmin() {
		out.UserActions = permitted(s.table, c)
		if out.UserActions == nil {
			out.UserActions = []string{}
		}
	}
	order := []struct {
		g    Group
		home string
	}{
		{GroupAdmin, "company"}, {GroupExecutive, "company"}, {GroupApplicationOwner, "applications"},
		{GroupEntitlementOwner, "entitlements"}, {GroupSupervisor, "users"}, {GroupRoleEngineer, "roles"}, {GroupUser, "users"},
	}
	for _, o := range order {
		if slices.Contains(c.groups, o.g) {
			out.RoleTitle = strings.TrimPrefix(string(o.g), "Zoran ")
			out.Homepage = o.home
			break
		}
	}
	return out, nil
}
