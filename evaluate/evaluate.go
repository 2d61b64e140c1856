// Package evaluate measures the analysis jobs against the ground truth that
// `autoid gen` plants: how many planted rules train recovers, how many
// planted roles mine recovers, and how many noise assignments anomaly
// flags. The measures are pure functions of the truth and the job outputs;
// reading them from files is separate (truth.go, tables.go).
//
// Definitions (also in `autoid evaluate --help` and benchmarks/README.md):
//
//   - Rules. A planted rule grants its bundle E to the identities carrying
//     its antecedent A. The pair (A, e), e in E, is recovered when the rules
//     table holds a rule P -> e with P ⊆ A (A itself, or a subset that
//     stemming kept in its place) and confidence >= MinRuleConfidence. A
//     planted rule is recovered when all its pairs are.
//   - Roles. Birthright entitlements (truth/birthright.csv) are removed from
//     every mined role's entitlement set; a mined role left with none is a
//     birthright role and takes no further part. Mined roles are compared as
//     entitlement sets: several roles (policies) with the same set count as
//     one set. A mined set S matches a planted role with bundle E when
//     |S ∩ E| / |S ∪ E| >= RoleJaccard (1 = the same set). Recall = planted
//     roles matched by at least one mined set / planted roles; precision =
//     mined sets that match at least one planted role / mined sets. This
//     set precision ignores what a role's policy stands for: the
//     attributes are correlated (a job code lies within one department),
//     so the role of a job code rightly carries its department's bundle
//     too. Policy precision judges each role against its policy P instead.
//     The planted probability that identity u holds e is hold(u, e) =
//     1 − ∏ (1 − fire_R) over the planted rules R granting e whose
//     antecedent u carries; the planted confidence conf*(Q → e) of a policy
//     Q is the mean of hold over its members (for P, the role's members;
//     for a sub-policy, the identities whose items contain it). E(P), the
//     set P should carry, is what SPEC 6 would mine from these planted
//     confidences: every e with conf*(P → e) >= RoleMinConfidence that
//     stemming (SPEC 3) keeps, i.e. no non-empty proper subset Q ⊂ P has
//     |conf*(P → e) − conf*(Q → e)| <= StemDelta. Birthrights and noise
//     are left out. A role is correct when |S ∩ E(P)| / |S ∪ E(P)| >=
//     RoleJaccard; a role with E(P) empty is unbacked (on the planted
//     truth its policy would yield no role) and wrong. Policy precision =
//     correct roles / roles that are not birthright roles.
//   - Anomalies. The flagged assignments (usr_id, ent_id) against the noise
//     assignments of the truth: precision = flagged noise / flagged, recall
//     = flagged noise / noise. Reported besides: the recall on the noise
//     assignments of entitlements that some planted rule grants.
package evaluate

import (
	"slices"
	"strings"

	"github.com/autoid-oss/autoid/mining"
)

// PlantedRule is one rule of the ground truth: identities carrying all
// Items hold each of Ents with probability FireProb.
type PlantedRule struct {
	ID       string
	Items    []string // encoded items, sorted by bytes
	Ents     []string // ent_ids, sorted by bytes
	Members  int64
	FireProb float64
}

// Pair is one assignment.
type Pair struct{ Usr, Ent string }

// Truth is the ground truth of a generated company.
type Truth struct {
	Rules      []PlantedRule
	Noise      []Pair
	Birthright map[string]bool // ent_id -> true
}

// Rule is a stemmed rule of the rules table.
type Rule struct {
	Ent             string
	Items           []string // sorted by bytes
	Freq, Frequnion int64
}

// Role is a mined role of the roles table.
type Role struct {
	ID      string
	Policy  []string
	Ents    []string
	Members []string // usr_ids
}

// Identity is an identity of the entity tables with its items (encoded
// attribute values, any order).
type Identity struct {
	ID    string
	Items []string
}

