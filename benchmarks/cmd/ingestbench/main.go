// Command ingestbench measures `autoid ingest` on the `large` synthetic
// company and runs DuckDB on the same CSV side by side.
//
// It generates the preset once (or reuses --dir), then runs rounds of
//
//	autoid --workspace FRESH ingest --dir DIR
//	DuckDB: CREATE TABLE a AS SELECT * FROM read_csv('DIR/assignments.csv'), in memory
//	DuckDB: the same into a fresh database file (closed, i.e. checkpointed)
//	DuckDB: all four CSV files into a fresh database file (the engine's whole job)
//
// each in its own child process (DuckDB cases re-execute this binary), so no
// case sees another's caches beyond the OS page cache. The first round is a
// warm-up and is not counted; the cases of a round are interleaved so that
// noise on a shared machine hits them alike. Wall time is the child's whole
// process (start to exit); peak RSS is the child's rusage maxrss.
//
// Finally it runs the engine --phase-runs more times with -v and prints its
// phase timings.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// inputFiles are the entity files that `autoid gen` writes and ingest reads.
var inputFiles = []string{"applications.csv", "entitlements.csv", "identities.csv", "assignments.csv"}

const childCmd = "duckdb-child"

func main() {
	if len(os.Args) > 1 && os.Args[1] == childCmd {
		if err := duckChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ingestbench duckdb-child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

type options struct {
	dir, preset, autoid, repo, work string
	runs, warmup, phaseRuns         int
	maxLoad                         float64
	maxWait                         time.Duration
	duck, allFour, keep             bool
	markdown                        bool
}

func run() error {
	var o options
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "ingestbench", "large"), "company directory; generated with `autoid gen` if it has no assignments.csv")
	flag.StringVar(&o.preset, "preset", "large", "preset for `autoid gen` when --dir must be generated")
	flag.StringVar(&o.autoid, "autoid", "", "autoid binary (default: build ./cmd/autoid of --repo into --work)")
	flag.StringVar(&o.repo, "repo", "", "root of the autoid module (default: found upwards from the current directory)")
	flag.StringVar(&o.work, "work", filepath.Join(os.TempDir(), "ingestbench", "work"), "scratch directory for workspaces and DuckDB files")
	flag.IntVar(&o.runs, "runs", 3, "measured runs per case")
	flag.IntVar(&o.warmup, "warmup", 1, "warm-up runs per case (not counted)")
	flag.BoolVar(&o.duck, "duckdb", true, "run the DuckDB cases")
	flag.BoolVar(&o.allFour, "duckdb-all", true, "also run DuckDB loading all four CSV files into a database file")
	flag.IntVar(&o.phaseRuns, "phase-runs", 1, "extra engine runs with -v for the phase timings (0: none)")
	flag.Float64Var(&o.maxLoad, "max-load", 0, "before each round, wait until the 1-minute load average is below this (0: don't wait)")
	flag.DurationVar(&o.maxWait, "max-wait", 2*time.Minute, "longest wait for --max-load per round")
	flag.BoolVar(&o.markdown, "markdown", false, "print the table as Markdown")
	flag.BoolVar(&o.keep, "keep", false, "keep the workspaces and database files of the runs")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: ingestbench [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	if o.runs < 1 {
		return errors.New("--runs must be at least 1")
	}
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}

	bin, err := autoidBinary(&o)
	if err != nil {
		return err
	}
	if err := ensureCompany(&o, bin); err != nil {
		return err
	}
	in, err := describeInput(o.dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	printMachine(bin)
	fmt.Printf("input: %s\n", o.dir)
	for _, f := range in.files {
		fmt.Printf("  %-18s %10d rows %12d bytes\n", f.name, f.rows, f.bytes)
	}
	fmt.Printf("  %-18s %10d rows %12d bytes\n", "total", in.rows(), in.bytes())
	fmt.Println()

	asg := in.file("assignments.csv")
	cases := []*benchCase{{
		name:  "autoid ingest (4 files -> Parquet)",
		rows:  in.rows(),
		bytes: in.bytes(),
		cmd: func(i int) (*exec.Cmd, func(), error) {
			ws := filepath.Join(o.work, fmt.Sprintf("ws-%d", i))
			if err := os.RemoveAll(ws); err != nil {
				return nil, nil, err
			}
			return exec.Command(bin, "--workspace", ws, "ingest", "--dir", o.dir), o.cleanup(ws), nil
		},
	}}
	if o.duck {
		duckCase := func(name, mode string, rows, bytes int64) *benchCase {
			return &benchCase{name: name, rows: rows, bytes: bytes, duck: true,
				cmd: func(i int) (*exec.Cmd, func(), error) {
					db := ""
					if mode != "mem" {
						db = filepath.Join(o.work, fmt.Sprintf("duck-%s-%d.db", mode, i))
						for _, p := range []string{db, db + ".wal"} {
							if err := os.RemoveAll(p); err != nil {
								return nil, nil, err
							}
						}
					}
					args := []string{childCmd, "--mode", mode, "--dir", o.dir}
					if db != "" {
						args = append(args, "--db", db)
					}
					cmd := exec.Command(self, args...)
					return cmd, o.cleanup(db, db+".wal", db+".tmp"), nil
				}}
		}
		cases = append(cases,
			duckCase("DuckDB assignments.csv -> in-memory table", "mem", asg.rows, asg.bytes),
			duckCase("DuckDB assignments.csv -> database file", "file", asg.rows, asg.bytes))
		if o.allFour {
			cases = append(cases, duckCase("DuckDB 4 files -> database file", "all", in.rows(), in.bytes()))
		}
	}

	// Rounds: warm-ups first, then measured rounds, cases interleaved.
	total := o.warmup + o.runs
	for r := 0; r < total; r++ {
		waitQuiet(o.maxLoad, o.maxWait)
		warm := r < o.warmup
		for _, c := range cases {
			res, err := c.runOnce(r)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			tag := fmt.Sprintf("run %d", r-o.warmup+1)
			if warm {
				tag = "warm-up"
			} else {
				c.results = append(c.results, res)
			}
			extra := ""
			if res.inner > 0 {
				extra = fmt.Sprintf("  (in-process %.3f s)", res.inner.Seconds())
			}
			fmt.Fprintf(os.Stderr, "%-8s %-42s %7.3f s  cpu %6.2f s  %6.0f MiB  load %s%s\n", tag, c.name, res.wall.Seconds(), res.cpu.Seconds(), mib(res.maxrssKB), loadavg(), extra)
		}
	}
	fmt.Fprintln(os.Stderr)

	printTable(os.Stdout, cases, o.markdown)

	if o.phaseRuns > 0 {
		fmt.Println()
		if err := phaseRun(&o, bin); err != nil {
			return err
		}
	}
	return nil
}

func (o *options) cleanup(paths ...string) func() {
	return func() {
		if o.keep {
			return
		}
		for _, p := range paths {
			if p != "" {
				os.RemoveAll(p)
			}
		}
	}
}

// ---- cases and results ----

type result struct {
	wall     time.Duration
	cpu      time.Duration // user + system time of the child
	inner    time.Duration // DuckDB: time reported by the child for the SQL + close
	maxrssKB int64
}

type benchCase struct {
	name        string
	rows, bytes int64
	duck        bool
	cmd         func(i int) (*exec.Cmd, func(), error)
	results     []result
}

func (c *benchCase) runOnce(i int) (result, error) {
	cmd, cleanup, err := c.cmd(i)
	if err != nil {
		return result{}, err
	}
	defer cleanup()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%v: %w\n%s", cmd.Args, err, tail(stderr.String(), 2000))
	}
	res := result{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), maxrssKB: maxrss(cmd.ProcessState)}
	if c.duck {
		var rep childReport
		if err := json.Unmarshal(lastLine(stdout.Bytes()), &rep); err != nil {
			return result{}, fmt.Errorf("child report: %w (%q)", err, stdout.String())
		}
		res.inner = time.Duration(rep.Seconds * float64(time.Second))
		if rep.Rows != c.rows {
			return result{}, fmt.Errorf("DuckDB loaded %d rows, want %d", rep.Rows, c.rows)
		}
	}
	return res, nil
}

