package main

// Robustness through the whole program (issue 6): public malformed
// captures, truncated fixtures. Each input runs through run() in-process,
// exactly as the binary would, and must end with exit 0 or 2, no panic,
// valid JSON on stdout and, for exit 2, one error line naming the file.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// publicCorpus is the tcpdump test suite's captures (../shared/captures
// from the repository root), many malformed on purpose.
const publicCorpus = "../../../shared/captures/tcpdump-tests"

// runOutcome is what one in-process run produced.
type runOutcome struct {
	code           int
	stdout, stderr string
	panicked       any
}

// runSafe runs the program and turns a panic into a value, so a panic on
// one input names that input instead of killing the whole test binary.
func runSafe(ctx context.Context, args ...string) (o runOutcome) {
	var out, errOut bytes.Buffer
	defer func() {
		if p := recover(); p != nil {
			o.panicked = p
		}
		o.stdout, o.stderr = out.String(), errOut.String()
	}()
	o.code = run(ctx, args, nil, &out, &errOut)
	return o
}

// hangLimit is how long one small capture may take before the test binary
// is stopped with the file's name (a hang would otherwise only show as the
// go test timeout, naming no file).
const hangLimit = 60 * time.Second

// runWatched is runSafe with a watchdog naming name if the run hangs.
func runWatched(name string, args ...string) runOutcome {
	dog := time.AfterFunc(hangLimit, func() {
		panic(fmt.Sprintf("finwave %q: still running after %v: a hang on %s", args, hangLimit, name))
	})
	defer dog.Stop()
	return runSafe(context.Background(), args...)
}

