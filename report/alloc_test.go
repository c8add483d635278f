package report

import (
	"io"
	"testing"
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
		"text":       NewText(io.Discard, o),
		"color text": NewText(io.Discard, Options{All: true, Stream: -1, Color: true}),
		"live text":  NewStreamText(io.Discard, o),
		"json":       NewJSON(io.Discard, o),
		"json lines": NewJSONLines(io.Discard, o),
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
