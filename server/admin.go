package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/autoid-oss/autoid/store"
)

// adminRoutes are the user and API key endpoints. The reference prints no
// role list beside them: administrators only, except updateSelf, which
// concerns the caller's own account.
func (s *Server) adminRoutes() []route {
	admin := users(groupsAdmin()...)
	return []route{
		{Method: "POST", Path: "/api/admin/createUser", Access: admin, Tag: "Users",
			Summary: "Create a local user", Request: userRequest{}, Response: message{}, Handle: s.createUser},
		{Method: "POST", Path: "/api/admin/updateUser", Access: admin, Tag: "Users",
			Summary: "Change a user's password, display name or groups", Request: userRequest{}, Response: message{}, Handle: s.updateUser},
		{Method: "POST", Path: "/api/admin/updateSelf", Access: users(), Tag: "Users",
			Summary: "Change the caller's own password or display name", Request: userRequest{}, Response: message{}, Handle: s.updateSelf},
		{Method: "POST", Path: "/api/admin/disableUser", Access: admin, Tag: "Users",
			Summary: "Disable a user: their tokens stop working", Request: emailRequest{}, Response: message{}, Handle: s.setDisabled(true)},
		{Method: "POST", Path: "/api/admin/enableUser", Access: admin, Tag: "Users",
			Summary: "Enable a user", Request: emailRequest{}, Response: message{}, Handle: s.setDisabled(false)},
		{Method: "GET", Path: "/api/admin/getUsers", Access: admin, Tag: "Users",
			Summary: "List users (body or query: maxResults, offset, sortBy uid|displayName|gidNumber)",
			Request: pageRequest{}, Response: []userListDoc{}, Handle: s.getUsers},
		{Method: "POST", Path: "/api/admin/createApiToken", Access: admin, Tag: "API keys",
			Summary: "Create an API key; its secret is shown once", Request: createKeyRequest{}, Response: createKeyResponse{}, Handle: s.createAPIKey},
		{Method: "POST", Path: "/api/admin/revokeApiToken", Access: admin, Tag: "API keys",
			Summary: "Revoke an API key (by id or secret)", Request: tokenRequest{}, Response: message{}, Handle: s.revokeAPIKey},
		{Method: "GET", Path: "/api/admin/verifyApiToken/{token}", Access: admin, Tag: "API keys",
			Summary: "Whether an API key (id or secret) is valid", Response: keyDoc{}, Handle: s.verifyAPIKey},
		{Method: "GET", Path: "/api/admin/getTokens", Access: admin, Tag: "API keys",
			Summary: "List API keys (body or query: maxResults, offset)", Request: pageRequest{}, Response: []keyListDoc{}, Handle: s.getAPIKeys},
	}
}

// userRequest is the body of createUser, updateUser and updateSelf.
type userRequest struct {
	Email       string    `json:"email"`
	Password    *string   `json:"password,omitempty"`
	DisplayName *string   `json:"displayName,omitempty"`
	UID         string    `json:"uid,omitempty"`
	DN          string    `json:"dn,omitempty"`
	GIDNumber   string    `json:"gidNumber,omitempty"`
	Controls    []string  `json:"controls,omitempty"`
	Groups      *[]string `json:"groups,omitempty"`
}

type emailRequest struct {
	Email string `json:"email"`
}

// minPassword is the shortest password taken.
const minPassword = 8

func checkNewPassword(p string) error {
	if len(p) < minPassword {
		return errorf(KindBadData, "password", "the password must have at least %d characters", minPassword)
	}
	return nil
}

// canonicalGroups checks group names and returns their full names.
func canonicalGroups(names []string) ([]string, error) {
	out := []string{}
	for _, n := range names {
		g, ok := ParseGroup(n)
		if !ok {
			return nil, errorf(KindBadData, "groups", "unknown group %q (groups: %s)", n, groupNames())
		}
		if !slices.Contains(out, string(g)) {
			out = append(out, string(g))
		}
	}
	return out, nil
}

func groupNames() string {
	var n []string
	for _, g := range AllGroups() {
		n = append(n, string(g))
	}
	return strings.Join(n, ", ")
}

var success = message{Message: "success"}

