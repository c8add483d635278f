package sockets

import (
	"bufio"
	"net/netip"
	"strings"
	"testing"
	"time"

	"finwave/host"
)

func TestContainerOf(t *testing.T) {
	const h64 = "3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615f4e3"
	const uid = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
	uidU := strings.ReplaceAll(uid, "-", "_")
	for _, c := range []struct{ path, runtime, id, pod string }{
		{"/system.slice/nginx.service", "", "", ""},
		{"/system.slice/docker-" + h64 + ".scope", "docker", h64, ""},
		{"/docker/" + h64, "docker", h64, ""},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + h64 + ".scope", "containerd", h64, uid},
		{"/kubepods.slice/kubepods-pod" + uidU + ".slice/crio-" + h64 + ".scope", "cri-o", h64, uid},
		{"/kubepods.slice/kubepods-pod" + uidU + ".slice/crio-conmon-" + h64 + ".scope", "", "", uid},
		{"/kubepods/besteffort/pod" + uid + "/" + h64, "kubepods", h64, uid},
		{"/machine.slice/libpod-" + h64 + ".scope/container", "podman", h64, ""},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/libpod-conmon-" + h64 + ".scope", "", "", ""},
		{"/" + h64, "", "", ""}, // a bare id names no runtime
	} {
		rt, id, pod := containerOf(c.path)
		if rt != c.runtime || id != c.id || pod != c.pod {
			t.Errorf("containerOf(%q) = %q %q %q, want %q %q %q", c.path, rt, id, pod, c.runtime, c.id, c.pod)
		}
	}
}

func TestCgroupPath(t *testing.T) {
	if got := cgroupPath("0::/system.slice/sshd.service\n"); got != "/system.slice/sshd.service" {
		t.Errorf("v2: %q", got)
	}
	v1 := "12:pids:/docker/abc\n1:name=systemd:/docker/abc\n"
	if got := cgroupPath(v1); got != "/docker/abc" {
		t.Errorf("v1: %q", got)
	}
	hybrid := "1:name=systemd:/user.slice\n0::/user.slice/session-1.scope\n"
	if got := cgroupPath(hybrid); got != "/user.slice/session-1.scope" {
		t.Errorf("hybrid: %q", got)
	}
}

// TestParseProcNet reads lines as get_tcp4_sock, get_timewait4_sock and
// get_tcp6_sock print them.
func TestParseProcNet(t *testing.T) {
	text := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0101A8C0:01BB 0201A8C0:D431 06 00000000:00000000 03:00000BB8 00000000     0        0 0 3 0000000000000000
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: B80D0120000000000000000001000000:1B58 0000000000000000FFFF00000102A8C0:C350 08 00000010:00000006 02:00001770 00000000    33        0 99 1 0000000000000000 20 4 30 10 -1
`
	var got []Socket
	// Two files: parseProcNet skips each one's header line.
	i := strings.Index(text, "  sl  local_address                ")
	var err error
	if got, err = parseProcNet(bufio.NewReader(strings.NewReader(text[:i])), got); err != nil {
		t.Fatal(err)
	}
	if got, err = parseProcNet(bufio.NewReader(strings.NewReader(text[i:])), got); err != nil {
		t.Fatal(err)
	}
	want := []Socket{
		{Tuple: tuple("127.0.0.1:8080", "0.0.0.0:0"), State: host.Listen, RecvQ: 3, UID: 1000, Inode: 123456},
		{Tuple: tuple("192.168.1.1:443", "192.168.1.2:54321"), State: host.TimeWait, Timer: TimerTimeWait, Expires: 30 * time.Second},
		{Tuple: tuple("[2001:db8::1]:7000", "192.168.2.1:50000"), State: host.CloseWait, SendQ: 16, RecvQ: 6, Timer: TimerKeepalive, Expires: 60 * time.Second, UID: 33, Inode: 99},
	}
	if len(got) != len(want) {
		t.Fatalf("%d sockets, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func tuple(l, r string) host.Tuple {
	return host.Tuple{Local: netip.MustParseAddrPort(l), Remote: netip.MustParseAddrPort(r)}
}
