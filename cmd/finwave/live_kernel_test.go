package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"finwave/internal/netnstest"
)

// liveKernelLine is the part of the "type":"live" object the kernel view
// tests read.
type liveKernelLine struct {
	Type     string `json:"type"`
	Counters *struct {
		Flows    int64 `json:"flows_local"`
		Foreign  int64 `json:"flows_foreign"`
		Differ   int   `json:"differ"`
		Counters []struct {
			Name   string `json:"name"`
			Kernel int64  `json:"kernel"`
			Min    uint32 `json:"predicted_min"`
			Max    uint32 `json:"predicted_max"`
			Agree  bool   `json:"agree"`
			Reason string `json:"reason"`
		} `json:"counters"`
	} `json:"kernel_counters"`
	CountersError *string `json:"kernel_counters_error"`
}

// runLive starts finwave live in namespace ns with args, runs traffic once
// it listens, waits settle, stops it with SIGINT and returns its JSON lines
// and stderr.
func runLive(t *testing.T, bin, ns string, args []string, traffic func(), settle time.Duration) (lines []string, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fw := netnstest.Command(ns, bin, append([]string{"live", "--json", "--status", "never"}, args...)...)
	stdout, _ := fw.StdoutPipe()
	errPipe, _ := fw.StderrPipe()
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); fw.Process.Kill() }()
	errR := bufio.NewReader(errPipe)
	var errBuf bytes.Buffer
	for {
		l, err := errR.ReadString('\n')
		errBuf.WriteString(l)
		if err != nil {
			fw.Wait()
			t.Fatalf("finwave did not start: %v\n%s", err, errBuf.String())
		}
		if strings.Contains(l, "listening on") {
			break
		}
	}
	done := make(chan struct{})
	go func() { io.Copy(&errBuf, errR); close(done) }()
	out := make(chan []string, 1)
	go func() {
		var ls []string
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			ls = append(ls, sc.Text())
		}
		out <- ls
	}()
	traffic()
	time.Sleep(settle)
	if err := fw.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	lines = <-out
	<-done
	if err := fw.Wait(); err != nil {
		t.Fatalf("finwave after SIGINT: %v\n%s", err, errBuf.String())
	}
	return lines, errBuf.String()
}

// liveObject finds the "type":"live" line.
func liveObject(t *testing.T, lines []string) *liveKernelLine {
	t.Helper()
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"live"`) {
			t.Logf("%s", l)
		}
		var v liveKernelLine
		if json.Unmarshal([]byte(l), &v) == nil && v.Type == "live" {
			return &v
		}
	}
	t.Fatalf("no live object in %q", lines)
	return nil
}

// serveAndClose listens in namespace ns on addr:port, reads each
// connection to its end and closes it (the client closes first).
func serveAndClose(t *testing.T, ns string, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		var l net.Listener
		if err := netnstest.Do(ns, func() (err error) { l, err = net.Listen("tcp", a); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(io.Discard, c); c.Close() }()
			}
		}()
	}
}

// dialAndClose makes n connections from namespace ns to addr, each
// sending a request and closing first (a four-way close, TIME_WAIT at
// the client), and waits until each has seen the server's FIN.
func dialAndClose(t *testing.T, ns, addr string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		var c net.Conn
		if err := netnstest.Do(ns, func() (err error) { c, err = net.DialTimeout("tcp", addr, 5*time.Second); return err }); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "request %d\n", i)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c) // until the server's FIN
		c.Close()
	}
}

// The kernel's counters over a clean run agree with finwave's prediction
// for the local ends; a capture filter that hides part of the traffic
// gives a difference, with the filter named as its likely reason.
func TestLiveKernelCounters(t *testing.T) {
	p := netnstest.NewPair(t, "fk")
	bin := buildFinwave(t)
	serveAndClose(t, p.B, netnstest.AddrB+":80", netnstest.AddrB+":81")
	traffic := func() {
		dialAndClose(t, p.A, netnstest.AddrB+":80", 4)
		dialAndClose(t, p.A, netnstest.AddrB+":81", 3)
	}
	byName := func(v *liveKernelLine) map[string]int64 {
		m := map[string]int64{}
		for _, c := range v.Counters.Counters {
			m[c.Name] = c.Kernel
		}
		return m
	}

	t.Run("clean", func(t *testing.T) {
		lines, stderr := runLive(t, bin, p.A, []string{"-i", p.VethA, "-Z", "nobody", "host " + netnstest.AddrB}, traffic, 500*time.Millisecond)
		v := liveObject(t, lines)
		if v.Counters == nil {
			t.Fatalf("no kernel_counters (error %v); stderr:\n%s", v.CountersError, stderr)
		}
		// The truth: 7 connect()s, 7 TIME_WAITs at the client.
		k := byName(v)
		if k["TcpActiveOpens"] != 7 || k["TcpExtTW"] != 7 {
			t.Fatalf("kernel counted TcpActiveOpens %d TcpExtTW %d, want 7 and 7 (the test's own connections)", k["TcpActiveOpens"], k["TcpExtTW"])
		}
		if v.Counters.Flows != 7 || v.Counters.Differ != 0 {
			for _, c := range v.Counters.Counters {
				if !c.Agree {
					t.Errorf("%s: kernel %d, finwave %d–%d: %s", c.Name, c.Kernel, c.Min, c.Max, c.Reason)
				}
			}
			t.Fatalf("local flows %d, differ %d: want 7 flows and every counter agreeing", v.Counters.Flows, v.Counters.Differ)
		}
	})
	t.Run("filter hides port 81", func(t *testing.T) {
		lines, stderr := runLive(t, bin, p.A, []string{"-i", p.VethA, "-Z", "nobody", "port 80"}, traffic, 500*time.Millisecond)
		v := liveObject(t, lines)
		if v.Counters == nil {
			t.Fatalf("no kernel_counters (error %v); stderr:\n%s", v.CountersError, stderr)
		}
		if v.Counters.Flows != 4 {
			t.Errorf("local flows %d, want the 4 the filter let through", v.Counters.Flows)
		}
		found := false
		for _, c := range v.Counters.Counters {
			if c.Name == "TcpActiveOpens" {
				found = true
				if c.Agree || c.Kernel != 7 || c.Max != 4 || !strings.Contains(c.Reason, "3 more") || !strings.Contains(c.Reason, `filter "port 80"`) {
					t.Errorf("TcpActiveOpens: kernel %d finwave %d–%d agree %v reason %q; want 7 against 4, the 3 more put on the filter",
						c.Kernel, c.Min, c.Max, c.Agree, c.Reason)
				}
			}
		}
		if !found {
			t.Error("no TcpActiveOpens row")
		}
	})
}
