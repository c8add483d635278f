package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/internal/synth"
)

// analyse runs src through one analyzer (jobs 1) or a Sharded of jobs
// workers with the default configuration, calling emit for every flow, and
// returns the Sharded (nil for one analyzer) and its analyzer counters.
func analyse(t *testing.T, src capture.Source, jobs int, emit func(*analyzer.Teardown)) (*Sharded, analyzer.Stats, Stats) {
	t.Helper()
	var st Stats
	var r Runner
	if jobs == 1 {
		a := analyzer.New(analyzer.DefaultConfig(), emit)
		if err := r.Run(context.Background(), src, a, &st); err != nil {
			t.Fatal(err)
		}
		a.Close()
		return nil, a.Stats(), st
	}
	sh := &Sharded{N: jobs, Config: analyzer.DefaultConfig(), Emit: emit}
	if err := sh.Run(context.Background(), &r, src, &st); err != nil {
		t.Fatal(err)
	}
	return sh, sh.Stats(), st
}

// flowsOf runs path through one analyzer (jobs 1) or Sharded and returns
// every Teardown as JSON, sorted by stream then arrival, and the stats.
func flowsOf(t *testing.T, path string, jobs int) ([]string, analyzer.Stats, Stats) {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type rec struct {
		stream int64
		js     string
	}
	var got []rec
	emit := func(td *analyzer.Teardown) {
		b, err := json.Marshal(td)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec{td.Stream, string(b)})
	}
	_, as, st := analyse(t, src, jobs, emit)
	slices.SortStableFunc(got, func(a, b rec) int { return int(a.stream - b.stream) })
	out := make([]string, len(got))
	for i, g := range got {
		out[i] = g.js
	}
	as.Open = 0
	return out, as, st
}

