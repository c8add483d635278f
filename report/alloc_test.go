package report

import (
	"bytes"
	"io"
	"testing"

	"finwave/analyzer"
)

// TestListedFlowAllocs: rendering a listed flow allocates nothing in steady
// state, in every renderer: formatting appends into buffers the renderer
// reuses, and the spill's growth is amortised (AllocsPerRun averages over
// the runs). The scenarios cover anomalies, state-change chains, tentative
// and undone changes, IPv6 and FIN retransmissions.
func TestListedFlowAllocs(t *testing.T) {
	o := DefaultOptions()
	o.All = true
	for name, r := range map[string]Renderer{
		"text":               NewText(io.Discard, o),
		"color text":         NewText(io.Discard, Options{All: true, Stream: -1, Color: true}),
		"live text":          NewStreamText(io.Discard, o),
		"text 60 cols, date": NewText(io.Discard, Options{All: true, Stream: -1, Width: 60, Time: TimeDate}),
		"live text 60 cols":  NewStreamText(io.Discard, Options{All: true, Stream: -1, Width: 60}),
		"json":               NewJSON(io.Discard, o),
		"json lines":         NewJSONLines(io.Discard, o),
	} {
		tds := scenarios()
		flows := func() {
			for _, td := range tds {
				if err := r.Flow(td); err != nil {
					t.Fatal(err)
				}
			}
		}
		flows() // warm up: buffers and endpoint counters reach their size
		if n := testing.AllocsPerRun(100, flows); n != 0 {
			t.Errorf("%s: %v allocations per %d listed flows", name, n, len(tds))
		}
		if err := r.Finish(&Capture{}); err != nil {
			t.Fatal(err)
		}
	}
}

// scribble overwrites everything t and its slices hold, as a caller
// recycling a Teardown after Flow returns would.
func scribble(t *analyzer.Teardown) {
	for i := range t.Segments {
		s := &t.Segments[i]
		for j := range s.Changes {
			s.Changes[j] = analyzer.Change{Reason: "recycled"}
		}
		*s = analyzer.LabelledSegment{Frame: -1, Changes: s.Changes, Explain: "recycled"}
	}
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		for j := range a.Frames {
			a.Frames[j] = -1
		}
		*a = analyzer.Anomaly{Frames: a.Frames, Detail: "recycled"}
	}
	*t = analyzer.Teardown{Stream: t.Stream, Segments: t.Segments, Anomalies: t.Anomalies}
}

// TestNoTeardownRetained: the output does not change when every Teardown is
// overwritten right after Flow returns (Renderer's contract).
func TestNoTeardownRetained(t *testing.T) {
	o := DefaultOptions()
	o.All = true
	for name, mk := range map[string]func(*bytes.Buffer) Renderer{
		"text": textWith(o), "json": jsonWith(o), "grouped text": textWith(DefaultOptions()),
		"json lines": func(b *bytes.Buffer) Renderer { return NewJSONLines(b, o) },
	} {
		want := render(t, mk, scenarios(), scenarioCapture())
		var got bytes.Buffer
		r := mk(&got)
		for _, td := range scenarios() {
			if err := r.Flow(td); err != nil {
				t.Fatal(err)
			}
			scribble(td)
		}
		if err := r.Finish(scenarioCapture()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: output changed when teardowns were recycled after Flow", name)
		}
	}
}
