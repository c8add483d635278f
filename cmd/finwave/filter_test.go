package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"finwave/capture"
	"finwave/capture/bpf"
)

// acceptedNumbers returns the frame numbers, in path, of the frames expr
// accepts: the k-th frame of `tcpdump -r path -w out expr` is frame
// numbers[k-1] of path (the Matcher agrees with tcpdump frame for frame:
// capture/bpf's TestMatcherFilesAgreeWithTcpdump).
func acceptedNumbers(t *testing.T, path, expr string) []int64 {
	t.Helper()
	m, err := bpf.NewMatcher(expr)
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var nums []int64
	var fr capture.Frame
	for src.Next(&fr) == nil {
		if ok, err := m.Match(fr.LinkType, fr.Data); err != nil {
			t.Fatal(err)
		} else if ok {
			nums = append(nums, fr.Number)
		}
	}
	return nums
}

// renumber replaces, in a decoded JSON value, every frame number (keys
// naming a frame, and the lists of "frames") n by nums[n-1].
func renumber(v any, nums []int64, frameKey bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = renumber(e, nums, strings.Contains(k, "frame"))
		}
	case []any:
		for i, e := range x {
			x[i] = renumber(e, nums, frameKey)
		}
	case float64:
		if frameKey && x >= 1 && int(x) <= len(nums) {
			return float64(nums[int(x)-1])
		}
	case string:
		// Prose names frames too: "frame 9", "frames 8, 10".
		return frameProse.ReplaceAllStringFunc(x, func(m string) string {
			return number.ReplaceAllStringFunc(m, func(n string) string {
				i, _ := strconv.Atoi(n)
				if i >= 1 && i <= len(nums) {
					return strconv.FormatInt(nums[i-1], 10)
				}
				return n
			})
		})
	}
	return v
}

var (
	frameProse = regexp.MustCompile(`frames? \d+(?:(?:, | and |–|-)\d+)*`)
	number     = regexp.MustCompile(`\d+`)
)

// TestFilterEqualsTcpdumpFiltered: `finwave --json FILE EXPR` reports the
// flows `finwave --json OUT` reports for OUT written by `tcpdump -r FILE
// -w OUT EXPR` (same streams, segments, anomalies, times), except that
// frame numbers stay those of FILE (for Wireshark lookups): the test maps
// OUT's numbers back. The summaries agree too; only the file name and the
// frame count (FILE's frames are all read) differ.
func TestFilterEqualsTcpdumpFiltered(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	exprs := []string{
		"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
		"not tcp[tcpflags] & tcp-syn != 0",
		"port 8080",
		"src host 10.77.0.1",
		"tcp[tcpflags] & tcp-ack = 0 or tcp[13] & 4 != 0",
	}
	fixtures := []string{"linger_zero.pcap", "close_by_client.pcap", "lost_final_ack.pcap",
		"many_flows.pcap", "rst_unread_data.pcap", "time_wait_assassination.pcap", "syn_in_time_wait.pcap"}
	dir := t.TempDir()
	compared := 0
	for _, fx := range fixtures {
		path := filepath.Join("../../fixtures", fx)
		for _, expr := range exprs {
			out := filepath.Join(dir, "out.pcap")
			cmd := exec.Command("tcpdump", "-r", path, "-w", out, expr)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tcpdump -r %s -w %s %q: %v\n%s", path, out, expr, err, b)
			}
			code, got, stderr := runCLI(t, nil, "--json", "--all", "-j", "1", path, expr)
			if code != 0 {
				t.Fatalf("finwave --json %s %q: exit %d: %s", fx, expr, code, stderr)
			}
			code, want, stderr := runCLI(t, nil, "--json", "--all", "-j", "1", out)
			if code != 0 {
				t.Fatalf("finwave --json %s (tcpdump-filtered): exit %d: %s", out, code, stderr)
			}
			var g, w map[string]any
			if err := json.Unmarshal([]byte(got), &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(want), &w); err != nil {
				t.Fatal(err)
			}
			nums := acceptedNumbers(t, path, expr)
			w["flows"] = renumber(w["flows"], nums, false)
			w["groups"] = renumber(w["groups"], nums, false)
			if g["filter"] != expr || g["filtered_out"].(float64)+w["frames"].(float64) != g["frames"].(float64) {
				t.Errorf("%s %q: filter %v, filtered_out %v, frames %v; tcpdump kept %v frames", fx, expr, g["filter"], g["filtered_out"], g["frames"], w["frames"])
			}
			for _, k := range []string{"file", "frames", "filter", "filtered_out"} {
				delete(g, k)
				delete(w, k)
			}
			for k := range w {
				if !reflect.DeepEqual(g[k], w[k]) {
					gj, _ := json.Marshal(g[k])
					wj, _ := json.Marshal(w[k])
					t.Errorf("%s %q: %s differs from finwave on the tcpdump-filtered file:\n got %.600s\nwant %.600s", fx, expr, k, gj, wj)
				}
			}
			if len(g) != len(w) {
				t.Errorf("%s %q: keys %d, want %d", fx, expr, len(g), len(w))
			}
			compared++
		}
	}
	if compared != len(fixtures)*len(exprs) {
		t.Errorf("compared %d", compared)
	}
}

