package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoid-oss/autoid/store"
)

// OIDCConfig configures single sign-on with an OpenID Connect issuer
// (authorization code flow).
type OIDCConfig struct {
	// Issuer is the issuer URL; its /.well-known/openid-configuration
	// names the endpoints.
	Issuer string
	// ClientID and ClientSecret are this server's client credentials.
	ClientID     string
	ClientSecret string
	// RedirectURL is where the issuer sends the browser back:
	// https://HOST/api/sso/finish.
	RedirectURL string
	// GroupsClaim is the ID token claim listing the user's groups
	// (default "groups"); unknown group names are ignored, and a new user
	// without a known group gets Zoran User.
	GroupsClaim string
}

func (o *OIDCConfig) validate() error {
	for name, v := range map[string]string{"Issuer": o.Issuer, "RedirectURL": o.RedirectURL} {
		if u, err := url.ParseRequestURI(v); err != nil || u.Host == "" {
			return errors.New("server config: OIDC." + name + " must be an absolute URL")
		}
	}
	if o.ClientID == "" {
		return errors.New("server config: OIDC.ClientID is required")
	}
	return nil
}

// ssoCookie carries the state and nonce of a sign-in between start and
// finish, signed with the server's key.
const ssoCookie = "autoid_sso"

// ssoTTL is how long a started sign-in may take.
const ssoTTL = 10 * time.Minute

func (s *Server) ssoRoutes() []route {
	return []route{
		{Method: "GET", Path: "/api/sso/start", Access: public(), Tag: "SSO",
			Summary: "Start single sign-on: a redirect to the OpenID Connect issuer (501 when SSO is not configured)", Handle: s.ssoStart},
		{Method: "GET", Path: "/api/sso/finish", Access: public(), Tag: "SSO",
			Summary:  "Finish single sign-on (the issuer's redirect with code and state): the user and a token, as login answers",
			Response: loginResponse{}, Handle: s.ssoFinish},
		{Method: "GET", Path: "/api/slo/logout", Access: users(), Tag: "SSO",
			Summary: "Sign out of single sign-on: the issuer's end-session URL", Response: logoutResponse{}, Handle: s.ssoLogout},
	}
}

func errSSONotConfigured() *Error {
	return errorf(KindNotImplemented, "", "SSO is not configured: start the server with AUTOID_OIDC_ISSUER, AUTOID_OIDC_CLIENT_ID, AUTOID_OIDC_CLIENT_SECRET and AUTOID_OIDC_REDIRECT_URL")
}

// oidcProvider is the issuer's discovered configuration and keys.
type oidcProvider struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	JWKSURI       string `json:"jwks_uri"`
	EndSession    string `json:"end_session_endpoint"`
	keys          map[string]*rsa.PublicKey
}

// oidcClient discovers the issuer once (retrying after failures).
type oidcClient struct {
	cfg  OIDCConfig
	http *http.Client
	mu   sync.Mutex
	p    *oidcProvider
}

func (c *oidcClient) provider(ctx context.Context) (*oidcProvider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		return c.p, nil
	}
	var p oidcProvider
	if err := c.getJSON(ctx, strings.TrimSuffix(c.cfg.Issuer, "/")+"/.well-known/openid-configuration", &p); err != nil {
		return nil, err
	}
	if p.Issuer != c.cfg.Issuer {
		return nil, fmt.Errorf("OIDC discovery: issuer %q, want %q", p.Issuer, c.cfg.Issuer)
	}
	if p.Authorization == "" || p.Token == "" || p.JWKSURI == "" {
		return nil, errors.New("OIDC discovery: authorization_endpoint, token_endpoint and jwks_uri are required")
	}
	if err := c.loadKeys(ctx, &p); err != nil {
		return nil, err
	}
	c.p = &p
	return c.p, nil
}

func (c *oidcClient) loadKeys(ctx context.Context, p *oidcProvider) error {
	var set struct {
		Keys []struct {
			Kty, Kid, N, E, Use string
		} `json:"keys"`
	}
	if err := c.getJSON(ctx, p.JWKSURI, &set); err != nil {
		return err
	}
	p.keys = map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) > 4 {
			return fmt.Errorf("OIDC keys: key %q is malformed", k.Kid)
		}
		p.keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(p.keys) == 0 {
		return errors.New("OIDC keys: no RSA signing key")
	}
	return nil
}

