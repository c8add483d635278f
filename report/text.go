package report

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/internal/spill"
	"finwave/rollup"
)

// detailCols is the width anomaly details are wrapped to (narrower when
// Options.Width is).
const detailCols = 100

// textRenderer renders the human report. By default (Options.grouped) the
// flows worth reading are gathered into groups (group.go), each keeping the
// rendering of its exemplar only; Finish writes the summary, then the
// groups. Otherwise flows are rendered to bytes in Flow and spilled; Finish
// writes the summary, then the flows in stream order.
type textRenderer struct {
	w      io.Writer
	o      Options
	sum    summary
	groups grouper
	spill  spill.Store
	buf    []byte
	fit    []byte // fitLines' scratch, reused
	lad    ladderScratch
	roll   *rollup.Rollup
}

func newText(w io.Writer, o Options) *textRenderer {
	r := &textRenderer{w: w, o: o}
	r.lad.cols, r.lad.time = o.Width, o.Time
	r.groups.render = func(b []byte, t *analyzer.Teardown) []byte {
		start := len(b)
		b = appendFlowText(b, t, r.o.Color, &r.lad)
		return r.fitTail(b, start)
	}
	return r
}

func (r *textRenderer) Flow(t *analyzer.Teardown) error {
	r.sum.add(t)
	r.roll = addRollup(r.roll, &r.o, t)
	if r.o.By != 0 || r.o.Nstat {
		return nil // the roll-up alone
	}
	if r.o.grouped() {
		r.groups.count(t)
		if r.o.groupListed(t) {
			r.sum.listed++
			r.groups.add(t)
		}
		return nil
	}
	if !r.o.textListed(t) {
		return nil
	}
	r.sum.listed++
	r.buf = r.fitTail(appendFlowText(r.buf[:0], t, r.o.Color, &r.lad), 0)
	return spillFlow(&r.spill, t.Stream, r.buf)
}

func (r *textRenderer) Finish(c *Capture) error {
	if c == nil {
		c = &Capture{}
	}
	if r.o.By != 0 || r.o.Nstat {
		return r.finishRollup(c)
	}
	if r.o.grouped() {
		return r.finishGroups(c)
	}
	var b bytes.Buffer
	appendSummary(&b, c, &r.sum, r.roll, &r.o)
	err := r.write(b.Bytes())
	if err == nil {
		// Buffered: one write per 64 KiB, not two per flow.
		bw := bufio.NewWriterSize(r.w, 64<<10)
		err = replaySpill(&r.spill, func(fb []byte) error {
			_ = bw.WriteByte('\n')
			if _, err := bw.Write(fb); err != nil {
				return fmt.Errorf("report: write text: %w", err)
			}
			return nil
		})
		if ferr := bw.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("report: write text: %w", ferr)
		}
	}
	if rerr := resetSpill(&r.spill); err == nil {
		err = rerr
	}
	r.sum = summary{}
	if r.roll != nil {
		r.roll.Reset()
	}
	return err
}

// appendSummary writes the summary: the capture line, what happened (the
// roll-up's headlines), the summary tables, then the hosts, services and
// client ports (not for one stream).
func appendSummary(b *bytes.Buffer, c *Capture, sum *summary, roll *rollup.Rollup, o *Options) {
	if sum.flows == 0 || o.Stream >= 0 {
		appendSummaryText(b, c, sum, o)
		return
	}
	res := rollupResult(roll, o, c)
	var head bytes.Buffer
	appendHeadlines(&head, res, sum, o)
	sum.headlines = head.Bytes()
	appendSummaryText(b, c, sum, o)
	appendRollupText(b, res, ByAll, rollupLimit, o)
}

// finishRollup writes the roll-up alone (finwave hosts, --by, --nstat).
func (r *textRenderer) finishRollup(c *Capture) error {
	res := rollupResult(r.roll, &r.o, c)
	var b bytes.Buffer
	if r.o.Nstat {
		appendNstat(&b, res, c.File)
	} else {
		appendCaptureLine(&b, c, r.sum.flows)
		appendRollupText(&b, res, r.o.By, 0, &r.o)
	}
	r.sum = summary{}
	if r.roll != nil {
		r.roll.Reset()
	}
	return r.write(b.Bytes())
}

