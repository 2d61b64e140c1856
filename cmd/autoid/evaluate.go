package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/evaluate"
	"github.com/autoid-oss/autoid/workspace"
)

// evaluation is what `autoid evaluate` reports.
type evaluation struct {
	Options   evaluate.Options        `json:"options"`
	Rules     *evaluate.RuleReport    `json:"rules,omitempty"`
	Roles     *evaluate.RoleReport    `json:"roles,omitempty"`
	Anomalies *evaluate.AnomalyReport `json:"anomalies,omitempty"`
}

func newEvaluateCmd(g *globals) *cobra.Command {
	var truthDir, runID string
	var asJSON bool
	opt := evaluate.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "evaluate --truth DIR/truth [--run ID]",
		Short: "Measure train, mine and anomaly against the ground truth of a generated company",
		Long: `evaluate compares a run's rules, roles and anomalies with the ground truth that
'autoid gen' writes under DIR/truth (planted_rules.csv, noise_assignments.csv,
birthright.csv). Each table is taken from --run, or else from the newest run
that has it; a table no run has is left out of the report.

Rules (train). A planted rule grants its bundle of entitlements E to the
identities carrying its antecedent A. The pair (A, e), e in E, is recovered
when the rules table holds a rule P -> e with P a subset of A (A itself, or a
subset that stemming kept in its place) and confidence >= --rule-min-confidence.
A planted rule is recovered when all its pairs are. "exact" counts the
recovered pairs whose rule is A itself.

Roles (mine). Birthright entitlements are removed from every mined role's
entitlements; a role left with none is a birthright role and is not counted
further. Mined roles are compared as entitlement sets: roles whose sets are
equal (one bundle reached through several policies) count as one set. A set S
matches a planted role with bundle E when |S ∩ E| / |S ∪ E| >= --role-jaccard
(1 means the same set). Recall = planted roles matched by at least one set /
planted roles. Set precision = sets matching at least one planted role / sets.

Set precision counts a role against the truth even when its set is right for
its policy: the attributes are correlated (a job code lies within one
department), so the role of a job code rightly carries its department's
bundle too. Policy precision judges each role against its policy P instead,
applying mine to the planted truth rather than to the sampled assignments. A
member u holds e with planted probability 1 - prod(1 - fire_R) over the
planted rules R that grant e and whose antecedent u carries (identities from
the generation the run read; birthrights and noise left out). The planted
confidence conf*(Q -> e) of a policy Q is the mean of that probability over
Q's members (for P the roles table's members, for a sub-policy the identities
carrying it). E(P) holds every e with conf*(P -> e) >= --role-min-confidence
that stemming keeps: no non-empty proper subset Q of P has conf*(Q -> e)
within --stem-delta of conf*(P -> e). A role is correct when
|S ∩ E(P)| / |S ∪ E(P)| >= --role-jaccard; a role with E(P) empty is
"unbacked" (on the planted truth its policy yields no role) and wrong.
Policy precision = correct roles / roles that are not birthright roles.
--role-min-confidence and --stem-delta default to the run's --param values,
else to the engine defaults (0.75, 0.05).

Anomalies (anomaly). The flagged assignments against the noise assignments:
precision = flagged noise / flagged, recall = flagged noise / noise. Also
shown: the recall on the noise assignments of entitlements that some planted
rule grants (noise on an entitlement no rule grants has no population of
explained holders to stand out from).

Example:
  autoid gen --preset medium --out /tmp/m
  autoid ingest --workspace /tmp/w --dir /tmp/m
  autoid run --workspace /tmp/w train predict-as-is mine anomaly
  autoid evaluate --workspace /tmp/w --truth /tmp/m/truth`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if truthDir == "" {
				return usageError{cmd: "evaluate", err: fmt.Errorf("--truth is required")}
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			truth, err := evaluate.ReadTruth(truthDir)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ev := evaluation{Options: opt}
			if path, ok, err := runTable(ws, "rules", runID); err != nil {
				return err
			} else if ok {
				rules, err := evaluate.ReadRules(ctx, path)
				if err != nil {
					return err
				}
				rep, err := evaluate.Rules(truth, rules, opt)
				if err != nil {
					return fmt.Errorf("--rule-min-confidence: %w", err)
				}
				ev.Rules = &rep
			}
			if path, ok, err := runTable(ws, "roles", runID); err != nil {
				return err
			} else if ok {
				roles, err := evaluate.ReadRoles(ctx, path)
				if err != nil {
					return err
				}
				idsPath, ropt, err := roleContext(cmd, ws, path, opt)
				if err != nil {
					return err
				}
				ids, err := evaluate.ReadIdentities(ctx, idsPath)
				if err != nil {
					return err
				}
				ev.Options = ropt
				rep := evaluate.Roles(truth, roles, ids, ropt)
				ev.Roles = &rep
			}
			if path, ok, err := runTable(ws, "anomalies", runID); err != nil {
				return err
			} else if ok {
				flagged, err := evaluate.ReadAnomalies(ctx, path)
				if err != nil {
					return err
				}
				rep := evaluate.Anomalies(truth, flagged)
				ev.Anomalies = &rep
			}
			if ev.Rules == nil && ev.Roles == nil && ev.Anomalies == nil {
				return fmt.Errorf("no run has rules, roles or anomalies: run train, mine and anomaly first")
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(ev)
			}
			writeEvaluation(g.stdout, ev)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&truthDir, "truth", "", "the ground truth folder (DIR/truth of autoid gen; required)")
	f.StringVar(&runID, "run", "", "the run to evaluate (default: the newest run with each table)")
	f.Float64Var(&opt.MinRuleConfidence, "rule-min-confidence", opt.MinRuleConfidence, "confidence a rule needs to recover a planted (antecedent, entitlement) pair")
	f.Float64Var(&opt.RoleJaccard, "role-jaccard", opt.RoleJaccard, "Jaccard similarity of entitlement sets at which a mined role matches a planted bundle (set measures) or its policy's expected set (policy precision)")
	f.Float64Var(&opt.RoleMinConfidence, "role-min-confidence", opt.RoleMinConfidence, "role_min_confidence applied to the planted confidences for policy precision; unset: the run's --param value if it has one")
	f.Float64Var(&opt.StemDelta, "stem-delta", opt.StemDelta, "stem_delta applied to the planted confidences for policy precision; unset: the run's --param value if it has one")
	f.BoolVar(&asJSON, "json", false, "print the figures as JSON")
	return cmd
}

