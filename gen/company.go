package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Canonical column names of the generated tables.
const (
	colUsrID       = "usr_id"
	colUsrName     = "usr_name"
	colManagerID   = "usr_manager_id"
	colDepartment  = "usr_department_name"
	colJobCode     = "jobcode_name"
	colCity        = "city"
	colCostCenter  = "cost_center"
	colEmpType     = "usr_emp_type"
	colLOB         = "line_of_business"
	colChief       = "chief_yes_no"
	colManagerName = "manager_name"
	colLOBSubgroup = "line_of_business_subgroup"
)

// baseAttributes is the order in which the realistic HR attributes are added
// as Config.Attributes grows; further attributes are attr_NN.
var baseAttributes = []string{
	colDepartment, colJobCode, colCity, colCostCenter, colEmpType,
	colLOB, colChief, colManagerName, colLOBSubgroup,
}

// attribute is one HR attribute column of identities.
type attribute struct {
	name     string
	values   []string
	col      []uint16 // value index per identity; nil for manager_name
	counts   []int    // identities per value
	ruleable bool     // may appear in a planted rule
}

// itemRef is one attribute value: an index into company.attrs and a value
// index.
type itemRef struct {
	attr int
	val  uint16
}

// rule is a planted rule: identities carrying all items get each entitlement
// of the bundle with probability fire.
type rule struct {
	items   []itemRef // sorted by attr
	ents    []int32   // sorted
	fire    float64
	members int // identities carrying all items
}

// birthright is an entitlement granted to everyone (attr < 0) or everyone
// with one attribute value.
type birthright struct {
	ent   int32
	attr  int
	val   uint16
	scope string
}

type application struct {
	id, name, owner, criticality, risk string
}

type entitlement struct {
	id, name, owner, appID, criticality, risk string
}

// ruleIndex lists, per value of one attribute, the rules keyed on that value.
type ruleIndex struct {
	start []int32 // len = cardinality+1
	rules []int32
}

// company is the generated world except the assignments, which are produced
// per identity from it while writing.
type company struct {
	cfg     Config
	n       int
	usrID   []string
	usrName []string
	manager []int32 // -1: none
	attrs   []*attribute
	apps    []application
	ents    []entitlement
	nBirth  int // entitlements 0..nBirth-1 are birthrights
	birth   []birthright
	rules   []rule
	ruleIdx []ruleIndex // per attrs entry; start is nil when no rule is keyed on it

	birthExpected   float64
	plantedTarget   float64
	plantedExpected float64
	noiseLambda     float64
	noiseModel      NoiseModel // the model in effect (uniform when no rule is planted)
	noiseRules      dist       // misplaced noise: rule weights
	entRules        [][]int32  // misplaced noise: per entitlement, the rules granting it
	ruleAttempts    int
	reusedEnts      bool
}

// hr holds the full set of realistic HR columns before the output columns
// are chosen.
type hr struct {
	dept, job, city, cc, emp, lob, chief, sub         []uint16
	deptV, jobV, cityV, ccV, empV, lobV, chiefV, subV []string
	generic                                           []*attribute
	role                                              []uint8 // roleStaff, roleManager, roleHead
	ownerPool                                         []int32
}

const (
	roleStaff uint8 = iota
	roleManager
	roleHead
)

// deptProfile is how a department draws its identities' attributes.
type deptProfile struct {
	cities   []int // global city indices; [0] is the headquarters
	cityDist dist
	jobs     []int // staff job code vocabulary indices
	jobDist  dist
	headJob  int
	mgrJob   int
	ccs      []int
	subs     [2]int
	lob      int
	empDist  dist
}

func build(cfg Config) (*company, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x6175746f69642067))
	c := &company{cfg: cfg, n: cfg.Identities}
	h := c.buildHR(r)
	c.buildNames(r)
	c.selectAttributes(h)
	c.buildApps(r, h)
	c.buildEntitlements(r, h)
	c.buildBirthrights()
	if err := c.planRules(r); err != nil {
		return nil, err
	}
	c.buildRuleIndex()
	c.planNoise()
	return c, nil
}

