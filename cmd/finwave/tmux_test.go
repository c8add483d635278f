package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// tmuxSession runs command in a detached tmux session of cols×rows on a
// private server (its own socket name, killed at the end) and returns a
// function capturing the pane's whole history, wrapped lines joined (-J:
// a line the terminal wrapped comes back as one line wider than cols).
func tmuxSession(t *testing.T, cols, rows int, command string) (capture func() string) {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed: the terminal test needs it (apt-get install tmux)")
	}
	sock := fmt.Sprintf("finwave-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	run := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), command)
	t.Cleanup(func() { _ = exec.Command(tmux, "-L", sock, "kill-server").Run() })
	run("set-option", "-g", "history-limit", "100000")
	return func() string { return run("capture-pane", "-p", "-J", "-S", "-") }
}

// waitFor polls capture until it holds want or the deadline passes.
func waitFor(t *testing.T, capture func() string, want string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out := capture()
		if strings.Contains(out, want) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// repeatedPcap returns a pcap (Ethernet, IPv4, microseconds) of n copies
// of the flows in the fixture src, each copy's client port shifted (the
// TCP checksum fixed incrementally, RFC 1624) and its times shifted by i ms.
func repeatedPcap(t *testing.T, src string, n int) (header []byte, copies [][]byte) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint32(b) != 0xa1b2c3d4 || le.Uint32(b[20:]) != 1 {
		t.Fatalf("%s: want a little-endian microsecond Ethernet pcap", src)
	}
	header = b[:24]
	type rec struct{ hdr, data []byte }
	var recs []rec
	for off := 24; off+16 <= len(b); {
		incl := int(le.Uint32(b[off+8:]))
		recs = append(recs, rec{b[off : off+16], b[off+16 : off+16+incl]})
		off += 16 + incl
	}
	client := binary.BigEndian.Uint16(recs[0].data[14+20:]) // the SYN's source port
	for i := 0; i < n; i++ {
		port := uint16(10000 + i)
		var c []byte
		for _, r := range recs {
			h := append([]byte(nil), r.hdr...)
			d := append([]byte(nil), r.data...)
			usec := int64(le.Uint32(h[4:])) + int64(i)*1000
			le.PutUint32(h, le.Uint32(h)+uint32(usec/1e6))
			le.PutUint32(h[4:], uint32(usec%1e6))
			tcp := d[14+int(d[14]&0xf)*4:]
			for _, p := range []int{0, 2} {
				if binary.BigEndian.Uint16(tcp[p:]) == client {
					binary.BigEndian.PutUint16(tcp[p:], port)
					// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
					sum := uint32(^binary.BigEndian.Uint16(tcp[16:])) + uint32(^client) + uint32(port)
					for sum > 0xffff {
						sum = sum&0xffff + sum>>16
					}
					binary.BigEndian.PutUint16(tcp[16:], ^uint16(sum))
				}
			}
			c = append(append(c, h...), d...)
		}
		copies = append(copies, c)
	}
	return header, copies
}

// TestTmux_report80: finwave at 80×24 in tmux, reading a capture that
// arrives over ~2.5 s through a FIFO (so the progress line is drawn and
// redrawn), with the report on the terminal. The pane's whole history
// shows no stale progress line, no line the terminal had to wrap (prose
// wrapped at words by finwave; aligned rows excepted, see fitLines) and
// the report itself.
func TestTmux_report80(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal test needs it (apt-get install tmux)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "finwave")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fifo := filepath.Join(dir, "cap.pcap")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	header, copies := repeatedPcap(t, "../../fixtures/lost_final_ack.pcap", 4000)
	capture := tmuxSession(t, 80, 24, "env -u COLUMNS "+bin+" -j 1 "+fifo+"; echo __FINWAVE_DONE__; sleep 60")
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(header)
	// 25 bursts 100 ms apart: the progress line shows after 1 s and is
	// redrawn every 200 ms.
	per := len(copies) / 25
	for i := 0; i < len(copies); i += per {
		var burst []byte
		for _, c := range copies[i:min(i+per, len(copies))] {
			burst = append(burst, c...)
		}
		if _, err := f.Write(burst); err != nil {
			t.Fatal(err)
		}
		if i == 15*per {
			// Midway: the progress line is on the screen.
			if out := capture(); !strings.Contains(out, "packets/s") {
				t.Errorf("no progress line on the terminal midway:\n%s", out)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.Close()
	out := waitFor(t, capture, "__FINWAVE_DONE__", 10*time.Second)
	if !strings.Contains(out, "__FINWAVE_DONE__") || !strings.Contains(out, "capture "+fifo) {
		t.Fatalf("finwave did not finish with a report:\n%s", out)
	}
	t.Logf("the pane:\n%s", out)
	if n := strings.Count(out, "packets/s"); n > 0 {
		t.Errorf("%d stale progress lines left on the terminal:\n%s", n, out)
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, " ")
		if n := utf8.RuneCountInString(l); n > 80 && proseLine(l) {
			t.Errorf("a line of %d columns, wrapped by the terminal: %q", n, l)
		}
	}
	if !strings.Contains(out, "\n▶ ") || !strings.Contains(out, " end states ") {
		t.Errorf("no flow report on the terminal:\n%s", out)
	}
}

// TestTmux_liveStatus: finwave live on lo at 80×24 in tmux with the status
// line on, while the test makes TCP connections to itself: every flow
// report starts on a line of its own (the status line cleared first: no
// "…kernel dropsflow 3 ·"), and no line is one the terminal wrapped.
func TestTmux_liveStatus(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal test needs it (apt-get install tmux)")
	}
	if os.Geteuid() != 0 {
		t.Skip("finwave live needs root (CAP_NET_RAW) for its AF_PACKET socket")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "finwave")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("listen on lo: %v", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Close with unread data: a RST, a flow worth reading.
			go func() { time.Sleep(50 * time.Millisecond); c.Close() }()
		}
	}()
	capture := tmuxSession(t, 80, 24, fmt.Sprintf("env -u COLUMNS %s live -i lo --status always --duration 5s -Z root tcp port %d; echo __FINWAVE_DONE__; sleep 60", bin, port))
	waitFor(t, capture, "live lo:", 5*time.Second) // the status line is up
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("unread request\n"))
		time.Sleep(400 * time.Millisecond)
		c.Close()
		time.Sleep(800 * time.Millisecond) // let the status line be redrawn in between
	}
	out := waitFor(t, capture, "__FINWAVE_DONE__", 15*time.Second)
	t.Logf("the pane:\n%s", out)
	if !strings.Contains(out, "__FINWAVE_DONE__") {
		t.Fatalf("finwave live did not finish")
	}
	if !strings.Contains(out, "\nflow ") {
		t.Fatalf("no flow reported")
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, " ")
		if strings.Contains(l, "kernel drops") && (strings.Contains(l, "flow ") || strings.Contains(l, "▶")) {
			t.Errorf("a flow report glued to the status line: %q", l)
		}
		if n := utf8.RuneCountInString(l); n > 80 && proseLine(l) {
			t.Errorf("a line of %d columns, wrapped by the terminal: %q", n, l)
		}
	}
}