// roleContext returns what the policy precision of the roles table at
// rolesPath needs from its run: the identities table of the generation the
// run read, and the options with role_min_confidence and stem_delta taken
// from the run's --param settings where the flags leave them unset.
func roleContext(cmd *cobra.Command, ws *workspace.Workspace, rolesPath string, opt evaluate.Options) (string, evaluate.Options, error) {
	cur, err := ws.Current()
	if err != nil {
		return "", opt, err
	}
	gen := cur
	_, m, err := ws.Run(filepath.Base(filepath.Dir(rolesPath)))
	if err != nil {
		return "", opt, err
	}
	if m.Generation != "" {
		gen = workspace.Generation{Name: m.Generation, Dir: filepath.Join(filepath.Dir(cur.Dir), m.Generation)}
	}
	for flag, dst := range map[string]*float64{"role-min-confidence": &opt.RoleMinConfidence, "stem-delta": &opt.StemDelta} {
		param := strings.ReplaceAll(flag, "-", "_")
		v, ok := m.Params[param]
		if cmd.Flags().Changed(flag) || !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "", opt, fmt.Errorf("run %s: %s %q: %w", m.ID, param, v, err)
		}
		*dst = f
	}
	return gen.TablePath("identities"), opt, nil
}

// runTable returns the path of a run table: of run runID when given (ok
// false when that run lacks it), else of the newest run that has it.
func runTable(ws *workspace.Workspace, table, runID string) (string, bool, error) {
	if runID == "" {
		run, err := ws.LatestRunWith(table)
		if err != nil {
			return "", false, nil
		}
		return run.TablePath(table), true, nil
	}
	run, m, err := ws.Run(runID)
	if err != nil {
		return "", false, err
	}
	if _, ok := m.Tables[table]; !ok {
		return "", false, nil
	}
	return run.TablePath(table), true, nil
}

func writeEvaluation(w io.Writer, ev evaluation) {
	if r := ev.Rules; r != nil {
		fmt.Fprintf(w, "rules (train): %d of %d planted rules recovered (recall %.4f); %d of %d pairs (recall %.4f), %d by the planted antecedent itself; rule confidence >= %g\n",
			r.Recovered, r.Planted, r.Recall(), r.RecoveredPairs, r.PlantedPairs, r.PairRecall(), r.Exact, ev.Options.MinRuleConfidence)
	}
	if r := ev.Roles; r != nil {
		fmt.Fprintf(w, "roles (mine): recall %.4f (%d of %d planted roles matched, %d exactly); policy precision %.4f (%d of %d roles carry what their policy's planted rules grant, %d exactly, %d unbacked); set precision %.4f (%d of %d entitlement sets are a planted bundle); %d mined roles, %d birthright-only; Jaccard >= %g\n",
			r.Recall(), r.Matched, r.Planted, r.Exact, r.PolicyPrecision(), r.PolicyTrue, r.PolicyRoles, r.PolicyExact, r.Unbacked,
			r.Precision(), r.TrueSets, r.Sets, r.MinedRoles, r.BirthrightRoles, ev.Options.RoleJaccard)
	}
	if r := ev.Anomalies; r != nil {
		fmt.Fprintf(w, "anomalies (anomaly): recall %.4f (%d of %d noise assignments flagged), precision %.4f (%d of %d flagged are noise); on entitlements a planted rule grants: recall %.4f (%d of %d)\n",
			r.Recall(), r.TruePositives, r.Noise, r.Precision(), r.TruePositives, r.Flagged, r.PlantedRecall(), r.PlantedTruePositives, r.PlantedNoise)
	}
}
