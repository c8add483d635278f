package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"finwave/analyzer"
)

// runCLI runs the program in-process.
func runCLI(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, stdin, &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "no capture file given"},
		{[]string{"--bogus", "x.pcap"}, "unknown flag --bogus"},
		{[]string{"--profile", "bsd", "x.pcap"}, `--profile "bsd": want linux or rfc793`},
		{[]string{"--fin-timeout", "60", "x.pcap"}, "--fin-timeout 60: a duration needs a unit; write 60s"},
		{[]string{"--stuck-after", "-1s", "x.pcap"}, "must be positive"},
		{[]string{"--max-flows", "0", "x.pcap"}, "must be positive"},
		{[]string{"--stream", "-4", "x.pcap"}, "--stream -4"},
		{[]string{"--stream", "-1", "x.pcap"}, "--stream -1: want a stream number (0 or more)"},
		{[]string{"--stuck-after", "10", "x.pcap"}, "--stuck-after 10: a duration needs a unit; write 10s"},
		{[]string{"--summary", "--all", "x.pcap"}, "--summary and --all: pick one"},
		{[]string{"--stream", "3", "--all", "x.pcap"}, "--stream and --all: pick one"},
		{[]string{"--summary", "--stream", "3", "x.pcap"}, "--summary and --stream: pick one"},
		{[]string{"--json", "--quiet", "x.pcap"}, "--json and -q: pick one"},
		{[]string{"--only", "rst,half-close", "x.pcap"}, `--only: unknown anomaly kind "rst"; valid kinds: fin-retransmission,`},
		{[]string{"--fail-on", "nope", "x.pcap"}, `--fail-on: unknown anomaly kind, pattern or severity "nope"; valid: any, info, warning, error, open,`},
		{[]string{"--fail-on", "x.pcap"}, "--fail-on needs KINDS; x.pcap looks like a capture file"},
		{[]string{"--fail-on", ",", "x.pcap"}, "empty list"},
		{[]string{"-", "-"}, "stdin (-) given 2 times"},
		{[]string{"--capture-host", "probe-1", "x.pcap"}, "--capture-host probe-1 names the host column of the Parquet tables: give --parquet DIR too"},
		{[]string{"check"}, "check: no capture file given"},
		{[]string{"check", "--bogus"}, "unknown flag --bogus"},
		{[]string{"help", "nothing"}, `unknown topic "nothing"`},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, nil, c.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", c.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%q: wrote to stdout: %q", c.args, out)
		}
		if !strings.HasPrefix(errOut, "finwave: ") || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "finwave --help") {
			t.Errorf("%q: stderr %q, want finwave: ...%q... and a pointer to --help", c.args, errOut, c.want)
		}
	}
}

func TestUnreadableInputs(t *testing.T) {
	dir := t.TempDir()
	text := writeFile(t, dir, "notes.pcap", []byte("this is not a capture\n"))
	empty := writeFile(t, dir, "empty.pcap", nil)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing", []string{dir + "/missing.pcap"}, "capture " + dir + "/missing.pcap: open"},
		{"not a capture", []string{text}, "capture " + text + ": file header (byte offset 0): unknown capture format"},
		{"empty", []string{empty}, "capture " + empty + ": file header"},
		{"directory", []string{dir}, "is a directory"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, nil, c.args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d", c.name, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%s: report written for an unreadable file: %q", c.name, out)
		}
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(errOut, "finwave: ") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: stderr %q, want one line containing %q", c.name, errOut, c.want)
		}
	}
}

// TestOtherFilesStillAnalysed: one bad file does not stop the others, but
// the exit status reports it.
func TestOtherFilesStillAnalysed(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.pcap", pcapBytes(t, cleanFourWay))
	code, out, errOut := runCLI(t, nil, dir+"/missing.pcap", good, "--summary")
	if code != exitUsage || !strings.Contains(out, good) || !strings.Contains(errOut, "missing.pcap") {
		t.Errorf("exit %d; stdout %q; stderr %q", code, out, errOut)
	}
}

