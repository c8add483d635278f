package sockets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"finwave/host"
)

// Timer is the kernel timer pending on a socket, as inet_diag reports it
// in idiag_timer (inet_diag_msg_common_fill/inet_sk_diag_fill and
// inet_twsk_diag_fill, net/ipv4/inet_diag.c) and /proc/net/tcp in "tr".
type Timer uint8

const (
	TimerNone       Timer = 0 // no timer pending
	TimerRetransmit Timer = 1 // ICSK_TIME_RETRANS, also loss probe and RACK reorder
	TimerKeepalive  Timer = 2 // sk_timer: keepalive (or orphaned FIN_WAIT2's linger)
	TimerTimeWait   Timer = 3 // the TIME_WAIT sock's tw_timer
	TimerProbe      Timer = 4 // ICSK_TIME_PROBE0, the zero-window probe
)

var timerNames = [...]string{"", "on", "keepalive", "timewait", "persist"}

// String is ss's name of the timer ("" for none).
func (t Timer) String() string {
	if int(t) < len(timerNames) {
		return timerNames[t]
	}
	return fmt.Sprintf("timer(%d)", uint8(t))
}

// Socket is one TCP socket of the namespace as the kernel dumped it.
type Socket struct {
	Tuple host.Tuple // IPv4-mapped addresses unmapped
	State host.State
	// Inode is the socket's inode (sock_i_ino): 0 once its process has
	// closed it (an orphan, a TIME_WAIT sock).
	Inode uint64
	UID   uint32 // sock_i_uid; 0 for a TIME_WAIT sock
	// RecvQ and SendQ are ss's Recv-Q and Send-Q (idiag_rqueue/wqueue):
	// unread and unacknowledged bytes, or for a listener the accept
	// queue's length and its backlog (tcp_diag_get_info).
	RecvQ, SendQ uint32
	Timer        Timer
	// Expires is the time left on Timer (idiag_expires, milliseconds;
	// /proc/net/tcp's jiffies in clock ticks); for TIME_WAIT, how long
	// the tw sock has left.
	Expires time.Duration
	// Cookie is the kernel's socket cookie (sock_gen_cookie), 0 from
	// /proc/net/tcp. A TIME_WAIT sock has a cookie of its own.
	Cookie uint64
}

// Sizes and offsets of include/uapi/linux/inet_diag.h and netlink.h.
const (
	sizeofNlMsghdr     = 16
	sizeofInetDiagReq  = 56 // struct inet_diag_req_v2
	sizeofInetDiagMsg  = 72 // struct inet_diag_msg
	inetDiagAllStates  = 0xffffffff
	diagRecvBufferSize = 1 << 16
)

// diag is a NETLINK_SOCK_DIAG socket, bound in the namespace of the thread
// that opened it.
type diag struct {
	fd  int
	seq uint32
	buf []byte
}

func openDiag() (*diag, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock_diag netlink bind: %w", err)
	}
	// A receive timeout, so that a dump the kernel never finishes cannot
	// hang a refresh.
	tv := unix.NsecToTimeval(int64(5 * time.Second))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &diag{fd: fd, buf: make([]byte, diagRecvBufferSize)}, nil
}

func (d *diag) close() error { return unix.Close(d.fd) }

// dump appends every TCP socket of family (AF_INET or AF_INET6), in all
// states, to out: one inet_diag_req_v2 with NLM_F_DUMP (inet_diag_dump,
// net/ipv4/inet_diag.c), read until NLMSG_DONE.
func (d *diag) dump(family uint8, out []Socket) ([]Socket, error) {
	d.seq++
	var req [sizeofNlMsghdr + sizeofInetDiagReq]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], d.seq)
	r := req[sizeofNlMsghdr:]
	r[0] = family
	r[1] = unix.IPPROTO_TCP
	r[2] = 0 // idiag_ext: no extensions, the fixed message is all we read
	ne.PutUint32(r[4:], inetDiagAllStates)
	if err := unix.Sendto(d.fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return out, fmt.Errorf("sock_diag request: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return out, fmt.Errorf("sock_diag receive: %w", err)
		}
		b := d.buf[:n]
		for len(b) >= sizeofNlMsghdr {
			l := int(ne.Uint32(b[0:]))
			typ := ne.Uint16(b[4:])
			seq := ne.Uint32(b[8:])
			if l < sizeofNlMsghdr || l > len(b) {
				return out, fmt.Errorf("sock_diag: malformed message of %d bytes in %d", l, len(b))
			}
			msg := b[sizeofNlMsghdr:l]
			b = b[min(nlmsgAlign(l), len(b)):]
			if seq != d.seq {
				continue // a late answer to an earlier, abandoned dump
			}
			switch typ {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(msg) >= 4 {
					if errno := int32(ne.Uint32(msg)); errno != 0 {
						return out, fmt.Errorf("sock_diag dump: %w", unix.Errno(-errno))
					}
				}
				return out, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if s, ok := parseDiagMsg(msg); ok {
					out = append(out, s)
				}
			}
		}
	}
}

func nlmsgAlign(n int) int { return (n + 3) &^ 3 }

// parseDiagMsg reads a struct inet_diag_msg: family, state, timer,
// retrans; inet_diag_sockid (ports and addresses in network order,
// interface, cookie in two host-order words); expires, rqueue, wqueue,
// uid, inode in host order.
func parseDiagMsg(m []byte) (Socket, bool) {
	if len(m) < sizeofInetDiagMsg {
		return Socket{}, false
	}
	ne := binary.NativeEndian
	fam := m[0]
	id := m[4:52]
	sport := binary.BigEndian.Uint16(id[0:])
	dport := binary.BigEndian.Uint16(id[2:])
	var src, dst netip.Addr
	switch fam {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(id[4:8]))
		dst = netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(id[4:20])).Unmap()
		dst = netip.AddrFrom16([16]byte(id[20:36])).Unmap()
	default:
		return Socket{}, false
	}
	cookie := uint64(ne.Uint32(id[40:])) | uint64(ne.Uint32(id[44:]))<<32
	return Socket{
		Tuple:   host.Tuple{Local: netip.AddrPortFrom(src, sport), Remote: netip.AddrPortFrom(dst, dport)},
		State:   host.State(m[1]),
		Timer:   Timer(m[2]),
		Expires: time.Duration(ne.Uint32(m[52:])) * time.Millisecond,
		RecvQ:   ne.Uint32(m[56:]),
		SendQ:   ne.Uint32(m[60:]),
		UID:     ne.Uint32(m[64:]),
		Inode:   uint64(ne.Uint32(m[68:])),
		Cookie:  cookie,
	}, true
}

// dumpAll dumps both families into out[:0].
func (d *diag) dumpAll(out []Socket) ([]Socket, error) {
	out, err := d.dump(unix.AF_INET, out[:0])
	if err != nil {
		return out, err
	}
	return d.dump(unix.AF_INET6, out)
}
