package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLiveFlagListsAgree: every flag finwave live registers is in its
// hand-written help and in README.md's live flag table, and those name no
// flag it does not register; --help is that text, not Go's defaults.
func TestLiveFlagListsAgree(t *testing.T) {
	var f liveFlags
	var help strings.Builder
	writeLiveHelp(&help)
	checkFlagDocs(t, "finwave live", flagNames(f.flagSet()),
		flagDoc{"finwave live --help", help.String()},
		flagDoc{"README.md live table", readmeTable(t, "Live capture", "| flag | meaning |")})
	if strings.Contains(help.String(), "\n  -max-flows int") || strings.Contains(help.String(), "\n    \t") {
		t.Errorf("finwave live --help prints Go's flag defaults:\n%s", help.String())
	}
}

// TestLiveCountAndDuration: like tcpdump, a count or a duration given must
// be positive (-c 0 used to capture forever); usage error, exit 2.
func TestLiveCountAndDuration(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"live", "-i", "lo", "-c", "0"}, "finwave: live: -c 0: want a packet count of 1 or more\n"},
		{[]string{"live", "-i", "lo", "-c", "-3"}, "finwave: live: -c -3: want a packet count of 1 or more\n"},
		{[]string{"live", "-i", "lo", "--duration", "-1s"}, "finwave: live: --duration -1s: want a positive duration (e.g. 30s)\n"},
		{[]string{"live", "-i", "lo", "--duration", "0s"}, "finwave: live: --duration 0s: want a positive duration (e.g. 30s)\n"},
		{[]string{"live", "-i", "lo", "--fail-on", "nosuchkind"}, `unknown anomaly kind, pattern or severity "nosuchkind"`},
		{[]string{"live", "-i", "lo", "-q", "--json"}, "--json and -q: pick one"},
		{[]string{"live", "-i", "lo", "--summary", "--all"}, "--summary and --all: pick one"},
	} {
		code, _, errOut := runCLI(t, nil, c.args...)
		if code != exitUsage || !strings.HasPrefix(errOut, strings.SplitN(c.want, "\n", 2)[0]) && !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, exitUsage, c.want)
		}
	}
}

// liveWithConn runs finwave live on lo for 1.5 s, filtered to one port on
// which one connection is made and closed cleanly (FIN/ACK FIN/ACK) while
// the capture runs.
func liveWithConn(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (AF_PACKET)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	go func() {
		time.Sleep(300 * time.Millisecond) // the socket is open by then
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		c.Write([]byte("hello"))
		time.Sleep(50 * time.Millisecond)
		c.Close()
	}()
	all := append([]string{"live", "-i", "lo", "--duration", "1500ms", "--status", "never"}, args...)
	all = append(all, fmt.Sprintf("port %d", port))
	var o, e strings.Builder
	code = run(context.Background(), all, nil, &o, &e)
	return code, o.String(), e.String()
}