// TestFilterArgs: the trailing-expression rule and -f, through run.
func TestFilterArgs(t *testing.T) {
	fx := "../../fixtures/close_by_client.pcap"
	for _, c := range []struct {
		args     []string
		code     int
		out, err string // substrings of stdout and stderr
	}{
		// A trailing expression after a capture filters it.
		{[]string{"--json", fx, "port", "9"}, 0, `"filtered_out": 11`, ""},
		{[]string{"--json", fx, "port 8080"}, 0, `"filtered_out": 0`, ""},
		{[]string{"--json", "-f", "tcp[13] & 1 != 0", fx}, 0, `"filtered_out": 9`, ""},
		{[]string{fx, "-f", "port 9"}, 0, `filter "port 9": 11 frames filtered out`, ""},
		// No filter: no filter keys (documents keep their shape).
		{[]string{"--json", fx}, 0, `"duration"`, ""},
		// Neither a file nor an expression: each a missing file.
		{[]string{fx, "nosuch.pcap"}, 2, "", "capture nosuch.pcap: open nosuch.pcap: no such file"},
		{[]string{fx, "port", "99999"}, 2, "", "capture port: open port: no such file"},
		// The expression must follow a capture.
		{[]string{"port 80"}, 2, "", "capture port 80: open port 80: no such file"},
		// Given twice.
		{[]string{"-f", "tcp", fx, "port 80"}, 2, "", `filter given both with -f ("tcp") and as arguments ("port 80")`},
		// -f that does not parse: a usage error before any output.
		{[]string{"-f", "port", fx}, 2, "", `filter "port"`},
	} {
		code, out, stderr := runCLI(t, nil, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(stderr, c.err) {
			t.Errorf("finwave %q: exit %d, stdout %.300q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				c.args, code, out, stderr, c.code, c.out, c.err)
		}
	}
	if _, out, _ := runCLI(t, nil, "--json", fx); strings.Contains(out, "filtered_out") {
		t.Error("filtered_out in a document without a filter")
	}
}

// TestFilterUnsupportedLink: a capture of a link type the filter compiler
// does not support is an error naming the capture and the link type.
func TestFilterUnsupportedLink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ppp.pcap")
	// A pcap of LINKTYPE_PPP_HDLC (50) with one frame.
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 50, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0xff, 0x03, 0x00, 0x21}
	if err := os.WriteFile(path, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, nil, "--json", "-f", "tcp", path)
	if code != 2 || !strings.Contains(stderr, "capture "+path) || !strings.Contains(stderr, "link type 50") {
		t.Errorf("exit %d, stderr %q; want 2 and an error naming %s and link type 50", code, stderr, path)
	}
	if stdout != "" {
		t.Errorf("stdout %q; want nothing: the error comes before any report", stdout)
	}
}
