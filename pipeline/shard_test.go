package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/internal/synth"
)

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
	var st Stats
	var as analyzer.Stats
	var r Runner
	if jobs == 1 {
		a := analyzer.New(analyzer.DefaultConfig(), emit)
		if err := r.Run(context.Background(), src, a, &st); err != nil {
			t.Fatal(err)
		}
		a.Close()
		as = a.Stats()
	} else {
		sh := &Sharded{N: jobs, Config: analyzer.DefaultConfig(), Emit: emit}
		if err := sh.Run(context.Background(), &r, src, &st); err != nil {
			t.Fatal(err)
		}
		as = sh.Stats()
	}
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
	f, err := os.Create(syn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Config{Conns: 3000, Concurrency: 50}); err != nil {
		t.Fatal(err)
	}
	f.Close()
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
