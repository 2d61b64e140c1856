package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrConflict: the row to create exists already.
var ErrConflict = errors.New("store: already exists")

// User is a local account of the REST server. Username is the login name
// (the reference API's "email").
type User struct {
	Username     string
	DisplayName  string
	UID          string
	DN           string
	GIDNumber    string
	PasswordHash string // a PHC string; never the password
	Groups       []string
	Disabled     bool
	Created      time.Time
	Updated      time.Time
}

// UserUpdate changes the fields that are not nil.
type UserUpdate struct {
	PasswordHash *string
	DisplayName  *string
	Groups       []string // nil: unchanged
}

// UserQuery pages the users.
type UserQuery struct {
	Limit  int    // <= 0: all
	Offset int    // rows to skip
	SortBy string // "uid", "displayName", "gidNumber" or "" (username)
}

const userColumns = `username, display_name, uid, dn, gid_number, password_hash, groups, disabled, created_at, updated_at`

// userSortColumns maps the API's sort keys to columns; the username breaks
// ties so pages are stable.
var userSortColumns = map[string]string{
	"":            "username",
	"email":       "username",
	"uid":         "uid, username",
	"displayName": "display_name, username",
	"gidNumber":   "gid_number, username",
}

// CreateUser adds a user; ErrConflict when the username exists.
func (db *DB) CreateUser(ctx context.Context, u User) error {
	if u.Username == "" {
		return fmt.Errorf("create user: empty username")
	}
	now := time.Now()
	if u.Created.IsZero() {
		u.Created = now
	}
	if u.Updated.IsZero() {
		u.Updated = u.Created
	}
	groups, err := groupsJSON(u.Groups)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	n, err := db.b.Exec(ctx, `INSERT INTO users (`+userColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (username) DO NOTHING`,
		u.Username, nullable(u.DisplayName), nullable(u.UID), nullable(u.DN), nullable(u.GIDNumber),
		nullable(u.PasswordHash), groups, u.Disabled, u.Created.UnixMicro(), u.Updated.UnixMicro())
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", u.Username, ErrConflict)
	}
	return nil
}

// User returns one user, or ErrNotFound.
func (db *DB) User(ctx context.Context, username string) (User, error) {
	us, err := db.queryUsers(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username)
	if err != nil {
		return User{}, err
	}
	if len(us) == 0 {
		return User{}, fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	return us[0], nil
}

// Users lists users in the order asked.
func (db *DB) Users(ctx context.Context, uq UserQuery) ([]User, error) {
	order, ok := userSortColumns[uq.SortBy]
	if !ok {
		return nil, fmt.Errorf("users: cannot sort by %q", uq.SortBy)
	}
	if uq.Offset < 0 {
		return nil, fmt.Errorf("users: negative offset %d", uq.Offset)
	}
	return db.queryUsers(ctx, `SELECT `+userColumns+` FROM users ORDER BY `+order+` LIMIT $1 OFFSET $2`,
		db.limit(uq.Limit), int64(uq.Offset))
}

// limit is a LIMIT value: n, or no limit when n <= 0.
func (db *DB) limit(n int) int64 {
	if n > 0 {
		return int64(n)
	}
	if db.Dialect() == SQLite {
		return -1
	}
	return 1 << 62
}

// CountUsers returns the number of users.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	n, err := db.Count(ctx, "users")
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UpdateUser changes a user; ErrNotFound when absent.
func (db *DB) UpdateUser(ctx context.Context, username string, upd UserUpdate) error {
	sets := []string{}
	args := []any{}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if upd.PasswordHash != nil {
		add("password_hash", *upd.PasswordHash)
	}
	if upd.DisplayName != nil {
		add("display_name", nullable(*upd.DisplayName))
	}
	if upd.Groups != nil {
		g, err := groupsJSON(upd.Groups)
		if err != nil {
			return fmt.Errorf("update user %s: %w", username, err)
		}
		add("groups", g)
	}
	add("updated_at", time.Now().UnixMicro())
	args = append(args, username)
	n, err := db.b.Exec(ctx, fmt.Sprintf(`UPDATE users SET %s WHERE username = $%d`, strings.Join(sets, ", "), len(args)), args...)
	if err != nil {
		return fmt.Errorf("update user %s: %w", username, err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	return nil
}

// SetUserDisabled disables or enables a user; ErrNotFound when absent.
func (db *DB) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	n, err := db.b.Exec(ctx, `UPDATE users SET disabled = $1, updated_at = $2 WHERE username = $3`,
		disabled, time.Now().UnixMicro(), username)
	if err != nil {
		return fmt.Errorf("disable user %s: %w", username, err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	return nil
}

func (db *DB) queryUsers(ctx context.Context, sqlText string, args ...any) ([]User, error) {
	rows, err := db.b.Query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var display, uid, dn, gid, hash sql.NullString
		var groups string
		var created, updated int64
		if err := rows.Scan(&u.Username, &display, &uid, &dn, &gid, &hash, &groups, &u.Disabled, &created, &updated); err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		u.DisplayName, u.UID, u.DN, u.GIDNumber, u.PasswordHash = display.String, uid.String, dn.String, gid.String, hash.String
		if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
			return nil, fmt.Errorf("user %s: groups: %w", u.Username, err)
		}
		u.Created, u.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return out, nil
}

func groupsJSON(groups []string) (string, error) {
	if groups == nil {
		groups = []string{}
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return "", fmt.Errorf("groups: %w", err)
	}
	return string(b), nil
}

// APIKey is a stored API key. Only the hash of the secret is kept.
type APIKey struct {
	ID          string
	Hash        string // hex SHA-256 of the secret
	Name        string
	Description string
	Owner       string // the creator
	Modifier    string // who changed it last (the revoker)
	Created     time.Time
	Expires     time.Time // zero: never
	Revoked     time.Time // zero: not revoked
}

// Valid reports whether the key may be used at time now.
func (k APIKey) Valid(now time.Time) bool {
	return k.Revoked.IsZero() && (k.Expires.IsZero() || now.Before(k.Expires))
}

const apiKeyColumns = `key_id, key_hash, name, description, owner, modifier, created_at, expires_at, revoked_at`

// CreateAPIKey stores a key; ErrConflict when its id or hash exists.
func (db *DB) CreateAPIKey(ctx context.Context, k APIKey) error {
	if k.ID == "" || k.Hash == "" {
		return fmt.Errorf("create API key: id and hash are required")
	}
	if k.Created.IsZero() {
		k.Created = time.Now()
	}
	n, err := db.b.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) ON CONFLICT DO NOTHING`,
		k.ID, k.Hash, nullable(k.Name), nullable(k.Description), nullable(k.Owner), nullable(k.Modifier),
		k.Created.UnixMicro(), micros(k.Expires))
	if err != nil {
		return fmt.Errorf("create API key %s: %w", k.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("API key %s: %w", k.ID, ErrConflict)
	}
	return nil
}

// APIKeyByHash finds a key by the hash of its secret, or ErrNotFound.
func (db *DB) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	ks, err := db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1`, hash)
	if err != nil {
		return APIKey{}, err
	}
	if len(ks) == 0 {
		return APIKey{}, fmt.Errorf("API key: %w", ErrNotFound)
	}
	return ks[0], nil
}

// APIKey finds a key by id, or ErrNotFound.
func (db *DB) APIKey(ctx context.Context, id string) (APIKey, error) {
	ks, err := db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_id = $1`, id)
	if err != nil {
		return APIKey{}, err
	}
	if len(ks) == 0 {
		return APIKey{}, fmt.Errorf("API key %q: %w", id, ErrNotFound)
	}
	return ks[0], nil
}