func (s *Server) createUser(r *http.Request) (any, error) {
	var req userRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("email", req.Email); err != nil {
		return nil, err
	}
	if req.Password == nil {
		return nil, errorf(KindBadData, "password", "password is required")
	}
	if err := checkNewPassword(*req.Password); err != nil {
		return nil, err
	}
	var groups []string
	if req.Groups != nil {
		var err error
		if groups, err = canonicalGroups(*req.Groups); err != nil {
			return nil, err
		}
	}
	if len(groups) == 0 {
		return nil, errorf(KindBadData, "groups", "groups is required: at least one of %s", groupNames())
	}
	hash, err := hashPassword(s.cfg.Argon2, *req.Password)
	if err != nil {
		return nil, err
	}
	u := store.User{Username: req.Email, UID: req.UID, DN: req.DN, GIDNumber: req.GIDNumber, PasswordHash: hash, Groups: groups}
	if req.DisplayName != nil {
		u.DisplayName = *req.DisplayName
	}
	if u.UID == "" {
		u.UID = uidOf(req.Email)
	}
	if u.DN == "" {
		u.DN = "cn=" + req.Email
	}
	err = s.db.CreateUser(r.Context(), u)
	if errors.Is(err, store.ErrConflict) {
		return nil, errorf(KindConflict, "email", "user %q exists", req.Email)
	}
	if err != nil {
		return nil, err
	}
	return success, nil
}

// userUpdate validates the changes of an update request.
func (s *Server) userUpdate(req userRequest) (store.UserUpdate, error) {
	var upd store.UserUpdate
	if req.Password != nil {
		if err := checkNewPassword(*req.Password); err != nil {
			return upd, err
		}
		hash, err := hashPassword(s.cfg.Argon2, *req.Password)
		if err != nil {
			return upd, err
		}
		upd.PasswordHash = &hash
	}
	upd.DisplayName = req.DisplayName
	if req.Groups != nil {
		g, err := canonicalGroups(*req.Groups)
		if err != nil {
			return upd, err
		}
		if len(g) == 0 {
			return upd, errorf(KindBadData, "groups", "a user needs at least one group")
		}
		upd.Groups = g
	}
	return upd, nil
}

func (s *Server) updateUser(r *http.Request) (any, error) {
	var req userRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("email", req.Email); err != nil {
		return nil, err
	}
	upd, err := s.userUpdate(req)
	if err != nil {
		return nil, err
	}
	if c := callerOf(r.Context()); req.Email == c.user.Username && upd.Groups != nil && !slices.Contains(upd.Groups, string(GroupAdmin)) {
		return nil, errorf(KindBadData, "groups", "you cannot remove your own administrator group")
	}
	return s.applyUserUpdate(r, req.Email, upd)
}

func (s *Server) applyUserUpdate(r *http.Request, username string, upd store.UserUpdate) (any, error) {
	defer s.auth.forgetUser(username)
	err := s.db.UpdateUser(r.Context(), username, upd)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFoundf("email", "no user %q", username)
	}
	if err != nil {
		return nil, err
	}
	return success, nil
}

func (s *Server) updateSelf(r *http.Request) (any, error) {
	var req userRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	c := callerOf(r.Context())
	if req.Email != "" && req.Email != c.user.Username {
		return nil, errorf(KindForbidden, "email", "updateSelf changes only your own account (%s)", c.user.Username)
	}
	if req.Groups != nil && !c.isAdmin() {
		g, err := canonicalGroups(*req.Groups)
		if err != nil {
			return nil, err
		}
		if !sameSet(g, c.user.Groups) {
			return nil, errorf(KindForbidden, "groups", "only an administrator can change groups")
		}
		req.Groups = nil
	}
	upd, err := s.userUpdate(req)
	if err != nil {
		return nil, err
	}
	if upd.Groups != nil && !slices.Contains(upd.Groups, string(GroupAdmin)) {
		return nil, errorf(KindBadData, "groups", "you cannot remove your own administrator group")
	}
	return s.applyUserUpdate(r, c.user.Username, upd)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (s *Server) setDisabled(disabled bool) handler {
	return func(r *http.Request) (any, error) {
		var req emailRequest
		if err := decodeJSON(r, &req); err != nil {
			return nil, err
		}
		if err := required("email", req.Email); err != nil {
			return nil, err
		}
		if disabled && req.Email == callerOf(r.Context()).user.Username {
			return nil, errorf(KindBadData, "email", "you cannot disable your own account")
		}
		defer s.auth.forgetUser(req.Email)
		err := s.db.SetUserDisabled(r.Context(), req.Email, disabled)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNotFoundf("email", "no user %q", req.Email)
		}
		if err != nil {
			return nil, err
		}
		return success, nil
	}
}

// pageRequest pages a list; it comes as a JSON body (as in the reference)
// or as query parameters.
type pageRequest struct {
	MaxResults int    `json:"maxResults"`
	Offset     int    `json:"offset"`
	SortBy     string `json:"sortBy,omitempty"`
}

func readPage(r *http.Request) (pageRequest, error) {
	var p pageRequest
	if err := decodeOptionalJSON(r, &p); err != nil {
		return p, err
	}
	var err error
	if p.MaxResults, err = queryInt(r, "maxResults", p.MaxResults); err != nil {
		return p, err
	}
	if p.Offset, err = queryInt(r, "offset", p.Offset); err != nil {
		return p, err
	}
	if v := r.URL.Query().Get("sortBy"); v != "" {
		p.SortBy = v
	}
	if p.MaxResults < 0 {
		return p, errorf(KindBadData, "maxResults", "must not be negative")
	}
	if p.Offset < 0 {
		return p, errorf(KindBadData, "offset", "must not be negative")
	}
	return p, nil
}