// fitTail fits b[start:] to the width (fitLines), through r.fit.
func (r *textRenderer) fitTail(b []byte, start int) []byte {
	if r.o.Width <= 0 {
		return b
	}
	r.fit = append(r.fit[:0], b[start:]...)
	return fitLines(b[:start], r.fit, r.o.Width)
}

func (r *textRenderer) write(b []byte) error {
	if r.o.Width > 0 {
		r.fit = fitLines(r.fit[:0], b, r.o.Width)
		b = r.fit
	}
	if _, err := r.w.Write(b); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

// finishPhrase says when the end states were taken.
func finishPhrase(t *analyzer.Teardown) string {
	switch t.Finish {
	case flow.FinishDone:
		return "after the teardown"
	case flow.FinishIdle:
		return "at idle timeout"
	case flow.FinishEvicted:
		return "when evicted by the flow cap (teardown may be incomplete)"
	case flow.FinishReused:
		return "when a new connection reused the 4-tuple"
	}
	return "at end of capture"
}

// appendFlowText renders one flow: header, ladder, end states, anomalies.
// The ladder's cells are formatted in lad, reused from flow to flow.
func appendFlowText(b []byte, t *analyzer.Teardown, color bool, lad *ladderScratch) []byte {
	// The verdict first: what an SRE scanning the report reads.
	if t.Verdict != "" {
		b = append(b, "▶ "...)
		b = paint(b, color, ansiBold, t.Verdict)
		b = append(b, '\n')
	}
	// Header: who, how long, how it ended.
	b = append(b, "flow "...)
	b = strconv.AppendInt(b, t.Stream, 10)
	b = append(b, " · client "...)
	b = appendEndpoint(b, t.Client)
	b = append(b, " → server "...)
	b = appendEndpoint(b, t.Server)
	b = append(b, " · "...)
	if t.FirstTime.IsZero() || t.LastTime.IsZero() {
		b = append(b, "duration unknown"...)
	} else {
		b = appendHumanDuration(b, t.LastTime.Sub(t.FirstTime))
	}
	b = append(b, " · "...)
	b = append(b, patternPhrase(t.Pattern)...)
	if cp := closerPhrase(t.Closer, t.Pattern); cp != "" {
		b = append(b, " · "...)
		b = append(b, cp...)
	}
	b = append(b, '\n')

	if len(t.Streams) == 0 {
		b = append(b, "Wireshark: tcp.stream eq "...)
		b = strconv.AppendInt(b, t.Stream, 10)
	} else {
		// Wireshark split the connection (an in-window SYN): its
		// later frames are in the further streams.
		b = append(b, "Wireshark: tcp.stream in {"...)
		b = strconv.AppendInt(b, t.Stream, 10)
		for _, s := range t.Streams {
			b = append(b, ' ')
			b = strconv.AppendInt(b, s.ID, 10)
		}
		b = append(b, "} (split at frame"...)
		for i, s := range t.Streams {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, ' ')
			b = strconv.AppendInt(b, s.Frame, 10)
		}
		b = append(b, ')')
	}
	b = append(b, " · frames "...)
	b = strconv.AppendInt(b, t.FirstFrame, 10)
	b = append(b, "–"...)
	b = strconv.AppendInt(b, t.LastFrame, 10)
	if t.ZeekConnState != "" {
		b = append(b, " · Zeek conn_state "...)
		b = append(b, t.ZeekConnState...)
	}
	b = append(b, '\n')
	if t.Tunnel.Type != flow.NoTunnel {
		b = appendTunnelText(b, &t.Tunnel)
		b = append(b, '\n')
	}
	for _, s := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
		if s == analyzer.Server {
			b = append(b, " · "...)
		}
		b = append(b, s.String()...)
		b = append(b, " sent "...)
		b = appendPlural(b, int64(t.Sent[s].Packets), "packet", "packets")
		b = append(b, ", "...)
		b = appendHumanBytes(b, t.Sent[s].Bytes)
		b = append(b, " of data"...)
	}
	b = append(b, '\n')
	if t.Continued {
		b = append(b, "continues a flow reported above with the same stream id: its 4-tuple came back after the analysis had finished it\n"...)
	}
	if t.Vantage.At != analyzer.VantageUnknown {
		b = appendVantageText(b, &t.Vantage)
	}
	if t.Roles == analyzer.RolesInferred {
		b = append(b, "roles inferred: no SYN in the capture, the lower (well-known) port is taken as the server\n"...)
	}
	b = append(b, '\n')

	// Ladder.
	var tentative, undone bool
	if len(t.Segments) == 0 {
		b = append(b, " (no teardown segment labelled in this flow)\n"...)
	} else {
		b, tentative, undone = lad.ladder(b, t, color)
	}
	if t.SegmentsOmitted > 0 {
		b = append(b, " … "...)
		b = appendPlural(b, int64(t.SegmentsOmitted), "more labelled segment", "more labelled segments")
		b = append(b, " not kept (per-flow cap)\n"...)
	}
	if tentative {
		b = append(b, " STATE? = the capture shows the segment, not yet that the endpoint got it (no ACK back)\n"...)
	}
	if undone {
		b = append(b, " "+notReceived+" = later segments showed the endpoint never got it (lost, or no socket to take it): no state change\n"...)
	}

	// End states.
	b = append(b, "\n end states "...)
	b = append(b, finishPhrase(t)...)
	b = append(b, ": "...)
	for _, s := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
		if s == analyzer.Server {
			b = append(b, " · "...)
		}
		e := t.End(s)
		b = append(b, s.String()...)
		b = append(b, ' ')
		b = append(b, e.State.String()...)
		if e.Tentative {
			b = append(b, " (unconfirmed)"...)
		}
		if e.SilentFrame != 0 || !e.SilentSince.IsZero() {
			b = append(b, "? (silent since frame "...)
			b = strconv.AppendInt(b, e.SilentFrame, 10)
			b = append(b, ", "...)
			b = appendRelSeconds(b, e.SilentSince, t.FirstTime)
			if e.State == analyzer.Closed {
				b = append(b, " s: gone)"...)
			} else {
				b = append(b, " s: probably still so, half-open)"...)
			}
		} else if e.SilentFrame == 0 && e.State == analyzer.SynSent && t.Pattern == analyzer.PatternTimeout {
			b = append(b, "? (never answered)"...)
		}
		if !e.Until.IsZero() {
			b = append(b, " until "...)
			b = appendRelSeconds(b, e.Until, t.FirstTime)
			b = append(b, " s ("...)
			if t.Profile != "" {
				b = append(b, t.Profile...)
				b = append(b, ' ')
			}
			b = append(b, "timer)"...)
		}
	}
	b = append(b, '\n')

	// Anomalies.
	if len(t.Anomalies) == 0 {
		b = append(b, " no anomalies\n"...)
	}
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		b = append(b, '\n', ' ')
		sgr := severityColor(a.Severity)
		b = paint(b, color, sgr, SeverityMarker(a.Severity))
		b = append(b, ' ')
		b = paint(b, color && a.Severity >= analyzer.Warning, ansiBold, a.Kind.String())
		b = append(b, " · "...)
		b = append(b, a.Endpoint.String()...)
		b = append(b, " ("...)
		b = appendEndpoint(b, t.Endpoint(a.Endpoint))
		b = append(b, ')')
		if len(a.Frames) > 0 {
			if len(a.Frames) == 1 {
				b = append(b, " · frame "...)
			} else {
				b = append(b, " · frames "...)
			}
			b = appendFrameList(b, a.Frames)
		}
		b = append(b, " · "...)
		b = paint(b, color, sgr, a.Severity.String())
		if len(a.Counters) > 0 {
			b = append(b, " · nstat "...)
			for j, c := range a.Counters {
				if j > 0 {
					b = append(b, ", "...)
				}
				b = append(b, c...)
			}
		}
		b = append(b, '\n')
		cols := detailCols
		if lad.cols > 0 {
			cols = min(cols, lad.cols)
		}
		b = wrap(b, a.Detail, "   ", cols)
	}
	return appendKernelText(b, t)
}

