package htmlreport

import (
	"path/filepath"
	"testing"

	"finwave/internal/golden"
)

// checkGolden compares got with testdata/name, rewriting it with -update
// (go test ./report/htmlreport -update; read the diff before committing).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got, "go test ./report/htmlreport -update")
}
