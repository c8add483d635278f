package sockets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"finwave/host"
	"finwave/internal/netnstest"
)

var netipZero4 = netip.MustParseAddrPort("0.0.0.0:0")

// dropReport is what the drop helper found after dropping root.
type dropReport struct {
	Source, ProcNetSource string
	Sockets, ProcNetSock  int
	// The leak server's CLOSE_WAIT sockets: status and reason by tuple.
	CloseWait map[string]string
	Own       string // the helper's own socket's attribution
	OwnPID    int
	// What reading the leak server's /proc entries gave after the drop.
	FdErr, CommErr, CgroupErr string
}

// dropHelper opens two Resolvers (netlink and /proc/net/tcp) as root,
// drops to uid and gid 65534, says "dropped", waits for a line on stdin
// (the parent has made new CLOSE_WAIT sockets), refreshes and prints a
// dropReport as JSON.
func dropHelper() error {
	leakPID, _ := strconv.Atoi(os.Getenv("FS_LEAK_PID"))
	want, _ := strconv.Atoi(os.Getenv("FS_WANT"))
	r, err := Open(Options{MinInterval: -1})
	if err != nil {
		return err
	}
	rp, err := Open(Options{MinInterval: -1, ProcNet: true})
	if err != nil {
		return err
	}
	// FS_NO_DROP: started unprivileged already (setpriv), with the
	// capabilities under test.
	if os.Getenv("FS_NO_DROP") == "" {
		if err := syscall.Setgroups(nil); err != nil {
			return err
		}
		if err := syscall.Setgid(65534); err != nil {
			return err
		}
		if err := syscall.Setuid(65534); err != nil {
			return err
		}
	}
	fmt.Println("dropped")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return err
	}
	// A socket of our own, made after the drop.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	own := host.Tuple{Local: l.Addr().(*net.TCPAddr).AddrPort(), Remote: netipZero4}
	rep := dropReport{CloseWait: map[string]string{}, OwnPID: os.Getpid()}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.Refresh(); err != nil {
			return err
		}
		cw := closeWaits(r, leakPort4, leakPort6)
		accepted := 0
		for _, a := range cw {
			if a.Socket.Inode != 0 {
				accepted++
			}
		}
		if accepted >= want || time.Now().After(deadline) {
			for tu, a := range cw {
				s := a.Status.String()
				switch a.Status {
				case Owned:
					s += " pid " + strconv.Itoa(a.Owner.PID)
				case Unattributed:
					s += ": " + a.Reason.String()
				}
				rep.CloseWait[tu.String()] = s
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	a := r.Lookup(own)
	rep.Own = fmt.Sprintf("%v pid %d", a.Status, a.Owner.PID)
	st := r.Stats()
	rep.Source, rep.Sockets = st.Source, st.Sockets
	if _, err := rp.Refresh(); err != nil {
		return err
	}
	st = rp.Stats()
	rep.ProcNetSource, rep.ProcNetSock = st.Source, st.Sockets
	errString := func(err error) string {
		if err != nil {
			return err.Error()
		}
		return ""
	}
	_, err = os.ReadDir(fmt.Sprintf("/proc/%d/fd", leakPID))
	rep.FdErr = errString(err)
	_, err = os.ReadFile(fmt.Sprintf("/proc/%d/comm", leakPID))
	rep.CommErr = errString(err)
	_, err = os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", leakPID))
	rep.CgroupErr = errString(err)
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// TestAfterDroppingRoot: a process that opens its Resolvers as root and
// then becomes uid 65534 still dumps every socket (netlink and
// /proc/net/tcp), keeps the owners it found while root, attributes its
// own sockets, and reports the root-owned process's new sockets as
// unattributed for want of permission to read /proc/PID/fd, without
// failing.
func TestAfterDroppingRoot(t *testing.T) {
	p := netnstest.NewPair(t, "fs")
	srv := startLeak(t, p.A)
	before := leakPeers[:4]
	connectAndClose(t, p.B, before...)
	// Wait, from the test, until the leak server has accepted them, so
	// that the helper's first dump sees their inodes.
	r := openIn(t, p.A, Options{MinInterval: -1})
	poll(t, func() string {
		r.Refresh()
		n := 0
		for _, a := range closeWaits(r, leakPort4) {
			if a.Status == Owned {
				n++
			}
		}
		if n != len(before) {
			return fmt.Sprintf("%d of %d CLOSE_WAIT sockets owned", n, len(before))
		}
		return ""
	})

	after := leakPeers[4:6]
	cmd := netnstest.Command(p.A, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FS_SOCKETS_HELPER=drop", "FS_LEAK_PID="+strconv.Itoa(srv.pid),
		"FS_WANT="+strconv.Itoa(len(before)+len(after)))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "dropped\n" {
		t.Fatalf("drop helper: %q %v", line, err)
	}
	connectAndClose(t, p.B, after...)
	fmt.Fprintln(stdin)
	var rep dropReport
	if err := json.NewDecoder(out).Decode(&rep); err != nil {
		t.Fatalf("drop helper report: %v", err)
	}
	t.Logf("after the drop: %+v", rep)
	if rep.Source != "sock_diag" || rep.Sockets == 0 || rep.ProcNetSource != "/proc/net/tcp" || rep.ProcNetSock != rep.Sockets {
		t.Errorf("dumps after the drop: %s %d sockets, %s %d sockets", rep.Source, rep.Sockets, rep.ProcNetSource, rep.ProcNetSock)
	}
	owned, denied := 0, 0
	for tu, s := range rep.CloseWait {
		switch s {
		case fmt.Sprintf("owned pid %d", srv.pid):
			owned++
		case "unattributed: permission denied reading /proc/PID/fd":
			denied++
		default:
			t.Errorf("%s: %s", tu, s)
		}
	}
	if owned != len(before) || denied != len(after) {
		t.Errorf("%d owned (attributed while root), %d denied (new after the drop); want %d and %d", owned, denied, len(before), len(after))
	}
	if rep.Own != fmt.Sprintf("owned pid %d", rep.OwnPID) {
		t.Errorf("the helper's own socket: %s, want owned by %d", rep.Own, rep.OwnPID)
	}
	if !strings.Contains(rep.FdErr, "permission denied") || rep.CommErr != "" || rep.CgroupErr != "" {
		t.Errorf("reading the root process's /proc after the drop: fd %q, comm %q, cgroup %q", rep.FdErr, rep.CommErr, rep.CgroupErr)
	}
}

// TestCapabilities: a Resolver run as uid 65534 from the start (setpriv)
// dumps every socket but attributes a root process's only with both
// CAP_DAC_READ_SEARCH (to list /proc/PID/fd) and CAP_SYS_PTRACE (to read
// its links); with one or none, the sockets are unattributed for want of
// permission, and nothing fails.
func TestCapabilities(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs util-linux's setpriv to start a process with chosen capabilities")
	}
	p := netnstest.NewPair(t, "fs")
	srv := startLeak(t, p.A)
	peers := leakPeers[:3]
	connectAndClose(t, p.B, peers...)
	for _, c := range []struct {
		caps  string
		owned bool
	}{{"", false}, {"+sys_ptrace", false}, {"+dac_read_search", false}, {"+dac_read_search,+sys_ptrace", true}} {
		t.Run("caps="+c.caps, func(t *testing.T) {
			args := []string{"--reuid", "65534", "--regid", "65534", "--clear-groups"}
			if c.caps != "" {
				args = append(args, "--inh-caps", c.caps, "--ambient-caps", c.caps)
			}
			cmd := netnstest.Command(p.A, "setpriv", append(args, os.Args[0], "-test.run=^$")...)
			cmd.Env = append(os.Environ(), "FS_SOCKETS_HELPER=drop", "FS_NO_DROP=1",
				"FS_LEAK_PID="+strconv.Itoa(srv.pid), "FS_WANT="+strconv.Itoa(len(peers)))
			cmd.Stderr = os.Stderr
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
			out := bufio.NewReader(stdout)
			if line, err := out.ReadString('\n'); err != nil || line != "dropped\n" {
				t.Fatalf("helper: %q %v", line, err)
			}
			fmt.Fprintln(stdin)
			var rep dropReport
			if err := json.NewDecoder(out).Decode(&rep); err != nil {
				t.Fatalf("helper report: %v", err)
			}
			if rep.Source != "sock_diag" || rep.Sockets == 0 {
				t.Errorf("dump as uid 65534: %s %d sockets", rep.Source, rep.Sockets)
			}
			want := "unattributed: permission denied reading /proc/PID/fd"
			if c.owned {
				want = fmt.Sprintf("owned pid %d", srv.pid)
			}
			if len(rep.CloseWait) != len(peers) {
				t.Errorf("%d CLOSE_WAIT sockets, want %d", len(rep.CloseWait), len(peers))
			}
			for tu, s := range rep.CloseWait {
				if s != want {
					t.Errorf("%s: %s, want %s", tu, s, want)
				}
			}
			if rep.Own != fmt.Sprintf("owned pid %d", rep.OwnPID) {
				t.Errorf("the helper's own socket: %s", rep.Own)
			}
		})
	}
}