// appendSummaryText writes the capture line and the summary tables.
// appendCaptureLine writes the capture's one-line description.
func appendCaptureLine(b *bytes.Buffer, c *Capture, flows int64) {
	b.WriteString("capture ")
	if c.File != "" {
		b.WriteString(c.File)
	} else {
		b.WriteString("(unnamed)")
	}
	b.WriteString(" · " + plural(c.Frames, "frame", "frames"))
	if c.TCPSegments > 0 {
		fmt.Fprintf(b, " (%d TCP)", c.TCPSegments)
	}
	b.WriteString(" · " + plural(flows, "TCP flow", "TCP flows"))
	if !c.First.IsZero() && !c.Last.IsZero() {
		b.WriteString(" · " + humanDuration(c.Last.Sub(c.First)))
	}
	if c.Profile != "" {
		b.WriteString(" · profile " + c.Profile)
	}
	b.WriteString(" · " + skippedPhrase(c.Skipped))
	if c.Filter != "" {
		fmt.Fprintf(b, " · filter %q: %s out", c.Filter, plural(c.FilteredOut, "frame", "frames")+" filtered")
	}
	b.WriteByte('\n')
	for _, f := range c.Files {
		// The pieces of a merged set, so a frame number leads to its file.
		if f.Frames == 0 {
			fmt.Fprintf(b, "  file %s · no frame\n", f.Name)
			continue
		}
		fmt.Fprintf(b, "  file %s · frames %d–%d (%d)\n", f.Name, f.First, f.Last, f.Frames)
	}
	for _, n := range c.SetNotes {
		b.WriteString("  ⚠ " + n + "\n")
	}
}

