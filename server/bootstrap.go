package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/autoid-oss/autoid/store"
)

// ErrNoUsers: the store has no users and no first administrator was given.
var ErrNoUsers = errors.New("the store has no users: set AUTOID_ADMIN_USER and AUTOID_ADMIN_PASSWORD to create the first administrator")

// EnsureAdmin creates the first administrator when the store has no users.
// With users present it does nothing (the variables are ignored); with none
// and no username or password it returns ErrNoUsers. There is no default
// password.
func EnsureAdmin(ctx context.Context, db *store.DB, username, password string, p Argon2Params) (created bool, err error) {
	n, err := db.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if username == "" || password == "" {
		return false, ErrNoUsers
	}
	if len(password) < 8 {
		return false, fmt.Errorf("first administrator %q: the password must have at least 8 characters", username)
	}
	if p == (Argon2Params{}) {
		p = DefaultArgon2()
	}
	hash, err := hashPassword(p, password)
	if err != nil {
		return false, err
	}
	err = db.CreateUser(ctx, store.User{Username: username, DisplayName: username, UID: uidOf(username),
		DN: "cn=" + username, PasswordHash: hash, Groups: []string{string(GroupAdmin)}})
	if errors.Is(err, store.ErrConflict) {
		return false, nil // created concurrently
	}
	if err != nil {
		return false, fmt.Errorf("first administrator: %w", err)
	}
	return true, nil
}

// uidOf is the reference's uid of a login name: the part before '@'.
func uidOf(username string) string {
	uid, _, _ := strings.Cut(username, "@")
	return uid
}
