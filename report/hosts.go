package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"finwave/analyzer"
	"finwave/rollup"
)

// By selects the roll-up tables printed alone (finwave hosts, --by).
type By uint8

const (
	ByHost    By = 1 << iota // one block per host (IP)
	ByService                // one block per service (server IP:port)
	ByPair                   // client IP → service: rate, ports held, exhaustion
	ByAll     = ByHost | ByService | ByPair
)

// ParseBy reads a comma list of host, service, pair (plurals accepted).
func ParseBy(s string) (By, error) {
	var by By
	for _, w := range strings.Split(s, ",") {
		switch strings.TrimSpace(w) {
		case "host", "hosts":
			by |= ByHost
		case "service", "services":
			by |= ByService
		case "pair", "pairs", "ports":
			by |= ByPair
		case "all":
			by |= ByAll
		default:
			return 0, fmt.Errorf("%q: want host, service, pair or all (comma list)", w)
		}
	}
	return by, nil
}

// rollupLimit is how many hosts, services and pairs the default text
// report shows; finwave hosts shows them all.
const rollupLimit = 10

// seriesNames names rollup's population series, for text and JSON.
var seriesNames = [rollup.NumSeries]string{"TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT_2", "orphaned"}

// jsonSeriesNames are the JSON keys of the series.
var jsonSeriesNames = [rollup.NumSeries]string{"time_wait", "close_wait", "fin_wait_2", "orphaned"}

// appendRollupText writes the roll-up sections by selects, at most limit
// entries each (0: all), and how many more there are.
func appendRollupText(b *bytes.Buffer, res *rollup.Result, by By, limit int, o *Options) {
	if by&ByHost != 0 {
		appendHostsText(b, res, limit, o)
	}
	if by&ByService != 0 {
		appendServicesText(b, res, limit, o)
	}
	if by&ByPair != 0 {
		appendPairsText(b, res, limit, o.Width)
	}
}

// shown is the number of n entries a section lists under limit.
func shown(n, limit int) int {
	if limit > 0 && n > limit {
		return limit
	}
	return n
}

func appendMore(b *bytes.Buffer, n, shown int, what, how string) {
	if n > shown {
		fmt.Fprintf(b, " … %d more %s: %s\n", n-shown, what, how)
	}
}

func appendHostsText(b *bytes.Buffer, res *rollup.Result, limit int, o *Options) {
	if len(res.Hosts) == 0 {
		return
	}
	fmt.Fprintf(b, "\n HOSTS (%d, most connections first; a host is an IP address, never a client port)\n", len(res.Hosts))
	n := shown(len(res.Hosts), limit)
	for i := range res.Hosts[:n] {
		h := &res.Hosts[i]
		fmt.Fprintf(b, " %s · %s", h.Addr, plural(h.Conns, "connection", "connections"))
		switch {
		case h.AsClient > 0 && h.AsServer > 0:
			fmt.Fprintf(b, " (as client %d, as server %d)\n", h.AsClient, h.AsServer)
		case h.AsClient > 0:
			b.WriteString(" as client\n")
		default:
			b.WriteString(" as server\n")
		}
		appendTally(b, &h.Tally, "this host", "the peer", h.AsClient > 0 && h.AsServer > 0)
		appendKindCounts(b, "anomalies at it", h.Anomalies)
		appendStateTime(b, h)
		appendPopulation(b, res, h)
		appendCounterLine(b, &h.Counters)
	}
	appendMore(b, len(res.Hosts), n, "hosts", "finwave hosts FILE lists every one")
}

// appendTally writes how connections ended and who closed first.
func appendTally(b *bytes.Buffer, t *rollup.Tally, self, peer string, both bool) {
	b.WriteString("   ended: ")
	first := true
	for _, p := range patternOrder(t.Patterns) {
		if !first {
			b.WriteString(" · ")
		}
		first = false
		fmt.Fprintf(b, "%s %d", analyzer.Pattern(p), t.Patterns[p])
	}
	if both {
		// Both ends at the host: "who closed first" is the client or the
		// server side, both at this host.
		fmt.Fprintf(b, "\n   closed first: one of its own ends %d · both at once %d\n", t.ClosedFirst+t.PeerClosedFirst, t.BothClosed)
		return
	}
	fmt.Fprintf(b, "\n   closed first: %s %d · %s %d · both at once %d\n", self, t.ClosedFirst, peer, t.PeerClosedFirst, t.BothClosed)
}

