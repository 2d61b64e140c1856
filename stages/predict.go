package stages

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// scoringSetup is what predict-as-is and recommend share: the entity data
// encoded for the columns the rule set names, and the rule index.
type scoringSetup struct {
	data         *ruleData
	index        *scoring.Index
	rules        []scoring.Rule
	storedRules  int
	droppedRules int
}

func loadScoring(ctx context.Context, gen workspace.Generation, rulesPath string) (*scoringSetup, error) {
	stored, err := scoring.ReadRules(ctx, rulesPath)
	if err != nil {
		return nil, err
	}
	d, err := loadRuleData(ctx, gen, nil, featuresOfRules(stored))
	if err != nil {
		return nil, err
	}
	rules, dropped := scoring.ResolveRules(stored, d.items, func(id string) (int32, bool) {
		e, ok := d.entIndex[id]
		return e, ok
	})
	x, err := scoring.NewIndex(d.items, rules, d.entIDs.Len(), 0)
	if err != nil {
		d.release()
		return nil, err
	}
	return &scoringSetup{data: d, index: x, rules: rules, storedRules: len(stored), droppedRules: dropped}, nil
}

// PredictResult holds the scores of the valid assignments (section 4).
type PredictResult struct {
	// Best is, per valid assignment (in usr_idx, ent_idx order), the index
	// of its best rule in Rules, or -1 when unscored.
	Best     []int32
	Rules    []scoring.Rule
	Bands    scoring.Bands
	ByBand   map[string]int
	Duration time.Duration
	// StoredRules is the size of the rule set read; DroppedRules of them
	// name items or entitlements that no longer exist.
	StoredRules, DroppedRules int

	setup *scoringSetup
}

// PredictAsIs scores every valid assignment with the stemmed rules of the
// rules table at rulesPath.
func PredictAsIs(ctx context.Context, gen workspace.Generation, cfg Config, rulesPath string) (*PredictResult, error) {
	t0 := time.Now()
	high, err := mining.RatioOf(cfg.High)
	if err != nil {
		return nil, fmt.Errorf("predict-as-is: parameter high: %w", err)
	}
	medium, err := mining.RatioOf(cfg.Medium)
	if err != nil {
		return nil, fmt.Errorf("predict-as-is: parameter medium: %w", err)
	}
	s, err := loadScoring(ctx, gen, rulesPath)
	if err != nil {
		return nil, fmt.Errorf("predict-as-is: %w", err)
	}
	best, err := s.index.Predict(ctx, s.data.users, s.data.ents)
	if err != nil {
		s.data.release()
		return nil, err
	}
	r := &PredictResult{Best: best, Rules: s.rules, Bands: scoring.Bands{High: high, Medium: medium}, ByBand: map[string]int{},
		StoredRules: s.storedRules, DroppedRules: s.droppedRules, setup: s}
	for _, b := range best {
		if b < 0 {
			r.ByBand[scoring.BandUnscored]++
			continue
		}
		r.ByBand[r.Bands.Of(s.rules[b].Frequnion, s.rules[b].Freq)]++
	}
	r.Duration = time.Since(t0)
	return r, nil
}

// Release frees the tables the result holds.
func (r *PredictResult) Release() { r.setup.data.release() }