// vocab assigns indices to distinct strings in insertion order.
type vocab struct {
	values []string
	index  map[string]int
}

func newVocab() *vocab { return &vocab{index: map[string]int{}} }

func (v *vocab) add(s string) int {
	if i, ok := v.index[s]; ok {
		return i
	}
	v.values = append(v.values, s)
	v.index[s] = len(v.values) - 1
	return len(v.values) - 1
}

func nameOr(list []string, i int, format string) string {
	if i < len(list) {
		return list[i]
	}
	return fmt.Sprintf(format, i+1)
}

func (c *company) buildHR(r *rand.Rand) *hr {
	cfg, n := c.cfg, c.n
	D := cfg.Departments
	h := &hr{}

	// Departments: Zipf sizes in a seed-dependent order; the executive office
	// is small.
	ranks := r.Perm(D - 1)
	dw := make([]float64, D)
	for d := 1; d < D; d++ {
		dw[d] = 1 / math.Pow(float64(ranks[d-1]+1), 0.7)
	}
	dw[0] = dw[slices.Index(ranks, D-2)+1] * 0.3
	deptDist := newDist(dw)
	for d := range D {
		h.deptV = append(h.deptV, nameOr(departmentNames, d, "Department %d"))
	}

	// Cities: big cities host more departments.
	for k := range cfg.Cities {
		h.cityV = append(h.cityV, nameOr(cityNames, k, "City %d"))
	}
	cityDist := newDist(zipfWeights(cfg.Cities, 1))

	L := min(max((D+3)/4, 2), len(lineOfBusinessNames))
	h.lobV = lineOfBusinessNames[:L]
	jobs, ccs, subs := newVocab(), newVocab(), newVocab()
	ceoJob := jobs.add("Chief Executive Officer")
	internJob := jobs.add("Intern")
	h.empV = empTypes
	h.chiefV = []string{"No", "Yes"}

	prof := make([]deptProfile, D)
	for d := range D {
		p := &prof[d]
		dn := h.deptV[d]
		// Cities: a headquarters and up to five more.
		p.cities = []int{cityDist.pick(r)}
		extra := min(cfg.Cities-1, 1+r.IntN(5))
		for tries := 0; len(p.cities) < 1+extra && tries < 50; tries++ {
			if k := cityDist.pick(r); !slices.Contains(p.cities, k) {
				p.cities = append(p.cities, k)
			}
		}
		cw := []float64{0.55}
		if len(p.cities) > 1 {
			z := zipfWeights(len(p.cities)-1, 1)
			var s float64
			for _, w := range z {
				s += w
			}
			for _, w := range z {
				cw = append(cw, 0.45*w/s)
			}
		}
		p.cityDist = newDist(cw)
		// Job codes.
		for j := range cfg.JobCodesPerDept {
			title := jobTitles[(d*7+j)%len(jobTitles)]
			level := jobLevels[(j+j/len(jobTitles))%len(jobLevels)]
			p.jobs = append(p.jobs, jobs.add(dn+" "+title+" "+level))
		}
		p.jobDist = newDist(zipfWeights(cfg.JobCodesPerDept, 0.8))
		if d == 0 {
			p.headJob = ceoJob
		} else {
			p.headJob = jobs.add("Head of " + dn)
		}
		p.mgrJob = jobs.add(dn + " Manager")
		for k := range cfg.CostCentersPerDept {
			p.ccs = append(p.ccs, ccs.add(fmt.Sprintf("CC%d%02d", 100+d, k+1)))
		}
		if d > 0 {
			p.lob = 1 + (d-1)%(L-1)
		}
		for s := range 2 {
			p.subs[s] = subs.add(h.lobV[p.lob] + " - " + subgroupSuffixes[(d+s)%len(subgroupSuffixes)])
		}
		contractor := 0.04 + 0.22*r.Float64()
		p.empDist = newDist([]float64{1 - contractor - 0.05, contractor, 0.03, 0.02})
	}
	h.jobV, h.ccV, h.subV = jobs.values, ccs.values, subs.values

	// Departments of identities, and their members in index order.
	h.dept = make([]uint16, n)
	members := make([][]int32, D)
	for i := range n {
		d := deptDist.pick(r)
		h.dept[i] = uint16(d)
	}
	if !slices.Contains(h.dept, 0) {
		h.dept[0] = 0
	}
	for i := range n {
		d := h.dept[i]
		members[d] = append(members[d], int32(i))
	}

	// Roles and managers: the first member of a department heads it (the
	// head of department 0 is the CEO), the next ones are its managers.
	h.role = make([]uint8, n)
	c.manager = make([]int32, n)
	// Heads and managers are random members, so they are spread over the
	// identity table.
	for d := range D {
		m := members[d]
		for k := range m {
			j := k + r.IntN(len(m)-k)
			m[k], m[j] = m[j], m[k]
		}
	}
	ceo := members[0][0]
	mgrs := make([][]int32, D)
	for d := range D {
		m := members[d]
		if len(m) == 0 {
			continue
		}
		h.role[m[0]] = roleHead
		h.ownerPool = append(h.ownerPool, m[0])
		if m[0] == ceo {
			c.manager[m[0]] = -1
		} else {
			c.manager[m[0]] = ceo
		}
		nm := (len(m) - 1) / (cfg.ManagerSpan + 1)
		mgrs[d] = m[1 : 1+nm]
		for _, i := range mgrs[d] {
			h.role[i] = roleManager
			c.manager[i] = m[0]
			h.ownerPool = append(h.ownerPool, i)
		}
	}
	slices.Sort(h.ownerPool)

	h.job = make([]uint16, n)
	h.city = make([]uint16, n)
	h.cc = make([]uint16, n)
	h.emp = make([]uint16, n)
	h.lob = make([]uint16, n)
	h.chief = make([]uint16, n)
	h.sub = make([]uint16, n)
	cityLocal := make([]uint8, n)
	costCenter := func(p *deptProfile, local int) uint16 {
		if r.Float64() < 0.85 {
			return uint16(p.ccs[local%len(p.ccs)])
		}
		return uint16(p.ccs[r.IntN(len(p.ccs))])
	}
	// Pass 1: heads and managers.
	for i := range n {
		if h.role[i] == roleStaff {
			continue
		}
		d := int(h.dept[i])
		p := &prof[d]
		local := p.cityDist.pick(r)
		cityLocal[i] = uint8(local)
		h.city[i] = uint16(p.cities[local])
		h.cc[i] = costCenter(p, local)
		h.emp[i] = 0
		h.lob[i] = uint16(p.lob)
		h.sub[i] = uint16(p.subs[0])
		if h.role[i] == roleHead {
			h.job[i] = uint16(p.headJob)
			h.chief[i] = 1
		} else {
			h.job[i] = uint16(p.mgrJob)
		}
	}
	// Pass 2: staff report to a manager of their department and mostly sit in
	// the manager's city.
	for i := range n {
		if h.role[i] != roleStaff {
			continue
		}
		d := int(h.dept[i])
		p := &prof[d]
		var mgr int32
		if len(mgrs[d]) > 0 {
			mgr = mgrs[d][r.IntN(len(mgrs[d]))]
		} else {
			mgr = members[d][0]
		}
		c.manager[i] = mgr
		local := int(cityLocal[mgr])
		if r.Float64() >= 0.85 {
			local = p.cityDist.pick(r)
		}
		cityLocal[i] = uint8(local)
		h.city[i] = uint16(p.cities[local])
		h.cc[i] = costCenter(p, local)
		h.emp[i] = uint16(p.empDist.pick(r))
		h.lob[i] = uint16(p.lob)
		if h.emp[i] == 2 { // Intern
			h.job[i] = uint16(internJob)
			h.sub[i] = uint16(p.subs[0])
		} else {
			j := p.jobDist.pick(r)
			h.job[i] = uint16(p.jobs[j])
			h.sub[i] = uint16(p.subs[j%2])
		}
	}

	// Generic attributes; every other one leans on the department.
	for j := 1; j <= cfg.Attributes-len(baseAttributes); j++ {
		card := max(2, cfg.AttrCardinality>>((j-1)%3))
		a := &attribute{name: fmt.Sprintf("attr_%02d", j), col: make([]uint16, n), ruleable: true}
		prefix := genericPrefixes[(j-1)%len(genericPrefixes)]
		for v := range card {
			a.values = append(a.values, fmt.Sprintf("%s-%02d", prefix, v+1))
		}
		vd := newDist(zipfWeights(card, 0.9))
		var pref []uint16
		if j%2 == 1 {
			pref = make([]uint16, D)
			for d := range pref {
				pref[d] = uint16(r.IntN(card))
			}
		}
		for i := range n {
			if pref != nil && r.Float64() < 0.6 {
				a.col[i] = pref[h.dept[i]]
			} else {
				a.col[i] = uint16(vd.pick(r))
			}
		}
		h.generic = append(h.generic, a)
	}
	return h
}

