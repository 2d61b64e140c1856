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
	got := Roles(truth(), roles, DefaultOptions())
	want := RoleReport{Planted: 3, Matched: 2, MinedRoles: 7, BirthrightRoles: 1, Sets: 5, TrueSets: 3, Exact: 2}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Recall() != 2.0/3 || got.Precision() != 0.6 {
		t.Errorf("recall %v precision %v", got.Recall(), got.Precision())
	}
	// A looser Jaccard takes R2 in as well.
	if got := Roles(truth(), roles, Options{RoleJaccard: 0.6}); got.Matched != 3 || got.TrueSets != 4 {
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
