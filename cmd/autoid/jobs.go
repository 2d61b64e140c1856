package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/store"
)

func newJobsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "jobs",
		Short: "Job types, job definitions and runs (list, show, status, logs, cancel, define)",
		Long: `jobs manages the pipeline's job definitions and looks at runs, recorded in the
serving store (--database-url, else the embedded store of the workspace).

A job definition has a unique name, a job type, job parameters, an optional
cron schedule (run by 'autoid serve'), an overlap policy (skip: refuse a run
while one of the definition is active; queue: wait for it; allow: accept it;
runs over one workspace execute one at a time whatever the policy) and an
optional timeout. Without a server, schedule 'autoid run --definition NAME'
with cron or an orchestrator.`,
	}
	c.AddCommand(newJobsTypesCmd(g), newJobsDefineCmd(g), newJobsListCmd(g), newJobsShowCmd(g), newJobsDeleteCmd(g),
		newJobsRunsCmd(g), newJobsStatusCmd(g), newJobsLogsCmd(g), newJobsCancelCmd(g))
	return c
}

// withRunner runs fn with a runner over the workspace and store (runs left
// behind by a crashed process are failed first).
func withRunner(ctx context.Context, g *globals, fn func(*pipeline.Runner) error) error {
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rn, done, err := openRunner(ctx, g, log)
	if err != nil {
		return err
	}
	defer done()
	return fn(rn)
}

func newJobsTypesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "types",
		Short: "List the job types, what they need and their parameters",
		Long: `types lists each job type in pipeline order: what it does, the stages it needs
upstream, the tables it writes, and its parameters (name, type, default,
description). Engine parameters default to the workspace's engine.yaml (the
default shown is the specification's); a definition's job_parameters apply to
its own stage only.

The reference's Spark parameters are accepted by every job type and mean:
  memory budget = driverMemory + executorMemory  (the Go soft memory limit
                  while the run executes; a bare number is MiB, as in Spark)
  workers       = driverCores + executorCores    (GOMAXPROCS while the run
                  executes, at most the CPUs; none set: every CPU)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := g.stdout
			for _, t := range pipeline.NewRegistry().Types() {
				fmt.Fprintf(w, "%s\n  %s\n", t.Name, t.Doc)
				if len(t.Needs) > 0 {
					fmt.Fprintf(w, "  needs: %s\n", strings.Join(t.Needs, ", "))
				}
				if len(t.Outputs) > 0 {
					fmt.Fprintf(w, "  writes: %s\n", strings.Join(t.Outputs, ", "))
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "  PARAMETER\tTYPE\tDEFAULT\tDESCRIPTION")
				for _, p := range t.Spec() {
					def := p.Default
					if def == "" {
						def = "-"
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Type, def, p.Doc)
				}
				tw.Flush()
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}

func newJobsDefineCmd(g *globals) *cobra.Command {
	var typ, cron, overlap string
	var params []string
	var timeout time.Duration
	var replace bool
	c := &cobra.Command{
		Use:   "define NAME --type TYPE [--param NAME=VALUE ...] [--cron EXPR] [--overlap skip|queue|allow] [--timeout D]",
		Short: "Create (or with --replace, replace) a job definition",
		Long: `define stores a job definition. Parameters are checked against the job type
('autoid jobs types'); a bad one is refused with its name and the reason.