// buildNames gives every identity a unique display name "First M. Last" (a
// seed-dependent bijection of the index onto the name space) and a usr_id
// "first.last" with a counter suffix for repeated first/last pairs.
func (c *company) buildNames(r *rand.Rand) {
	F, M, L := uint64(len(firstNames)), uint64(26), uint64(len(lastNames))
	space := F * M * L
	reps := (uint64(c.n) + space - 1) / space
	space *= reps
	var a uint64
	for {
		a = 1 + r.Uint64N(space-1)
		if gcd(a, space) == 1 {
			break
		}
	}
	b := r.Uint64N(space)
	idLast := make([]string, L)
	for k, s := range lastNames {
		idLast[k] = strings.ToLower(strings.NewReplacer("'", "", " ", "").Replace(s))
	}
	seen := make([]uint32, F*L)
	c.usrID = make([]string, c.n)
	c.usrName = make([]string, c.n)
	for i := range c.n {
		x := (a*uint64(i) + b) % space
		f := x % F
		x /= F
		m := x % M
		x /= M
		l := x % L
		rep := x / L
		name := firstNames[f] + " " + string(rune('A'+m)) + ". " + lastNames[l]
		if rep > 0 {
			name += " " + strconv.FormatUint(rep+1, 10)
		}
		c.usrName[i] = name
		k := f*L + l
		seen[k]++
		id := strings.ToLower(firstNames[f]) + "." + idLast[l]
		if seen[k] > 1 {
			id += strconv.FormatUint(uint64(seen[k]), 10)
		}
		c.usrID[i] = id
	}
}