// checkJSONRun asserts the contract for one capture run with --json.
// wantFrame, when set, requires the error line of an exit 2 to name a
// frame ("frame N" or the file header).
func checkJSONRun(t *testing.T, name string, o runOutcome, wantFrame bool) {
	t.Helper()
	if o.panicked != nil {
		t.Errorf("%s: panic: %v", name, o.panicked)
		return
	}
	switch o.code {
	case exitOK:
		if o.stderr != "" {
			t.Errorf("%s: exit 0 with stderr %q", name, o.stderr)
		}
	case exitUsage:
		lines := strings.Split(strings.TrimSuffix(o.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "finwave: ") || !strings.Contains(lines[0], name) {
			t.Errorf("%s: exit 2, stderr %q: want one line naming the file", name, o.stderr)
		} else if wantFrame && !frameRE.MatchString(lines[0]) {
			t.Errorf("%s: exit 2, stderr %q: want the damaged frame named", name, o.stderr)
		}
	default:
		t.Errorf("%s: exit %d, want 0 or 2 (stderr %q)", name, o.code, o.stderr)
	}
	if o.stdout == "" {
		if o.code == exitOK {
			t.Errorf("%s: exit 0 without a JSON document", name)
		}
		return // an unopenable file has no report
	}
	if !json.Valid([]byte(o.stdout)) {
		t.Errorf("%s: invalid JSON on stdout (exit %d):\n%.400s", name, o.code, o.stdout)
		return
	}
	var doc struct {
		File      string `json:"file"`
		ReadError string `json:"read_error"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Errorf("%s: JSON is not one document: %v", name, err)
		return
	}
	if doc.File != name {
		t.Errorf("%s: JSON names file %q", name, doc.File)
	}
	if o.code == exitUsage && doc.ReadError == "" {
		t.Errorf("%s: exit 2 after a report, but the JSON has no read_error", name)
	}
}

// frameRE matches the position part of a capture.ReadError.
var frameRE = regexp.MustCompile(`: (frame \d+|file header) \(byte offset \d+\)`)

// TestPublicCaptures runs finwave --json over every capture of the tcpdump
// test suite.
func TestPublicCaptures(t *testing.T) {
	ents, err := os.ReadDir(publicCorpus)
	if err != nil {
		t.Skipf("public captures not available (%v): see issue 6; run from a checkout next to ../shared/captures", err)
	}
	var n, failed, reported int
	for _, ent := range ents {
		if ent.IsDir() {
			continue
		}
		path := filepath.Join(publicCorpus, ent.Name())
		o := runWatched(path, "--json", path)
		checkJSONRun(t, path, o, false)
		n++
		if o.code != exitOK {
			failed++
		}
		if o.stdout != "" {
			reported++
		}
	}
	if n < 800 {
		t.Errorf("only %d files in %s; expected the 830 of the tcpdump suite", n, publicCorpus)
	}
	t.Logf("%d captures: %d exit 0, %d exit 2, %d with a JSON report", n, n-failed, failed, reported)
}

// TestTruncatedFixtures cuts every fixture capture at random byte offsets
// (fixed seed) and at the edges of the file header, and runs each prefix.
func TestTruncatedFixtures(t *testing.T) {
	paths, _ := filepath.Glob("../../fixtures/*.pcap*")
	if len(paths) == 0 {
		t.Fatal("no fixture captures in ../../fixtures")
	}
	sort.Strings(paths)
	rng := rand.New(rand.NewPCG(6, 6))
	dir := t.TempDir()
	var cuts, ok, bad int
	type input struct {
		name string
		data []byte
	}
	var inputs []input
	for _, p := range paths {
		full, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{p, full})
	}
	// gzip-compressed copies of a few fixtures: a cut inside the deflate
	// stream or its trailer.
	for _, in := range inputs[:min(4, len(inputs))] {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(in.data)
		zw.Close()
		inputs = append(inputs, input{in.name + ".gz", z.Bytes()})
	}
	for _, in := range inputs {
		p, full := in.name, in.data
		offs := []int{0, 1, 23, 24, 25, 24 + 16, len(full) - 1}
		for range 20 {
			offs = append(offs, rng.IntN(len(full)))
		}
		for _, off := range offs {
			if off < 0 || off >= len(full) {
				continue
			}
			name := filepath.Join(dir, fmt.Sprintf("%s.cut%d%s", strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)), off, filepath.Ext(p)))
			if err := os.WriteFile(name, full[:off], 0o644); err != nil {
				t.Fatal(err)
			}
			o := runWatched(name, "--json", "--all", name)
			checkJSONRun(t, name, o, true)
			cuts++
			if o.code == exitOK {
				ok++
			} else {
				bad++
			}
		}
	}
	if bad == 0 {
		t.Error("no cut produced a read error: the truncation is not being detected")
	}
	t.Logf("%d cuts of %d fixtures: %d read whole (cut on a record boundary), %d damaged", cuts, len(paths), ok, bad)
}

// TestTruncatedReportKeepsFlows: a capture cut in the middle of its last
// frame still reports the flows of the frames before the cut, in valid
// JSON, and names the damaged frame.
func TestTruncatedReportKeepsFlows(t *testing.T) {
	full := pcapBytes(t, fourWayWithFINRetransmission)
	cut := len(full) - 5 // inside the data of frame 10
	path := writeFile(t, t.TempDir(), "mid.pcap", full[:cut])
	o := runSafe(context.Background(), "--json", "--all", path)
	checkJSONRun(t, path, o, true)
	if !strings.Contains(o.stderr, "frame 10 ") {
		t.Errorf("stderr %q does not name frame 10", o.stderr)
	}
	var doc struct {
		Frames int `json:"frames"`
		Flows  []struct {
			Anomalies []struct {
				Kind string `json:"kind"`
			} `json:"anomalies"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Frames != 9 || len(doc.Flows) != 1 {
		t.Fatalf("frames %d, flows %d: want the 9 whole frames and their flow", doc.Frames, len(doc.Flows))
	}
	found := false
	for _, a := range doc.Flows[0].Anomalies {
		found = found || a.Kind == "fin-retransmission"
	}
	if !found {
		t.Errorf("the FIN retransmission of frame 7 (before the cut) is not reported: %+v", doc.Flows[0].Anomalies)
	}
}