func TestDamagedCaptureIsReportedThenFails(t *testing.T) {
	full := pcapBytes(t, fourWayWithFINRetransmission)
	// Frame 3 starts where a capture of the first two frames ends; cut
	// inside its data (16-byte record header + 10 bytes).
	off := len(pcapBytes(t, fourWayWithFINRetransmission[:2]))
	cut := off + 16 + 10
	path := writeFile(t, t.TempDir(), "cut.pcap", full[:cut])
	code, out, errOut := runCLI(t, nil, "--all", path)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(out, path) {
		t.Errorf("no report for the readable part: %q", out)
	}
	want := fmt.Sprintf("finwave: capture %s: frame 3 (byte offset %d): ", path, off)
	if !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", errOut, want)
	}
}

// failOnCaptures writes a capture with a FIN retransmission and a clean one.
func failOnCaptures(t *testing.T) (retrans, clean string) {
	dir := t.TempDir()
	retrans = writeFile(t, dir, "retrans.pcap", pcapBytes(t, fourWayWithFINRetransmission))
	clean = writeFile(t, dir, "clean.pcap", pcapBytes(t, cleanFourWay))
	return retrans, clean
}

func TestFailOn(t *testing.T) {
	retrans, clean := failOnCaptures(t)
	cases := []struct {
		args []string
		code int
	}{
		{[]string{retrans}, exitOK},
		{[]string{"--fail-on", "fin-retransmission", retrans}, exitFindings},
		{[]string{"--fail-on", "any", retrans}, exitFindings},
		{[]string{"--fail-on", "rst-unread-data,lost-final-ack", retrans}, exitOK},
		{[]string{"-q", "--fail-on", "fin-retransmission", retrans}, exitFindings},
		{[]string{"--fail-on", "any", clean}, exitOK},
		{[]string{"--fail-on", "fin-retransmission", clean, retrans}, exitFindings},
		{[]string{clean, "--fail-on", "fin-retransmission", retrans, "--json"}, exitFindings}, // flags after files
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, nil, c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, code, c.code, errOut)
		}
		quiet := c.args[0] == "-q"
		if quiet != (out == "") {
			t.Errorf("%q: stdout %d bytes", c.args, len(out))
		}
	}
}

func TestJSONAndStdin(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", pcapBytes(t, cleanFourWay))
	code, out, errOut := runCLI(t, bytes.NewReader(pcapBytes(t, fourWayWithFINRetransmission)), "--json", a, "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// One JSON document per capture, in argument order.
	dec := json.NewDecoder(strings.NewReader(out))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("invalid JSON after %d documents: %v\n%s", len(docs), err, out)
		}
		docs = append(docs, d)
	}
	if len(docs) != 2 {
		t.Fatalf("%d JSON documents, want 2", len(docs))
	}
	if docs[0]["file"] != a || docs[1]["file"] != "<stdin>" {
		t.Errorf("files %v, %v", docs[0]["file"], docs[1]["file"])
	}
	for i, want := range []float64{7, 10} {
		if docs[i]["frames"] != want {
			t.Errorf("document %d: frames %v, want %v", i, docs[i]["frames"], want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("ANSI escapes in JSON")
	}
}

func TestNoColorWhenPiped(t *testing.T) {
	path := writeFile(t, t.TempDir(), "r.pcap", pcapBytes(t, fourWayWithFINRetransmission))
	_, out, _ := runCLI(t, nil, "--all", path)
	if strings.Contains(out, "\x1b[") {
		t.Error("colour written to a non-terminal")
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"x.pcap", "--help"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != exitOK || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"finwave explains how TCP connections end", "finwave check", "--fail-on", "Exit status", "tcpdump"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q", args, want)
			}
		}
		for _, k := range analyzer.Kinds() {
			if !strings.Contains(out, k.String()+" ") {
				t.Errorf("%q: help lacks kind %s", args, k)
			}
		}
	}
	code, out, _ := runCLI(t, nil, "help", "kinds")
	if code != exitOK {
		t.Errorf("help kinds: exit %d", code)
	}
	for _, l := range analyzer.Labels() {
		if !strings.Contains(out, "  "+l.String()+" ") {
			t.Errorf("help kinds lacks label %s", l)
		}
	}
	code, out, _ = runCLI(t, nil, "check", "--help")
	if code != exitOK || !strings.Contains(out, "docs/expect-format.md") {
		t.Errorf("check --help: exit %d, %q", code, out)
	}
}