// selectAttributes picks the output HR columns.
func (c *company) selectAttributes(h *hr) {
	base := map[string]*attribute{
		colDepartment:  {name: colDepartment, values: h.deptV, col: h.dept},
		colJobCode:     {name: colJobCode, values: h.jobV, col: h.job},
		colCity:        {name: colCity, values: h.cityV, col: h.city},
		colCostCenter:  {name: colCostCenter, values: h.ccV, col: h.cc},
		colEmpType:     {name: colEmpType, values: h.empV, col: h.emp},
		colLOB:         {name: colLOB, values: h.lobV, col: h.lob},
		colChief:       {name: colChief, values: h.chiefV, col: h.chief},
		colManagerName: {name: colManagerName},
		colLOBSubgroup: {name: colLOBSubgroup, values: h.subV, col: h.sub},
	}
	for k, name := range baseAttributes {
		if k >= c.cfg.Attributes {
			break
		}
		a := base[name]
		a.ruleable = a.col != nil
		c.attrs = append(c.attrs, a)
	}
	c.attrs = append(c.attrs, h.generic...)
	for _, a := range c.attrs {
		if a.col == nil {
			continue
		}
		a.counts = make([]int, len(a.values))
		for _, v := range a.col {
			a.counts[v]++
		}
	}
}

func (c *company) attrIndex(name string) int {
	return slices.IndexFunc(c.attrs, func(a *attribute) bool { return a.name == name })
}

