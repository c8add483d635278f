package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"finwave/capture/bpf"
)

// TestRunFilter: with Runner.Filter, rejected frames are counted as
// filtered out, not skipped, never reach the sink, and the frames that
// pass keep their numbers in the input; the time span is that of the
// frames that pass.
func TestRunFilter(t *testing.T) {
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 0)}, // 1: filtered out
		{layers.LinkTypeEthernet, arpFrame(t)},                  // 2: filtered out (not a skip)
		{layers.LinkTypeEthernet, tcpFrame(t, 40001, false, 0)}, // 3: passes
		{layers.LinkTypeEthernet, tcpFrame(t, 40000, true, 0)},  // 4: filtered out
		{layers.LinkTypeEthernet, tcpFrame(t, 40001, true, 0)},  // 5: passes
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := bpf.NewMatcher("tcp src port 40001")
	if err != nil {
		t.Fatal(err)
	}
	r := Runner{Filter: m}
	sink := &countSink{keep: true}
	var st Stats
	if err := r.Run(context.Background(), &fakeSource{recs: recs, loops: 1, t0: t0}, sink, &st); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st.Frames != 5 || st.FilteredOut != 3 || st.TCPSegments != 2 || len(st.Skipped()) != 0 {
		t.Errorf("frames %d filtered out %d tcp %d skipped %v; want 5 3 2 none", st.Frames, st.FilteredOut, st.TCPSegments, st.Skipped())
	}
	if len(sink.frames) != 2 || sink.frames[0] != 3 || sink.frames[1] != 5 {
		t.Errorf("sink got frames %v, want [3 5] (numbers of the input)", sink.frames)
	}
	if want := t0.Add(3 * time.Millisecond); !st.First.Equal(want) {
		t.Errorf("first %v, want %v (the first frame that passed)", st.First, want)
	}
}

// TestRunFilterUnsupportedLink: a frame of a link type the filter cannot
// be compiled for stops the run with an error naming frame and link type.
func TestRunFilterUnsupportedLink(t *testing.T) {
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(t, 40001, false, 0)},
		{layers.LinkType(147), tcpFrame(t, 40001, false, 0)},
	}
	m, err := bpf.NewMatcher("tcp")
	if err != nil {
		t.Fatal(err)
	}
	r := Runner{Filter: m}
	var st Stats
	err = r.Run(context.Background(), &fakeSource{recs: recs, loops: 1}, &countSink{}, &st)
	var ue *bpf.UnsupportedLinkError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "frame 2") || !strings.Contains(err.Error(), "link type 147") {
		t.Fatalf("Run: %v, want an UnsupportedLinkError naming frame 2 and link type 147", err)
	}
}

// TestRunFilterNoAllocPerFrame: with a filter, the run over 4096 loops of
// frames allocates no more than over one (the filter's programs are
// compiled once per link type, before the measure).
func TestRunFilterNoAllocPerFrame(t *testing.T) {
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 100)},
		{layers.LinkTypeEthernet, tcpFrame(t, 40001, true, 0)},
		{layers.LinkTypeEthernet, arpFrame(t)},
	}
	m, err := bpf.NewMatcher("tcp port 40001 or arp")
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{recs: recs}
	r := Runner{Filter: m}
	var st Stats
	run := func(loops int) float64 {
		return testing.AllocsPerRun(20, func() {
			src.i, src.loops = 0, loops
			if err := r.Run(context.Background(), src, &countSink{}, &st); err != nil {
				t.Fatal(err)
			}
		})
	}
	if small, large := run(1), run(4096); large > small {
		t.Errorf("allocations grow with frames: %v for 3 frames, %v for 12288", small, large)
	}
}

// BenchmarkRunFilter is BenchmarkRun with a filter that passes one frame
// of two: the filter's cost per frame is the difference.
func BenchmarkRunFilter(b *testing.B) {
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(b, 40000, false, 100)},
		{layers.LinkTypeEthernet, tcpFrame(b, 40001, true, 0)},
	}
	m, err := bpf.NewMatcher("tcp and (port 40001 or port 443) and not host 10.9.9.9")
	if err != nil {
		b.Fatal(err)
	}
	src := &fakeSource{recs: recs, loops: 1}
	r := Runner{Filter: m}
	var st Stats
	sink := &countSink{}
	b.ReportAllocs()
	for b.Loop() {
		src.i = 0
		_ = r.Run(context.Background(), src, sink, &st)
	}
}