// TestShardedEqualsSingle: with 2, 3 and 7 workers every flow is the same
// as with one analyzer, stream ids included (the global first-appearance
// order Wireshark uses), over a synthetic capture and every fixture.
func TestShardedEqualsSingle(t *testing.T) {
	dir := t.TempDir()
	syn := filepath.Join(dir, "synth.pcap")
	if _, err := synth.WriteFile(syn, synth.Config{Conns: 3000, Concurrency: 50}); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob("../fixtures/*.pcap*")
	paths = append(paths, syn)
	for _, p := range paths {
		want, wantStats, wantSt := flowsOf(t, p, 1)
		for _, n := range []int{2, 3, 7} {
			got, gotStats, gotSt := flowsOf(t, p, n)
			if gotStats != wantStats || fmt.Sprint(gotSt) != fmt.Sprint(wantSt) {
				t.Errorf("%s -j %d: stats %+v %+v, want %+v %+v", p, n, gotStats, gotSt, wantStats, wantSt)
			}
			if len(got) != len(want) {
				t.Fatalf("%s -j %d: %d flows, want %d", p, n, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s -j %d: flow %d differs:\n got %s\nwant %s", p, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestShardedIDMapBounded: the merger maps only the stream ids a flow can
// still be emitted with, so over more flows than the workers keep records
// of, the map stays bounded, and every flow still gets the stream id one
// analyzer gives it (ports wrap, so 4-tuples come back).
func TestShardedIDMapBounded(t *testing.T) {
	const conns = 300_000 // well past 2 workers × flow.DefaultMaxFinished records
	path := filepath.Join(t.TempDir(), "many.pcap")
	if _, err := synth.WriteFile(path, synth.Config{Conns: conns, Concurrency: 100}); err != nil {
		t.Fatal(err)
	}
	type id struct{ stream, first int64 }
	run := func(jobs int) ([]id, *Sharded) {
		src, err := capture.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var got []id
		emit := func(td *analyzer.Teardown) {
			got = append(got, id{td.Stream, td.FirstFrame})
			analyzer.Recycle(td)
		}
		sh, _, _ := analyse(t, src, jobs, emit)
		slices.SortFunc(got, func(a, b id) int { return int(a.first - b.first) })
		return got, sh
	}
	want, _ := run(1)
	got, sh := run(2)
	if len(got) != len(want) {
		t.Fatalf("%d flows with 2 workers, %d with one", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("flow from frame %d: stream %d with 2 workers, %d with one", want[i].first, got[i].stream, want[i].stream)
		}
	}
	// Records of finished streams per worker (flow.DefaultMaxFinished),
	// plus the open flows: those held for the 2 s grace after their
	// teardown (about 21 k at this capture's rate: a frame every 10 µs,
	// ten frames a flow) and the 100 concurrent ones, plus one batch.
	bound := 2*65536 + 30_000
	if bound >= conns {
		t.Fatal("the bound does not test anything")
	}
	if sh.peakMapped > bound || sh.peakMapped == 0 {
		t.Errorf("the merger mapped %d stream ids at once, want at most %d (of %d flows)", sh.peakMapped, bound, len(want))
	}
	t.Logf("%d flows, at most %d stream ids mapped at once", len(want), sh.peakMapped)
}

// TestShardedCloseChunked: the flows still open at the end reach the merger
// in chunks of at most closeChunk, not all at once, and every flow is still
// the one analyzer's.
func TestShardedCloseChunked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open.pcap")
	// Many concurrent flows: thousands open (or in their grace) at the end.
	if _, err := synth.WriteFile(path, synth.Config{Conns: 20_000, Concurrency: 2000}); err != nil {
		t.Fatal(err)
	}
	want, _, _ := flowsOf(t, path, 1)
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	sh, _, _ := analyse(t, src, 2, func(td *analyzer.Teardown) { n++; analyzer.Recycle(td) })
	if n != len(want) {
		t.Fatalf("%d flows with 2 workers, %d with one", n, len(want))
	}
	if sh.closeFlows <= 2*closeChunk {
		t.Fatalf("only %d flows open at the end: the test does not test anything", sh.closeFlows)
	}
	if sh.peakClose > closeChunk {
		t.Errorf("a worker handed over %d flows at once at Close, want at most %d", sh.peakClose, closeChunk)
	}
	got, _, _ := flowsOf(t, path, 2)
	if !slices.Equal(got, want) {
		t.Errorf("flows with 2 workers differ from one analyzer's")
	}
	t.Logf("%d flows, %d open at the end, at most %d handed over at once", n, sh.closeFlows, sh.peakClose)
}

// TestShardOfBalanced: a host's connections to itself (one address, one
// server port, even ephemeral ports as Linux picks them for connect) and
// to a few servers spread evenly over 2, 3 and 7 workers, in both
// directions alike.
func TestShardOfBalanced(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	srv := []flow.Endpoint{{Addr: lo, Port: 8080}, {Addr: netip.MustParseAddr("10.0.0.2"), Port: 443}, {Addr: netip.MustParseAddr("2001:db8::1"), Port: 80}}
	cli := []netip.Addr{lo, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::2")}
	for i, s := range srv {
		for _, n := range []uint32{2, 3, 7} {
			count := make([]int, n)
			total := 0
			for port := 32768; port < 61000; port += 2 {
				seg := flow.Segment{Src: flow.Endpoint{Addr: cli[i], Port: uint16(port)}, Dst: s}
				back := flow.Segment{Src: s, Dst: seg.Src}
				if shardOf(&seg) != shardOf(&back) {
					t.Fatalf("%v ↔ %v: %d one way, %d the other", seg.Src, s, shardOf(&seg), shardOf(&back))
				}
				count[shardOf(&seg)%n]++
				total++
			}
			for w, c := range count {
				if want := total / int(n); c < want*9/10 || c > want*11/10 {
					t.Errorf("%v, %d workers: worker %d has %d of %d flows, want about %d", s, n, w, c, total, want)
				}
			}
		}
	}
}
