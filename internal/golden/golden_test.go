package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder catches what Check reports.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(f string, a ...any) { r.note("error") }
func (r *recorder) Fatalf(f string, a ...any) { r.note("fatal") }
func (r *recorder) Fatal(a ...any)            { r.note("fatal") }

// note keeps the first report (a real Fatal would have stopped there).
func (r *recorder) note(m string) {
	if r.msg == "" {
		r.msg = m
	}
}

// A file that differs, or is missing, is reported; an equal one is not.
func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	os.WriteFile(path, []byte("a\nb\n"), 0o644)
	for _, c := range []struct {
		path, got, want string
	}{{path, "a\nb\n", ""}, {path, "a\nc\n", "error"}, {path, "a\nb\nc\n", "error"}, {path + ".none", "a", "fatal"}} {
		r := &recorder{TB: t}
		Check(r, c.path, []byte(c.got), "go test -update")
		if r.msg != c.want {
			t.Errorf("Check(%q) reported %q, want %q", strings.ReplaceAll(c.got, "\n", `\n`), r.msg, c.want)
		}
	}
}
