package report

import (
	"bytes"
	"encoding/json"
	"finwave/internal/golden"
	"path/filepath"
	"testing"

	"finwave/analyzer"
)

// render feeds the teardowns to r and finishes with c.
func render(t *testing.T, mk func(*bytes.Buffer) Renderer, tds []*analyzer.Teardown, c *Capture) []byte {
	t.Helper()
	var buf bytes.Buffer
	r := mk(&buf)
	for _, td := range tds {
		if err := r.Flow(td); err != nil {
			t.Fatalf("Flow(%d): %v", td.Stream, err)
		}
	}
	if err := r.Finish(c); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return buf.Bytes()
}

// checkGolden compares got with testdata/name, rewriting it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got, "go test ./report -update")
}

func textWith(o Options) func(*bytes.Buffer) Renderer {
	return func(b *bytes.Buffer) Renderer { return NewText(b, o) }
}

func jsonWith(o Options) func(*bytes.Buffer) Renderer {
	return func(b *bytes.Buffer) Renderer { return NewJSON(b, o) }
}

func TestGolden(t *testing.T) {
	all := DefaultOptions()
	all.All = true
	summary := DefaultOptions()
	summary.SummaryOnly = true
	stream := DefaultOptions()
	stream.Stream = 0
	empty := &Capture{File: "empty.pcap", Profile: "linux"}
	damaged := scenarioCapture()
	damaged.File = "damaged.pcap.gz"
	damaged.ReadError = "gzip: unexpected EOF after frame 72"
	damaged.Evicted = 2

	cases := []struct {
		name string
		mk   func(*bytes.Buffer) Renderer
		tds  []*analyzer.Teardown
		c    *Capture
	}{
		{"default.txt.golden", textWith(DefaultOptions()), scenarios(), scenarioCapture()},
		{"all.txt.golden", textWith(all), scenarios(), scenarioCapture()},
		{"summary.txt.golden", textWith(summary), scenarios(), damaged},
		{"stream0.txt.golden", textWith(stream), scenarios(), scenarioCapture()},
		{"empty.txt.golden", textWith(DefaultOptions()), nil, empty},
		{"all.json.golden", jsonWith(DefaultOptions()), scenarios(), damaged},
		{"empty.json.golden", jsonWith(DefaultOptions()), nil, empty},
		{"lines.jsonl.golden", func(b *bytes.Buffer) Renderer { return NewJSONLines(b, DefaultOptions()) },
			[]*analyzer.Teardown{lostFinalACK(), halfOpen6()}, scenarioCapture()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, render(t, tc.mk, tc.tds, tc.c))
		})
	}
}

// TestJSONParses decodes every JSON output into generic values and checks
// the keys the expectation format (docs/expect-format.md) relies on.
func TestJSONParses(t *testing.T) {
	c := scenarioCapture()
	c.ReadError = "pcap: truncated packet header"
	for _, tds := range [][]*analyzer.Teardown{nil, scenarios()} {
		out := render(t, jsonWith(DefaultOptions()), tds, c)
		var doc map[string]any
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("JSON does not parse: %v\n%s", err, out)
		}
		if doc["finwave"] != float64(1) || doc["read_error"] != c.ReadError {
			t.Errorf("finwave=%v read_error=%v", doc["finwave"], doc["read_error"])
		}
		flows := doc["flows"].([]any)
		if len(flows) != len(tds) {
			t.Fatalf("%d flows, want %d", len(flows), len(tds))
		}
		for i, f := range flows {
			m := f.(map[string]any)
			if m["stream"] != float64(i) {
				t.Errorf("flow %d has stream %v: not in stream order", i, m["stream"])
			}
			for _, k := range []string{"client", "server", "roles", "pattern", "closer", "client_state", "server_state", "zeek_conn_state", "segments", "anomalies", "finish"} {
				if _, ok := m[k]; !ok {
					t.Errorf("flow %d lacks %q", i, k)
				}
			}
		}
		sum := doc["summary"].(map[string]any)
		if sum["flows"] != float64(len(tds)) {
			t.Errorf("summary.flows = %v", sum["flows"])
		}
	}

	// JSON lines: every line is an object; flows in finish order, then the summary.
	var buf bytes.Buffer
	r := NewJSONLines(&buf, DefaultOptions())
	for _, td := range scenarios() {
		if err := r.Flow(td); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(c); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), []byte{'\n'})
	if len(lines) != len(scenarios())+1 {
		t.Fatalf("%d lines, want %d", len(lines), len(scenarios())+1)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		want := "flow"
		if i == len(lines)-1 {
			want = "summary"
		}
		if m["type"] != want {
			t.Errorf("line %d type %v, want %s", i+1, m["type"], want)
		}
		if want == "flow" && m["stream"] != float64(scenarios()[i].Stream) {
			t.Errorf("line %d stream %v, want finish order %d", i+1, m["stream"], scenarios()[i].Stream)
		}
	}
}
