package bench

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/internal/synth"
	"finwave/pipeline"
	"finwave/report"
)

var (
	conns       = flag.Int("conns", 20000, "connections in the synthetic capture")
	concurrency = flag.Int("concurrency", 200, "connections open at once in the synthetic capture")
	payload     = flag.Int("payload", 100, "request and reply bytes per connection")
)

var (
	capOnce sync.Once
	capPath string
	capErr  error
	capSt   synth.Stats
)

// synthFile writes the synthetic capture once per test binary run.
func synthFile(b *testing.B) (string, synth.Stats) {
	capOnce.Do(func() {
		dir, err := os.MkdirTemp("", "finwave-bench-")
		if err != nil {
			capErr = err
			return
		}
		capPath = filepath.Join(dir, "synth.pcap")
		f, err := os.Create(capPath)
		if err != nil {
			capErr = err
			return
		}
		capSt, capErr = synth.Write(f, synth.Config{Conns: *conns, Concurrency: *concurrency, Payload: *payload})
		if err := f.Close(); capErr == nil {
			capErr = err
		}
	})
	if capErr != nil {
		b.Fatal(capErr)
	}
	return capPath, capSt
}

func TestMain(m *testing.M) {
	code := m.Run()
	if capPath != "" {
		os.RemoveAll(filepath.Dir(capPath))
	}
	os.Exit(code)
}

// analyse runs the whole analysis of path into r, as finwave -j 1 does.
func analyse(b *testing.B, path string, r report.Renderer) {
	src, err := capture.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	a := analyzer.New(analyzer.DefaultConfig(), func(t *analyzer.Teardown) { _ = r.Flow(t) })
	var st pipeline.Stats
	if err := pipeline.Run(context.Background(), src, a, &st); err != nil {
		b.Fatal(err)
	}
	a.Close()
	as := a.Stats()
	if err := r.Finish(&report.Capture{File: path, Frames: st.Frames, TCPSegments: st.TCPSegments, Flows: as.Flows}); err != nil {
		b.Fatal(err)
	}
}

func benchFile(b *testing.B, mk func() report.Renderer) {
	path, st := synthFile(b)
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	for b.Loop() {
		analyse(b, path, mk())
	}
	b.ReportMetric(float64(st.Frames)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkDecodeOnly reads and decodes every frame (no flow table).
func BenchmarkDecodeOnly(b *testing.B) {
	path, st := synthFile(b)
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	for b.Loop() {
		src, err := capture.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var ps pipeline.Stats
		if err := pipeline.Run(context.Background(), src, nopSink{}, &ps); err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
}

type nopSink struct{}

func (nopSink) Segment(*flow.Segment) {}

func BenchmarkAnalyseText(b *testing.B) {
	benchFile(b, func() report.Renderer { return report.NewText(io.Discard, report.DefaultOptions()) })
}

func BenchmarkAnalyseJSON(b *testing.B) {
	benchFile(b, func() report.Renderer { return report.NewJSON(io.Discard, report.DefaultOptions()) })
}

// BenchmarkAnalyseOnly runs the analyzer without a report.
func BenchmarkAnalyseOnly(b *testing.B) {
	benchFile(b, func() report.Renderer { return nopRenderer{} })
}

type nopRenderer struct{}

func (nopRenderer) Flow(*analyzer.Teardown) error { return nil }
func (nopRenderer) Finish(*report.Capture) error  { return nil }

// BenchmarkAnalyseSharded is finwave -j 2 without the CLI: two analyzers
// by flow hash, text report.
func BenchmarkAnalyseSharded(b *testing.B) {
	path, st := synthFile(b)
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	for b.Loop() {
		src, err := capture.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := report.NewText(io.Discard, report.DefaultOptions())
		sh := &pipeline.Sharded{N: 2, Config: analyzer.DefaultConfig(), Emit: func(t *analyzer.Teardown) { _ = r.Flow(t) }}
		var ps pipeline.Stats
		pf := pipeline.Prefetch(src)
		if err := sh.Run(context.Background(), &pipeline.Runner{}, pf, &ps); err != nil {
			b.Fatal(err)
		}
		if err := r.Finish(&report.Capture{File: path, Frames: ps.Frames}); err != nil {
			b.Fatal(err)
		}
		pf.Close()
	}
	b.ReportMetric(float64(st.Frames)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
