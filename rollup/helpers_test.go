package rollup

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/internal/synth"
	"finwave/pipeline"
)

// analyse runs the analyzer over src and returns its teardowns (not
// recycled: they stay valid).
func analyse(t testing.TB, src capture.Source) []*analyzer.Teardown {
	t.Helper()
	defer src.Close()
	var out []*analyzer.Teardown
	a := analyzer.New(analyzer.DefaultConfig(), func(td *analyzer.Teardown) { out = append(out, td) })
	var ps pipeline.Stats
	if err := pipeline.Run(context.Background(), src, a, &ps); err != nil {
		t.Fatal(err)
	}
	a.Close()
	return out
}

// synthFlows writes cfg with synth and analyses it.
func synthFlows(t testing.TB, cfg synth.Config) []*analyzer.Teardown {
	t.Helper()
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	src, err := capture.NewReader("synth", &buf)
	if err != nil {
		t.Fatal(err)
	}
	return analyse(t, src)
}

// fixtureFlows analyses fixtures/name.pcap.
func fixtureFlows(t testing.TB, name string) []*analyzer.Teardown {
	t.Helper()
	src, err := capture.Open(filepath.Join("..", "fixtures", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	return analyse(t, src)
}

func rollupOf(o Options, tds []*analyzer.Teardown) *Result {
	r := New(o)
	for _, td := range tds {
		r.Add(td)
	}
	return r.Result(timeZero, timeZero)
}
