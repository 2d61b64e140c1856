package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

// Users, API keys and secrets round-trip through both stores and survive a
// load.
func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		db, _, _ := h.open(t)
		if n, err := db.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("count %d, %v", n, err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		a := User{Username: "a@x.com", DisplayName: "Ann", UID: "ann", DN: "cn=a", GIDNumber: "7", PasswordHash: "$h1",
			Groups: []string{"Zoran Admin"}, Created: t0}
		b := User{Username: "b@x.com", DisplayName: "Bob", UID: "bob", GIDNumber: "3", Groups: []string{"Zoran User"}, Created: t0}
		for _, u := range []User{a, b} {
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateUser(ctx, a); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate user: %v, want ErrConflict", err)
		}
		got, err := db.User(ctx, "a@x.com")
		if err != nil {
			t.Fatal(err)
		}
		a.Updated = t0
		if !reflect.DeepEqual(got, a) {
			t.Errorf("user\n got %+v\nwant %+v", got, a)
		}
		if _, err := db.User(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing user: %v", err)
		}
		hash, name := "$h2", "Anne"
		if err := db.UpdateUser(ctx, "a@x.com", UserUpdate{PasswordHash: &hash, DisplayName: &name, Groups: []string{"Zoran Supervisor"}}); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateUser(ctx, "nobody", UserUpdate{PasswordHash: &hash}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update missing: %v", err)
		}
		if err := db.SetUserDisabled(ctx, "b@x.com", true); err != nil {
			t.Fatal(err)
		}
		if err := db.SetUserDisabled(ctx, "nobody", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("disable missing: %v", err)
		}
		got, _ = db.User(ctx, "a@x.com")
		if got.PasswordHash != "$h2" || got.DisplayName != "Anne" || !reflect.DeepEqual(got.Groups, []string{"Zoran Supervisor"}) || !got.Updated.After(t0) {
			t.Errorf("updated user %+v", got)
		}
		mustLoad(t, db, newFakeRun(t, "run-1", false, 1))
		all, err := db.Users(ctx, UserQuery{SortBy: "gidNumber"})
		if err != nil || len(all) != 2 || all[0].Username != "b@x.com" || !all[0].Disabled || all[1].Disabled {
			t.Fatalf("users by gid after a load: %+v, %v", all, err)
		}
		page, err := db.Users(ctx, UserQuery{Limit: 1, Offset: 1})
		if err != nil || len(page) != 1 || page[0].Username != "b@x.com" {
			t.Errorf("page: %+v, %v", page, err)
		}
		if page, err := db.Users(ctx, UserQuery{Offset: 1}); err != nil || len(page) != 1 {
			t.Errorf("offset only: %+v, %v", page, err)
		}
		if _, err := db.Users(ctx, UserQuery{SortBy: "password"}); err == nil {
			t.Error("sorting by an unknown key must fail")
		}
	})
}

func TestAPIKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		db, _, _ := h.open(t)
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		k1 := APIKey{ID: "k1", Hash: "h1", Name: "ingest", Description: "d", Owner: "a@x.com", Created: t0, Expires: t0.Add(time.Hour)}
		k2 := APIKey{ID: "k2", Hash: "h2", Name: "forever", Owner: "a@x.com", Created: t0.Add(time.Second)}
		for _, k := range []APIKey{k1, k2} {
			if err := db.CreateAPIKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateAPIKey(ctx, APIKey{ID: "k3", Hash: "h1"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate hash: %v", err)
		}
		got, err := db.APIKeyByHash(ctx, "h1")
		if err != nil || !reflect.DeepEqual(got, k1) {
			t.Errorf("by hash\n got %+v, %v\nwant %+v", got, err, k1)
		}
		if !got.Valid(t0) || got.Valid(t0.Add(time.Hour)) {
			t.Error("expiry not honoured")
		}
		if _, err := db.APIKeyByHash(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing: %v", err)
		}
		if err := db.RevokeAPIKey(ctx, "k2", "b@x.com", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeAPIKey(ctx, "k2", "c@x.com", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeAPIKey(ctx, "nope", "b", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke missing: %v", err)
		}
		got, err = db.APIKey(ctx, "k2")
		if err != nil || !got.Revoked.Equal(t0.Add(time.Minute)) || got.Modifier != "c@x.com" || got.Valid(t0) {
			t.Errorf("revoked key %+v, %v", got, err)
		}
		all, err := db.APIKeys(ctx, 0, 0)
		if err != nil || len(all) != 2 || all[0].ID != "k1" {
			t.Errorf("keys %+v, %v", all, err)
		}
		if page, err := db.APIKeys(ctx, 1, 1); err != nil || len(page) != 1 || page[0].ID != "k2" {
			t.Errorf("page %+v, %v", page, err)
		}
	})
}

func TestSecretAndReady(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		db, _, _ := h.open(t)
		if err := db.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		vals := make([]string, 4)
		for i := range vals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := db.Secret(ctx, "jwt", func() (string, error) { return string(rune('a' + i)), nil })
				if err != nil {
					t.Error(err)
				}
				vals[i] = v
			}()
		}
		wg.Wait()
		for _, v := range vals {
			if v != vals[0] || v == "" {
				t.Fatalf("concurrent first calls disagree: %q", vals)
			}
		}
		if _, err := db.MigrateDown(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := db.Ready(ctx); !errors.Is(err, ErrMigration) {
			t.Errorf("ready on an old schema: %v", err)
		}
	})
}
