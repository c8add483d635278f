package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/gate"
	"finwave/pipeline"
	"finwave/report"
	"finwave/report/parquetout"
)

// recycle gives a rendered Teardown back for reuse (analyzer.Recycle). A
// variable so that TestFixtureGoldens can turn it off and check the output
// does not change: nothing rendered may point into a recycled Teardown.
var recycle = analyzer.Recycle

// analyzeFlags are the flags of `finwave [flags] FILE...`.
type analyzeFlags struct {
	analysisFlags
	json       bool
	all        bool
	summary    bool
	stream     int64
	only       string
	failOn     string
	allowEmpty bool
	noColor    bool
	quiet      bool
	jobs       int
	merge      bool
	html       string
	parquet    string
	capHost    string
	roll       rollupFlags
	out        outputFlags
	term       termFlags
	filt       filterFlags
	wr         writeFlags
}

// flagSet registers every flag of `finwave` and `finwave hosts` (they
// share them) on a new flag set named name.
func (f *analyzeFlags) flagSet(name string) *flag.FlagSet {
	fs := newFlagSet(name)
	f.register(fs)
	f.roll.register(fs)
	f.out.register(fs)
	f.term.register(fs)
	f.filt.register(fs)
	f.wr.register(fs)
	fs.BoolVar(&f.json, "json", false, "write one JSON document per capture (report/SCHEMA.md)")
	fs.StringVar(&f.parquet, "parquet", "", "also write the analysis as Parquet tables (flows, segments, anomalies, hosts, services, pairs) into `DIR` (report/SCHEMA.md)")
	fs.StringVar(&f.capHost, "capture-host", "", "name of the host the captures were taken on, written in the Parquet tables' host column (e.g. $(hostname) when analysing on the capturing host)")
	fs.StringVar(&f.html, "html", "", "also write the report as one self-contained HTML page to `FILE` (overview, hosts, groups, flows table, ladders)")
	fs.BoolVar(&f.all, "all", false, "report every flow, not only those worth reading")
	fs.BoolVar(&f.summary, "summary", false, "summary tables only, no per-flow reports")
	fs.Int64Var(&f.stream, "stream", -1, "report only this tcp.stream `N` (Wireshark's numbering)")
	fs.StringVar(&f.only, "only", "", "report only flows with one of these anomaly `KINDS` (comma list)")
	registerGate(fs, &f.failOn, &f.allowEmpty)
	fs.BoolVar(&f.noColor, "no-color", false, "no ANSI colour even on a terminal")
	fs.BoolVar(&f.quiet, "q", false, "no report and no progress: only errors and the exit status (with --fail-on)")
	fs.BoolVar(&f.quiet, "quiet", false, "same as -q")
	fs.BoolVar(&f.merge, "merge", false, "read the capture files (or a directory, or a quoted glob) as one capture, merged by time as mergecap does: flows continue across rotated files")
	fs.IntVar(&f.jobs, "j", runtime.NumCPU(), "goroutines to use for one capture: read ahead, analyse and render concurrently (1: one goroutine)")
	return fs
}

// cmdHosts is `finwave hosts`: the analysis with the roll-up tables alone.
func cmdHosts(ctx context.Context, args []string, e *env) error {
	return analyze(ctx, args, e, true)
}

func cmdAnalyze(ctx context.Context, args []string, e *env) error {
	return analyze(ctx, args, e, false)
}

