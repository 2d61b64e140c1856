package stages

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/internal/shared"
)

// The showcase sample ingests with its mapping into exactly the documented
// counts, and its audit names the constant, unique and renamed columns.
func TestShowcaseIngestAndAudit(t *testing.T) {
	dir := shared.Showcase(t)
	m, err := LoadMapping(shared.MappingFile())
	if err != nil {
		t.Fatal(err)
	}
	ws := newWS(t)
	res, err := ingestDir(t, ws, dir, "", m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"identities": 5200, "entitlements": 2591, "applications": 7, "assignments": 47935}
	if !reflect.DeepEqual(res.Rows, want) || res.RejectsTotal() != 0 {
		t.Errorf("rows %v rejects %d; want %v and 0", res.Rows, res.RejectsTotal(), want)
	}
	if got := table(t, ws, "entitlements", "ent_owner_id")[0][0]; got == "" {
		t.Error("ENT_OWNER must map to ent_owner_id")
	}
	gen, _ := ws.Current()
	a, err := Audit(context.Background(), gen, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][]string{}
	for _, f := range a.Findings {
		checks[f.Check] = append(checks[f.Check], f.Column)
	}
	if got := checks["constant_feature"]; !reflect.DeepEqual(got, []string{"IS_ACTIVE"}) {
		t.Errorf("constant %v, want IS_ACTIVE", got)
	}
	if got := checks["unique_feature"]; !reflect.DeepEqual(got, []string{"USR_NAME", "USR_DISPLAY_NAME"}) {
		t.Errorf("unique %v, want USR_NAME, USR_DISPLAY_NAME", got)
	}
	wantRen := []string{"DEPARTMENT / JOB_DESCRIPTION / USR_DEPARTMENT_NAME", "USR_MANAGER_ID / MANAGER_NAME"}
	if got := checks["renamed_features"]; !reflect.DeepEqual(got, wantRen) {
		t.Errorf("renamings %v, want %v", got, wantRen)
	}
	if a.InvalidAssignments != 0 || len(checks["unknown_identity"])+len(checks["unknown_entitlement"]) != 0 {
		t.Errorf("showcase has no invalid assignments, got %d", a.InvalidAssignments)
	}
	var sb strings.Builder
	a.Summary(&sb)
	for _, s := range []string{"constant: IS_ACTIVE", "unique per identity: USR_NAME, USR_DISPLAY_NAME",
		"renamings of each other: DEPARTMENT / JOB_DESCRIPTION / USR_DEPARTMENT_NAME; USR_MANAGER_ID / MANAGER_NAME"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, sb.String())
		}
	}
	// Features default: every column but usr_id, usr_name, unique and constant ones.
	if len(a.Features) != 12 {
		t.Errorf("features %v", a.Features)
	}
}