// maxrss is the child's peak resident set size in kB (Linux reports
// ru_maxrss in kB).
func maxrss(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		if runtime.GOOS == "darwin" {
			return int64(ru.Maxrss) / 1024 // bytes there
		}
		return int64(ru.Maxrss)
	}
	return 0
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (c *benchCase) walls() []float64 {
	var xs []float64
	for _, r := range c.results {
		xs = append(xs, r.wall.Seconds())
	}
	return xs
}

func (c *benchCase) cpus() []float64 {
	var xs []float64
	for _, r := range c.results {
		xs = append(xs, r.cpu.Seconds())
	}
	return xs
}

func (c *benchCase) peakMiB() float64 {
	var m int64
	for _, r := range c.results {
		m = max(m, r.maxrssKB)
	}
	return mib(m)
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

func printTable(w io.Writer, cases []*benchCase, md bool) {
	engine := median(cases[0].walls())
	header := []string{"case", "rows", "input MB", "median wall", "min", "max", "rows/s", "MB/s", "median CPU", "peak RSS", "engine/this"}
	var rows [][]string
	for _, c := range cases {
		ws := c.walls()
		med := median(ws)
		ratio := "-"
		if c != cases[0] {
			ratio = fmt.Sprintf("%.2fx", engine/med)
		}
		rows = append(rows, []string{
			c.name,
			group(c.rows),
			fmt.Sprintf("%.1f", float64(c.bytes)/1e6),
			fmt.Sprintf("%.3f s", med),
			fmt.Sprintf("%.3f s", slices.Min(ws)),
			fmt.Sprintf("%.3f s", slices.Max(ws)),
			fmt.Sprintf("%.2fM", float64(c.rows)/med/1e6),
			fmt.Sprintf("%.0f", float64(c.bytes)/1e6/med),
			fmt.Sprintf("%.2f s", median(c.cpus())),
			fmt.Sprintf("%.0f MiB", c.peakMiB()),
			ratio,
		})
	}
	n := len(cases[0].results)
	if md {
		fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
		fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---:|", len(header)-1))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nmedian of %d warm runs per case; wall = whole child process;\nCPU = user+system time of the child (less sensitive to other load than wall); peak RSS = max rusage maxrss over the runs;\n", n)
	fmt.Fprintf(w, "MB/s = input CSV bytes (1e6) / wall; engine/this = engine median wall / this case's median wall.\n")
	e := cases[0]
	fmt.Fprintf(w, "target (engine < 2 s wall, < 2 GB peak RSS): wall %.3f s %s, RSS %.0f MiB %s\n",
		median(e.walls()), metStr(median(e.walls()) < 2), e.peakMiB(), metStr(e.peakMiB()*1024*1024 < 2e9))
}

func metStr(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ---- input ----

type inputFile struct {
	name        string
	rows, bytes int64
}

type input struct{ files []inputFile }

func (in input) rows() (n int64) {
	for _, f := range in.files {
		n += f.rows
	}
	return n
}

func (in input) bytes() (n int64) {
	for _, f := range in.files {
		n += f.bytes
	}
	return n
}

func (in input) file(name string) inputFile {
	for _, f := range in.files {
		if f.name == name {
			return f
		}
	}
	return inputFile{}
}

// describeInput counts the data rows (lines minus the header) and bytes of
// each entity file. The generator writes no quoted newlines.
func describeInput(dir string) (input, error) {
	var in input
	for _, name := range inputFiles {
		p := filepath.Join(dir, name)
		f, err := os.Open(p)
		if err != nil {
			return in, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return in, err
		}
		lines, err := countLines(f)
		f.Close()
		if err != nil {
			return in, fmt.Errorf("%s: %w", p, err)
		}
		in.files = append(in.files, inputFile{name: name, rows: lines - 1, bytes: st.Size()})
	}
	return in, nil
}

func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func ensureCompany(o *options, bin string) error {
	if _, err := os.Stat(filepath.Join(o.dir, "assignments.csv")); err == nil {
		fmt.Fprintf(os.Stderr, "reusing %s\n", o.dir)
		return nil
	}
	fmt.Fprintf(os.Stderr, "generating preset %s into %s\n", o.preset, o.dir)
	cmd := exec.Command(bin, "gen", "--preset", o.preset, "--out", o.dir, "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// ---- the autoid binary ----

func autoidBinary(o *options) (string, error) {
	if o.autoid != "" {
		return filepath.Abs(o.autoid)
	}
	repo := o.repo
	if repo == "" {
		var err error
		if repo, err = findRepo(); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(o.work, "autoid")
	fmt.Fprintf(os.Stderr, "building %s/cmd/autoid -> %s\n", repo, bin)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/autoid")
	cmd.Dir = repo
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/autoid: %w", err)
	}
	return bin, nil
}

// findRepo walks up from the working directory to the go.mod of the main
// module github.com/autoid-oss/autoid.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(line) == "module github.com/autoid-oss/autoid" {
					return dir, nil
				}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/autoid-oss/autoid above the working directory; pass --repo or --autoid")
		}
		dir = parent
	}
}

