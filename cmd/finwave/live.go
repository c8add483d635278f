package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/capture/bpf"
	"finwave/capture/live"
	"finwave/gate"
	"finwave/host"
	"finwave/hostview"
	"finwave/pipeline"
	"finwave/report"
)

const liveHelp = `Usage: finwave live -i IFACE [flags] [FILTER EXPRESSION]

Capture on a Linux interface (AF_PACKET, TPACKET_V3 ring; root or
CAP_NET_RAW) and report each TCP flow's teardown as soon as it completes
(its grace for late retransmissions passed) or its idle timeout passes.
Ctrl-C (SIGINT) or SIGTERM stops: every open flow is finished and reported
as cut off by the end of the capture, then the summary tables, with the
packets the kernel dropped, are printed, and finwave exits 0.

The filter uses tcpdump's syntax (a common subset: host, net, port,
portrange, ip/ip6/tcp/udp, tcp[flags], and/or/not) and is compiled to
classic BPF and attached in the kernel; only TCP ever reaches finwave.

Examples:
  finwave live -i eth0 -f 'tcp port 443'
  finwave live -i any --json 'host 10.0.0.1' | jq 'select(.anomalies != [])'
  finwave live -i lo -w teardown.pcap --duration 30s
  finwave live -i eth0 --kernel processes,trace 'port 8080'   # who holds each socket, and why the kernel reset it

Flags:
`

// liveFlags are the flags of `finwave live`.
type liveFlags struct {
	analysisFlags
	iface    string
	filter   string
	write    string
	count    int64
	duration time.Duration
	json     bool
	html     string
	all      bool
	only     string
	noColor  bool
	status   string
	user     string
	kernel   string
	term     termFlags
	// the CI gate and the quiet modes, as for files (analyze.go)
	failOn     string
	allowEmpty bool
	quiet      bool
	summary    bool
}

func (f *liveFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("finwave live")
	f.register(fs)
	fs.StringVar(&f.iface, "i", "", "capture on interface `IFACE` (any: every interface)")
	fs.StringVar(&f.iface, "interface", "", "same as -i")
	fs.StringVar(&f.filter, "f", "", "tcpdump filter `EXPR`, compiled to BPF and attached in the kernel")
	fs.StringVar(&f.write, "w", "", "also write the analysed packets to `FILE` (pcap, nanosecond timestamps)")
	fs.Int64Var(&f.count, "c", 0, "stop after `COUNT` packets")
	fs.DurationVar(&f.duration, "duration", 0, "stop after `D` (e.g. 30s, 5m)")
	fs.BoolVar(&f.json, "json", false, "one JSON object per flow as it finishes, then the live counters and the summary, one object each (report/SCHEMA.md)")
	fs.StringVar(&f.html, "html", "", "also write the report as one self-contained HTML page to `FILE` when the capture stops (SIGINT included)")
	fs.BoolVar(&f.all, "all", false, "report every flow, not only those worth reading (text)")
	fs.StringVar(&f.only, "only", "", "report only flows with one of these anomaly `KINDS` (comma list)")
	fs.BoolVar(&f.noColor, "no-color", false, "no ANSI colour even on a terminal")
	fs.StringVar(&f.status, "status", "auto", "periodic status line on stderr: auto (when a terminal), always, never")
	f.term.register(fs)
	registerGate(fs, &f.failOn, &f.allowEmpty)
	fs.BoolVar(&f.quiet, "q", false, "no report and no status: only errors and the exit status (with --fail-on)")
	fs.BoolVar(&f.quiet, "quiet", false, "same as -q")
	fs.BoolVar(&f.summary, "summary", false, "summary tables only, at the end; no per-flow reports")
	fs.StringVar(&f.kernel, "kernel", "auto", "the kernel's own view beside the wire: auto, off, or a comma `LIST` of processes, counters, trace, conntrack")
	fs.StringVar(&f.user, "Z", liveUser, "once the capture socket and -w file are open, run as `USER` (started as root; root keeps root)")
	return fs
}

