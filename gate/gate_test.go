package gate

import (
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/report"
)

// teardown returns a flow with pattern p and one anomaly of each kind in ks,
// each with its kind's own severity (as the analyzer assigns it).
func teardown(p analyzer.Pattern, ks ...analyzer.Kind) *analyzer.Teardown {
	t := &analyzer.Teardown{Pattern: p}
	for _, k := range ks {
		t.Anomalies = append(t.Anomalies, analyzer.Anomaly{Kind: k, Severity: k.Severity()})
	}
	return t
}

// kind and pattern look names up, so a renamed constant cannot hide here.
func kind(name string) analyzer.Kind {
	k, ok := analyzer.ParseKind(name)
	if !ok {
		panic("no kind " + name)
	}
	return k
}

func pattern(name string) analyzer.Pattern {
	p, ok := analyzer.ParsePattern(name)
	if !ok {
		panic("no pattern " + name)
	}
	return p
}

func mustParse(t *testing.T, s string) Gate {
	t.Helper()
	g, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return g
}

func TestKinds(t *testing.T) {
	g := mustParse(t, "rst-unread-data, close-wait-stuck")
	if !g.Set() {
		t.Fatal("Set() = false for a non-empty list")
	}
	got := g.Trips(teardown(pattern("four-way"), kind("fin-retransmission"), kind("rst-unread-data"), kind("close-wait-stuck")))
	if strings.Join(got, ",") != "rst-unread-data,close-wait-stuck" {
		t.Errorf("Trips = %q, want the two listed kinds in anomaly order", got)
	}
	if got := g.Trips(teardown(pattern("reset"), kind("rst-linger-zero"))); got != nil {
		t.Errorf("unlisted kind and pattern tripped: %q", got)
	}
	// Every kind's name is accepted and trips on exactly that kind.
	for _, k := range analyzer.Kinds() {
		g := mustParse(t, k.String())
		if got := g.Trips(teardown(pattern("four-way"), k)); len(got) != 1 || got[0] != k.String() {
			t.Errorf("gate %s on its own kind: %q", k, got)
		}
	}
}

func TestPatterns(t *testing.T) {
	g := mustParse(t, "reset,half-closed")
	if got := g.Trips(teardown(pattern("reset"))); len(got) != 1 || got[0] != "reset" {
		t.Errorf("reset flow: %q", got)
	}
	if got := g.Trips(teardown(pattern("four-way"))); got != nil {
		t.Errorf("four-way flow tripped a reset,half-closed gate: %q", got)
	}
	// Kinds before the pattern; both reasons given.
	g = mustParse(t, "half-close,half-closed")
	if got := g.Trips(teardown(pattern("half-closed"), kind("half-close"))); strings.Join(got, ",") != "half-close,half-closed" {
		t.Errorf("kind and pattern: %q", got)
	}
	for _, p := range analyzer.Patterns() {
		g := mustParse(t, p.String())
		if got := g.Trips(teardown(p)); len(got) != 1 || got[0] != p.String() {
			t.Errorf("gate %s on its own pattern: %q", p, got)
		}
	}
}

