package htmlreport

import (
	"context"
	"io"
	"os"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
	"finwave/report"
)

// countWriter counts the bytes of the page.
type countWriter struct{ n int64 }

func (w *countWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

type discard struct{}

func (discard) Flow(*analyzer.Teardown) error { return nil }
func (discard) Finish(*report.Capture) error  { return nil }

// BenchmarkLargeCapture: the analysis of a large capture with no report
// (finwave -q) and with the HTML page, for the --html overhead (issue 17:
// at most +20 %) and the page's size (page-bytes: under 20 MB). The
// capture is $FINWAVE_BENCH_PCAP, or /work/benchdata/kernel.pcap (200,000
// connections); skipped when neither exists.
//
//	go test ./report/htmlreport -run '^$' -bench LargeCapture -benchtime 3x
func BenchmarkLargeCapture(b *testing.B) {
	path := os.Getenv("FINWAVE_BENCH_PCAP")
	if path == "" {
		path = "/work/benchdata/kernel.pcap"
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("no large capture (%v): set FINWAVE_BENCH_PCAP", err)
	}
	for _, tc := range []struct {
		name string
		mk   func(io.Writer) report.Renderer
	}{
		{"quiet", func(io.Writer) report.Renderer { return discard{} }},
		{"html", func(w io.Writer) report.Renderer { return New(w, Options{}) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var size int64
			for b.Loop() {
				var cw countWriter
				r := tc.mk(&cw)
				src, err := capture.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				var ferr error
				a := analyzer.New(analyzer.DefaultConfig(), func(td *analyzer.Teardown) {
					if err := r.Flow(td); err != nil && ferr == nil {
						ferr = err
					}
					analyzer.Recycle(td)
				})
				var st pipeline.Stats
				if err := pipeline.Run(context.Background(), src, a, &st); err != nil {
					b.Fatal(err)
				}
				a.Close()
				src.Close()
				if ferr != nil {
					b.Fatal(ferr)
				}
				if err := r.Finish(&report.Capture{File: path, Frames: st.Frames, First: st.First, Last: st.Last, Profile: "linux"}); err != nil {
					b.Fatal(err)
				}
				size = cw.n
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}
