package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestStreamText: each flow worth reading is written the moment Flow is
// called, byte for byte as the file report writes it; Finish writes the
// same summary tables as a summary-only file report, listing no flow again.
func TestStreamText(t *testing.T) {
	var live bytes.Buffer
	r := NewStreamText(&live, DefaultOptions())
	var want []byte
	for _, td := range scenarios() {
		before := live.Len()
		if err := r.Flow(td); err != nil {
			t.Fatal(err)
		}
		got := live.Bytes()[before:]
		if !WorthReading(td) {
			if len(got) != 0 {
				t.Errorf("flow %d (%v) not worth reading was written: %q", td.Stream, td.Pattern, got)
			}
			continue
		}
		flowText := appendFlowText(nil, td, false, new(ladderScratch))
		if !bytes.Equal(got, append(flowText, '\n')) {
			t.Errorf("flow %d streamed as\n%s\nwant\n%s", td.Stream, got, flowText)
		}
		want = append(want, flowText...)
		want = append(want, '\n')
	}
	if len(want) == 0 {
		t.Fatal("no scenario worth reading: the test checks nothing")
	}
	c := &Capture{File: "live:eth0", Frames: 99, TCPSegments: 90, Profile: "linux"}
	before := live.Len()
	if err := r.Finish(c); err != nil {
		t.Fatal(err)
	}
	summary := live.String()[before:]

	var file bytes.Buffer
	o := DefaultOptions()
	o.SummaryOnly = true
	fr := NewText(&file, o)
	for _, td := range scenarios() {
		fr.Flow(td)
	}
	if err := fr.Finish(c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(summary, file.String()) {
		t.Errorf("live summary\n%s\ndoes not start with the file summary\n%s", summary, file.String())
	}
	if rest := strings.TrimPrefix(summary, file.String()); !strings.Contains(rest, "reported above, each as it finished") || strings.Contains(rest, "flow 0 ·") {
		t.Errorf("after the tables: %q", rest)
	}
	// Reusable: Finish reset the counters.
	var again bytes.Buffer
	r2 := NewStreamText(&again, DefaultOptions())
	r2.Finish(c)
	live.Reset()
	r.Finish(c)
	if live.String() != again.String() {
		t.Errorf("after Finish the renderer kept state:\n%s\nvs\n%s", live.String(), again.String())
	}
}