// Options are the matching thresholds.
type Options struct {
	// MinRuleConfidence: the confidence a rule P -> e (P ⊆ A) needs for the
	// planted pair (A, e) to count as recovered. Default 0.75 (the High
	// band: the planted assignments score High).
	MinRuleConfidence float64
	// RoleJaccard: the Jaccard similarity of entitlement sets at which a
	// mined role matches a planted one. Default 0.8.
	RoleJaccard float64
	// RoleMinConfidence and StemDelta are the run's role_min_confidence
	// and stem_delta (SPEC 6 and 3), applied to the planted confidences to
	// derive the set a role's policy should carry. Defaults 0.75 and 0.05,
	// the engine's defaults.
	RoleMinConfidence, StemDelta float64
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{MinRuleConfidence: 0.75, RoleJaccard: 0.8, RoleMinConfidence: 0.75, StemDelta: 0.05}
}

// RuleReport says how many planted rules train recovered.
type RuleReport struct {
	Planted, Recovered           int // planted rules, those with every pair recovered
	PlantedPairs, RecoveredPairs int // (antecedent, entitlement) pairs
	// Exact: recovered pairs whose rule is the planted antecedent itself
	// (not a subset kept by stemming).
	Exact int
}

// Recall is Recovered / Planted (0 when nothing was planted).
func (r RuleReport) Recall() float64 { return ratio(r.Recovered, r.Planted) }

// PairRecall is RecoveredPairs / PlantedPairs.
func (r RuleReport) PairRecall() float64 { return ratio(r.RecoveredPairs, r.PlantedPairs) }

// RoleReport says how many planted roles mine recovered.
type RoleReport struct {
	Planted, Matched int // planted roles; those matched by a mined set
	// MinedRoles: rows of the roles table; BirthrightRoles: of them, with
	// only birthright entitlements; Sets: distinct entitlement sets of the
	// others; TrueSets: sets matching a planted role.
	MinedRoles, BirthrightRoles, Sets, TrueSets int
	// Exact: planted roles whose bundle is exactly a mined set.
	Exact int
	// Policy precision. PolicyRoles: mined roles that are not birthright
	// roles; PolicyTrue: of them, those whose set matches E(P), the
	// bundles of the planted rules every member carries the antecedent
	// of; PolicyExact: those whose set is E(P); Unbacked: those with E(P)
	// empty (no planted rule covers all members).
	PolicyRoles, PolicyTrue, PolicyExact, Unbacked int
}

// Recall is Matched / Planted.
func (r RoleReport) Recall() float64 { return ratio(r.Matched, r.Planted) }

// Precision is the set precision TrueSets / Sets.
func (r RoleReport) Precision() float64 { return ratio(r.TrueSets, r.Sets) }

// PolicyPrecision is PolicyTrue / PolicyRoles.
func (r RoleReport) PolicyPrecision() float64 { return ratio(r.PolicyTrue, r.PolicyRoles) }

// AnomalyReport compares the flagged assignments with the planted noise.
type AnomalyReport struct {
	Noise, Flagged, TruePositives int
	// PlantedNoise: the noise assignments on entitlements that some
	// planted rule grants (the others are held by noise alone, so no
	// holder population explains them); PlantedTruePositives: of them,
	// flagged.
	PlantedNoise, PlantedTruePositives int
}

// PlantedRecall is PlantedTruePositives / PlantedNoise.
func (r AnomalyReport) PlantedRecall() float64 { return ratio(r.PlantedTruePositives, r.PlantedNoise) }

// Recall is TruePositives / Noise.
func (r AnomalyReport) Recall() float64 { return ratio(r.TruePositives, r.Noise) }

// Precision is TruePositives / Flagged.
func (r AnomalyReport) Precision() float64 { return ratio(r.TruePositives, r.Flagged) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// subsetOf reports whether the sorted list p is a subset of the sorted
// list a.
func subsetOf(p, a []string) bool {
	j := 0
	for _, x := range p {
		for j < len(a) && a[j] < x {
			j++
		}
		if j == len(a) || a[j] != x {
			return false
		}
		j++
	}
	return true
}

// Rules measures how many planted rules the stemmed rules recover.
func Rules(t *Truth, rules []Rule, opt Options) (RuleReport, error) {
	minConf, err := mining.RatioOf(opt.MinRuleConfidence)
	if err != nil {
		return RuleReport{}, err
	}
	byEnt := map[string][]*Rule{}
	for i := range rules {
		r := &rules[i]
		if r.Freq > 0 && minConf.AtLeast(r.Frequnion, r.Freq) {
			byEnt[r.Ent] = append(byEnt[r.Ent], r)
		}
	}
	var rep RuleReport
	rep.Planted = len(t.Rules)
	for _, pr := range t.Rules {
		all := true
		for _, e := range pr.Ents {
			rep.PlantedPairs++
			found, exact := false, false
			for _, r := range byEnt[e] {
				if subsetOf(r.Items, pr.Items) {
					found = true
					exact = exact || len(r.Items) == len(pr.Items)
				}
			}
			if found {
				rep.RecoveredPairs++
			} else {
				all = false
			}
			if exact {
				rep.Exact++
			}
		}
		if all {
			rep.Recovered++
		}
	}
	return rep, nil
}

// jaccard is |a ∩ b| / |a ∪ b| of sorted, duplicate-free lists.
func jaccard(a, b []string) float64 {
	i, j, inter := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			inter++
			i++
			j++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 1
	}
	return float64(inter) / float64(union)
}