// analyze is `finwave [flags] FILE...`, and `finwave hosts` when hosts.
func analyze(ctx context.Context, args []string, e *env, hosts bool) error {
	var f analyzeFlags
	name := "finwave"
	if hosts {
		name = "finwave hosts"
	}
	fs := f.flagSet(name)
	files, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		if hosts {
			writeHostsHelp(e.stdout)
		} else {
			writeHelp(e.stdout)
		}
		return err
	}
	if err != nil {
		return err
	}
	if looksLikeCapture(f.failOn) {
		return usagef("--fail-on needs KINDS; %s looks like a capture file", f.failOn)
	}
	var expr string
	if files, expr, err = splitFilter(files, f.filt.expr); err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("no capture file given (use - to read a capture from stdin)")
	}
	if f.merge {
		set, name, err := expandSet(files)
		if err != nil {
			return err
		}
		if f.wr.path != "" {
			return usagef("--write and --merge: write the flagged flows of one capture file")
		}
		e.sets = map[string][]string{name: set}
		files = []string{name}
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	// -q with no file output shows no flow: the analyzer leaves out the
	// prose and the ladders nothing reads (anomaly details, verdicts,
	// labelled segments; --fail-on gates on kinds and patterns).
	cfg.Brief = f.quiet && f.html == "" && f.parquet == "" && f.wr.path == ""
	base, err := f.runner()
	if err != nil {
		return err
	}
	if base.Filter, err = matcher(expr); err != nil {
		return err
	}
	opts := report.DefaultOptions()
	opts.All, opts.SummaryOnly, opts.Stream = f.all, f.summary, f.stream
	set := setFlags(fs)
	if set["quiet"] {
		set["q"] = true
	}
	if set["stream"] && f.stream < 0 {
		return usagef("--stream %d: want a stream number (0 or more)", f.stream)
	}
	if err := conflicts(set, [][3]string{
		{"summary", "all", "pick one (--summary prints no flow, --all every flow)"},
		{"summary", "stream", "pick one (--summary prints no flow)"},
		{"stream", "all", "pick one (--stream prints one flow, --all every flow)"},
		{"json", "q", "pick one (-q prints nothing)"},
	}); err != nil {
		return err
	}
	if stream := f.stream; stream >= 0 {
		// One flow asked for: its whole ladder, every segment.
		cfg.KeepEvery = func(s int64) bool { return s == stream }
	}
	if f.only != "" {
		if opts.Only, err = parseKinds("only", f.only, false); err != nil {
			return err
		}
	}
	failOn, err := parseGate(f.failOn)
	if err != nil {
		return err
	}
	if err := f.out.check(f.json, hosts); err != nil {
		return err
	}
	if f.jobs < 1 {
		return usagef("-j %d: want 1 or more", f.jobs)
	}
	if err := f.wr.check(files); err != nil {
		return err
	}
	if f.capHost != "" && f.parquet == "" {
		return usagef("--capture-host %s names the host column of the Parquet tables: give --parquet DIR too", f.capHost)
	}
	if f.html != "" && len(files) > 1 {
		return usagef("--html writes one capture's page: give one capture file (%d given)", len(files))
	}
	if n := countStdin(files); n > 1 {
		return usagef("stdin (-) given %d times", n)
	}
	opts.Color = !f.json && useColor(e, f.noColor)
	if err := f.term.apply(e, &opts, f.json, f.noColor); err != nil {
		return err
	}
	if err := f.roll.apply(&opts, hosts); err != nil {
		return err
	}

	var r report.Renderer
	switch {
	case f.quiet:
		r = discard{}
	case f.json:
		r = report.NewJSON(e.stdout, opts)
	case f.out.renderer(e.stdout, opts) != nil:
		r = f.out.renderer(e.stdout, opts)
	default:
		r = report.NewText(e.stdout, opts)
	}
	if f.html != "" {
		page, err := openPage(f.html)
		if err != nil {
			return err
		}
		defer page.Close()
		r = withHTML(r, page, opts)
	}
	var pq *parquetout.Writer
	if f.parquet != "" {
		var err error
		if pq, err = parquetout.New(f.parquet, opts.Rollup); err != nil {
			return err
		}
		pq.SetHost(f.capHost)
		defer pq.Close() // on an early return; Close is idempotent
		r = both{r, pq}
	}
	var sel *selection
	if f.wr.path != "" {
		sel = newSelection(r, f.stream, opts.Only)
		r = sel
	}
	progress := !f.quiet && isTerminal(e.stderr)

	var bad, found int
	for i, path := range files {
		if i > 0 {
			// The previous capture's flows are garbage now, but the
			// collector's goal was set by their live heap: without a
			// collection here the next capture's flows pile up on top of
			// them before the next one (peak RSS nearly doubled from the
			// second file on). A collection of what little is live
			// between captures costs about a millisecond.
			runtime.GC()
		}
		if pq != nil {
			pq.SetCapture(displayName(path))
		}
		res, err := analyzeOne(ctx, path, cfg, base, r, &failOn, progress, f.jobs, e)
		if gateVerdict(e.stderr, displayName(path), &res, &failOn, f.allowEmpty, err == nil) {
			found++
		}
		if err != nil {
			var we *writeError
			if errors.As(err, &we) {
				return err // the output is gone (closed pipe): stop
			}
			fmt.Fprintf(e.stderr, "finwave: %v\n", err)
			bad++
		}
		if res.interrupted {
			fmt.Fprintf(e.stderr, "finwave: interrupted: reported the %d frames read from %s\n", res.frames, displayName(path))
			break
		}
	}
	if pq != nil {
		if err := pq.Close(); err != nil {
			fmt.Fprintf(e.stderr, "finwave: %s: %v\n", f.parquet, err)
			bad++
		}
	}
	if sel != nil && bad == 0 && ctx.Err() == nil {
		if err := writeFlagged(ctx, files[0], f.wr.path, base, sel, e); err != nil {
			fmt.Fprintf(e.stderr, "finwave: %v\n", err)
			bad++
		}
	}
	switch {
	case bad > 0:
		return &inputError{n: bad}
	case found > 0:
		return errFindings
	}
	return nil
}