func appendSummaryText(b *bytes.Buffer, c *Capture, s *summary, o *Options) {
	appendCaptureLine(b, c, s.flows)
	if c.ReadError != "" {
		b.WriteString(string(paint(nil, o.Color, ansiRed, "✖")))
		b.WriteString(" read error: " + c.ReadError + " — every frame before it was analysed\n")
	}
	if c.Evicted > 0 {
		b.WriteString(string(paint(nil, o.Color, ansiYellow, "⚠")))
		b.WriteString(" " + plural(c.Evicted, "flow was", "flows were") + " finished early by the flow cap (--max-flows): their teardowns may be incomplete\n")
	}
	if c.Flows > s.flows {
		fmt.Fprintf(b, "⚠ the analyzer tracked %d flows, %d reached the report\n", c.Flows, s.flows)
	}
	if s.flows == 0 {
		b.WriteString("\nno TCP flows\n")
		return
	}
	appendOffloadNote(b, &s.csum, o)
	b.Write(s.headlines)

	if o.Stream >= 0 {
		// One flow asked for: no tables, say whether it exists.
		if s.listed == 0 && !o.SummaryOnly {
			fmt.Fprintf(b, "\nno flow with tcp.stream eq %d", o.Stream)
			if len(o.Only) > 0 {
				b.WriteString(" and anomaly " + kindList(o.Only))
			}
			b.WriteByte('\n')
		}
		return
	}

	b.WriteByte('\n')
	rows := [][]string{}
	for _, p := range s.patternRows() {
		rows = append(rows, []string{p.pattern.String(), strconv.FormatInt(p.flows, 10), percent(p.flows, s.flows)})
	}
	writeTable(b, []string{"teardown", "flows", "%"}, rows, []bool{false, true, true})

	if kinds := s.kindRows(); len(kinds) > 0 {
		b.WriteByte('\n')
		rows = rows[:0]
		for _, k := range kinds {
			ks := &s.kinds[k]
			rows = append(rows, []string{k.String(), strconv.FormatInt(ks.flows, 10), percent(ks.flows, s.flows),
				ks.maxSeverity().String(), strconv.FormatInt(ks.side[0], 10), strconv.FormatInt(ks.side[1], 10)})
		}
		writeTable(b, []string{"anomaly", "flows", "%", "severity", "at client", "at server"}, rows,
			[]bool{false, true, true, false, true, true})
	} else {
		b.WriteString("\n no anomalies\n")
	}

	fmt.Fprintf(b, "\n WHO CLOSES FIRST   client %d · server %d · both %d · none %d\n",
		s.closers[analyzer.CloserClient], s.closers[analyzer.CloserServer], s.closers[analyzer.CloserBoth], s.closers[analyzer.CloserNone])

	if eps := s.topEndpointRows(); len(eps) > 0 {
		b.WriteString("\n ENDPOINTS WITH MOST ANOMALIES (warning or error; at a client: its host, at a server: its service)\n")
		rows = rows[:0]
		for _, e := range eps {
			rows = append(rows, []string{e.name, e.ep.role(), strconv.FormatInt(e.stat.total, 10), endpointKinds(e.stat)})
		}
		writeTable(b, []string{"endpoint", "as", "anomalies", "kinds"}, rows, []bool{false, false, true, false})
		if s.untracked > 0 {
			fmt.Fprintf(b, " (only the first %d endpoints are tracked: %d anomalies at other endpoints not counted here)\n",
				len(s.endpoints), s.untracked)
		}
	}

	if o.SummaryOnly {
		return
	}
	b.WriteByte('\n')
	switch {
	case o.grouped() && s.listed > 0 && len(o.Only) > 0:
		fmt.Fprintf(b, " %s with anomaly %s in %s; --all lists each of them\n",
			plural(s.listed, "flow", "flows"), kindList(o.Only), plural(s.groups, "group", "groups"))
	case o.grouped() && s.listed > 0:
		fmt.Fprintf(b, " %d of %s worth reading in %s (warning or error, reset, refused, timeout, half-closed or half-open); --all lists every flow\n",
			s.listed, plural(s.flows, "flow", "flows"), plural(s.groups, "group", "groups"))
	case len(o.Only) > 0:
		fmt.Fprintf(b, " %s with anomaly %s listed below\n", plural(s.listed, "flow", "flows"), kindList(o.Only))
	case o.All:
		fmt.Fprintf(b, " every flow listed below (%d)\n", s.listed)
	case s.listed == 0:
		b.WriteString(" no flow worth reading (no warning or error, reset, refusal, timeout or unfinished teardown)\n")
	default:
		fmt.Fprintf(b, " %d of %s worth reading listed below (warning or error, reset, refused, timeout, half-closed or half-open)\n",
			s.listed, plural(s.flows, "flow", "flows"))
	}
}