// Roles measures how many planted roles the mined roles recover, and how
// precise the mined roles are as entitlement sets and against their
// policies. ids are the identities the roles were mined from; a member
// missing from them carries no planted antecedent.
func Roles(t *Truth, roles []Role, ids []Identity, opt Options) RoleReport {
	rep := RoleReport{Planted: len(t.Rules), MinedRoles: len(roles)}
	// Index the planted bundles by entitlement: a set can only match a
	// bundle it shares an entitlement with.
	byEnt := map[string][]int{}
	bundles := make([][]string, len(t.Rules))
	for i, pr := range t.Rules {
		var b []string
		for _, e := range pr.Ents {
			if !t.Birthright[e] {
				b = append(b, e)
			}
		}
		slices.Sort(b)
		bundles[i] = slices.Compact(b)
		for _, e := range bundles[i] {
			byEnt[e] = append(byEnt[e], i)
		}
	}
	exp := newExpected(t, ids, bundles, opt)
	sets := map[string][]string{}
	for _, r := range roles {
		var s []string
		for _, e := range r.Ents {
			if !t.Birthright[e] {
				s = append(s, e)
			}
		}
		if len(s) == 0 {
			rep.BirthrightRoles++
			continue
		}
		slices.Sort(s)
		s = slices.Compact(s)
		sets[strings.Join(s, "\x00")] = s

		rep.PolicyRoles++
		want := exp.role(r.Policy, r.Members)
		if len(want) == 0 {
			rep.Unbacked++
			continue
		}
		if j := jaccard(s, want); j >= opt.RoleJaccard {
			rep.PolicyTrue++
			if j == 1 {
				rep.PolicyExact++
			}
		}
	}
	rep.Sets = len(sets)
	matched := make([]bool, len(t.Rules))
	exact := make([]bool, len(t.Rules))
	for _, s := range sets {
		hit := false
		seen := map[int]bool{}
		for _, e := range s {
			for _, i := range byEnt[e] {
				if seen[i] {
					continue
				}
				seen[i] = true
				if j := jaccard(s, bundles[i]); j >= opt.RoleJaccard {
					hit = true
					matched[i] = true
					if j == 1 {
						exact[i] = true
					}
				}
			}
		}
		if hit {
			rep.TrueSets++
		}
	}
	for i := range matched {
		if matched[i] {
			rep.Matched++
		}
		if exact[i] {
			rep.Exact++
		}
	}
	return rep
}

// Anomalies compares the flagged assignments with the planted noise.
func Anomalies(t *Truth, flagged []Pair) AnomalyReport {
	granted := map[string]bool{}
	for _, r := range t.Rules {
		for _, e := range r.Ents {
			granted[e] = true
		}
	}
	noise := make(map[Pair]bool, len(t.Noise))
	for _, p := range t.Noise {
		noise[p] = true
	}
	rep := AnomalyReport{Noise: len(noise)}
	for p := range noise {
		if granted[p.Ent] {
			rep.PlantedNoise++
		}
	}
	seen := make(map[Pair]bool, len(flagged))
	for _, p := range flagged {
		if seen[p] {
			continue
		}
		seen[p] = true
		rep.Flagged++
		if noise[p] {
			rep.TruePositives++
			if granted[p.Ent] {
				rep.PlantedTruePositives++
			}
		}
	}
	return rep
}