func writeLiveHelp(w io.Writer) {
	io.WriteString(w, liveHelp+liveFlagHelp)
}

// cmdLive is `finwave live`: one pipeline, a live source.
func cmdLive(ctx context.Context, args []string, e *env) error {
	var f liveFlags
	fs := f.flagSet()
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeLiveHelp(e.stdout)
		return err
	}
	if err != nil {
		return err
	}
	if f.iface == "" {
		return usagef("live: no interface given (-i IFACE, or -i any)")
	}
	if len(pos) > 0 {
		if f.filter != "" {
			return usagef("live: filter given both with -f and as arguments (%q)", strings.Join(pos, " "))
		}
		f.filter = strings.Join(pos, " ") // tcpdump style: the expression after the flags
	}
	set := setFlags(fs)
	if set["quiet"] {
		set["q"] = true
	}
	// As tcpdump: a count given is a count of packets, 0 is no "forever".
	if set["c"] && f.count <= 0 {
		return usagef("live: -c %d: want a packet count of 1 or more", f.count)
	}
	if set["duration"] && f.duration <= 0 {
		return usagef("live: --duration %v: want a positive duration (e.g. 30s)", f.duration)
	}
	if err := conflicts(set, [][3]string{
		{"summary", "all", "pick one (--summary prints no flow, --all every flow)"},
		{"summary", "only", "pick one (--summary prints no flow)"},
		{"json", "q", "pick one (-q prints nothing)"},
		{"summary", "q", "pick one (-q prints nothing)"},
	}); err != nil {
		return err
	}
	failOn, err := parseGate(f.failOn)
	if err != nil {
		return err
	}
	kparts, kreq, err := parseKernelParts(f.kernel)
	if err != nil {
		return err
	}
	var showStatus bool
	switch f.status {
	case "auto":
		showStatus = isTerminal(e.stderr)
	case "always":
		showStatus = true
	case "never":
	default:
		return usagef("live: --status %q: want auto, always or never", f.status)
	}
	if f.quiet {
		showStatus = false
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	base, err := f.runner()
	if err != nil {
		return err
	}
	opts := report.DefaultOptions()
	opts.All, opts.SummaryOnly = f.all, f.summary
	if f.only != "" {
		if opts.Only, err = parseKinds("only", f.only, false); err != nil {
			return err
		}
	}
	opts.Color = !f.json && useColor(e, f.noColor)
	if err := f.term.apply(e, &opts, f.json, f.noColor); err != nil {
		return err
	}
	// A filter finwave cannot compile is a usage error, before any socket.
	if f.filter != "" {
		if _, err := bpf.Compile(f.filter, layers.LinkTypeEthernet, 0); err != nil {
			var se *bpf.SyntaxError
			if errors.As(err, &se) {
				return usagef("live: %v", err)
			}
		}
	}
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}

	var r report.Renderer
	switch {
	case f.quiet:
		r = discard{}
	case f.json:
		r = report.NewJSONLines(e.stdout, opts)
	default:
		r = report.NewStreamText(e.stdout, opts)
	}
	if f.html != "" {
		// Opened now, before privileges are dropped (-Z); written at the end.
		page, err := openPage(f.html)
		if err != nil {
			return err
		}
		defer page.Close()
		r = withHTML(r, page, opts)
	}
	// Early notices of stuck CLOSE_WAIT / FIN_WAIT_2 (StuckOpen): with a
	// per-flow report, and when --only lets those kinds through.
	stuckNotices := !f.quiet && !f.summary &&
		(len(opts.Only) == 0 || slices.Contains(opts.Only, analyzer.CloseWaitStuck) || slices.Contains(opts.Only, analyzer.FinWait2Stuck))
	var notice []byte
	var res result // what --fail-on found
	var (
		werr     error
		reported int64
		a        *analyzer.Analyzer
		st       pipeline.Stats
		src      *live.Source
		status   *liveStatus
	)
	info := e.stderr // what finwave tells besides the report: nothing with -q
	if f.quiet {
		info = io.Discard
	}
	// The kernel's own view (--kernel): its handles are opened as root,
	// before the capture socket, and read after the drop.
	kv, err := openKernelView(kparts, kreq, cfg.IdleTimeout, info)
	if err != nil {
		return err
	}
	defer kv.close()
	if kv.kernel != nil {
		cfg.Kernel = kv.kernel
	}
	a = analyzer.New(cfg, func(t *analyzer.Teardown) {
		reported++
		kv.flow(t)
		res.tally.Add(t.Stream, failOn.Trips(t))
		if status != nil {
			// The report goes to the same terminal: no flow may start
			// behind the status line ("…kernel dropsflow 3 ·").
			status.clear()
		}
		if werr == nil {
			werr = r.Flow(t)
		}
		recycle(t) // renderers keep nothing of t
	})
	if showStatus {
		status = &liveStatus{w: e.stderr, iface: f.iface, tty: isTerminal(e.stderr), cols: termWidth(e, e.stderr)}
	}
	update := func() {
		if status != nil && src != nil {
			status.draw(&st, a.Stats(), reported, src)
		}
	}
	var kickFrames int64
	src, err = live.Open(ctx, live.Config{
		Interface:   f.iface,
		Filter:      f.filter,
		TunnelPorts: append(append([]uint16(nil), base.VXLANPorts...), base.GenevePorts...),
		Count:       f.count,
		OnTick: func(now time.Time) {
			// Frames wait in a TPACKET_V3 block up to its retire timeout:
			// move the analyzer's clock only to where nothing can be pending.
			a.Advance(now.Add(-tickLag))
			if st.Frames != kickFrames {
				kickFrames = st.Frames
				kv.kick() // packets came: new sockets to attribute
			}
			if stuckNotices {
				// A leaked socket never closes: say so when --stuck-after
				// passes, not only when the flow ends.
				a.StuckOpen(now.Add(-tickLag), func(s *analyzer.OpenStuck) {
					if status != nil {
						status.clear()
					}
					var owner *host.Owner
					if o, ok := kv.owner(s.Endpoint(), s.Peer(), s.Since); ok {
						owner = &o
					}
					if f.json {
						notice = report.AppendStuckJSON(notice[:0], s, owner)
					} else {
						notice = report.AppendStuckText(notice[:0], s, owner, opts.Color, opts.Width)
					}
					if _, err := e.stdout.Write(notice); err != nil && werr == nil {
						werr = err
					}
				})
			}
			update()
		},
	})
	if err != nil {
		return err
	}
	defer src.Close()

	var in capture.Source = src
	var tee *capture.Tee
	if f.write != "" {
		if tee, err = capture.CreateTee(src, f.write, src.LinkType(), uint32(bpf.DefaultSnaplen)); err != nil {
			return fmt.Errorf("live: -w: %w", err)
		}
		in = tee
	}
	// Root only to open the socket, the output file and the kernel
	// view's handles: then, like tcpdump -Z, run as an unprivileged user.
	runAs, kept, capNote, err := dropPrivileges(f.user, kv.capabilities())
	if err != nil {
		return err
	}
	if runAs != "" {
		runAs = ", running as " + runAs
		if len(kept) > 0 {
			runAs += " keeping " + capNames(kept)
		}
	}
	if capNote != "" {
		fmt.Fprintf(info, "finwave: capabilities for the kernel view not kept (%s): it goes on with what the open handles allow\n", capNote)
	}
	fmt.Fprint(info, termWrap(e, e.stderr, fmt.Sprintf("finwave: listening on %s, link-type %v, filter %q%s (SIGINT or SIGTERM stops)\n",
		f.iface, src.LinkType(), kernelFilterText(f.filter), runAs)))

	kv.start()
	runner := base
	runner.Interval = time.Second
	if status != nil {
		runner.OnProgress = func(pipeline.Progress) { update() }
	}
	runErr := runner.Run(ctx, in, a, &st)
	ks, ksErr := src.Stats()
	src.Close()
	a.Close() // every open flow: finished as cut off by the end of the capture
	if status != nil {
		status.clear()
	}
	as := a.Stats()
	c := captureSummary("live:"+f.iface, &st, as, cfg.Profile.Name)
	c.Live = liveCounters(f.iface, ks, ksErr, as)
	kv.finish(hostview.Context{Interface: f.iface, Filter: f.filter, KernelDrops: ks.Drops}, c.Live)
	res.empty = gate.Empty(c)
	if werr == nil {
		werr = r.Finish(c)
	}
	var teeErr error
	if tee != nil {
		if teeErr = tee.Close(); teeErr != nil {
			teeErr = fmt.Errorf("live: -w: %w", teeErr)
		} else {
			fmt.Fprintf(info, "finwave: wrote %d packets to %s\n", tee.Frames(), f.write)
		}
	}
	switch {
	case werr != nil:
		return &writeError{werr}
	case teeErr != nil:
		return teeErr
	case st.ReadErr != nil:
		return st.ReadErr
	case runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, context.DeadlineExceeded):
		return runErr
	}
	if gateVerdict(e.stderr, c.File, &res, &failOn, f.allowEmpty, true) {
		return errFindings
	}
	return nil
}

