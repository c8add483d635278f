package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"finwave/analyzer"
)

var flowHeader = regexp.MustCompile(`(?m)^flow (\d+) · `)

// textStreams returns the streams of the flow reports in the text, in order.
func textStreams(out []byte) []int64 {
	var l []int64
	for _, m := range flowHeader.FindAllSubmatch(out, -1) {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		l = append(l, n)
	}
	return l
}

func jsonStreams(t *testing.T, out []byte) []int64 {
	t.Helper()
	var doc struct {
		Flows []struct {
			Stream int64 `json:"stream"`
		} `json:"flows"`
		Summary struct {
			Flows  int64 `json:"flows"`
			Listed int64 `json:"listed"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if doc.Summary.Flows != 8 || doc.Summary.Listed != int64(len(doc.Flows)) {
		t.Errorf("summary flows=%d listed=%d, %d flows listed", doc.Summary.Flows, doc.Summary.Listed, len(doc.Flows))
	}
	l := []int64{}
	for _, f := range doc.Flows {
		l = append(l, f.Stream)
	}
	return l
}

func TestFilters(t *testing.T) {
	opt := func(f func(*Options)) Options {
		o := DefaultOptions()
		f(&o)
		return o
	}
	cases := []struct {
		name      string
		o         Options
		text      []int64 // streams reported in text
		json      []int64 // streams in JSON flows
		textMatch string  // must appear in the text
	}{
		// Worth reading: 0 lost-final-ack (warning), 3 reset, 4 refused,
		// 5 half-open, 7 fin-then-reset. Not: 1 three-way, 2 simultaneous
		// (info only), 6 open.
		{"default", DefaultOptions(), []int64{0, 3, 4, 5, 7}, []int64{0, 1, 2, 3, 4, 5, 6, 7}, "5 of 8 flows worth reading"},
		{"all", opt(func(o *Options) { o.All = true }), []int64{0, 1, 2, 3, 4, 5, 6, 7}, []int64{0, 1, 2, 3, 4, 5, 6, 7}, "every flow listed below (8)"},
		{"summary-only", opt(func(o *Options) { o.SummaryOnly = true; o.All = true }), nil, []int64{}, "WHO CLOSES FIRST"},
		{"stream", opt(func(o *Options) { o.Stream = 1 }), []int64{1}, []int64{1}, "tcp.stream eq 1"},
		{"stream-missing", opt(func(o *Options) { o.Stream = 99 }), nil, []int64{}, "no flow with tcp.stream eq 99"},
		{"only", opt(func(o *Options) { o.Only = []analyzer.Kind{analyzer.RSTUnreadData, analyzer.SimultaneousClose} }),
			[]int64{2, 3}, []int64{2, 3}, "2 flows with anomaly rst-unread-data or simultaneous-close"},
		{"only-and-stream", opt(func(o *Options) { o.Only = []analyzer.Kind{analyzer.LostFinalACK}; o.Stream = 3 }), nil, []int64{}, "no flow with tcp.stream eq 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := render(t, textWith(tc.o), scenarios(), scenarioCapture())
			got := textStreams(out)
			if tc.o.grouped() {
				// One exemplar per group, groups by severity: here every
				// flow is its own group.
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.text) {
				t.Errorf("text reports streams %v, want %v", got, tc.text)
			}
			if !bytes.Contains(out, []byte(tc.textMatch)) {
				t.Errorf("text lacks %q:\n%s", tc.textMatch, out)
			}
			if got := jsonStreams(t, render(t, jsonWith(tc.o), scenarios(), scenarioCapture())); !slices.Equal(got, tc.json) {
				t.Errorf("JSON lists streams %v, want %v", got, tc.json)
			}
		})
	}
}

// TestDeterministic: any finish order gives the same bytes, and a renderer
// reused for a second capture starts afresh.
func TestDeterministic(t *testing.T) {
	o := DefaultOptions()
	o.All = true
	for _, mk := range []func(*bytes.Buffer) Renderer{textWith(o), jsonWith(o)} {
		want := render(t, mk, scenarios(), scenarioCapture())
		rng := rand.New(rand.NewPCG(1, 2))
		for range 5 {
			tds := scenarios()
			rng.Shuffle(len(tds), func(i, j int) { tds[i], tds[j] = tds[j], tds[i] })
			if got := render(t, mk, tds, scenarioCapture()); !bytes.Equal(got, want) {
				t.Fatalf("output depends on finish order")
			}
		}
		var buf bytes.Buffer
		r := mk(&buf)
		for range 2 {
			for _, td := range scenarios() {
				if err := r.Flow(td); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Finish(scenarioCapture()); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(buf.Bytes(), append(slices.Clone(want), want...)) {
			t.Errorf("second capture on a reused renderer differs from the first")
		}
	}
}

func TestColor(t *testing.T) {
	o := DefaultOptions()
	plain := render(t, textWith(o), scenarios(), scenarioCapture())
	if bytes.Contains(plain, []byte("\x1b[")) {
		t.Errorf("escape sequences without Color")
	}
	o.Color = true
	col := render(t, textWith(o), scenarios(), scenarioCapture())
	for _, want := range []string{
		ansiRed + "── RST,ACK seq=120 ack=1025 ──▶" + ansiReset, // RST arrow
		ansiYellow + "⚠" + ansiReset,                            // warning marker
		ansiRed + "✖" + ansiReset,                               // error marker
	} {
		if !bytes.Contains(col, []byte(want)) {
			t.Errorf("coloured output lacks %q", want)
		}
	}
	// Colour changes nothing else.
	strip := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if got := strip.ReplaceAll(col, nil); !bytes.Equal(got, plain) {
		t.Errorf("coloured output differs from plain beyond escape sequences")
	}
}

// TestWrapWidth: anomaly details never exceed detailCols (words are short).
func TestWrapWidth(t *testing.T) {
	o := DefaultOptions()
	o.All = true
	out := render(t, textWith(o), scenarios(), scenarioCapture())
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "   ") && !strings.HasPrefix(line, "    ") && width(line) > detailCols {
			t.Errorf("detail line of %d columns: %q", width(line), line)
		}
	}
	got := string(wrap(nil, "aaa bbb ccc\n\nddd", "  ", 9))
	if want := "  aaa bbb\n  ccc\n  ddd\n"; got != want {
		t.Errorf("wrap = %q, want %q", got, want)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		sec  float64
		want string
	}{{0, "0 s"}, {0.00004, "40 µs"}, {0.2079, "208 ms"}, {0.0123, "12.3 ms"}, {2.414, "2.41 s"}, {187, "3m07s"}, {7500, "2h05m"}} {
		d := at(tc.sec).Sub(t0)
		if got := humanDuration(d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, tc.want)
		}
	}
}

// TestEndpointCap: past the cap no endpoint is added, the anomalies are
// counted as untracked, and the text says so.
func TestEndpointCap(t *testing.T) {
	var buf bytes.Buffer
	r := NewText(&buf, DefaultOptions()).(*textRenderer)
	r.sum.epLimit = 2
	for _, td := range scenarios() {
		if err := r.Flow(td); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.sum.endpoints) != 2 || r.sum.untracked != 2 {
		t.Errorf("%d endpoints tracked, %d untracked; want 2 and 2", len(r.sum.endpoints), r.sum.untracked)
	}
	if err := r.Finish(scenarioCapture()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("only the first 2 endpoints are tracked: 2 anomalies at other endpoints not counted here")) {
		t.Errorf("text does not say the endpoint table is capped:\n%s", buf.Bytes())
	}
}