// Record builds the assignment_scores table: usr_idx, ent_idx, usr_id,
// ent_id, score (null when unscored), band, justification (the rule's
// sorted items; empty when unscored), freq, frequnion (null when
// unscored); one row per valid assignment, by usr_idx then ent_idx.
func (r *PredictResult) Record() arrow.Record {
	d := r.setup.data
	n := len(r.Best)
	score := make([]float64, n)
	valid := make([]bool, n)
	freq := make([]int64, n)
	fu := make([]int64, n)
	// band: a dictionary of the four band names, one index per row.
	bandNames := []string{scoring.BandHigh, scoring.BandMedium, scoring.BandLow, scoring.BandUnscored}
	bandIdx := map[string]int32{}
	for k, b := range bandNames {
		bandIdx[b] = int32(k)
	}
	bands := make([]int32, n)
	for i, b := range r.Best {
		if b < 0 {
			freq[i], fu[i] = -1, -1
			bands[i] = bandIdx[scoring.BandUnscored]
			continue
		}
		rule := &r.Rules[b]
		score[i], valid[i], freq[i], fu[i] = rule.Confidence(), true, rule.Freq, rule.Frequnion
		bands[i] = bandIdx[r.Bands.Of(rule.Frequnion, rule.Freq)]
	}
	fields := []arrow.Field{
		{Name: "usr_idx", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ent_idx", Type: arrow.PrimitiveTypes.Int32},
		{Name: "usr_id", Type: formats.DictType()},
		{Name: "ent_id", Type: formats.DictType()},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "band", Type: formats.DictType()},
		{Name: "justification", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "freq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "frequnion", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}
	arrs := []arrow.Array{
		formats.Int32Array(d.users, nil),
		formats.Int32Array(d.ents, nil),
		formats.DictArray(d.users, d.usrIDs),
		formats.DictArray(d.ents, d.entIDs),
		scoring.Float64Array(score, valid),
		bandArray(bands, bandNames),
		scoring.ItemListArray(n, func(i int) []int32 {
			if r.Best[i] < 0 {
				return nil
			}
			return r.Rules[r.Best[i]].Items
		}, d.items.Dict),
		formats.Int64Array(freq, -1, true),
		formats.Int64Array(fu, -1, true),
	}
	return recordOf(fields, arrs, n)
}

// Summary writes the human-readable summary of predict-as-is.
func (r *PredictResult) Summary(w io.Writer) {
	n := len(r.Best)
	scored := n - r.ByBand[scoring.BandUnscored]
	fmt.Fprintf(w, "predict-as-is: %d valid assignments, %d scored, %d unscored, with %d rules", n, scored, r.ByBand[scoring.BandUnscored], len(r.Rules))
	if r.DroppedRules > 0 {
		fmt.Fprintf(w, " (%d of %d stored rules name items or entitlements that are gone)", r.DroppedRules, r.StoredRules)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  bands: High %d, Medium %d, Low %d, Unscored %d; %.3fs\n",
		r.ByBand[scoring.BandHigh], r.ByBand[scoring.BandMedium], r.ByBand[scoring.BandLow], r.ByBand[scoring.BandUnscored], r.Duration.Seconds())
}

// RecommendResult holds the recommendations of section 5.
type RecommendResult struct {
	Recs     []scoring.Recommendation
	Rules    []scoring.Rule
	Users    int // identities with at least one recommendation
	Duration time.Duration

	StoredRules, DroppedRules int

	setup *scoringSetup
}

// Recommend finds, for every identity, the entitlements it lacks that a
// stemmed rule of the rules table at rulesPath recommends.
func Recommend(ctx context.Context, gen workspace.Generation, cfg Config, rulesPath string) (*RecommendResult, error) {
	t0 := time.Now()
	minConf, err := mining.RatioOf(cfg.RecommendMinConfidence)
	if err != nil {
		return nil, fmt.Errorf("recommend: parameter recommend_min_confidence: %w", err)
	}
	s, err := loadScoring(ctx, gen, rulesPath)
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	recs, err := s.index.Recommend(ctx, s.data.users, s.data.ents, minConf, cfg.RecommendMaxPerUser)
	if err != nil {
		s.data.release()
		return nil, err
	}
	r := &RecommendResult{Recs: recs, Rules: s.rules, StoredRules: s.storedRules, DroppedRules: s.droppedRules, setup: s}
	for i := range recs {
		if i == 0 || recs[i].User != recs[i-1].User {
			r.Users++
		}
	}
	r.Duration = time.Since(t0)
	return r, nil
}

// Release frees the tables the result holds.
func (r *RecommendResult) Release() { r.setup.data.release() }

// Record builds the recommendations table: usr_idx, ent_idx, usr_id,
// ent_id, confidence, freq, frequnion, justification; by usr_idx, then
// confidence desc, freq desc, ent_id asc.
func (r *RecommendResult) Record() arrow.Record {
	d := r.setup.data
	n := len(r.Recs)
	users := make([]int32, n)
	ents := make([]int32, n)
	conf := make([]float64, n)
	freq := make([]int64, n)
	fu := make([]int64, n)
	for i, rec := range r.Recs {
		rule := &r.Rules[rec.Rule]
		users[i], ents[i], conf[i], freq[i], fu[i] = rec.User, rule.Ent, rule.Confidence(), rule.Freq, rule.Frequnion
	}
	fields := []arrow.Field{
		{Name: "usr_idx", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ent_idx", Type: arrow.PrimitiveTypes.Int32},
		{Name: "usr_id", Type: formats.DictType()},
		{Name: "ent_id", Type: formats.DictType()},
		{Name: "confidence", Type: arrow.PrimitiveTypes.Float64},
		{Name: "freq", Type: arrow.PrimitiveTypes.Int64},
		{Name: "frequnion", Type: arrow.PrimitiveTypes.Int64},
		{Name: "justification", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}
	arrs := []arrow.Array{
		formats.Int32Array(users, nil),
		formats.Int32Array(ents, nil),
		formats.DictArray(users, d.usrIDs),
		formats.DictArray(ents, d.entIDs),
		scoring.Float64Array(conf, nil),
		formats.Int64Array(freq, 0, false),
		formats.Int64Array(fu, 0, false),
		scoring.ItemListArray(n, func(i int) []int32 { return r.Rules[r.Recs[i].Rule].Items }, d.items.Dict),
	}
	return recordOf(fields, arrs, n)
}

// Summary writes the human-readable summary of recommend.
func (r *RecommendResult) Summary(w io.Writer) {
	fmt.Fprintf(w, "recommend: %d recommendations for %d identities from %d rules; %.3fs\n",
		len(r.Recs), r.Users, len(r.Rules), r.Duration.Seconds())
}

// bandArray is the dictionary-encoded band column: indices into names.
func bandArray(indices []int32, names []string) arrow.Array {
	dict := formats.StringArray(len(names), func(k int) []byte { return []byte(names[k]) })
	defer dict.Release()
	return formats.DictArray(indices, dict)
}