type userListDoc struct {
	userDoc
	Enabled bool `json:"enabled"`
}

func (s *Server) getUsers(r *http.Request) (any, error) {
	p, err := readPage(r)
	if err != nil {
		return nil, err
	}
	switch p.SortBy {
	case "", "uid", "displayName", "gidNumber", "email":
	default:
		return nil, errorf(KindBadData, "sortBy", "want uid, displayName, gidNumber or email, got %q", p.SortBy)
	}
	us, err := s.db.Users(r.Context(), store.UserQuery{Limit: p.MaxResults, Offset: p.Offset, SortBy: p.SortBy})
	if err != nil {
		return nil, err
	}
	out := make([]userListDoc, 0, len(us))
	for _, u := range us {
		out = append(out, userListDoc{userDoc: userDocOf(u), Enabled: !u.Disabled})
	}
	return out, nil
}

type createKeyRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Expiration  string `json:"expiration"`
}

type createKeyResponse struct {
	// Token is the key's secret, shown only here.
	Token string `json:"token"`
	// ID names the key in getTokens, revokeApiToken and verifyApiToken.
	ID string `json:"id"`
}

func (s *Server) createAPIKey(r *http.Request) (any, error) {
	var req createKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("name", req.Name); err != nil {
		return nil, err
	}
	k := store.APIKey{ID: uuid.NewString(), Name: req.Name, Description: req.Description,
		Owner: callerOf(r.Context()).user.Username, Created: s.cfg.Now()}
	k.Modifier = k.Owner
	if req.Expiration != "" {
		exp, err := parseTime("expiration", req.Expiration)
		if err != nil {
			return nil, err
		}
		if !exp.After(s.cfg.Now()) {
			return nil, errorf(KindBadData, "expiration", "%s is in the past", req.Expiration)
		}
		k.Expires = exp
	}
	secret, hash, err := newAPIKeySecret()
	if err != nil {
		return nil, err
	}
	k.Hash = hash
	if err := s.db.CreateAPIKey(r.Context(), k); err != nil {
		return nil, err
	}
	return createKeyResponse{Token: secret, ID: k.ID}, nil
}

// findKey finds a key by id or by secret.
func (s *Server) findKey(r *http.Request, field, token string) (store.APIKey, error) {
	if err := required(field, token); err != nil {
		return store.APIKey{}, err
	}
	k, err := s.db.APIKey(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		k, err = s.db.APIKeyByHash(r.Context(), hashKey(token))
	}
	if errors.Is(err, store.ErrNotFound) {
		return k, errNotFoundf(field, "no such API key")
	}
	return k, err
}

type tokenRequest struct {
	Token string `json:"token"`
}

func (s *Server) revokeAPIKey(r *http.Request) (any, error) {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	k, err := s.findKey(r, "token", req.Token)
	if err != nil {
		return nil, err
	}
	defer s.auth.forgetKeys()
	if err := s.db.RevokeAPIKey(r.Context(), k.ID, callerOf(r.Context()).user.Username, s.cfg.Now()); err != nil {
		return nil, err
	}
	return message{Message: "User token disabled"}, nil
}

// keyDoc is the reference's description of an API key.
type keyDoc struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Expiration  *string `json:"expiration"`
	IsValid     bool    `json:"is_valid"`
	Creator     string  `json:"creator"`
	Modifier    string  `json:"modifier"`
}

type keyListDoc struct {
	Token string `json:"token"`
	keyDoc
}

func (s *Server) keyDocOf(k store.APIKey) keyDoc {
	d := keyDoc{Name: k.Name, Description: k.Description, IsValid: k.Valid(s.cfg.Now()), Creator: k.Owner, Modifier: k.Modifier}
	if !k.Expires.IsZero() {
		e := formatTime(k.Expires)
		d.Expiration = &e
	}
	return d
}

func (s *Server) verifyAPIKey(r *http.Request) (any, error) {
	k, err := s.findKey(r, "token", chi.URLParam(r, "token"))
	if err != nil {
		return nil, err
	}
	return s.keyDocOf(k), nil
}

func (s *Server) getAPIKeys(r *http.Request) (any, error) {
	p, err := readPage(r)
	if err != nil {
		return nil, err
	}
	ks, err := s.db.APIKeys(r.Context(), p.MaxResults, p.Offset)
	if err != nil {
		return nil, err
	}
	out := make([]keyListDoc, 0, len(ks))
	for _, k := range ks {
		out = append(out, keyListDoc{Token: k.ID, keyDoc: s.keyDocOf(k)})
	}
	return out, nil
}