func (c *oidcClient) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return fmt.Errorf("OIDC: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("OIDC: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("OIDC: GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("OIDC: GET %s: %w", u, err)
	}
	return nil
}

// ssoState is signed into the sign-in cookie.
type ssoState struct {
	State string `json:"state"`
	Nonce string `json:"nonce"`
	jwt.RegisteredClaims
}

func randomText() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) ssoStart(r *http.Request) (any, error) {
	if s.oidc == nil {
		return nil, errSSONotConfigured()
	}
	p, err := s.oidc.provider(r.Context())
	if err != nil {
		return nil, errorf(KindUnavailable, "", "the SSO issuer cannot be reached: %v", err)
	}
	st := ssoState{State: randomText(), Nonce: randomText(), RegisteredClaims: jwt.RegisteredClaims{
		Audience: jwt.ClaimStrings{"sso"}, ExpiresAt: jwt.NewNumericDate(s.cfg.Now().Add(ssoTTL))}}
	cookie, err := jwt.NewWithClaims(jwt.SigningMethodHS256, st).SignedString(s.tokens.key)
	if err != nil {
		return nil, err
	}
	q := url.Values{"response_type": {"code"}, "client_id": {s.oidc.cfg.ClientID}, "redirect_uri": {s.oidc.cfg.RedirectURL},
		"scope": {"openid email profile"}, "state": {st.State}, "nonce": {st.Nonce}}
	target := p.Authorization + "?" + q.Encode()
	if strings.Contains(p.Authorization, "?") {
		target = p.Authorization + "&" + q.Encode()
	}
	return stream(func(w http.ResponseWriter, r *http.Request) error {
		http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: cookie, Path: "/api/sso", HttpOnly: true,
			Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(ssoTTL.Seconds())})
		http.Redirect(w, r, target, http.StatusFound)
		return nil
	}), nil
}

func (s *Server) ssoFinish(r *http.Request) (any, error) {
	if s.oidc == nil {
		return nil, errSSONotConfigured()
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, errorf(KindUnauthorized, "error", "the SSO issuer refused the sign-in: %s %s", e, q.Get("error_description"))
	}
	code, state := q.Get("code"), q.Get("state")
	if err := required("code", code); err != nil {
		return nil, err
	}
	if err := required("state", state); err != nil {
		return nil, err
	}
	ck, err := r.Cookie(ssoCookie)
	if err != nil {
		return nil, errorf(KindBadData, ssoCookie, "no sign-in in progress: start at /api/sso/start")
	}
	var st ssoState
	if _, err := jwt.ParseWithClaims(ck.Value, &st, func(*jwt.Token) (any, error) { return s.tokens.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("sso"), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now)); err != nil {
		return nil, errorf(KindBadData, ssoCookie, "the sign-in cookie is not valid: %v", err)
	}
	if st.State != state {
		return nil, errorf(KindBadData, "state", "the state does not match the sign-in in progress")
	}
	p, err := s.oidc.provider(r.Context())
	if err != nil {
		return nil, errorf(KindUnavailable, "", "the SSO issuer cannot be reached: %v", err)
	}
	idToken, err := s.exchangeCode(r.Context(), p, code)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(idToken, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := p.keys[kid]; ok {
			return k, nil
		}
		if len(p.keys) == 1 && kid == "" {
			for _, k := range p.keys {
				return k, nil
			}
		}
		return nil, fmt.Errorf("unknown key %q", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(p.Issuer), jwt.WithAudience(s.oidc.cfg.ClientID),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now))
	if err != nil {
		return nil, errorf(KindUnauthorized, "id_token", "the issuer's ID token is not valid: %v", err)
	}
	if n, _ := claims["nonce"].(string); n != st.Nonce {
		return nil, errorf(KindUnauthorized, "id_token", "the ID token's nonce does not match the sign-in")
	}
	u, err := s.ssoUser(r.Context(), claims)
	if err != nil {
		return nil, err
	}
	tok, _, err := s.tokens.issue(u)
	if err != nil {
		return nil, err
	}
	resp := loginResponse{User: userDocOf(u), Token: tok}
	return stream(func(w http.ResponseWriter, r *http.Request) error {
		http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/api/sso", MaxAge: -1, HttpOnly: true})
		writeJSON(w, http.StatusOK, resp)
		return nil
	}), nil
}

