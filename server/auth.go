package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/argon2"

	"github.com/autoid-oss/autoid/store"
)

// caller is who sent a request: a signed-in user or an API key.
type caller struct {
	user   store.User
	groups []Group
	key    *store.APIKey
}

func (c *caller) isAdmin() bool {
	for _, g := range c.groups {
		if g == GroupAdmin {
			return true
		}
	}
	return false
}

// name names the caller for audit fields.
func (c *caller) name() string {
	if c.key != nil {
		return "apikey:" + c.key.ID
	}
	return c.user.Username
}

type callerKey struct{}

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// groupsOf parses stored group names, dropping unknown ones.
func groupsOf(names []string) []Group {
	var out []Group
	for _, n := range names {
		if g, ok := ParseGroup(n); ok {
			out = append(out, g)
		}
	}
	return out
}

// Argon2Params are the argon2id cost parameters for new password hashes
// (verification reads them from the stored hash).
type Argon2Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 follows the RFC 9106 second recommendation (64 MiB).
func DefaultArgon2() Argon2Params { return Argon2Params{Time: 3, Memory: 64 * 1024, Threads: 4} }

// hashPassword returns a PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func hashPassword(p Argon2Params, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

// checkPassword compares a password with a PHC argon2id hash in constant
// time; a malformed hash never matches.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Time == 0 || p.Threads == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// newAPIKeySecret returns a new API key (base64url of 32 random bytes) and
// the hash that is stored.
func newAPIKeySecret() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new API key: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashKey(secret), nil
}

func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret is a generator of the JWT signing key.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// claims are the JWT's claims: the user fields of the reference's verify
// answer plus the registered ones.
type claims struct {
	DisplayName string   `json:"displayName,omitempty"`
	Email       string   `json:"email"`
	DN          string   `json:"dn,omitempty"`
	GIDNumber   string   `json:"gidNumber,omitempty"`
	UID         string   `json:"uid,omitempty"`
	Groups      []string `json:"_groups"`
	jwt.RegisteredClaims
}

// tokens signs and verifies bearer tokens (HS256 only).
type tokens struct {
	key      []byte
	ttl      time.Duration
	issuer   string
	audience string
	now      func() time.Time
}

func (t *tokens) issue(u store.User) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	c := claims{
		DisplayName: u.DisplayName, Email: u.Username, DN: u.DN, GIDNumber: u.GIDNumber, UID: u.UID, Groups: u.Groups,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   u.Username,
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        hex.EncodeToString(jti),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	return s, exp, nil
}

// parse verifies a token: HS256 only (alg none and others are refused),
// signature, expiry, issuer and audience.
func (t *tokens) parse(s string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return nil, err
	}
	if c.Subject == "" {
		return nil, errors.New("token has no subject")
	}
	return &c, nil
}

// credentials found on a request.
type credentials struct {
	bearer string // a JWT
	apiKey string
}

// credentialsOf reads "Authorization: Bearer JWT" (also "Token JWT" and a
// bare JWT), "X-API-KEY: key", and a bare "Authorization: key" (what the
// jobs reference sends).
func credentialsOf(r *http.Request) credentials {
	var c credentials
	if k := strings.TrimSpace(r.Header.Get("X-API-KEY")); k != "" {
		c.apiKey = k
	}
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	if a == "" {
		return c
	}
	if scheme, rest, ok := strings.Cut(a, " "); ok {
		switch strings.ToLower(scheme) {
		case "bearer", "token":
			rest = strings.TrimSpace(rest)
			if strings.Count(rest, ".") == 2 {
				c.bearer = rest
			} else if c.apiKey == "" {
				c.apiKey = rest
			}
			return c
		}
		// Not a scheme we know: treat the whole value as opaque.
	}
	if strings.Count(a, ".") == 2 {
		c.bearer = a
	} else if c.apiKey == "" {
		c.apiKey = a
	}
	return c
}

// limiter counts failed logins per key (user, address) in a sliding
// window.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// blocked reports whether any key has reached the limit, and when the
// oldest counted failure leaves the window.
func (l *limiter) blocked(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		ts := l.prune(k, now)
		if len(ts) >= l.max {
			if w := ts[0].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait > 0, wait
}

// limiterSweep is the number of keys past which a failure first drops
// every key whose failures have all left the window, so that many
// distinct names or addresses cannot grow the map without bound.
const limiterSweep = 10000

func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= limiterSweep {
		for k := range l.fails {
			l.prune(k, now)
		}
	}
	for _, k := range keys {
		l.fails[k] = append(l.prune(k, now), now)
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *limiter) prune(k string, now time.Time) []time.Time {
	ts := l.fails[k]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, k)
		return nil
	}
	l.fails[k] = ts
	return ts
}

