package stages

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// TrainResult is what train learnt (section 3): the stemmed rules and the
// driving factors, with the figures of the summary.
type TrainResult struct {
	Model    *scoring.Model
	Features []string
	Params   scoring.Params

	Identities, Entitlements             int
	ValidAssignments, InvalidAssignments int
	Items                                int
	Duration                             time.Duration

	data *ruleData
}

// Train learns the association rules of the current entity tables.
func Train(ctx context.Context, gen workspace.Generation, cfg Config) (*TrainResult, error) {
	t0 := time.Now()
	var features []string
	// The features are settled on the identities record that is encoded
	// (as Features does), so the identities are read once; the antecedents
	// are counted while the assignments are still being read.
	d, err := startRuleData(ctx, gen, nil, func(ids arrow.Record) ([]string, error) {
		res := &AuditResult{Dropped: map[string]string{}}
		if err := auditFeatures(ids, cfg, res); err != nil {
			return nil, fmt.Errorf("features: %w", err)
		}
		features = res.Features
		return features, nil
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	p, err := TrainParams(cfg, d.items.NumIdentities())
	if err != nil {
		d.release()
		return nil, fmt.Errorf("train: %w", err)
	}
	m, err := scoring.Train(ctx, scoring.TrainInput{Items: d.items, HoldersOf: func() ([][]int32, error) {
		if err := d.await(); err != nil {
			return nil, err
		}
		return d.holders, nil
	}}, p)
	if err != nil {
		d.release()
		return nil, err
	}
	if err := d.await(); err != nil {
		d.release()
		return nil, fmt.Errorf("train: %w", err)
	}
	return &TrainResult{Model: m, Features: features, Params: p, Identities: d.items.NumIdentities(),
		Entitlements: d.entIDs.Len(), ValidAssignments: len(d.users), InvalidAssignments: d.invalid,
		Items: len(d.items.Dict), Duration: time.Since(t0), data: d}, nil
}

// Release frees the tables the result holds.
func (r *TrainResult) Release() { r.data.release() }

// RulesRecord builds the rules table: ent_idx, ent_id, items (sorted),
// freq, frequnion, confidence, length; by ent_id then items.
func (r *TrainResult) RulesRecord() arrow.Record {
	return scoring.RulesRecord(r.Model, r.data.items, r.data.entID)
}

// DrivingFactorsRecord builds the driving_factors table: ent_idx, ent_id,
// item, count, holders; by ent_id then item.
func (r *TrainResult) DrivingFactorsRecord() arrow.Record {
	return scoring.DrivingFactorsRecord(r.Model, r.data.items, r.data.entID)
}

// Summary writes the human-readable summary of train.
func (r *TrainResult) Summary(w io.Writer) {
	byLen := map[int]int{}
	maxLen := 0
	for i := range r.Model.Rules {
		l := len(r.Model.Rules[i].Items)
		byLen[l]++
		maxLen = max(maxLen, l)
	}
	fmt.Fprintf(w, "train: %d identities, %d items over %d features, %d entitlements, %d valid assignments (%d invalid excluded)\n",
		r.Identities, r.Items, len(r.Features), r.Entitlements, r.ValidAssignments, r.InvalidAssignments)
	fmt.Fprintf(w, "  parameters: min_freq %d, min_frequnion %d, min_confidence %s, max_rule_length %d, stem_delta %s\n",
		r.Params.MinFreq, r.Params.MinFrequnion, r.Params.MinConfidence, r.Params.MaxRuleLength, r.Params.StemDelta)
	fmt.Fprintf(w, "  %d rules after stemming (%d before), %d driving factors\n",
		len(r.Model.Rules), r.Model.Unstemmed, len(r.Model.DrivingFactors))
	for l := 1; l <= maxLen; l++ {
		fmt.Fprintf(w, "    length %d: %d rules\n", l, byLen[l])
	}
	fmt.Fprintf(w, "  %d possible antecedents, %d class candidates; %.3fs\n",
		r.Model.Stats.Antecedents, r.Model.Stats.Candidates, r.Duration.Seconds())
}
