package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"finwave/capture"
	"finwave/capture/bpf"
)

// Source implements capture.Source.
var _ capture.Source = (*Source)(nil)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("AF_PACKET capture needs root or CAP_NET_RAW")
	}
}

func TestNoSuchInterface(t *testing.T) {
	_, err := Open(context.Background(), Config{Interface: "fwnosuch0"})
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), `"fwnosuch0"`) {
		t.Fatalf("err = %v, want ErrNoInterface naming the interface", err)
	}
}

func TestInterfaceDown(t *testing.T) {
	needRoot(t)
	name := "fwdown" + strconv.Itoa(os.Getpid()%10000)
	// A new veth pair is down until set up.
	if out, err := exec.Command("ip", "link", "add", name, "type", "veth", "peer", "name", name+"p").CombinedOutput(); err != nil {
		t.Skipf("cannot create a veth interface: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	_, err := Open(context.Background(), Config{Interface: name})
	if !errors.Is(err, ErrInterfaceDown) {
		t.Fatalf("err = %v, want ErrInterfaceDown", err)
	}
}

func TestBadFilter(t *testing.T) {
	_, err := Open(context.Background(), Config{Interface: "lo", Filter: "port"})
	var se *bpf.SyntaxError
	if !errors.As(err, &se) || se.Expr != "port" {
		t.Fatalf("err = %v, want a *bpf.SyntaxError about the user's expression", err)
	}
}

func TestOpenErrorWords(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{fmt.Errorf("socket: %w", os.ErrPermission), ErrNotPermitted},
		{&os.SyscallError{Syscall: "socket", Err: errEPERM}, ErrNotPermitted},
		{errENETDOWN, ErrInterfaceDown},
		{errENODEV, ErrNoInterface},
	} {
		if got := openError("eth0", c.err); !errors.Is(got, c.want) {
			t.Errorf("openError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestLoopback captures one TCP connection on lo: every segment once (the
// outgoing copy is dropped in the kernel), only the filtered port, and
// io.EOF once the context ends, with OnTick called while idle.
func TestLoopback(t *testing.T) {
	needRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	other, err := net.Listen("tcp", "127.0.0.1:0") // traffic the filter must keep out
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := 0
	src, err := Open(ctx, Config{Interface: "lo", Filter: "port " + strconv.Itoa(port), Tick: 20 * time.Millisecond,
		OnTick: func(time.Time) { ticks++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	go func() {
		for _, l := range []net.Listener{ln, other} {
			go func(l net.Listener) {
				if c, err := l.Accept(); err == nil {
					io.Copy(io.Discard, c)
					c.Close()
				}
			}(l)
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				return
			}
			c.Write([]byte("ping"))
			c.Close()
		}
		time.Sleep(500 * time.Millisecond)
		cancel()
	}()

	var f capture.Frame
	seen := map[string]int{}
	var n int64
	for {
		err := src.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if f.Number != n || f.Time.IsZero() || f.OrigLen < len(f.Data) {
			t.Fatalf("frame %d: number %d time %v len %d/%d", n, f.Number, f.Time, len(f.Data), f.OrigLen)
		}
		if len(f.Data) < 54 {
			t.Fatalf("short frame %x", f.Data)
		}
		sp := int(f.Data[34])<<8 | int(f.Data[35])
		dp := int(f.Data[36])<<8 | int(f.Data[37])
		if sp != port && dp != port {
			t.Errorf("frame with ports %d→%d passed the filter for port %d", sp, dp, port)
		}
		seen[string(f.Data[14:])]++ // IP header onwards: the IP ID and checksums make each segment unique
	}
	if n < 6 {
		t.Errorf("captured %d frames of a whole connection, want at least 6 (handshake, data, two FINs)", n)
	}
	for _, c := range seen {
		if c > 1 {
			t.Errorf("a segment was captured %d times: the loopback outgoing copy must be dropped", c)
		}
	}
	if ticks == 0 {
		t.Error("OnTick never called while idle")
	}
	if st, err := src.Stats(); err != nil || st.Packets < uint64(n) || st.Drops != 0 {
		t.Errorf("Stats = %+v, %v; want at least %d packets, no drops", st, err, n)
	}
	if err := src.Next(&f); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF (sticky)", err)
	}
}

// TestCount: Count frames, then io.EOF. Within a deadline: frames that never
// come end the capture (Next returns io.EOF when its context ends), so the
// test fails instead of hanging.
func TestCount(t *testing.T) {
	needRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const deadline = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	src, err := Open(ctx, Config{Interface: "lo", Filter: "port " + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
	}()
	var f capture.Frame
	for i := 0; i < 2; i++ {
		if err := src.Next(&f); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("frame %d: not captured within %v (Next: %v)", i+1, deadline, err)
			}
			t.Fatalf("frame %d: %v", i+1, err)
		}
	}
	if err := src.Next(&f); err != io.EOF || ctx.Err() != nil {
		t.Fatalf("after Count frames: %v (deadline passed: %v), want io.EOF at once", err, ctx.Err() != nil)
	}
}

// TestKernelProgramEveryLink: the program every live capture attaches (TCP
// and the tunnels, with and without a user filter) compiles for each link
// type an interface may have: -i any is cooked SLL, whose longer header
// once pushed a jump past the reach of classic BPF.
func TestKernelProgramEveryLink(t *testing.T) {
	base := baseExpr([]uint16{4789, 8472, 4790, 6081})
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkType(276), layers.LinkTypeRaw} {
		for _, f := range []string{"", "host 10.0.0.1 and port 443"} {
			if _, err := kernelProgram(base, f, lt, 262144, true, 1); err != nil {
				t.Errorf("%v, filter %q: %v", lt, f, err)
			}
		}
	}
}
