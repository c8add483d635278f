// Package golden compares what a test made with a file under testdata, and
// rewrites the file when the test runs with -update. It is the one -update
// flag of the project's tests (internal/toolverdict uses it too).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata (golden files, and tool verdicts from the reference tools, which must then be installed)")

// Updating reports whether the test runs with -update.
func Updating() bool { return *update }

// Check compares got with the file at path byte for byte: with -update it
// writes the file instead. A difference is reported at its first differing
// line, quoted; hint is how to rewrite the file (e.g. "go test ./report
// -update").
func Check(t testing.TB, path string, got []byte, hint string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (%s creates it)", err, hint)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(%s rewrites it; read the diff before committing)",
				filepath.Base(path), i+1, g, w, hint)
			return
		}
	}
}
