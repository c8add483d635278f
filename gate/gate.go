package gate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"finwave/analyzer"
	"finwave/report"
)

// Any is the gate word for every anomaly, whatever its severity (info too).
const Any = "any"

// Gate is a parsed --fail-on list. The zero Gate trips nothing.
type Gate struct {
	kinds    [256]bool
	patterns [256]bool
	minSev   analyzer.Severity
	sev      bool // minSev is set
	set      bool
}

// Parse reads a comma list of anomaly kinds, close patterns, severities
// (info, warning, error: any anomaly of at least that severity) and "any"
// (any anomaly: the same as info).
func Parse(s string) (Gate, error) {
	var g Gate
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if w == Any {
			w = analyzer.Info.String()
		}
		if k, ok := analyzer.ParseKind(w); ok {
			g.kinds[k] = true
		} else if p, ok := analyzer.ParsePattern(w); ok {
			g.patterns[p] = true
		} else if sv, ok := analyzer.ParseSeverity(w); ok {
			if !g.sev || sv < g.minSev {
				g.minSev = sv
			}
			g.sev = true
		} else {
			return g, fmt.Errorf("unknown anomaly kind, pattern or severity %q; valid: %s", w, Words())
		}
		g.set = true
	}
	if !g.set {
		return g, fmt.Errorf("empty list of anomaly kinds, patterns or severities")
	}
	return g, nil
}

// Words lists what Parse accepts.
func Words() string {
	var w []string
	w = append(w, Any)
	for _, s := range analyzer.Severities() {
		w = append(w, s.String())
	}
	for _, p := range analyzer.Patterns() {
		w = append(w, p.String())
	}
	for _, k := range analyzer.Kinds() {
		w = append(w, k.String())
	}
	return strings.Join(w, ", ")
}

// Set says whether the gate lists anything.
func (g *Gate) Set() bool { return g.set }

// Trips returns the reasons t trips the gate: the matching anomalies'
// kinds, or its pattern; nil when it does not.
func (g *Gate) Trips(t *analyzer.Teardown) []string {
	if !g.set {
		return nil
	}
	var out []string
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		if g.kinds[a.Kind] || (g.sev && a.Severity >= g.minSev) {
			out = append(out, a.Kind.String())
		}
	}
	if g.patterns[t.Pattern] {
		out = append(out, t.Pattern.String())
	}
	return out
}

// MaxStreams bounds the streams Tally lists per reason.
const MaxStreams = 5

// Tally counts the flows that tripped a gate, per reason.
type Tally struct {
	Flows   int
	reasons map[string]*reason
}

type reason struct {
	n       int
	streams []int64
}

// Add records the flow with stream number stream that tripped the gate for
// reasons (a reason counted once per flow); per reason, the lowest
// MaxStreams stream ids are kept.
func (t *Tally) Add(stream int64, reasons []string) {
	if len(reasons) == 0 {
		return
	}
	t.Flows++
	if t.reasons == nil {
		t.reasons = map[string]*reason{}
	}
	seen := map[string]bool{}
	for _, r := range reasons {
		if seen[r] {
			continue
		}
		seen[r] = true
		x := t.reasons[r]
		if x == nil {
			x = &reason{}
			t.reasons[r] = x
		}
		x.n++
		// Keep the MaxStreams lowest stream ids, in order: the flows
		// arrive in finish order, which -j N interleaves differently, and
		// the message must not depend on N.
		i, _ := slices.BinarySearch(x.streams, stream)
		if len(x.streams) < MaxStreams {
			x.streams = slices.Insert(x.streams, i, stream)
		} else if i < MaxStreams {
			copy(x.streams[i+1:], x.streams[i:MaxStreams-1])
			x.streams[i] = stream
		}
	}
}

// String describes the tally: "3 flows tripped it: rst-unread-data ×2
// (streams 4, 9), reset ×1 (stream 7)", the most frequent reason first.
func (t *Tally) String() string {
	names := make([]string, 0, len(t.reasons))
	for n := range t.reasons {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := t.reasons[names[i]], t.reasons[names[j]]
		if a.n != b.n {
			return a.n > b.n
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	flows := "flows"
	if t.Flows == 1 {
		flows = "flow"
	}
	fmt.Fprintf(&b, "%d %s tripped it: ", t.Flows, flows)
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		r := t.reasons[n]
		word := "streams"
		if len(r.streams) == 1 {
			word = "stream"
		}
		ss := make([]string, len(r.streams))
		for j, s := range r.streams {
			ss[j] = fmt.Sprint(s)
		}
		more := ""
		if r.n > len(r.streams) {
			more = ", …"
		}
		fmt.Fprintf(&b, "%s ×%d (%s %s%s)", n, r.n, word, strings.Join(ss, ", "), more)
	}
	return b.String()
}

// Empty returns why c has nothing to analyse ("" when it has TCP flows):
// no frames, no TCP, or every frame skipped, naming the skip reasons (the
// unsupported link type among them).
func Empty(c *report.Capture) string {
	if c.Flows > 0 {
		return ""
	}
	if c.Frames == 0 {
		return "no frames"
	}
	var rs []string
	for r, n := range c.Skipped {
		rs = append(rs, fmt.Sprintf("%s ×%d", r, n))
	}
	sort.Strings(rs)
	if len(rs) == 0 {
		return fmt.Sprintf("no TCP flow in %d frames", c.Frames)
	}
	return fmt.Sprintf("no TCP flow in %d frames (skipped: %s)", c.Frames, strings.Join(rs, ", "))
}