--cron takes five fields (minute hour day month weekday), six (seconds first),
@hourly, @daily, @weekly, @monthly, @yearly or @every DURATION.`,
		Example: `  autoid jobs define nightly --type create-assignment-index-report --cron "0 2 * * *"
  autoid jobs define strict-train --type train --param min_confidence=0.5 --param executorMemory=4g`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams("jobs define", params)
			if err != nil {
				return err
			}
			raw := map[string]any{}
			for k, v := range p {
				raw[k] = v
			}
			d := store.JobDefinition{Name: args[0], Type: typ, Parameters: raw, Schedule: cron, Overlap: overlap, Timeout: timeout}
			return withRunner(cmd.Context(), g, func(rn *pipeline.Runner) error {
				if err := rn.Define(cmd.Context(), d, !replace); err != nil {
					if errors.Is(err, store.ErrConflict) {
						return fmt.Errorf("%w (use --replace to change it)", err)
					}
					return err
				}
				fmt.Fprintf(g.stdout, "job definition %s (%s) saved\n", d.Name, d.Type)
				return nil
			})
		},
	}
	c.Flags().StringVar(&typ, "type", "", "job type ('autoid jobs types')")
	c.Flags().StringArrayVar(&params, "param", nil, "NAME=VALUE: a job parameter (repeatable)")
	c.Flags().StringVar(&cron, "cron", "", "schedule (cron expression) for 'autoid serve'")
	c.Flags().StringVar(&overlap, "overlap", store.OverlapSkip, "while a run of the definition is active: skip, queue or allow")
	c.Flags().DurationVar(&timeout, "timeout", 0, "a run ends timed_out after this long (0: no limit)")
	c.Flags().BoolVar(&replace, "replace", false, "replace an existing definition of that name")
	c.MarkFlagRequired("type")
	return c
}

func newJobsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the job definitions and their latest run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return withRunner(ctx, g, func(rn *pipeline.Runner) error {
				defs, err := rn.Store().JobDefinitions(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tTYPE\tSCHEDULE\tOVERLAP\tTIMEOUT\tLAST RUN\tSTATUS")
				for _, d := range defs {
					last, status := "-", "-"
					if r, err := rn.Latest(ctx, d.Name); err == nil {
						last, status = r.ID, r.Status
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Type, orDash(d.Schedule), d.Overlap, durationOrDash(d.Timeout), last, status)
				}
				return tw.Flush()
			})
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func durationOrDash(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.String()
}

func newJobsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a job definition (JSON) and its recent runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withRunner(ctx, g, func(rn *pipeline.Runner) error {
				d, err := rn.Store().JobDefinition(ctx, args[0])
				if err != nil {
					return err
				}
				doc := map[string]any{"job_name": d.Name, "job_type": d.Type, "job_parameters": d.Parameters, "schedule": d.Schedule,
					"overlap": d.Overlap, "timeout": d.Timeout.String(), "created": d.Created, "updated": d.Updated}
				b, _ := json.MarshalIndent(doc, "", "  ")
				fmt.Fprintln(g.stdout, string(b))
				runs, err := rn.Runs(ctx, store.RunFilter{JobName: d.Name, Limit: 10})
				if err != nil {
					return err
				}
				return printRuns(g.stdout, runs)
			})
		},
	}
}

func newJobsDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a job definition (its runs stay recorded)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRunner(cmd.Context(), g, func(rn *pipeline.Runner) error {
				if err := rn.Store().DeleteJobDefinition(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "job definition %s deleted\n", args[0])
				return nil
			})
		},
	}
}

func printRuns(w io.Writer, runs []store.Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tDEFINITION\tTYPE\tTRIGGER\tSTATUS\tCREATED\tSECONDS\tMESSAGE")
	for _, r := range runs {
		secs := "-"
		if !r.Ended.IsZero() && !r.Started.IsZero() {
			secs = fmt.Sprintf("%.1f", r.Ended.Sub(r.Started).Seconds())
		}
		msg := r.Message
		if len(msg) > 80 {
			msg = msg[:77] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, orDash(r.JobName), r.JobType, r.Trigger, r.Status,
			r.Created.Format(time.RFC3339), secs, strings.ReplaceAll(msg, "\n", " "))
	}
	return tw.Flush()
}

func newJobsRunsCmd(g *globals) *cobra.Command {
	var def string
	var limit int
	var active bool
	c := &cobra.Command{
		Use:   "runs [--definition NAME] [--active] [--limit N]",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRunner(cmd.Context(), g, func(rn *pipeline.Runner) error {
				runs, err := rn.Runs(cmd.Context(), store.RunFilter{JobName: def, Active: active, Limit: limit})
				if err != nil {
					return err
				}
				return printRuns(g.stdout, runs)
			})
		},
	}
	c.Flags().StringVar(&def, "definition", "", "only runs of this job definition")
	c.Flags().BoolVar(&active, "active", false, "only queued, running and cancelling runs")
	c.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	return c
}

func newJobsStatusCmd(g *globals) *cobra.Command {
	var def string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [RUN_ID | --definition NAME]",
		Short: "Show a run's state and its stages (default: the latest run)",
		Long: `status shows a run: its state (queued, running, cancelling, succeeded, failed,
cancelled, timed_out), and per stage its state (skipped: its output was up to
date; not_run: an earlier stage ended the run), progress, duration and peak
memory. Without a run id, the latest run (of --definition when given).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withRunner(ctx, g, func(rn *pipeline.Runner) error {
				var r store.Run
				var err error
				switch {
				case len(args) == 1:
					r, err = rn.Run(ctx, args[0])
				case def != "":
					r, err = rn.Latest(ctx, def)
				default:
					var runs []store.Run
					runs, err = rn.Runs(ctx, store.RunFilter{Limit: 1})
					if err == nil && len(runs) == 0 {
						err = errors.New("no run yet")
					}
					if err == nil {
						r = runs[0]
					}
				}
				if err != nil {
					return err
				}
				if asJSON {
					b, _ := json.MarshalIndent(r, "", "  ")
					fmt.Fprintln(g.stdout, string(b))
					return nil
				}
				printStatus(g.stdout, r)
				return nil
			})
		},
	}
	c.Flags().StringVar(&def, "definition", "", "the latest run of this job definition")
	c.Flags().BoolVar(&asJSON, "json", false, "print the run as JSON")
	return c
}