// tickLag is how far behind the wall clock an idle tick moves capture
// time: more than the ring's block retire timeout (20ms).
const tickLag = 100 * time.Millisecond

func kernelFilterText(user string) string {
	if strings.TrimSpace(user) == "" {
		return "tcp or tunnels"
	}
	return "(tcp or tunnels) and (" + user + ")"
}

// liveCounters is what only a live capture knows, for the report: kernel
// counters (or why they could not be read) and flows finished on the clock.
func liveCounters(iface string, ks live.Stats, ksErr error, as analyzer.Stats) *report.Live {
	l := &report.Live{Interface: iface, KernelPackets: ks.Packets, KernelDrops: ks.Drops,
		KernelQueueFreezes: ks.QueueFreezes, IdleFlows: as.Idle}
	if ksErr != nil {
		l.KernelStatsError = ksErr.Error()
	}
	return l
}

// liveStatus is the periodic status on stderr: on a terminal one line
// redrawn in place, fitted to its width; elsewhere (--status always into a
// file or a pipe) one plain line per second, no control sequences.
type liveStatus struct {
	w     io.Writer
	iface string
	last  time.Time
	drawn bool
	tty   bool
	cols  int
}

func (s *liveStatus) draw(st *pipeline.Stats, as analyzer.Stats, reported int64, src *live.Source) {
	now := time.Now()
	if now.Sub(s.last) < time.Second {
		return
	}
	s.last = now
	drops := "?"
	if ks, err := src.Stats(); err == nil {
		drops = fmt.Sprint(ks.Drops)
	}
	s.write(st, as, reported, drops)
}

// write draws the status line.
func (s *liveStatus) write(st *pipeline.Stats, as analyzer.Stats, reported int64, drops string) {
	line := fmt.Sprintf("live %s: %d packets, %d flows open, %d reported, %s kernel drops", s.iface, st.Frames, as.Open, reported, drops)
	if as.Evicted > 0 {
		line += fmt.Sprintf(", %d evicted", as.Evicted)
	}
	if !s.tty {
		fmt.Fprintln(s.w, line)
		return
	}
	fmt.Fprintf(s.w, "\r\x1b[K%s", fitWidth("", line, s.cols))
	s.drawn = true
}

func (s *liveStatus) clear() {
	if s.drawn && s.tty {
		fmt.Fprint(s.w, "\r\x1b[K")
		s.drawn = false
	}
}
