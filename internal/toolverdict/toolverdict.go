// Package toolverdict keeps what reference tools (tshark, tcpdump) said
// about test captures in testdata, so that tests compare finwave with them
// on every machine, the tools installed or not.
//
// A verdict file is text, gzip'd when its name ends in .gz:
//
//	# what the lines mean, how they were made (any number of lines)
//	# tool: TShark (Wireshark) 4.0.17 (...)
//	== NAME (sha256 0123456789abcdef)
//	LINE
//	...
//
// one section per capture or scenario, in the order the test made them.
// NAME is the capture's or scenario's name, the hash the first 16 hex
// digits of the SHA-256 of the capture the lines describe (absent when the
// capture cannot be named by its bytes). LINEs are the tool's output
// reduced to what the test compares; they start with neither "#" nor "==".
//
// Tests call Load. go test -update (in the test's package, with the tool
// on PATH) rewrites the files from the tool; without -update the stored
// file is the truth, and when the tool is installed it is run too and
// must still agree (unless its version differs from the stored one).
package toolverdict

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"finwave/internal/golden"
)

// Updating reports whether the test runs with -update (internal/golden's
// flag): testdata is being rewritten from the tools.
func Updating() bool { return golden.Updating() }

// Section is a tool's verdict on one capture.
type Section struct {
	Name  string
	Hash  string // Sum of the capture the lines describe; "" when none
	Lines []string
}

// File is a verdict file.
type File struct {
	About    []string // header comment lines, without "# "
	Tool     string   // the tool's version, as Version returned it when the file was made
	Sections []Section

	advice string // how to regenerate the file, set by Load
}

const (
	toolPrefix    = "# tool: "
	sectionPrefix = "== "
	hashOpen      = " (sha256 "
)

// Sum names a capture by its bytes: 16 hex digits of their SHA-256.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// SumFile is Sum of a file's contents.
func SumFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return Sum(b), nil
}

// Version returns the first line of `tool --version`, followed by any
// later line naming the libpcap version (tcpdump prints it second).
func Version(tool string) (string, error) {
	out, err := exec.Command(tool, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", tool, err)
	}
	var parts []string
	for i, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && (i == 0 || strings.HasPrefix(l, "libpcap version")) {
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("%s --version: no output", tool)
	}
	return strings.Join(parts, "; "), nil
}

// Read parses a verdict file.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	f := &File{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, toolPrefix):
			f.Tool = strings.TrimPrefix(l, toolPrefix)
		case strings.HasPrefix(l, "#"):
			if len(f.Sections) > 0 {
				return nil, fmt.Errorf("%s:%d: comment after the first section", path, n)
			}
			f.About = append(f.About, strings.TrimPrefix(strings.TrimPrefix(l, "#"), " "))
		case strings.HasPrefix(l, sectionPrefix):
			s := Section{Name: strings.TrimPrefix(l, sectionPrefix)}
			if i := strings.LastIndex(s.Name, hashOpen); i >= 0 && strings.HasSuffix(s.Name, ")") {
				s.Name, s.Hash = s.Name[:i], s.Name[i+len(hashOpen):len(s.Name)-1]
			}
			f.Sections = append(f.Sections, s)
		case len(f.Sections) == 0:
			return nil, fmt.Errorf("%s:%d: line before the first section", path, n)
		default:
			s := &f.Sections[len(f.Sections)-1]
			s.Lines = append(s.Lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Tool == "" {
		return nil, fmt.Errorf("%s: no %q header line", path, strings.TrimSpace(toolPrefix))
	}
	return f, nil
}

