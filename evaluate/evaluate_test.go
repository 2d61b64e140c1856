package evaluate

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func truth() *Truth {
	return &Truth{
		Rules: []PlantedRule{
			{ID: "R1", Items: []string{"04_CITY_Oslo", "08_JOB_CODE_Dev"}, Ents: []string{"e1", "e2", "e3"}, Members: 10, FireProb: 0.95},
			{ID: "R2", Items: []string{"04_DEPT_Ops"}, Ents: []string{"e4", "e5"}, Members: 20, FireProb: 0.95},
			{ID: "R3", Items: []string{"04_DEPT_Sales"}, Ents: []string{"e6", "e7", "e8", "e9", "e10"}, Members: 30, FireProb: 0.95},
		},
		Noise:      []Pair{{"u1", "e4"}, {"u2", "e99"}, {"u3", "e6"}, {"u4", "e1"}},
		Birthright: map[string]bool{"b1": true, "b2": true},
	}
}

func TestRules(t *testing.T) {
	rules := []Rule{
		// R1: e1 by the antecedent itself, e2 by a subset kept by stemming,
		// e3 only below the confidence needed.
		{Ent: "e1", Items: []string{"04_CITY_Oslo", "08_JOB_CODE_Dev"}, Freq: 10, Frequnion: 9},
		{Ent: "e2", Items: []string{"08_JOB_CODE_Dev"}, Freq: 20, Frequnion: 19},
		{Ent: "e3", Items: []string{"04_CITY_Oslo", "08_JOB_CODE_Dev"}, Freq: 10, Frequnion: 7},
		// A superset of R1's antecedent does not recover it.
		{Ent: "e3", Items: []string{"04_CITY_Oslo", "08_JOB_CODE_Dev", "0A_GRADE_G1"}, Freq: 5, Frequnion: 5},
		// R2 fully; exactly 0.75 is enough.
		{Ent: "e4", Items: []string{"04_DEPT_Ops"}, Freq: 20, Frequnion: 15},
		{Ent: "e5", Items: []string{"04_DEPT_Ops"}, Freq: 20, Frequnion: 19},
		// R3: another antecedent only.
		{Ent: "e6", Items: []string{"04_DEPT_Ops"}, Freq: 20, Frequnion: 19},
	}
	got, err := Rules(truth(), rules, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := RuleReport{Planted: 3, Recovered: 1, PlantedPairs: 10, RecoveredPairs: 4, Exact: 3}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Recall() != 1.0/3 || got.PairRecall() != 0.4 {
		t.Errorf("recall %v, pair recall %v", got.Recall(), got.PairRecall())
	}
	if _, err := Rules(truth(), rules, Options{MinRuleConfidence: -1}); err == nil {
		t.Error("a negative confidence must fail")
	}
}

func TestRoles(t *testing.T) {
	roles := []Role{
		{ID: "a", Ents: []string{"e1", "e2", "e3", "b1"}},        // R1 exactly, birthright removed
		{ID: "b", Ents: []string{"e3", "e1", "e2"}},              // the same set again: counted once
		{ID: "c", Ents: []string{"e4", "e5", "e6"}},              // Jaccard 2/3 with R2: no match
		{ID: "d", Ents: []string{"e6", "e7", "e8", "e9"}},        // Jaccard 4/5 with R3: match
		{ID: "e", Ents: []string{"b1", "b2"}},                    // birthright role
		{ID: "f", Ents: []string{"e42", "e43"}},                  // nothing planted
		{ID: "g", Ents: []string{"e6", "e7", "e8", "e9", "e10"}}, // R3 exactly
	}
	got := Roles(truth(), roles, nil, DefaultOptions())
	// Without identities no member carries a planted antecedent: every
	// role is unbacked.
	want := RoleReport{Planted: 3, Matched: 2, MinedRoles: 7, BirthrightRoles: 1, Sets: 5, TrueSets: 3, Exact: 2,
		PolicyRoles: 6, Unbacked: 6}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Recall() != 2.0/3 || got.Precision() != 0.6 {
		t.Errorf("recall %v precision %v", got.Recall(), got.Precision())
	}
	// A looser Jaccard takes R2 in as well.
	if got := Roles(truth(), roles, nil, Options{RoleJaccard: 0.6}); got.Matched != 3 || got.TrueSets != 4 {
		t.Errorf("Jaccard 0.6: %+v", got)
	}
}

func TestAnomalies(t *testing.T) {
	flagged := []Pair{{"u1", "e4"}, {"u1", "e4"}, {"u2", "e99"}, {"u5", "e1"}}
	got := Anomalies(truth(), flagged)
	want := AnomalyReport{Noise: 4, Flagged: 3, TruePositives: 2, PlantedNoise: 3, PlantedTruePositives: 1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Recall() != 0.5 || got.Precision() != 2.0/3 || got.PlantedRecall() != 1.0/3 {
		t.Errorf("recall %v precision %v planted recall %v", got.Recall(), got.Precision(), got.PlantedRecall())
	}
	if r := Anomalies(&Truth{}, nil); r.Recall() != 0 || r.Precision() != 0 {
		t.Errorf("empty: %+v", r)
	}
}

func TestReadTruth(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"planted_rules.csv": "rule_id,items,entitlements,members,fire_prob\n" +
			`R0001,"[""0C_JOBCODE_NAME_QA"",""04_CITY_Oslo""]","[""e2"",""e1""]",104,0.9664` + "\n",
		"noise_assignments.csv": "usr_id,ent_id\nu1,e4\n",
		"birthright.csv":        "ent_id,scope\nb1,all\nb2,05_EMP_T_Employee\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadTruth(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Truth{
		Rules:      []PlantedRule{{ID: "R0001", Items: []string{"04_CITY_Oslo", "0C_JOBCODE_NAME_QA"}, Ents: []string{"e1", "e2"}, Members: 104, FireProb: 0.9664}},
		Noise:      []Pair{{"u1", "e4"}},
		Birthright: map[string]bool{"b1": true, "b2": true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	os.WriteFile(filepath.Join(dir, "noise_assignments.csv"), []byte("usr,ent\n"), 0o644)
	if _, err := ReadTruth(dir); err == nil {
		t.Error("a wrong header must fail")
	}
}

// A small company whose department drives its job codes: Dev and QA lie
// within Ops. Every planted rule fires with probability 1, so a planted
// confidence is the share of members carrying a rule that grants the
// entitlement.
func policyWorld() (*Truth, []Identity) {
	t := &Truth{
		Rules: []PlantedRule{
			{ID: "R1", Items: []string{"04_DEPT_Ops"}, Ents: []string{"e1", "e2"}, FireProb: 1},
			{ID: "R2", Items: []string{"08_JOB_CODE_Dev"}, Ents: []string{"e3", "e4"}, FireProb: 1},
			{ID: "R3", Items: []string{"04_CITY_Oslo", "04_DEPT_Ops"}, Ents: []string{"e5", "e6"}, FireProb: 1},
		},
		Birthright: map[string]bool{"b1": true},
	}
	ids := []Identity{
		{"u1", []string{"04_DEPT_Ops", "08_JOB_CODE_Dev", "04_CITY_Oslo"}},
		{"u2", []string{"04_DEPT_Ops", "08_JOB_CODE_Dev", "04_CITY_Rome"}},
		{"u3", []string{"04_DEPT_Ops", "08_JOB_CODE_QA", "04_CITY_Oslo"}},
		{"u4", []string{"04_DEPT_Ops", "08_JOB_CODE_QA", "04_CITY_Rome"}},
		{"u5", []string{"04_DEPT_Sales", "08_JOB_CODE_Rep", "04_CITY_Oslo"}},
	}
	return t, ids
}

func TestRolesPolicyPrecision(t *testing.T) {
	truth, ids := policyWorld()
	roles := []Role{
		// Dev (u1, u2) carries R1 and R2: E = {e1..e4}. Its set is exactly
		// that, though it is no planted bundle (set Jaccard 1/2 with both).
		{ID: "a", Policy: []string{"08_JOB_CODE_Dev"}, Members: []string{"u1", "u2"}, Ents: []string{"e1", "e2", "e3", "e4", "b1"}},
		// Ops (u1..u4): R1 at 1; R2 and R3 at 2/4 < 0.75. E = {e1, e2}.
		{ID: "b", Policy: []string{"04_DEPT_Ops"}, Members: []string{"u1", "u2", "u3", "u4"}, Ents: []string{"e1", "e2"}},
		// Oslo+Ops (u1, u3): e1, e2 at 1 are stemmed by Ops (also 1); e5,
		// e6 at 1 are not (Oslo 2/3, Ops 2/4); e3, e4 at 1/2. E = {e5, e6}.
		{ID: "c", Policy: []string{"04_CITY_Oslo", "04_DEPT_Ops"}, Members: []string{"u1", "u3"}, Ents: []string{"e5", "e6"}},
		// Oslo+Dev (u1): e1..e6 at 1; e1..e4 are stemmed by Dev (1), e5, e6
		// are not (Oslo 2/3, Dev 1/2). E = {e5, e6}: Jaccard 1/4 with the
		// set, wrong.
		{ID: "d", Policy: []string{"04_CITY_Oslo", "08_JOB_CODE_Dev"}, Members: []string{"u1"}, Ents: []string{"e3", "e4", "e5"}},
		// Oslo+QA (u3), an intersection of planted populations: E = {e5,
		// e6} (e1, e2 stemmed by QA at 1). Its set has 2 of 3: Jaccard 2/3.
		{ID: "e", Policy: []string{"04_CITY_Oslo", "08_JOB_CODE_QA"}, Members: []string{"u3"}, Ents: []string{"e5", "e6", "e9"}},
		// Sales (u5) carries no planted antecedent: unbacked.
		{ID: "f", Policy: []string{"04_DEPT_Sales"}, Members: []string{"u5"}, Ents: []string{"e7", "e8"}},
		// Oslo (u1, u3, u5): e1, e2, e5, e6 at 2/3, e3, e4 at 1/3: E is
		// empty, unbacked.
		{ID: "g", Policy: []string{"04_CITY_Oslo"}, Members: []string{"u1", "u3", "u5"}, Ents: []string{"e1", "e2"}},
		// A member unknown to the identities carries nothing: Rome+Ops with
		// u2 and u9 has R1 at 1/2.
		{ID: "h", Policy: []string{"04_CITY_Rome", "04_DEPT_Ops"}, Members: []string{"u2", "u9"}, Ents: []string{"e1", "e2"}},
		{ID: "i", Policy: []string{"04_DEPT_Ops"}, Members: []string{"u1"}, Ents: []string{"b1"}}, // birthright role
	}
	got := Roles(truth, roles, ids, DefaultOptions())
	// Sets: six distinct; {e1, e2} is R1 and {e5, e6} is R3, {e3, e4, e5}
	// has Jaccard 2/3 with R2.
	want := RoleReport{Planted: 3, Matched: 2, Exact: 2, MinedRoles: 9, BirthrightRoles: 1, Sets: 6, TrueSets: 2,
		PolicyRoles: 8, PolicyTrue: 3, PolicyExact: 3, Unbacked: 3}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.PolicyPrecision() != 3.0/8 || got.Precision() != 1.0/3 {
		t.Errorf("policy precision %v, set precision %v", got.PolicyPrecision(), got.Precision())
	}
	// Jaccard 2/3 takes role e in.
	opt := DefaultOptions()
	opt.RoleJaccard = 0.6
	if got := Roles(truth, roles, ids, opt); got.PolicyTrue != 4 || got.PolicyExact != 3 {
		t.Errorf("Jaccard 0.6: %+v", got)
	}
	// A stem_delta of 0.4 also stems e5, e6 of c, d and e (Oslo's 2/3 is
	// within 0.4 of 1), leaving them unbacked; a and b keep theirs.
	opt = DefaultOptions()
	opt.StemDelta = 0.4
	if got := Roles(truth, roles, ids, opt); got.PolicyTrue != 2 || got.Unbacked != 6 {
		t.Errorf("stem_delta 0.4: %+v", got)
	}
}

// Two planted rules granting the same entitlement combine: a member
// carrying both holds it with probability 1 − (1 − f1)(1 − f2).
func TestRolesPlantedConfidence(t *testing.T) {
	truth := &Truth{Rules: []PlantedRule{
		{ID: "RA", Items: []string{"04_CITY_Oslo"}, Ents: []string{"e1"}, FireProb: 0.5},
		{ID: "RB", Items: []string{"04_DEPT_Ops"}, Ents: []string{"e1"}, FireProb: 0.5},
	}}
	ids := []Identity{
		{"u1", []string{"04_CITY_Oslo", "04_DEPT_Ops"}}, // 0.75
		{"u2", []string{"04_CITY_Oslo"}},                // 0.5
		{"u3", []string{"04_DEPT_Ops"}},                 // 0.5
		{"u4", []string{"04_DEPT_Sales"}},               // 0
	}
	// Oslo+Ops (u1): e1 at 0.75; Oslo (u1, u2) and Ops (u1, u3) at 0.625,
	// 0.125 away: E = {e1}.
	roles := []Role{{ID: "a", Policy: []string{"04_DEPT_Ops", "04_CITY_Oslo"}, Members: []string{"u1"}, Ents: []string{"e1"}}}
	if got := Roles(truth, roles, ids, DefaultOptions()); got.PolicyTrue != 1 || got.PolicyExact != 1 {
		t.Errorf("%+v", got)
	}
	opt := DefaultOptions()
	opt.RoleMinConfidence = 0.8
	if got := Roles(truth, roles, ids, opt); got.PolicyTrue != 0 || got.Unbacked != 1 {
		t.Errorf("role_min_confidence 0.8: %+v", got)
	}
}