func TestSeverities(t *testing.T) {
	info, warn, err := kind("half-close"), kind("rst-unread-data"), kind("data-after-fin")
	if info.Severity() != analyzer.Info || warn.Severity() != analyzer.Warning || err.Severity() != analyzer.Error {
		t.Fatalf("test kinds' severities changed: %v %v %v", info.Severity(), warn.Severity(), err.Severity())
	}
	flow := teardown(pattern("four-way"), info, warn, err)
	for _, c := range []struct {
		gate, want string
	}{
		{"error", "data-after-fin"},
		{"warning", "rst-unread-data,data-after-fin"},
		{"info", "half-close,rst-unread-data,data-after-fin"},
		{"any", "half-close,rst-unread-data,data-after-fin"},
		{"error,info", "half-close,rst-unread-data,data-after-fin"}, // the lowest listed wins
		{"info,error", "half-close,rst-unread-data,data-after-fin"},
		{"error,half-close", "half-close,data-after-fin"},
	} {
		g := mustParse(t, c.gate)
		if got := strings.Join(g.Trips(flow), ","); got != c.want {
			t.Errorf("gate %q: trips %q, want %q", c.gate, got, c.want)
		}
	}
	// A flow without anomalies trips no severity, not even any.
	g := mustParse(t, "any")
	if got := g.Trips(teardown(pattern("reset"))); got != nil {
		t.Errorf("any on a flow without anomalies: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	_, err := Parse("reset,rst-unread,error")
	if err == nil {
		t.Fatal("unknown word accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, `"rst-unread"`) {
		t.Errorf("error does not name the bad word: %s", msg)
	}
	for _, w := range []string{"any", "info", "warning", "error", "four-way", "reset", "rst-unread-data", "idle-close-race"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not list the valid word %s: %s", w, msg)
		}
	}
	for _, s := range []string{"", " , ,", ","} {
		if _, err := Parse(s); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("Parse(%q): %v, want an empty-list error", s, err)
		}
	}
	var zero Gate
	if zero.Set() || zero.Trips(teardown(pattern("reset"), kind("data-after-fin"))) != nil {
		t.Error("the zero Gate trips")
	}
}

func TestTallyBounds(t *testing.T) {
	var ta Tally
	for s := int64(0); s < 8; s++ {
		ta.Add(s, []string{"rst-unread-data", "rst-unread-data"}) // counted once per flow
	}
	ta.Add(20, []string{"reset"})
	ta.Add(21, nil) // did not trip
	got := ta.String()
	want := "9 flows tripped it: rst-unread-data ×8 (streams 0, 1, 2, 3, 4, …), reset ×1 (stream 20)"
	if got != want {
		t.Errorf("Tally:\n got %q\nwant %q", got, want)
	}
	if ta.Flows != 9 {
		t.Errorf("Flows = %d, want 9", ta.Flows)
	}
	var one Tally
	one.Add(3, []string{"a", "b"})
	one.Add(4, []string{"b"})
	if got, want := one.String(), "2 flows tripped it: b ×2 (streams 3, 4), a ×1 (stream 3)"; got != want {
		t.Errorf("Tally:\n got %q\nwant %q", got, want)
	}
	var single Tally
	single.Add(7, []string{"x"})
	if got := single.String(); !strings.HasPrefix(got, "1 flow tripped it: ") {
		t.Errorf("one flow: %q", got)
	}
}

func TestEmpty(t *testing.T) {
	for _, c := range []struct {
		c    report.Capture
		want string
	}{
		{report.Capture{Flows: 1, Frames: 9}, ""},
		{report.Capture{}, "no frames"},
		{report.Capture{Frames: 4}, "no TCP flow in 4 frames"},
		{report.Capture{Frames: 4, Skipped: map[string]int64{"not tcp": 3, "malformed": 1}}, "no TCP flow in 4 frames (skipped: malformed ×1, not tcp ×3)"},
	} {
		if got := Empty(&c.c); got != c.want {
			t.Errorf("Empty(%+v) = %q, want %q", c.c, got, c.want)
		}
	}
}

// TestTally_lowestStreamsWhateverTheOrder: flows arrive in finish order,
// which -j N interleaves differently; the message lists the lowest stream
// ids of each reason, so that it is the same for every N.
func TestTally_lowestStreamsWhateverTheOrder(t *testing.T) {
	var a, b Tally
	for _, s := range []int64{9, 3, 7, 1, 8, 2, 5, 6} {
		a.Add(s, []string{"reset"})
	}
	for _, s := range []int64{1, 2, 3, 5, 6, 7, 8, 9} {
		b.Add(s, []string{"reset"})
	}
	want := "8 flows tripped it: reset ×8 (streams 1, 2, 3, 5, 6, …)"
	if got := a.String(); got != want {
		t.Errorf("out of order: %q, want %q", got, want)
	}
	if got := b.String(); got != want {
		t.Errorf("in order: %q, want %q", got, want)
	}
}