func (c *company) buildApps(r *rand.Rand, h *hr) {
	critDist := newDist([]float64{0.3, 0.35, 0.25, 0.1})
	for k := range c.cfg.Applications {
		var name string
		if k < len(appNames) {
			name = appNames[k]
		} else {
			name = fmt.Sprintf("%s %s %d", appWords[k%len(appWords)], appWords[(k/len(appWords))%len(appWords)], k+1)
		}
		crit := critDist.pick(r)
		if k == 0 {
			crit = 3 // the directory is critical
		}
		risk := min(5, crit+1+r.IntN(2))
		c.apps = append(c.apps, application{
			id:          fmt.Sprintf("APP%d", k+1),
			name:        name,
			owner:       c.usrID[h.ownerPool[r.IntN(len(h.ownerPool))]],
			criticality: criticalities[crit],
			risk:        strconv.Itoa(risk),
		})
	}
}

// highRisk marks permissions whose entitlements carry a higher risk level.
var highRisk = map[string]int{"Admin": 2, "Super User": 2, "Owner": 2, "Approver": 1, "Write": 1, "Power User": 1, "Operator": 1}

func (c *company) buildEntitlements(r *rand.Rand, h *hr) {
	cfg := c.cfg
	c.nBirth = cfg.Birthrights
	if c.attrIndex(colEmpType) >= 0 {
		c.nBirth += 2
	}
	// Entitlements per application: the directory holds the birthrights, the
	// others share the rest by Zipf weights in a seed-dependent order.
	A := cfg.Applications
	count := make([]int, A)
	count[0] = c.nBirth
	rest := cfg.Entitlements - c.nBirth - (A - 1)
	ranks := r.Perm(A - 1)
	w := make([]float64, A-1)
	var ws float64
	for k := range w {
		w[k] = 1 / math.Pow(float64(ranks[k]+1), 0.8)
		ws += w[k]
	}
	used := 0
	for k := range w {
		extra := int(float64(rest) * w[k] / ws)
		count[k+1] = 1 + extra
		used += extra
	}
	for k := 0; used < rest; k = (k + 1) % (A - 1) {
		count[k+1]++
		used++
	}
	birthNames := slices.Clone(birthrightNames)
	critIdx := func(s string) int { return slices.Index(criticalities, s) }
	for a := range A {
		app := c.apps[a]
		for j := range count[a] {
			e := entitlement{id: fmt.Sprintf("%s_ent_%05d", app.id, j+1), appID: app.id}
			crit := critIdx(app.criticality)
			risk, _ := strconv.Atoi(app.risk)
			if a == 0 {
				switch {
				case j < cfg.Birthrights:
					e.name = nameOr(birthNames, j, "Birthright %d")
				case j == cfg.Birthrights:
					e.name = "Employee Self Service"
				default:
					e.name = "Contractor Portal"
				}
				crit, risk = 1, 1
			} else {
				perm := permissions[r.IntN(len(permissions))]
				obj := permissionObjects[r.IntN(len(permissionObjects))]
				e.name = app.name + " " + perm + " - " + obj
				if r.Float64() < 0.3 {
					crit = r.IntN(len(criticalities))
				}
				risk = min(5, max(1, risk-1+highRisk[perm]+r.IntN(2)))
			}
			e.criticality = criticalities[crit]
			e.risk = strconv.Itoa(risk)
			if r.Float64() < 0.7 {
				e.owner = app.owner
			} else {
				e.owner = c.usrID[h.ownerPool[r.IntN(len(h.ownerPool))]]
			}
			c.ents = append(c.ents, e)
		}
	}
}

func (c *company) buildBirthrights() {
	for k := range c.cfg.Birthrights {
		c.birth = append(c.birth, birthright{ent: int32(k), attr: -1, scope: "all"})
	}
	if a := c.attrIndex(colEmpType); a >= 0 {
		for k, v := range []uint16{0, 1} { // Employee, Contractor
			it := c.itemString(itemRef{attr: a, val: v})
			c.birth = append(c.birth, birthright{ent: int32(c.cfg.Birthrights + k), attr: a, val: v, scope: it})
		}
	}
	for _, b := range c.birth {
		size := c.n
		if b.attr >= 0 {
			size = c.attrs[b.attr].counts[b.val]
		}
		c.birthExpected += float64(size) * c.cfg.BirthrightProb
	}
}