// authenticate finds the caller of a request: nil without credentials, an
// unauthorized error for credentials that do not hold. When the request
// carries both, an API key is used on routes that accept keys and the
// bearer token elsewhere.
func (s *Server) authenticate(r *http.Request, a access) (*caller, error) {
	cr := credentialsOf(r)
	useKey := cr.apiKey != "" && (cr.bearer == "" || a.apiKey)
	switch {
	case useKey:
		hash := hashKey(cr.apiKey)
		k, ok := s.auth.key(hash)
		if !ok {
			var err error
			k, err = s.db.APIKeyByHash(r.Context(), hash)
			if errors.Is(err, store.ErrNotFound) {
				return nil, errorf(KindUnauthorized, "X-API-KEY", "unknown API key")
			}
			if err != nil {
				return nil, fmt.Errorf("authenticate API key: %w", err)
			}
			s.auth.putKey(hash, k)
		}
		now := s.cfg.Now()
		if !k.Revoked.IsZero() {
			return nil, errorf(KindUnauthorized, "X-API-KEY", "the API key was revoked")
		}
		if !k.Valid(now) {
			return nil, errorf(KindUnauthorized, "X-API-KEY", "the API key expired at %s", k.Expires.UTC().Format(time.RFC3339))
		}
		return &caller{key: &k}, nil
	case cr.bearer != "":
		cl, err := s.tokens.parse(cr.bearer)
		if err != nil {
			return nil, errorf(KindUnauthorized, "Authorization", "bearer token: %v", err)
		}
		u, ok := s.auth.user(cl.Subject)
		if !ok {
			var err error
			u, err = s.db.User(r.Context(), cl.Subject)
			if errors.Is(err, store.ErrNotFound) {
				return nil, errorf(KindUnauthorized, "Authorization", "the token's user %q does not exist", cl.Subject)
			}
			if err != nil {
				return nil, fmt.Errorf("authenticate token: %w", err)
			}
			s.auth.putUser(u)
		}
		if u.Disabled {
			return nil, errorf(KindUnauthorized, "Authorization", "user %q is disabled", u.Username)
		}
		return &caller{user: u, groups: groupsOf(u.Groups)}, nil
	}
	return nil, nil
}

// authCache remembers recent credential lookups for a moment, so that a
// busy client does not cost a store query per request. Changes made through
// this server (revoking a key; updating, disabling or enabling a user) drop
// the entries at once; changes made by another process take effect within
// the TTL. Validity (expiry, revocation, disabled) is still checked on
// every request against the remembered row.
type authCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	keys  map[string]cachedKey  // by key hash
	users map[string]cachedUser // by username
}

type cachedKey struct {
	k  store.APIKey
	at time.Time
}

type cachedUser struct {
	u  store.User
	at time.Time
}

// authCacheMax bounds each map; past it the map starts over.
const authCacheMax = 10000

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, keys: map[string]cachedKey{}, users: map[string]cachedUser{}}
}

func (c *authCache) key(hash string) (store.APIKey, bool) {
	if c.ttl <= 0 {
		return store.APIKey{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.keys[hash]
	if !ok || time.Since(e.at) > c.ttl {
		return store.APIKey{}, false
	}
	return e.k, true
}

func (c *authCache) putKey(hash string, k store.APIKey) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= authCacheMax {
		c.keys = map[string]cachedKey{}
	}
	c.keys[hash] = cachedKey{k: k, at: time.Now()}
}

func (c *authCache) user(name string) (store.User, bool) {
	if c.ttl <= 0 {
		return store.User{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[name]
	if !ok || time.Since(e.at) > c.ttl {
		return store.User{}, false
	}
	return e.u, true
}

func (c *authCache) putUser(u store.User) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) >= authCacheMax {
		c.users = map[string]cachedUser{}
	}
	c.users[u.Username] = cachedUser{u: u, at: time.Now()}
}

// forgetKeys drops every remembered key (after a revocation).
func (c *authCache) forgetKeys() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = map[string]cachedKey{}
}

// forgetUser drops a remembered user (after a change to it).
func (c *authCache) forgetUser(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.users, name)
}
