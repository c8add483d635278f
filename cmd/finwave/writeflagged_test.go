package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// flowFacts returns, sorted, one line per flow of a --json --all
// document: 4-tuple, pattern and anomaly kinds.
func flowFacts(t *testing.T, doc string) []string {
	t.Helper()
	var d struct {
		Flows []struct {
			Client, Server, Pattern string
			Stream                  int64
			Anomalies               []struct{ Kind string }
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range d.Flows {
		var kinds []string
		for _, a := range f.Anomalies {
			kinds = append(kinds, a.Kind)
		}
		sort.Strings(kinds)
		out = append(out, fmt.Sprintf("%s %s %s [%s]", f.Client, f.Server, f.Pattern, strings.Join(kinds, ",")))
	}
	sort.Strings(out)
	return out
}

// TestWriteFlagged: -w OUT with --only KINDS or --stream N writes the
// packets of exactly the reported flows: finwave on OUT finds the same
// flows (4-tuple, pattern, anomalies) and nothing else, and tcpdump and
// tshark read OUT without error.
func TestWriteFlagged(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		fixture string
		sel     []string
		flows   int
	}{
		{"many_flows.pcap", []string{"--only", "rst-linger-zero"}, 33},
		{"many_flows.pcap", []string{"--only", "rst-unread-data,half-close"}, 66},
		{"many_flows.pcap", []string{"--stream", "7"}, 1},
		{"vxlan_overlay.pcap", []string{"--only", "rst-unread-data"}, 1},
		{"linger_zero.pcap", nil, 1}, // no selection: every flow
	} {
		path := filepath.Join("../../fixtures", c.fixture)
		out := filepath.Join(dir, "out.pcap")
		args := append([]string{"--json", "-w", out}, c.sel...)
		code, doc, stderr := runCLI(t, nil, append(args, path)...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d: %s", c.fixture, c.sel, code, stderr)
		}
		want := flowFacts(t, doc)
		if len(want) != c.flows {
			t.Fatalf("%s %v: %d flows reported, want %d", c.fixture, c.sel, len(want), c.flows)
		}
		if !strings.Contains(stderr, fmt.Sprintf("of %d flows to %s", c.flows, out)) {
			t.Errorf("%s %v: stderr %q", c.fixture, c.sel, stderr)
		}
		code, doc, stderr = runCLI(t, nil, "--json", "--all", out)
		if code != 0 {
			t.Fatalf("finwave %s: exit %d: %s", out, code, stderr)
		}
		if got := flowFacts(t, doc); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s %v: flows of the written file:\n%s\nwant the reported flows:\n%s", c.fixture, c.sel,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, tool := range [][]string{{"tcpdump", "-nn", "-r", out}, {"tshark", "-r", out}} {
			if _, err := exec.LookPath(tool[0]); err != nil {
				continue
			}
			if b, err := exec.Command(tool[0], tool[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%.500s", strings.Join(tool, " "), err, b)
			}
		}
	}
}

// TestWriteFlaggedRefuses: -w takes one capture, never stdin.
func TestWriteFlaggedRefuses(t *testing.T) {
	fx := "../../fixtures/linger_zero.pcap"
	out := filepath.Join(t.TempDir(), "out.pcap")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-w", out, fx, fx}, "give one capture (got 2)"},
		{[]string{"-w", out, "-"}, "cannot write flows from stdin"},
		{[]string{"-w", fx, fx}, "is the capture itself"},
	} {
		code, _, stderr := runCLI(t, strings.NewReader(""), c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("finwave %q: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// TestWriteFlaggedReusedTuple: when a 4-tuple is reused (a SYN in
// TIME_WAIT starts a second connection), -w --stream 1 writes the frames
// of that connection only (frames 12-22 of 22), not of the first. The
// written flow loses its syn-in-time-wait anomaly, which is about the
// connection before it: context -w leaves out by design.
func TestWriteFlaggedReusedTuple(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.pcap")
	code, _, stderr := runCLI(t, nil, "-q", "-w", out, "--stream", "1", "../../fixtures/syn_in_time_wait.pcap")
	if code != 0 || !strings.Contains(stderr, "wrote 11 frames of 1 flows") {
		t.Fatalf("exit %d, stderr %q; want 11 frames of 1 flow", code, stderr)
	}
	_, doc, _ := runCLI(t, nil, "--json", "--all", out)
	if got := flowFacts(t, doc); len(got) != 1 || !strings.Contains(got[0], "10.77.0.1:40500 10.77.0.2:8080 four-way") {
		t.Errorf("flows of the written file: %q", got)
	}
}

// TestWriteFlaggedSnaplen: the output declares the input pcap's snap
// length and link type.
func TestWriteFlaggedSnaplen(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../../fixtures/linger_zero.pcap")
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[16:], 4000) // fixtures are little-endian pcap
	in := filepath.Join(dir, "in.pcap")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pcap")
	if code, _, stderr := runCLI(t, nil, "-q", "-w", out, in); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o, err := os.ReadFile(out)
	if err != nil || len(o) < 24 {
		t.Fatalf("output: %v (%d bytes)", err, len(o))
	}
	if sl, lt := binary.LittleEndian.Uint32(o[16:]), binary.LittleEndian.Uint32(o[20:]); sl != 4000 || lt != 1 {
		t.Errorf("snaplen %d, link type %d; want 4000, 1 (Ethernet)", sl, lt)
	}
}