// skippedPhrase: "0 frames skipped" or "3 frames skipped (not tcp 2, malformed 1)".
func skippedPhrase(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var total int64
	var l []kv
	for k, v := range m {
		if v > 0 {
			total += v
			l = append(l, kv{k, v})
		}
	}
	s := plural(total, "frame", "frames") + " skipped"
	if len(l) == 0 {
		return s
	}
	slices.SortFunc(l, func(a, b kv) int {
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.k + " " + strconv.FormatInt(e.v, 10)
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

func percent(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64)
}

func kindList(ks []analyzer.Kind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String()
	}
	return strings.Join(parts, " or ")
}

// endpointKinds: "lost-final-ack 3, rst-unread-data 1", most first.
func endpointKinds(e *endpointStat) string {
	var ks []analyzer.Kind
	for k, n := range e.kinds {
		if n > 0 {
			ks = append(ks, analyzer.Kind(k))
		}
	}
	slices.SortStableFunc(ks, func(a, b analyzer.Kind) int { return cmp.Compare(e.kinds[b], e.kinds[a]) })
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String() + " " + strconv.FormatUint(uint64(e.kinds[k]), 10)
	}
	return strings.Join(parts, ", ")
}

// vantagePhrase says where the capture was taken, by VantagePoint.
var vantagePhrase = [...]string{
	analyzer.VantageClient:  "captured on the client host",
	analyzer.VantageServer:  "captured on the server host",
	analyzer.VantageBetween: "captured between the hosts",
}

// appendVantageText appends one line: where the capture was taken and the
// clues (only called when the vantage is known).
func appendVantageText(b []byte, v *analyzer.Vantage) []byte {
	if int(v.At) < len(vantagePhrase) {
		b = append(b, vantagePhrase[v.At]...)
	}
	for i, e := range v.Evidence {
		if i == 0 {
			b = append(b, " ("...)
		} else {
			b = append(b, "; "...)
		}
		b = append(b, e...)
		if i == len(v.Evidence)-1 {
			b = append(b, ')')
		}
	}
	return append(b, '\n')
}