// exchangeCode trades the authorization code for the ID token.
func (s *Server) exchangeCode(ctx context.Context, p *oidcProvider, code string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.oidc.cfg.RedirectURL},
		"client_id": {s.oidc.cfg.ClientID}}
	req, err := http.NewRequestWithContext(ctx, "POST", p.Token, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.oidc.cfg.ClientID), url.QueryEscape(s.oidc.cfg.ClientSecret))
	resp, err := s.oidc.http.Do(req)
	if err != nil {
		return "", errorf(KindUnavailable, "", "the SSO issuer cannot be reached: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode != 200 || out.IDToken == "" {
		return "", errorf(KindUnauthorized, "code", "the SSO issuer refused the code: %s %s", resp.Status, out.Error)
	}
	return out.IDToken, nil
}

// ssoUser finds or creates the local user of a signed-in identity: by
// email (else preferred_username, else subject). The groups claim, when
// present, sets the user's groups.
func (s *Server) ssoUser(ctx context.Context, c jwt.MapClaims) (store.User, error) {
	name := ""
	for _, k := range []string{"email", "preferred_username", "sub"} {
		if v, _ := c[k].(string); v != "" {
			name = v
			break
		}
	}
	if name == "" {
		return store.User{}, errorf(KindUnauthorized, "id_token", "the ID token names no user (email, preferred_username or sub)")
	}
	claim := s.oidc.cfg.GroupsClaim
	if claim == "" {
		claim = "groups"
	}
	var groups []string
	if raw, ok := c[claim].([]any); ok {
		for _, g := range raw {
			if gs, ok := g.(string); ok {
				if gg, ok := ParseGroup(gs); ok && !containsGroup(groups, gg) {
					groups = append(groups, string(gg))
				}
			}
		}
	}
	u, err := s.db.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		display, _ := c["name"].(string)
		if len(groups) == 0 {
			groups = []string{string(GroupUser)}
		}
		u = store.User{Username: name, DisplayName: display, UID: uidOf(name), DN: "cn=" + name, Groups: groups}
		if err := s.db.CreateUser(ctx, u); err != nil && !errors.Is(err, store.ErrConflict) {
			return u, err
		}
		return s.db.User(ctx, name)
	}
	if err != nil {
		return u, err
	}
	if u.Disabled {
		return u, errorf(KindUnauthorized, "id_token", "user %q is disabled", u.Username)
	}
	if len(groups) > 0 && !sameSet(groups, u.Groups) {
		defer s.auth.forgetUser(name)
		if err := s.db.UpdateUser(ctx, name, store.UserUpdate{Groups: groups}); err != nil {
			return u, err
		}
		u.Groups = groups
	}
	return u, nil
}

func containsGroup(gs []string, g Group) bool {
	for _, x := range gs {
		if x == string(g) {
			return true
		}
	}
	return false
}

type logoutResponse struct {
	Message string `json:"message"`
	// LogoutURL ends the session at the issuer, when it has one.
	LogoutURL string `json:"logoutUrl,omitempty"`
}

func (s *Server) ssoLogout(r *http.Request) (any, error) {
	if s.oidc == nil {
		return nil, errSSONotConfigured()
	}
	p, err := s.oidc.provider(r.Context())
	if err != nil {
		return nil, errorf(KindUnavailable, "", "the SSO issuer cannot be reached: %v", err)
	}
	out := logoutResponse{Message: "success"}
	if p.EndSession != "" {
		out.LogoutURL = p.EndSession + "?" + url.Values{"client_id": {s.oidc.cfg.ClientID}}.Encode()
	}
	return out, nil
}