func TestParseArgs(t *testing.T) {
	fs := newFlagSet("t")
	j := fs.Bool("json", false, "")
	s := fs.Int64("stream", -1, "")
	pos, err := parseArgs(fs, []string{"a.pcap", "--json", "-", "--stream", "3", "b.pcap", "--", "--c.pcap"})
	if err != nil {
		t.Fatal(err)
	}
	if !*j || *s != 3 || strings.Join(pos, " ") != "a.pcap - b.pcap --c.pcap" {
		t.Errorf("json=%v stream=%d pos=%q", *j, *s, pos)
	}
}

// interruptedStdin is a pipe from a capture that is still running: it
// gives b, and when asked for more, the user presses Ctrl-C (cancel) while
// the read waits for packets that never come (until the test ends).
type interruptedStdin struct {
	b       []byte
	cancel  context.CancelFunc
	release chan struct{}
}

func (r *interruptedStdin) Read(p []byte) (int, error) {
	if len(r.b) > 0 {
		n := copy(p, r.b)
		r.b = r.b[n:]
		return n, nil
	}
	r.cancel()
	<-r.release
	return 0, io.EOF
}

// TestInterruptReportsWhatWasRead: SIGINT while finwave waits for more of
// a capture on stdin, after six frames (a connection through the client's
// first FIN): the flow read so far is flushed, cut off by the end of the
// capture, and reported in one complete JSON document; the exit status
// stays that of the findings, the next file is not started, and stderr
// says what was reported. With one analyzer and with -j 2.
func TestInterruptReportsWhatWasRead(t *testing.T) {
	next := writeFile(t, t.TempDir(), "next.pcap", pcapBytes(t, fourWayWithFINRetransmission))
	for _, jobs := range []string{"1", "2"} {
		t.Run("j"+jobs, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdin := &interruptedStdin{b: pcapBytes(t, fourWayWithFINRetransmission[:6]), cancel: cancel, release: make(chan struct{})}
			defer close(stdin.release)
			var o, e bytes.Buffer
			code := run(ctx, []string{"--json", "-j", jobs, "-", next}, stdin, &o, &e)
			if code != exitOK {
				t.Errorf("exit %d, want %d: %s", code, exitOK, e.String())
			}
			if ctx.Err() == nil {
				t.Fatal("finwave never asked for more than the six frames: the interrupt did not happen")
			}
			var doc struct {
				File   string `json:"file"`
				Frames int64  `json:"frames"`
				Flows  []struct {
					Stream    int64  `json:"stream"`
					LastFrame int64  `json:"last_frame"`
					Finish    string `json:"finish"`
					Segments  []struct {
						Frame int64 `json:"frame"`
					} `json:"segments"`
				} `json:"flows"`
				Summary struct {
					Flows int64 `json:"flows"`
				} `json:"summary"`
			}
			if err := json.Unmarshal(o.Bytes(), &doc); err != nil {
				t.Fatalf("want exactly one valid JSON document (the second file is not started): %v\n%s", err, o.String())
			}
			if doc.File != "<stdin>" || doc.Frames != 6 || doc.Summary.Flows != 1 || len(doc.Flows) != 1 {
				t.Fatalf("file %q, %d frames, %d flows (%d listed); want <stdin>, the 6 frames read and their flow, listed", doc.File, doc.Frames, doc.Summary.Flows, len(doc.Flows))
			}
			if f := doc.Flows[0]; f.Stream != 0 || f.LastFrame != 6 || f.Finish != "end-of-capture" || len(f.Segments) == 0 {
				t.Errorf("flow %+v, want stream 0 through frame 6, finished by the end of the capture", f)
			}
			if want := "finwave: interrupted: reported the 6 frames read from <stdin>\n"; e.String() != want {
				t.Errorf("stderr %q, want %q", e.String(), want)
			}
		})
	}
}
