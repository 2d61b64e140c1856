package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/mining"
)

// newFimCmd is `autoid fim`: the general frequent-itemset miner over FIMI
// files, exposed for benchmarking and for use outside identity data.
func newFimCmd(g *globals) *cobra.Command {
	var (
		input, minSupport, out string
		closed, countOnly      bool
		maxLen, workers        int
	)
	cmd := &cobra.Command{
		Use:   "fim --input FILE.dat --min-support FRACTION|COUNT [flags]",
		Short: "Mine frequent (or closed) itemsets from a FIMI transaction file",
		Long: `fim runs the general frequent-itemset kernel (LCM) on a file in the FIMI
format: one transaction per line, items as space-separated non-negative
integers. Blank lines are skipped, trailing spaces are tolerated and an item
repeated in a line counts once.

--min-support is a fraction of the transactions when it has a decimal point or
is below 1 (0.01 = 1%; an itemset is frequent when its count is >=
ceil(fraction x transactions)), and an absolute transaction count when it is
an integer >= 1.

Itemsets are written one per line as "i1 i2 ... (support)", items ascending,
in a deterministic order. --count-only prints only the number of itemsets on
stdout, with per-length counts and timings on stderr.`,
		Example: `  autoid fim --input retail.dat --min-support 0.0001 --count-only
  autoid fim --input chess.dat --min-support 0.5 --closed --out chess-closed.txt
  autoid fim --input T10I4D100K.dat --min-support 100 --max-len 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return usageError{cmd: "fim", err: errors.New("--input is required")}
			}
			if minSupport == "" {
				return usageError{cmd: "fim", err: errors.New("--min-support is required")}
			}
			count, frac, err := parseMinSupport(minSupport)
			if err != nil {
				return usageError{cmd: "fim", err: err}
			}
			if maxLen < 0 {
				return usageError{cmd: "fim", err: fmt.Errorf("--max-len must be >= 0, got %d", maxLen)}
			}
			if countOnly && out != "" {
				return usageError{cmd: "fim", err: errors.New("--count-only and --out are exclusive")}
			}
			start := time.Now()
			data, err := os.ReadFile(input)
			if err != nil {
				return fmt.Errorf("fim: %w", err)
			}
			db, err := mining.ParseFIMI(data, input)
			if err != nil {
				return fmt.Errorf("fim: %w", err)
			}
			parsed := time.Now()
			opt := mining.Options{MinSupport: count, MinSupportFraction: frac, Closed: closed, MaxLen: maxLen, Workers: workers}
			var emit mining.EmitFunc
			var bw *bufio.Writer
			var f *os.File
			if !countOnly {
				var w io.Writer = g.stdout
				if out != "" {
					if f, err = os.Create(out); err != nil {
						return fmt.Errorf("fim: %w", err)
					}
					defer f.Close()
					w = f
				}
				bw = bufio.NewWriterSize(w, 1<<20)
				var line []byte
				emit = func(items []int32, support int) error {
					line = line[:0]
					for i, it := range items {
						if i > 0 {
							line = append(line, ' ')
						}
						line = strconv.AppendInt(line, int64(it), 10)
					}
					line = append(line, " ("...)
					line = strconv.AppendInt(line, int64(support), 10)
					line = append(line, ")\n"...)
					_, err := bw.Write(line)
					return err
				}
			}
			st, err := mining.Mine(cmd.Context(), db, opt, emit)
			if err != nil {
				return fmt.Errorf("fim: %s: %w", input, err)
			}
			if bw != nil {
				if err := bw.Flush(); err != nil {
					return fmt.Errorf("fim: write output: %w", err)
				}
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return fmt.Errorf("fim: %w", err)
				}
			}
			mined := time.Now()
			kind := "frequent"
			if closed {
				kind = "closed"
			}
			if countOnly {
				fmt.Fprintln(g.stdout, st.Itemsets)
			}
			var sb strings.Builder
			fmt.Fprintf(&sb, "fim: %s: %d transactions, min count %d: %d %s itemsets\n", input, st.Transactions, st.MinCount, st.Itemsets, kind)
			for l, c := range st.ByLength {
				if c > 0 {
					fmt.Fprintf(&sb, "  length %d: %d\n", l, c)
				}
			}
			fmt.Fprintf(&sb, "  read %.3fs, mine %.3fs, total %.3fs\n",
				parsed.Sub(start).Seconds(), mined.Sub(parsed).Seconds(), mined.Sub(start).Seconds())
			if countOnly {
				fmt.Fprint(g.stderr, sb.String())
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&input, "input", "", "FIMI transaction file (required)")
	fl.StringVar(&minSupport, "min-support", "", "minimum support: a fraction (0.01, .5) or an absolute count (100) (required)")
	fl.BoolVar(&closed, "closed", false, "report closed itemsets only")
	fl.IntVar(&maxLen, "max-len", 0, "maximum itemset length (0 = unlimited)")
	fl.BoolVar(&countOnly, "count-only", false, "print only the number of itemsets (per-length counts and timing on stderr)")
	fl.StringVar(&out, "out", "", "write itemsets to this file instead of stdout")
	fl.IntVar(&workers, "workers", 0, "worker goroutines (0 = all cores); the output does not depend on it")
	return cmd
}

// parseMinSupport reads a fraction (with a decimal point, or below 1) or an
// absolute count (an integer >= 1).
func parseMinSupport(s string) (count int, frac float64, err error) {
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, fmt.Errorf("--min-support %q: want a fraction or a count", s)
		}
		if n >= 1 {
			return n, 0, nil
		}
		return 0, 0, fmt.Errorf("--min-support %q: a count must be >= 1 (use a fraction like 0.01)", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("--min-support %q: want a fraction or a count", s)
	}
	if !(f > 0 && f <= 1) {
		return 0, 0, fmt.Errorf("--min-support %q: a fraction must be in (0, 1]", s)
	}
	return 0, f, nil
}
