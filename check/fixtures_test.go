package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"finwave/analyzer"
)

// TestFixtures checks every capture in fixtures/ that has an expectation
// beside it. The captures were recorded from the Linux kernel and the
// expectations written from ss/nstat, so a failure here means finwave and the
// kernel disagree.
func TestFixtures(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("..", "fixtures", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range matches {
		base := filepath.Base(path)
		if !isCaptureName(base) {
			continue
		}
		exp := ExpectPath(path)
		if _, err := os.Stat(exp); err != nil {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(filepath.Base(exp), ".expect"), func(t *testing.T) {
			e, err := ParseFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			o, err := Run(context.Background(), path, e, analyzer.DefaultConfig())
			if err != nil {
				t.Fatalf("%v", err)
			}
			if o.Failed() > 0 {
				var b strings.Builder
				_ = o.Write(&b)
				t.Errorf("%d of %d rules failed:\n%s", o.Failed(), len(o.Results), b.String())
			}
		})
	}
	if n == 0 {
		t.Skip("no fixtures/*.pcap* with a .expect beside it yet")
	}
}

// isCaptureName reports whether a file name has a capture extension.
func isCaptureName(name string) bool {
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func TestExpectPath(t *testing.T) {
	cases := map[string]string{
		"fixtures/close_by_client.pcap": "fixtures/close_by_client.expect",
		"fixtures/a.pcapng":             "fixtures/a.expect",
		"fixtures/a.pcap.gz":            "fixtures/a.expect",
		"x.cap":                         "x.expect",
		"dir.pcap/trace":                "dir.pcap/trace.expect",
	}
	for in, want := range cases {
		if got := ExpectPath(in); got != want {
			t.Errorf("ExpectPath(%q) = %q, want %q", in, got, want)
		}
	}
}
