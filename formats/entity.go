package formats

import (
	"fmt"
	"strings"
)

// Entity describes one of the four input entities: its key and the
// canonical columns the engine knows. Canonical names are lower case;
// source headers match them case-insensitively.
type Entity struct {
	Name     string   // applications, entitlements, identities, assignments
	Key      []string // key columns
	IdxName  string   // dense integer id column ("" for assignments)
	Known    []string // canonical optional text columns
	Times    []string // canonical timestamp columns
	SortedBy string   // human description of the table order
}

// The four entities, in the order ingest processes them.
var entities = [...]Entity{
	{Name: "applications", Key: []string{"app_id"}, IdxName: "app_idx",
		Known: []string{"app_name", "app_owner_id", "app_criticality", "app_risk_level"}},
	{Name: "entitlements", Key: []string{"ent_id"}, IdxName: "ent_idx",
		Known: []string{"ent_name", "ent_owner_id", "app_id", "ent_criticality", "ent_risk_level"}},
	{Name: "identities", Key: []string{"usr_id"}, IdxName: "usr_idx",
		Known: []string{"usr_name", "usr_manager_id"}},
	{Name: "assignments", Key: []string{"usr_id", "ent_id"},
		Times: []string{"last_used"}},
}

// Entities returns the four entities in ingest order.
func Entities() []Entity { return entities[:] }

// EntityByName returns the named entity.
func EntityByName(name string) (Entity, error) {
	for _, e := range entities {
		if e.Name == name {
			return e, nil
		}
	}
	return Entity{}, fmt.Errorf("unknown entity %q (want applications, entitlements, identities or assignments)", name)
}

// Canonical returns the canonical column a source header names (matching
// case-insensitively) and whether it is one.
func (e Entity) Canonical(header string) (string, bool) {
	l := strings.ToLower(header)
	for _, group := range [][]string{e.Key, e.Known, e.Times} {
		for _, c := range group {
			if c == l {
				return c, true
			}
		}
	}
	return "", false
}

// IsTime reports whether a canonical column holds timestamps.
func (e Entity) IsTime(col string) bool {
	for _, c := range e.Times {
		if c == col {
			return true
		}
	}
	return false
}

// IsKey reports whether col is one of the key columns.
func (e Entity) IsKey(col string) bool {
	for _, c := range e.Key {
		if c == col {
			return true
		}
	}
	return false
}
