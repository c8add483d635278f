package main

import (
	"bytes"
	"encoding/json"
	"finwave/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"finwave/analyzer"
)

// forEachFixture runs fn as a subtest for every kernel-made fixture, from
// the repository root: name is the fixture's base name without extension,
// rel its path as the README spells it (the report names the file), and
// testdata this package's testdata directory.
func forEachFixture(t *testing.T, fn func(t *testing.T, name, rel, testdata string)) {
	t.Helper()
	caps, err := filepath.Glob(filepath.Join("..", "..", "fixtures", "*.pcap*"))
	if err != nil || len(caps) == 0 {
		t.Fatalf("no fixtures found (%v)", err)
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caps {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(c), ".pcapng"), ".pcap")
		t.Run(name, func(t *testing.T) {
			rel := filepath.ToSlash(filepath.Join("fixtures", filepath.Base(c)))
			t.Chdir(filepath.Join("..", ".."))
			fn(t, name, rel, testdata)
		})
	}
}

// TestFixtureGoldens pins what users see for every kernel-made fixture:
// the text report of every flow (ladders, labels, explanations, anomaly
// details) and the JSON document (every state change with its reason). A
// change of a label, a state change or a sentence shows as a diff of
// testdata/<fixture>.{txt,json}.golden in review; go test ./cmd/finwave
// -update rewrites them, to be read before committing.
func TestFixtureGoldens(t *testing.T) {
	forEachFixture(t, func(t *testing.T, name, rel, testdata string) {
		for _, f := range []struct{ ext, flag string }{{"txt", "--no-color"}, {"json", "--json"}} {
			code, out, errOut := runCLI(t, nil, "--all", f.flag, rel)
			if code != 0 || errOut != "" {
				t.Fatalf("finwave --all %s %s: exit %d, stderr %q", f.flag, rel, code, errOut)
			}
			golden := filepath.Join(testdata, name+"."+f.ext+".golden")
			fixtureGolden(t, golden, []byte(out))
			// The same with nothing recycled: a renderer (or the spill)
			// that kept a Detail string or a slice of a Teardown would
			// have printed the next flow's words.
			recycle = func(*analyzer.Teardown) {}
			code, out, _ = runCLI(t, nil, "--all", "-j", "2", f.flag, rel)
			recycle = analyzer.Recycle
			if code != 0 || !bytes.Equal([]byte(out), mustRead(t, golden)) {
				t.Errorf("finwave --all -j 2 %s %s without recycling: exit %d, output differs from %s", f.flag, rel, code, golden)
			}
		}
		// The roll-up per host, service and pair, and each host's
		// predicted nstat counters (check/nstat_test.go holds them
		// against the kernel's own deltas).
		golden := filepath.Join(testdata, name+".hosts.golden")
		var got []byte
		for _, j := range []string{"1", "2"} {
			var all []byte
			for _, args := range [][]string{{"hosts", "-j", j, "--no-color", rel}, {"hosts", "-j", j, "--nstat", rel}} {
				code, out, errOut := runCLI(t, nil, args...)
				if code != 0 || errOut != "" {
					t.Fatalf("finwave %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
				}
				all = append(append(all, out...), '\n')
			}
			if got == nil {
				got = all
				fixtureGolden(t, golden, got)
			} else if !bytes.Equal(all, got) {
				t.Errorf("finwave hosts -j 2 %s differs from -j 1", rel)
			}
		}
	})
}

// fixtureGolden compares got with the golden file at path, rewriting it
// with -update, and points at the first differing line.
func fixtureGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got, "go test ./cmd/finwave -run TestFixtureGoldens -update")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStreamShowsEverySegment: --stream N shows every segment of the flow
// (data, plain ACKs, the handshake), not only the labelled ones: the
// lost_final_ack fixture is one connection of 13 frames.
func TestStreamShowsEverySegment(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "--json", "--stream", "0", "../../fixtures/lost_final_ack.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Flows []struct {
			Segments []struct {
				Frame int64  `json:"frame"`
				Label string `json:"label"`
			} `json:"segments"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Flows) != 1 {
		t.Fatalf("%v, %d flows", err, len(doc.Flows))
	}
	segs := doc.Flows[0].Segments
	for i, s := range segs {
		if s.Frame != int64(i+1) {
			t.Fatalf("segment %d is frame %d, want %d: every frame of the flow, in order", i, s.Frame, i+1)
		}
	}
	if len(segs) != 13 {
		t.Errorf("%d segments, want 13", len(segs))
	}
	if segs[0].Label != "syn" || segs[3].Label != "" || segs[7].Label != "wave-1" {
		t.Errorf("labels %q %q %q, want syn, none (data), wave-1", segs[0].Label, segs[3].Label, segs[7].Label)
	}
}