// ---- machine ----

func printMachine(bin string) {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("lscpu").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Model name" {
				model = strings.TrimSpace(v)
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					kb, _ := strconv.ParseInt(f[1], 10, 64)
					mem = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
				}
			}
		}
	}
	fmt.Printf("machine: nproc %d, model %q, memory %s, %s %s/%s\n", runtime.NumCPU(), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if out, err := exec.Command(self(), childCmd, "--mode", "version").Output(); err == nil {
		fmt.Printf("duckdb: %s", out)
	}
	fmt.Printf("autoid: %s\n", bin)
}

func self() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}

// ---- phase breakdown ----

var kvRE = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S+)`)

// phaseRun runs the engine --phase-runs times with -v and prints the
// per-entity times and the phase timings it logs (msg="... phases" read=...
// merge=... build=... write=...), each run and the medians.
func phaseRun(o *options, bin string) error {
	type series struct {
		order []string
		vals  map[string][]float64
	}
	med := series{vals: map[string][]float64{}}
	add := func(k string, v float64) {
		if _, ok := med.vals[k]; !ok {
			med.order = append(med.order, k)
		}
		med.vals[k] = append(med.vals[k], v)
	}
	fmt.Printf("engine phase breakdown (%d extra run(s) with -v, seconds):\n", o.phaseRuns)
	for i := 0; i < o.phaseRuns; i++ {
		ws := filepath.Join(o.work, "ws-phases")
		if err := os.RemoveAll(ws); err != nil {
			return err
		}
		cmd := exec.Command(bin, "--workspace", ws, "-v", "ingest", "--dir", o.dir)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		o.cleanup(ws)()
		if err != nil {
			return fmt.Errorf("%v: %w\n%s", cmd.Args, err, tail(stderr.String(), 2000))
		}
		parts := []string{fmt.Sprintf("wall %.3f", wall.Seconds())}
		add("wall", wall.Seconds())
		rss := mib(maxrss(cmd.ProcessState))
		sc := bufio.NewScanner(&stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			kv := map[string]string{}
			var keys []string
			for _, m := range kvRE.FindAllStringSubmatch(sc.Text(), -1) {
				kv[m[1]] = strings.Trim(m[2], `"`)
				keys = append(keys, m[1])
			}
			switch {
			case kv["msg"] == "ingested":
				k := kv["entity"] + " total"
				f, _ := strconv.ParseFloat(kv["seconds"], 64)
				add(k, f)
				parts = append(parts, fmt.Sprintf("%s %.3f", k, f))
			case strings.HasSuffix(kv["msg"], " phases"):
				ent := strings.TrimSuffix(kv["msg"], " phases")
				for _, k := range keys {
					if k == "time" || k == "level" || k == "msg" {
						continue
					}
					f, _ := strconv.ParseFloat(kv[k], 64)
					add(ent+" "+k, f)
					parts = append(parts, fmt.Sprintf("%s %s %.3f", ent, k, f))
				}
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		fmt.Printf("  run %d: %s; peak RSS %.0f MiB\n", i+1, strings.Join(parts, ", "), rss)
	}
	var parts []string
	for _, k := range med.order {
		parts = append(parts, fmt.Sprintf("%s %.3f", k, median(med.vals[k])))
	}
	fmt.Printf("  median: %s\n", strings.Join(parts, ", "))
	return nil
}