// patternOrder lists the patterns with connections, most first (ties in
// declaration order).
func patternOrder(counts []int64) []int {
	var idx []int
	for p, n := range counts {
		if n > 0 {
			idx = append(idx, p)
		}
	}
	sortByCount(idx, counts)
	return idx
}

// sortByCount sorts idx by counts[idx] descending, stable.
func sortByCount(idx []int, counts []int64) {
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && counts[idx[j]] > counts[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

// appendKindCounts writes "label: kind n · kind n" for the kinds counted,
// most first; nothing when none.
func appendKindCounts(b *bytes.Buffer, label string, counts []int64) {
	idx := patternOrder(counts)
	if len(idx) == 0 {
		return
	}
	fmt.Fprintf(b, "   %s: ", label)
	for i, k := range idx {
		if i > 0 {
			b.WriteString(" · ")
		}
		fmt.Fprintf(b, "%s %d", analyzer.Kind(k), counts[k])
	}
	b.WriteByte('\n')
}

func appendStateTime(b *bytes.Buffer, h *rollup.Host) {
	if h.InState == [3]time.Duration{} {
		return
	}
	b.WriteString("   socket time in")
	for s, d := range h.InState {
		if s > 0 {
			b.WriteString(" ·")
		}
		fmt.Fprintf(b, " %s %s", seriesNames[s], humanDuration(d))
	}
	b.WriteByte('\n')
}

// sparks are the eight levels of a sparkline.
var sparks = []rune("▁▂▃▄▅▆▇█")

// appendSparkline draws v scaled to its peak, at most cols samples (each
// the maximum of the samples it covers).
func appendSparkline(b *bytes.Buffer, v []int32, peak int32, cols int) {
	if len(v) == 0 || peak <= 0 {
		return
	}
	per := (len(v) + cols - 1) / cols
	for i := 0; i < len(v); i += per {
		m := int32(0)
		for _, x := range v[i:min(i+per, len(v))] {
			m = max(m, x)
		}
		switch {
		case m == 0:
			b.WriteByte(' ')
		default:
			b.WriteString(string(sparks[int(int64(m)*int64(len(sparks)-1)/int64(peak))]))
		}
	}
}

func appendPopulation(b *bytes.Buffer, res *rollup.Result, h *rollup.Host) {
	p := &h.Population
	for s := range rollup.NumSeries {
		if p.Peak[s] == 0 {
			continue
		}
		fmt.Fprintf(b, "   %-10s ", seriesNames[s])
		if p.Series[s] != nil {
			b.WriteString("│")
			appendSparkline(b, p.Series[s], p.Peak[s], 32)
			b.WriteString("│ ")
		}
		fmt.Fprintf(b, "peak %d at %s s, %d at the end", p.Peak[s], relSeconds(p.PeakAt[s], res.First), p.AtEnd[s])
		if s == rollup.TimeWait && h.TWBuckets >= 0.001 {
			fmt.Fprintf(b, " · %.1f %% of tcp_max_tw_buckets", 100*h.TWBuckets)
		}
		b.WriteByte('\n')
	}
}

// relSeconds is t relative to base, in seconds with 2 decimals.
func relSeconds(t, base time.Time) string {
	if t.IsZero() || base.IsZero() {
		return "-"
	}
	return strconv.FormatFloat(t.Sub(base).Seconds(), 'f', 2, 64)
}

// appendCounterLine writes the predicted counters that moved, on one line.
func appendCounterLine(b *bytes.Buffer, cs *[analyzer.NumCounters]rollup.Bound) {
	first := true
	for c, v := range cs {
		if v.Max == 0 {
			continue
		}
		if first {
			b.WriteString("   nstat (predicted):")
			first = false
		} else {
			b.WriteString(" ·")
		}
		fmt.Fprintf(b, " %s %s", analyzer.Counter(c), boundText(v))
	}
	if !first {
		b.WriteByte('\n')
	}
}

// boundText is "5" for an exact value, "3–5" for a bound.
func boundText(v rollup.Bound) string {
	if v.Min == v.Max {
		return strconv.FormatInt(v.Min, 10)
	}
	return strconv.FormatInt(v.Min, 10) + "–" + strconv.FormatInt(v.Max, 10)
}

func appendServicesText(b *bytes.Buffer, res *rollup.Result, limit int, o *Options) {
	if len(res.Services) == 0 {
		return
	}
	fmt.Fprintf(b, "\n SERVICES (%d, server IP:port, most connections first)\n", len(res.Services))
	n := shown(len(res.Services), limit)
	for i := range res.Services[:n] {
		s := &res.Services[i]
		fmt.Fprintf(b, " %s · %s from %s\n", s.Server, plural(s.Conns, "connection", "connections"),
			plural(s.Clients, "client host", "client hosts"))
		appendTally(b, &s.Tally, "server", "client", false)
		appendKindCounts(b, "anomalies at the server", s.Anomalies)
		appendKindCounts(b, "anomalies at its clients", s.PeerAnomalies)
		appendIdle(b, s)
		if s.CloseWait > 0 {
			fmt.Fprintf(b, "   ⚠ %s in CLOSE_WAIT at the end of the capture, the oldest for %s: the application read EOF and did not close() (ss -tn state close-wait)\n",
				plural(s.CloseWait, "socket", "sockets"), humanDuration(res.Last.Sub(s.CloseWaitSince)))
		}
	}
	appendMore(b, len(res.Services), n, "services", "finwave hosts --by service FILE lists every one")
}

func appendIdle(b *bytes.Buffer, s *rollup.Service) {
	if s.Idle.N > 0 {
		fmt.Fprintf(b, "   idle timeout: the server closed %s after %s idle (%d of them; min %s, median %s, max %s)\n",
			plural(s.Idle.N, "idle connection", "idle connections"), humanDuration(s.Idle.Mode), s.Idle.ModeN,
			humanDuration(s.Idle.Min), humanDuration(s.Idle.Median), humanDuration(s.Idle.Max))
	}
	if s.ClientIdle.N > 0 {
		fmt.Fprintf(b, "   clients reused %s after up to %s idle (median %s)",
			plural(s.ClientIdle.N, "connection", "connections"), humanDuration(s.ClientIdle.Max), humanDuration(s.ClientIdle.Median))
		if s.Idle.N > 0 {
			fmt.Fprintf(b, "; %d at or past the server's idle timeout (keep-alive race risk)", s.RaceRisk)
		}
		b.WriteByte('\n')
	}
	if s.IdleRaces > 0 {
		fmt.Fprintf(b, "   ⚠ %s: a request crossed the server's idle close\n", plural(s.IdleRaces, "idle-close race", "idle-close races"))
	}
}

// appendPairsText writes the CLIENT PORTS table; when the table would be
// wider than width (above 0: a terminal's), each pair is a short block of
// "name value" lines instead, which wrap at words.
func appendPairsText(b *bytes.Buffer, res *rollup.Result, limit, width int) {
	if len(res.Pairs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n CLIENT PORTS (%d client → service pairs; ports held = open or TIME_WAIT, of ip_local_port_range)\n", len(res.Pairs))
	n := shown(len(res.Pairs), limit)
	rows := make([][]string, 0, n)
	for i := range res.Pairs[:n] {
		p := &res.Pairs[i]
		rows = append(rows, []string{
			p.Client.String() + " → " + p.Server.String(),
			strconv.FormatInt(p.Conns, 10),
			strconv.FormatFloat(p.Rate, 'f', 1, 64),
			humanDuration(p.Hold),
			strconv.FormatInt(p.PeakPorts, 10),
			percent(p.PeakPorts, int64(p.Ports)),
			exhaustionText(p),
			strconv.FormatInt(p.SynInTimeWait, 10),
			strconv.FormatInt(p.PortReuse, 10),
		})
	}
	header := []string{"client → service", "conns", "per s", "port held", "peak ports", "%", "out of ports", "syn in tw", "port reuse"}
	var tb bytes.Buffer
	writeTable(&tb, header, rows, []bool{false, true, true, true, true, true, false, true, true})
	if width > 0 && widestLine(tb.Bytes()) > width {
		for _, r := range rows {
			fmt.Fprintf(b, " %s · %s conns · %s per s · port held %s\n", r[0], r[1], r[2], r[3])
			fmt.Fprintf(b, "   peak ports %s (%s %%) · out of ports: %s · SYN in TIME_WAIT %s · port reuse %s\n", r[4], r[5], r[6], r[7], r[8])
		}
	} else {
		b.Write(tb.Bytes())
	}
	appendMore(b, len(res.Pairs), n, "pairs", "finwave hosts --by pair FILE lists every one")
}

// exhaustionText says how long the client's ports last at its rate.
func exhaustionText(p *rollup.Pair) string {
	switch {
	case p.PeakPorts >= int64(p.Ports):
		return "exhausted: TIME_WAIT ports reused"
	case p.Exhaustion > 0:
		return "in " + humanDuration(p.Exhaustion)
	case !p.Forecast():
		return "- (no steady rate)"
	}
	// Steady state: rate × hold ports in use.
	used := p.Rate * p.Hold.Seconds()
	return "never: " + strconv.FormatFloat(100*used/float64(p.Ports), 'f', 1, 64) + " % at this rate"
}

// appendNstat writes each host's predicted counters in nstat's own format
// (nstat -az: name, value, rate), one block per host, so that they can be
// held next to the host's `nstat -az` (or a delta over the capture).
// Bounds print their lower value, the range in a comment.
func appendNstat(b *bytes.Buffer, res *rollup.Result, file string) {
	for i := range res.Hosts {
		h := &res.Hosts[i]
		fmt.Fprintf(b, "# host %s: the counters its kernel (Linux %s) should have moved for the %s in %s, as predicted by finwave\n",
			h.Addr, analyzer.LinuxVersion, plural(h.Conns, "connection", "connections"), file)
		b.WriteString("#kernel\n")
		for c, v := range h.Counters {
			fmt.Fprintf(b, "%-32s%-16d%6.1f", analyzer.Counter(c), v.Min, 0.0)
			if v.Min != v.Max {
				fmt.Fprintf(b, "  # bound: %d to %d", v.Min, v.Max)
			}
			b.WriteByte('\n')
		}
	}
}

// addRollup adds t to r, made at the first flow with o's options.
func addRollup(r *rollup.Rollup, o *Options, t *analyzer.Teardown) *rollup.Rollup {
	if r == nil {
		r = rollup.New(o.Rollup)
	}
	r.Add(t)
	return r
}

// rollupResult is r's result over the capture's span; an empty result when
// no flow was added.
func rollupResult(r *rollup.Rollup, o *Options, c *Capture) *rollup.Result {
	if r == nil {
		r = rollup.New(o.Rollup)
	}
	return r.Result(c.First, c.Last)
}

// headlineLimit is how many lines "WHAT HAPPENED" says at most.
const headlineLimit = 12

// headline is one line of "WHAT HAPPENED", with what ranks it.
type headline struct {
	sev  analyzer.Severity
	n    int64
	text string
}

// appendHeadlines writes "WHAT HAPPENED": per service, each warning or
// error kind at the server and at its clients, with how many of its
// connections; each leak; each client → service pair short of ports.
// The answer first, the tables and groups after.
func appendHeadlines(b *bytes.Buffer, res *rollup.Result, sum *summary, o *Options) {
	var hs []headline
	// A kind's severity as found (some kinds rise with the evidence),
	// its table's default when not counted.
	sevOf := func(k analyzer.Kind) analyzer.Severity {
		if int(k) < len(sum.kinds) && sum.kinds[k].count > 0 {
			return sum.kinds[k].maxSeverity()
		}
		return k.Severity()
	}
	clientsOf := func(s *rollup.Service) string {
		if s.Clients == 1 {
			for i := range res.Pairs {
				if res.Pairs[i].Server == s.Server {
					return "client " + res.Pairs[i].Client.String()
				}
			}
		}
		return plural(s.Clients, "client host", "client hosts")
	}
	for i := range res.Services {
		s := &res.Services[i]
		for k, n := range s.Anomalies {
			if kind := analyzer.Kind(k); n > 0 && sevOf(kind) >= analyzer.Warning {
				hs = append(hs, headline{sevOf(kind), n, fmt.Sprintf("server %s: %s on %s of its %d (%s) — %s",
					s.Server, kind, plural(n, "connection", "connections"), s.Conns, percent(n, s.Conns)+" %", kind.Describe())})
			}
		}
		for k, n := range s.PeerAnomalies {
			if kind := analyzer.Kind(k); n > 0 && sevOf(kind) >= analyzer.Warning {
				hs = append(hs, headline{sevOf(kind), n, fmt.Sprintf("%s of %s: %s on %s of %d (%s) — %s",
					clientsOf(s), s.Server, kind, plural(n, "connection", "connections"), s.Conns, percent(n, s.Conns)+" %", kind.Describe())})
			}
		}
		if s.CloseWait > 0 {
			hs = append(hs, headline{analyzer.Warning, s.CloseWait, fmt.Sprintf("server %s left %s in CLOSE_WAIT, the oldest for %s: the application does not close()",
				s.Server, plural(s.CloseWait, "socket", "sockets"), humanDuration(res.Last.Sub(s.CloseWaitSince)))})
		}
	}
	for i := range res.Pairs {
		p := &res.Pairs[i]
		switch {
		case p.PeakPorts >= int64(p.Ports):
			hs = append(hs, headline{analyzer.Error, p.PeakPorts, fmt.Sprintf("%s → %s held %d client ports at once, more than the %d of the port range: ports in TIME_WAIT were reused (%d SYNs into TIME_WAIT)",
				p.Client, p.Server, p.PeakPorts, p.Ports, p.SynInTimeWait)})
		case p.Exhaustion > 0:
			hs = append(hs, headline{analyzer.Warning, p.PeakPorts, fmt.Sprintf("%s → %s: %.0f connections/s, each port held %s: out of its %d client ports in %s at this rate (peak %d held)",
				p.Client, p.Server, p.Rate, humanDuration(p.Hold), p.Ports, humanDuration(p.Exhaustion), p.PeakPorts)})
		}
	}
	if len(hs) == 0 {
		return
	}
	// Most severe, then most connections; ties keep the tables' order.
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && (hs[j].sev > hs[j-1].sev || hs[j].sev == hs[j-1].sev && hs[j].n > hs[j-1].n); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
	b.WriteString("\n WHAT HAPPENED\n")
	for i, h := range hs {
		if i == headlineLimit {
			fmt.Fprintf(b, " … %d more: see the services and pairs below\n", len(hs)-i)
			break
		}
		b.WriteString(" ")
		b.Write(paint(nil, o.Color, severityColor(h.sev), SeverityMarker(h.sev)))
		b.WriteString(" " + h.text + "\n")
	}
}

// widestLine is the number of runes of the longest line of p.
func widestLine(p []byte) int {
	w := 0
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		w = max(w, utf8.RuneCount(line))
	}
	return w
}

// SeriesName is the JSON's key of a population series (rollup.TimeWait…):
// "time_wait", "close_wait", "fin_wait_2", "orphaned".
func SeriesName(s int) string { return jsonSeriesNames[s] }