func printStatus(w io.Writer, r store.Run) {
	fmt.Fprintf(w, "run %s: %s\n", r.ID, r.Status)
	if r.JobName != "" {
		fmt.Fprintf(w, "  definition  %s (%s)\n", r.JobName, r.JobType)
	} else {
		fmt.Fprintf(w, "  jobs        %s\n", r.JobType)
	}
	fmt.Fprintf(w, "  trigger     %s, attempts %d\n", r.Trigger, r.Attempts)
	fmt.Fprintf(w, "  created     %s\n", r.Created.Format(time.RFC3339))
	if !r.Started.IsZero() {
		fmt.Fprintf(w, "  started     %s\n", r.Started.Format(time.RFC3339))
	}
	if !r.Ended.IsZero() {
		fmt.Fprintf(w, "  ended       %s (%.1fs)\n", r.Ended.Format(time.RFC3339), r.Ended.Sub(r.Created).Seconds())
	} else if !r.Heartbeat.IsZero() {
		fmt.Fprintf(w, "  heartbeat   %s\n", r.Heartbeat.Format(time.RFC3339))
	}
	if len(r.Params) > 0 {
		keys := make([]string, 0, len(r.Params))
		for k := range r.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+r.Params[k])
		}
		fmt.Fprintf(w, "  params      %s\n", strings.Join(kv, " "))
	}
	if r.Message != "" {
		fmt.Fprintf(w, "  message     %s\n", r.Message)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STAGE\tSTATUS\tDONE\tTOTAL\tRATE/S\tETA\tSECONDS\tPEAK RSS MB\tATTEMPTS")
	for _, s := range r.Stages {
		eta := "-"
		if s.ETA > 0 {
			eta = fmt.Sprintf("%.0fs", s.ETA)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%.0f\t%s\t%.2f\t%d\t%d\n", s.Job, s.Status, s.Done, s.Total, s.Rate, eta, s.Seconds, s.PeakRSS>>20, s.Attempts)
	}
	tw.Flush()
}

func newJobsLogsCmd(g *globals) *cobra.Command {
	var follow bool
	var after int64
	c := &cobra.Command{
		Use:   "logs RUN_ID [-f]",
		Short: "Print a run's structured log (JSON lines); -f follows it until the run ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withRunner(ctx, g, func(rn *pipeline.Runner) error {
				print := func(e store.RunEvent) error {
					if e.Kind == "log" {
						_, err := fmt.Fprintln(g.stdout, string(e.Body))
						return err
					}
					b, _ := json.Marshal(map[string]any{"time": e.At, "kind": e.Kind, "event": e.Body})
					_, err := fmt.Fprintln(g.stdout, string(b))
					return err
				}
				if follow {
					err := rn.Follow(ctx, args[0], after, print)
					if errors.Is(err, context.Canceled) {
						return nil
					}
					return err
				}
				evs, err := rn.Logs(ctx, args[0], after)
				if err != nil {
					return err
				}
				for _, e := range evs {
					if err := print(e); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the run ends")
	c.Flags().Int64Var(&after, "after", 0, "only events after this sequence number")
	return c
}

func newJobsCancelCmd(g *globals) *cobra.Command {
	var wait bool
	c := &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Cancel a queued or running run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withRunner(ctx, g, func(rn *pipeline.Runner) error {
				if err := rn.Cancel(ctx, args[0]); err != nil {
					return err
				}
				if !wait {
					fmt.Fprintf(g.stdout, "run %s: cancelling\n", args[0])
					return nil
				}
				r, err := rn.Wait(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "run %s: %s\n", r.ID, r.Status)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "wait until the run has stopped")
	return c
}