// result is what one capture's analysis tells the exit code.
type result struct {
	tally       gate.Tally // the flows that tripped --fail-on
	empty       string     // why the capture had no TCP flow ("" when it had)
	frames      int64      // frames read
	interrupted bool
}

// captureSummary describes one analysed capture (file or live) for the
// report: the pipeline's frame counts, the analyzer's flow counts, and the
// duplicate captures the analyzer dropped among the skipped frames.
func captureSummary(name string, st *pipeline.Stats, as analyzer.Stats, profile string) *report.Capture {
	skipped := st.Skipped()
	if as.Duplicates > 0 {
		if skipped == nil {
			skipped = map[string]int64{}
		}
		skipped["duplicate capture"] = as.Duplicates
	}
	c := &report.Capture{
		File:        name,
		Frames:      st.Frames,
		TCPSegments: st.TCPSegments,
		Skipped:     skipped,
		First:       st.First,
		Last:        st.Last,
		Profile:     profile,
		Flows:       as.Flows,
		Evicted:     as.Evicted,
	}
	if st.ReadErr != nil {
		c.ReadError = st.ReadErr.Error()
	}
	return c
}

// writeError is a failure to write the report itself.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing report: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// analyzeOne reads one capture through the pipeline into the renderer.
// A capture that cannot be opened returns an error before any output. A
// capture damaged part way is reported (up to the damage) and the read error
// is returned too.
func analyzeOne(ctx context.Context, path string, cfg analyzer.Config, runner pipeline.Runner, r report.Renderer,
	failOn *gate.Gate, progress bool, jobs int, e *env) (result, error) {
	var res result
	if err := precheckFilter(path, runner.Filter); err != nil {
		return res, err
	}
	src, err := openCapture(ctx, path, e)
	if err != nil {
		return res, err
	}
	merged, _ := src.(*capture.Merged)
	if path != "-" {
		src = parallelSource(src, jobs)
	}
	defer src.Close()

	var werr error
	emit := func(t *analyzer.Teardown) {
		res.tally.Add(t.Stream, failOn.Trips(t))
		if werr == nil {
			werr = r.Flow(t)
		}
		recycle(t) // renderers keep nothing of t
	}
	var st pipeline.Stats
	var pl *progressLine
	if progress {
		pl = newProgressLine(e.stderr, path, termWidth(e, e.stderr))
		runner.OnProgress = pl.update
	}
	as, runErr := analyzeSource(ctx, &runner, src, cfg, emit, jobs, &st)
	if pl != nil {
		pl.clear()
	}
	res.frames = st.Frames
	res.interrupted = errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded)
	if res.interrupted && ctx.Err() != nil && errors.Is(st.ReadErr, ctx.Err()) {
		st.ReadErr = nil // the signal cut a read of stdin: not damage
	}

	c := captureSummary(displayName(path), &st, as, cfg.Profile.Name)
	if merged != nil {
		setSummary(c, merged, e.stderr)
	}
	if runner.Filter != nil {
		c.Filter, c.FilteredOut = runner.Filter.Expr(), st.FilteredOut
	}
	res.empty = gate.Empty(c)
	if werr == nil {
		werr = r.Finish(c)
	}
	if werr != nil {
		return res, &writeError{werr}
	}
	if st.ReadErr != nil {
		return res, st.ReadErr
	}
	if runErr != nil && !res.interrupted {
		return res, filterError(path, runErr)
	}
	return res, nil
}

// openCapture opens path; "-" reads the process's stdin, giving up when
// ctx ends (ctxReader).
func openCapture(ctx context.Context, path string, e *env) (capture.Source, error) {
	if set, ok := e.sets[path]; ok {
		return capture.OpenMerged(set)
	}
	if path == "-" {
		if e.stdin == nil {
			return nil, errors.New("capture <stdin>: no standard input")
		}
		if isTerminal(e.stdin) {
			return nil, errors.New("reading a capture from stdin (a terminal): pipe one in, e.g. tcpdump -w - 'tcp port 443' | finwave -")
		}
		return capture.NewReader(capture.StdinName, newCtxReader(ctx, e.stdin))
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("capture %s: is a directory", path)
	}
	return capture.Open(path)
}

func displayName(path string) string {
	if path == "-" {
		return capture.StdinName
	}
	return path
}

func countStdin(files []string) int {
	n := 0
	for _, f := range files {
		if f == "-" {
			n++
		}
	}
	return n
}

// discard is the renderer of -q.
type discard struct{}

func (discard) Flow(*analyzer.Teardown) error { return nil }
func (discard) Finish(*report.Capture) error  { return nil }