func secs(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%.3f", f)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// ---- DuckDB child ----

type childReport struct {
	Mode    string  `json:"mode"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	Threads int64   `json:"threads"`
}

// duckChild runs one DuckDB case in this fresh process: a new database
// (in memory or a new file), the CSV load, the count, and Close (which
// checkpoints a file database). It prints a JSON report on stdout.
func duckChild(args []string) error {
	fset := flag.NewFlagSet(childCmd, flag.ContinueOnError)
	mode := fset.String("mode", "mem", "mem, file, all or version")
	dir := fset.String("dir", "", "company directory")
	dbPath := fset.String("db", "", "database file (file, all)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	db, err := sql.Open("duckdb", *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// One connection, so every statement sees the same database.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	if *mode == "version" {
		var v string
		var threads int64
		if err := conn.QueryRowContext(ctx, "SELECT version(), current_setting('threads')").Scan(&v, &threads); err != nil {
			return err
		}
		fmt.Printf("%s, threads %d\n", v, threads)
		return nil
	}
	q := func(name string) string {
		p := filepath.Join(*dir, name)
		return "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	var stmts []string
	var count string
	switch *mode {
	case "mem", "file":
		stmts = []string{"CREATE TABLE a AS SELECT * FROM read_csv(" + q("assignments.csv") + ")"}
		count = "SELECT count(*) FROM a"
	case "all":
		var parts []string
		for i, name := range inputFiles {
			t := fmt.Sprintf("t%d", i)
			stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM read_csv(%s)", t, q(name)))
			parts = append(parts, "(SELECT count(*) FROM "+t+")")
		}
		count = "SELECT " + strings.Join(parts, " + ")
	default:
		return fmt.Errorf("unknown --mode %q", *mode)
	}
	if (*mode == "file" || *mode == "all") && *dbPath == "" {
		return errors.New("--db is required for a database file")
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	var rep childReport
	rep.Mode = *mode
	if err := conn.QueryRowContext(ctx, count).Scan(&rep.Rows); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&rep.Threads); err != nil {
		return err
	}
	if err := conn.Close(); err != nil {
		return err
	}
	if err := db.Close(); err != nil { // checkpoints a file database
		return err
	}
	rep.Seconds = time.Since(start).Seconds()
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	return nil
}

// loadavg is the 1-minute load average from /proc/loadavg ("?" elsewhere).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// waitQuiet sleeps until the 1-minute load average drops below max, for at
// most wait; it gives up silently (the load is printed with every run).
func waitQuiet(max float64, wait time.Duration) {
	if max <= 0 {
		return
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		l, err := strconv.ParseFloat(loadavg(), 64)
		if err != nil || l < max {
			return
		}
		time.Sleep(5 * time.Second)
	}
}
