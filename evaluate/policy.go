package evaluate

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// expected derives, for a role's policy, the entitlement set that the
// planted truth makes it carry: SPEC 6 and the stemming of SPEC 3 applied
// to planted confidences instead of observed ones.
//
// The planted probability that identity u holds entitlement e is
// hold(u, e) = 1 − ∏ (1 − fire_R) over the planted rules R that grant e and
// whose antecedent u carries (0 when there is none); noise is left out. The
// planted confidence of a policy Q with members M(Q) is
// conf*(Q → e) = Σ_{u ∈ M(Q)} hold(u, e) / |M(Q)|. The expected set E(P) of
// a policy P holds every e with conf*(P → e) ≥ RoleMinConfidence that
// stemming keeps: no non-empty proper subset Q ⊂ P has
// |conf*(P → e) − conf*(Q → e)| ≤ StemDelta.
//
// Identities carrying the same planted rules hold the same entitlements
// with the same probabilities, so a policy's members are reduced to counts
// per signature (the set of planted rules carried).
type expected struct {
	opt       Options
	sigOf     map[string]int32     // usr_id -> signature
	sigHold   []map[string]float64 // signature -> entitlement -> hold
	items     [][]string           // per identity (ids order), sorted
	postings  map[string][]int32   // item -> identities carrying it
	sigByIdx  []int32              // identity (ids order) -> signature
	confCache map[string]map[string]float64
}

func newExpected(t *Truth, ids []Identity, bundles [][]string, opt Options) *expected {
	x := &expected{opt: opt, sigOf: make(map[string]int32, len(ids)), items: make([][]string, len(ids)),
		postings: map[string][]int32{}, sigByIdx: make([]int32, len(ids)), confCache: map[string]map[string]float64{}}
	// Key each rule on its first item: an identity can only carry the
	// rules keyed on one of its items.
	byFirst := map[string][]int{}
	for i, r := range t.Rules {
		if len(r.Items) > 0 {
			byFirst[r.Items[0]] = append(byFirst[r.Items[0]], i)
		}
	}
	sigIDs := map[string]int32{}
	var key strings.Builder
	var carried []int
	for k, id := range ids {
		items := slices.Clone(id.Items)
		slices.Sort(items)
		items = slices.Compact(items)
		x.items[k] = items
		carried = carried[:0]
		for _, it := range items {
			x.postings[it] = append(x.postings[it], int32(k))
			for _, i := range byFirst[it] {
				if subsetOf(t.Rules[i].Items, items) {
					carried = append(carried, i)
				}
			}
		}
		slices.Sort(carried)
		key.Reset()
		for _, i := range carried {
			key.WriteString(strconv.Itoa(i))
			key.WriteByte(' ')
		}
		sig, ok := sigIDs[key.String()]
		if !ok {
			sig = int32(len(x.sigHold))
			sigIDs[key.String()] = sig
			miss := map[string]float64{} // entitlement -> probability of holding none of its grants
			for _, i := range carried {
				for _, e := range bundles[i] {
					if _, seen := miss[e]; !seen {
						miss[e] = 1
					}
					miss[e] *= 1 - t.Rules[i].FireProb
				}
			}
			hold := make(map[string]float64, len(miss))
			for e, m := range miss {
				hold[e] = 1 - m
			}
			x.sigHold = append(x.sigHold, hold)
		}
		x.sigOf[id.ID] = sig
		x.sigByIdx[k] = sig
	}
	return x
}

// confs returns conf*(Q → e) for every e some member may hold, Q's
// members given as counts per signature (-1: an identity unknown to the
// identities table, carrying no planted rule).
func (x *expected) confs(h map[int32]int) map[string]float64 {
	n := 0
	out := map[string]float64{}
	for sig, c := range h {
		n += c
		if sig < 0 {
			continue
		}
		for e, p := range x.sigHold[sig] {
			out[e] += float64(c) * p
		}
	}
	for e := range out {
		out[e] /= float64(n)
	}
	return out
}

// memberConfs is confs of a role's members.
func (x *expected) memberConfs(members []string) map[string]float64 {
	h := map[int32]int{}
	for _, u := range members {
		sig, ok := x.sigOf[u]
		if !ok {
			sig = -1
		}
		h[sig]++
	}
	return x.confs(h)
}

// policyConfs is confs of the identities whose items contain the sorted
// policy q, cached: the sub-policies of many roles are the same.
func (x *expected) policyConfs(q []string) map[string]float64 {
	key := strings.Join(q, "\x00")
	if c, ok := x.confCache[key]; ok {
		return c
	}
	h := map[int32]int{}
	// Walk the rarest item's identities.
	rare := q[0]
	for _, it := range q[1:] {
		if len(x.postings[it]) < len(x.postings[rare]) {
			rare = it
		}
	}
	for _, k := range x.postings[rare] {
		if subsetOf(q, x.items[k]) {
			h[x.sigByIdx[k]]++
		}
	}
	c := x.confs(h)
	x.confCache[key] = c
	return c
}

// role returns E(P), sorted, for the policy p with the given members.
func (x *expected) role(p []string, members []string) []string {
	conf := x.memberConfs(members)
	policy := slices.Clone(p)
	slices.Sort(policy)
	policy = slices.Compact(policy)
	var subs [][]string
	for mask := 1; mask < 1<<len(policy)-1; mask++ {
		var q []string
		for b, it := range policy {
			if mask&(1<<b) != 0 {
				q = append(q, it)
			}
		}
		subs = append(subs, q)
	}
	var out []string
	for e, c := range conf {
		if c < x.opt.RoleMinConfidence-eps {
			continue
		}
		stemmed := false
		for _, q := range subs {
			if math.Abs(c-x.policyConfs(q)[e]) <= x.opt.StemDelta+eps {
				stemmed = true
				break
			}
		}
		if !stemmed {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// eps absorbs float rounding in the threshold comparisons: planted
// confidences are averages of products of fire probabilities.
const eps = 1e-9