// Write writes f to path; the same f always gives the same bytes.
func (f *File) Write(path string) error {
	var b bytes.Buffer
	for _, a := range f.About {
		fmt.Fprintf(&b, "# %s\n", a)
	}
	fmt.Fprintf(&b, "%s%s\n", toolPrefix, f.Tool)
	for _, s := range f.Sections {
		if strings.Contains(s.Name, "\n") {
			return fmt.Errorf("section name %q: has a newline", s.Name)
		}
		b.WriteString(sectionPrefix + s.Name)
		if s.Hash != "" {
			b.WriteString(hashOpen + s.Hash + ")")
		}
		b.WriteByte('\n')
		for _, l := range s.Lines {
			if strings.HasPrefix(l, "#") || strings.HasPrefix(l, sectionPrefix) || strings.Contains(l, "\n") {
				return fmt.Errorf("section %q: line %q cannot be stored", s.Name, l)
			}
			b.WriteString(l + "\n")
		}
	}
	out := b.Bytes()
	if strings.HasSuffix(path, ".gz") {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z) // no name, no time: deterministic
		if _, err := zw.Write(out); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		out = z.Bytes()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// Section returns the section named name, nil if none.
func (f *File) Section(name string) *Section {
	for i := range f.Sections {
		if f.Sections[i].Name == name {
			return &f.Sections[i]
		}
	}
	return nil
}

// Lines returns the stored lines for the capture named name whose Sum is
// hash ("" for none). It fails t, and returns ok false, when the file has
// no such section or its capture had other bytes: the file is stale.
func (f *File) Lines(t testing.TB, name, hash string) (lines []string, ok bool) {
	t.Helper()
	s := f.Section(name)
	switch {
	case s == nil:
		t.Errorf("no stored verdict for %q: %s", name, f.advice)
		return nil, false
	case s.Hash != hash:
		t.Errorf("%q: the stored verdict is of a capture with sha256 %s, this one has %s: %s", name, s.Hash, hash, f.advice)
		return nil, false
	}
	return s.Lines, true
}

// Load returns the verdict file at path (relative to the test's package).
//
// With -update, tool must be on PATH: Load calls run(true), which must
// return every section the test needs, stamps it with the tool's version
// and writes it to path. Otherwise Load reads path; then, unless in -short
// mode, if tool is on PATH it calls run(false), which may return only
// some sections (a sample, to bound the run time), and fails t for each
// that differs from the stored one, or only logs the differences when the
// installed tool's version is not the stored one's. run reports its own
// failures through t.
func Load(t testing.TB, path, tool string, run func(all bool) *File) *File {
	t.Helper()
	advice := regenAdvice(t, tool)
	_, lookErr := exec.LookPath(tool)
	if Updating() {
		if lookErr != nil {
			t.Fatalf("-update needs %s: %v", tool, lookErr)
		}
		v, err := Version(tool)
		if err != nil {
			t.Fatal(err)
		}
		f := run(true)
		f.Tool, f.advice = v, advice
		f.About = append(f.About, "regenerate: "+strings.TrimPrefix(advice, "run "))
		if err := f.Write(path); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
		t.Logf("wrote %s (%d sections, %s)", path, len(f.Sections), v)
		return f
	}
	stored, err := Read(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is missing: %s", path, advice)
	}
	if err != nil {
		t.Fatal(err)
	}
	stored.advice = advice
	if lookErr != nil || testing.Short() {
		return stored
	}
	v, err := Version(tool)
	if err != nil {
		t.Fatal(err)
	}
	live := run(false)
	report := t.Errorf
	if v != stored.Tool {
		report = t.Logf
		t.Logf("%s is %q, %s was made with %q: differences are not errors", tool, v, path, stored.Tool)
	}
	bad := 0
	for _, s := range live.Sections {
		if d := diff(stored.Section(s.Name), &s); d != "" {
			if bad++; bad <= 10 {
				report("%s: %s now says otherwise: %s", path, tool, d)
			}
		}
	}
	if bad > 0 {
		report("%s: %d of %d sections checked differ from %s: %s", path, bad, len(live.Sections), tool, advice)
	}
	return stored
}

// diff describes the first difference between a stored section and a
// fresh one, "" if none.
func diff(stored, fresh *Section) string {
	switch {
	case stored == nil:
		return fmt.Sprintf("%q: not stored", fresh.Name)
	case stored.Hash != fresh.Hash:
		return fmt.Sprintf("%q: capture sha256 %s, stored %s", fresh.Name, fresh.Hash, stored.Hash)
	}
	for i := range max(len(stored.Lines), len(fresh.Lines)) {
		var s, f string = "(none)", "(none)"
		if i < len(stored.Lines) {
			s = stored.Lines[i]
		}
		if i < len(fresh.Lines) {
			f = fresh.Lines[i]
		}
		if s != f {
			return fmt.Sprintf("%q line %d: stored %q, now %q", fresh.Name, i+1, s, f)
		}
	}
	return ""
}

// Parallel calls f(0) to f(n-1), as many at once as there are CPUs (the
// reference tools are slow to start), and returns when all have returned.
func Parallel(n int, f func(i int)) {
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// regenAdvice tells how to rewrite the verdict files of t's test.
func regenAdvice(t testing.TB, tool string) string {
	name, _, _ := strings.Cut(t.Name(), "/")
	pkg := "."
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if rel, err := filepath.Rel(dir, wd); err == nil {
					pkg = "./" + filepath.ToSlash(rel)
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return fmt.Sprintf("run go test %s -run '^%s$' -update -timeout 30m with %s installed", pkg, name, tool)
}