// APIKeys lists keys by creation time, then id; limit <= 0: all.
func (db *DB) APIKeys(ctx context.Context, limit, offset int) ([]APIKey, error) {
	if offset < 0 {
		return nil, fmt.Errorf("API keys: negative offset %d", offset)
	}
	return db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at, key_id LIMIT $1 OFFSET $2`,
		db.limit(limit), int64(offset))
}

// RevokeAPIKey marks a key revoked by id; ErrNotFound when absent. Revoking
// a revoked key keeps its first revocation time.
func (db *DB) RevokeAPIKey(ctx context.Context, id, by string, at time.Time) error {
	n, err := db.b.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1), modifier = $2 WHERE key_id = $3`,
		at.UnixMicro(), nullable(by), id)
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("API key %q: %w", id, ErrNotFound)
	}
	return nil
}

func (db *DB) queryAPIKeys(ctx context.Context, sqlText string, args ...any) ([]APIKey, error) {
	rows, err := db.b.Query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("API keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		var k APIKey
		var name, desc, owner, modifier sql.NullString
		var created int64
		var expires, revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Hash, &name, &desc, &owner, &modifier, &created, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("API keys: %w", err)
		}
		k.Name, k.Description, k.Owner, k.Modifier = name.String, desc.String, owner.String, modifier.String
		k.Created = time.UnixMicro(created).UTC()
		k.Expires, k.Revoked = fromMicros(expires), fromMicros(revoked)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("API keys: %w", err)
	}
	return out, nil
}

func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros: NULL reads as the zero time.
func fromMicros(t sql.NullInt64) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return time.UnixMicro(t.Int64).UTC()
}

// Secret returns the server secret called name, creating it with generate
// the first time. Concurrent first calls agree on one value.
func (db *DB) Secret(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	get := func() (string, bool, error) {
		rows, err := db.b.Query(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name)
		if err != nil {
			return "", false, fmt.Errorf("secret %s: %w", name, err)
		}
		defer rows.Close()
		var v string
		if rows.Next() {
			if err := rows.Scan(&v); err != nil {
				return "", false, fmt.Errorf("secret %s: %w", name, err)
			}
			return v, true, nil
		}
		return "", false, rows.Err()
	}
	if v, ok, err := get(); err != nil || ok {
		return v, err
	}
	v, err := generate()
	if err != nil {
		return "", fmt.Errorf("secret %s: generate: %w", name, err)
	}
	if _, err := db.b.Exec(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
		name, v, time.Now().UnixMicro()); err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	v, ok, err := get()
	if err == nil && !ok {
		err = fmt.Errorf("secret %s: %w", name, ErrNotFound)
	}
	return v, err
}

// Ready checks that the store answers and its schema is the latest this
// binary knows.
func (db *DB) Ready(ctx context.Context) error {
	rows, err := db.b.Query(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store not reachable: %w", err)
	}
	var cur int64
	if rows.Next() {
		err = rows.Scan(&cur)
	}
	rows.Close()
	if err != nil {
		return fmt.Errorf("store not reachable: %w", err)
	}
	ms, err := Migrations(db.Dialect())
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].Version; int(cur) != latest {
		return fmt.Errorf("%w: schema at version %d, want %d: run 'autoid migrate'", ErrMigration, cur, latest)
	}
	return nil
}