// TestLiveFailOn: --fail-on in live mode names the tripping flows on
// stderr at the end and exits 1; -q prints nothing else (no report, no
// listening line); a gate the flow does not trip exits 0.
func TestLiveFailOn(t *testing.T) {
	// Loopback closes with three or four segments, as the delayed ACK falls.
	code, out, errOut := liveWithConn(t, "-q", "--fail-on", "three-way,four-way")
	if code != exitFindings || out != "" || !regexp.MustCompile(`^finwave: --fail-on: live:lo: 1 flow tripped it: (three|four)-way ×1 \(stream 0\)\n$`).MatchString(errOut) {
		t.Errorf("-q --fail-on three-way,four-way: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = liveWithConn(t, "-q", "--fail-on", "reset")
	if code != exitOK || out != "" || errOut != "" {
		t.Errorf("-q --fail-on reset: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestLiveFailOnEmpty: a live capture that saw no TCP flow fails a
// --fail-on gate, saying so, unless --allow-empty.
func TestLiveFailOnEmpty(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (AF_PACKET)")
	}
	args := []string{"live", "-i", "lo", "--duration", "200ms", "-q", "--fail-on", "reset", "port 9 and not port 9"}
	code, _, errOut := runCLI(t, nil, args...)
	if code != exitFindings || errOut != "finwave: --fail-on: live:lo: nothing to analyse: no frames (--allow-empty to pass)\n" {
		t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
	}
	args = append([]string{"live", "--allow-empty"}, args[1:]...)
	if code, _, errOut := runCLI(t, nil, args...); code != exitOK || errOut != "" {
		t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
	}
}

// TestLiveSummary: --summary prints no flow report, only the counters and
// the summary tables when the capture stops.
func TestLiveSummary(t *testing.T) {
	code, out, errOut := liveWithConn(t, "--summary", "--all")
	_ = errOut
	if code != exitUsage {
		t.Errorf("--summary --all: exit %d", code)
	}
	code, out, errOut = liveWithConn(t, "--summary")
	if code != exitOK || !strings.Contains(out, "1 TCP flow") || strings.Contains(out, "reported above") || strings.Contains(out, "stream 0") {
		t.Errorf("--summary: exit %d, stdout:\n%s\nstderr %q", code, out, errOut)
	}
	code, out, _ = liveWithConn(t, "--all")
	if code != exitOK || !strings.Contains(out, "reported above") {
		t.Errorf("--all (the control): exit %d, stdout:\n%s", code, out)
	}
}

// TestLiveStuckNoticeAtThreshold: the server reads the client's data and
// EOF but never closes (a leaked socket). With --stuck-after 1s, live
// capture says so once the second passes, while the flow is still open:
// the notice comes before the flow's own report, which the end of the
// capture cuts off; the notice is printed once.
func TestLiveStuckNoticeAtThreshold(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (AF_PACKET)")
	}
	for _, mode := range []string{"--json", "--all"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(io.Discard, c) // EOF: CLOSE_WAIT, and no close()
			held <- c
		}()
		go func() {
			time.Sleep(300 * time.Millisecond)
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return
			}
			c.Write([]byte("hello"))
			c.Close()
		}()
		args := []string{"live", "-i", "lo", "--duration", "3500ms", "--status", "never", "--stuck-after", "1s", mode,
			fmt.Sprintf("port %d", ln.Addr().(*net.TCPAddr).Port)}
		var o, e strings.Builder
		code := run(context.Background(), args, nil, &o, &e)
		ln.Close()
		select {
		case c := <-held:
			c.Close()
		default:
		}
		out := o.String()
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", mode, code, e.String())
		}
		notice, report := `{"type":"stuck","stream":0,`, `"type":"flow","stream":0,`
		if mode == "--all" {
			notice, report = "flow 0 · ", "tcp.stream eq 0"
		}
		n, r := strings.Index(out, notice), strings.Index(out, report)
		switch {
		case n < 0:
			t.Errorf("%s: no notice of the stuck CLOSE_WAIT:\n%s", mode, out)
		case r < 0 || r < n:
			t.Errorf("%s: the notice (at %d) must come before the flow's report (at %d):\n%s", mode, n, r, out)
		case !strings.Contains(out[n:], "CLOSE_WAIT") || !strings.Contains(out[n:], "close-wait-stuck"):
			t.Errorf("%s: the notice does not name CLOSE_WAIT / close-wait-stuck:\n%s", mode, out)
		case strings.Count(out, "close-wait-stuck") < 2 && mode == "--json":
			t.Errorf("%s: the flow's report lacks close-wait-stuck:\n%s", mode, out)
		}
		if mode == "--json" && strings.Count(out, `"endpoint":"server","state":"CLOSE_WAIT"`) != 1 {
			t.Errorf("%s: the server's CLOSE_WAIT noticed %d times, want once:\n%s", mode, strings.Count(out, `"endpoint":"server","state":"CLOSE_WAIT"`), out)
		}
	}
}
