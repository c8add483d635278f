package trace

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"finwave/host"
)

// layout is where a tracepoint's record keeps what an Event needs: offsets
// into the raw record from its format (-1: absent).
type layout struct {
	set                bool
	oldState, newState int // inet_sock_set_state: oldstate, newstate
	state              int // the socket's state (tcp_send_reset, tcp_retransmit_skb)
	sport, dport       int
	family             int
	saddr, daddr       int // IPv4 addresses, or sockaddrs when sockaddr is set
	saddr6, daddr6     int
	sockaddr           bool // saddr/daddr are struct sockaddr_in/in6 (tcp_send_reset's __u8[28])
	reason             int
	reasons            []string // reason number → name
}

// decoder turns ring buffer records into Events.
type decoder struct {
	layouts [5]layout // by host.EventKind
	comms   map[[16]byte]string
}

// maxComms bounds the comm cache; past it the cache starts again.
const maxComms = 4096

// setLayout records kind's layout from its format and returns what its
// program reads from the record.
func (d *decoder) setLayout(kind host.EventKind, f *format, spec *btf.Spec) (progSpec, error) {
	if f.Size > rawMax {
		return progSpec{}, fmt.Errorf("record of %d bytes, more than the %d this package copies", f.Size, rawMax)
	}
	l := layout{set: true,
		oldState: f.offset("oldstate"), newState: f.offset("newstate"), state: f.offset("state"),
		sport: f.offset("sport"), dport: f.offset("dport"), family: f.offset("family"),
		saddr: f.offset("saddr"), daddr: f.offset("daddr"),
		saddr6: f.offset("saddr_v6"), daddr6: f.offset("daddr_v6"),
		reason: f.offset("reason"),
	}
	p := progSpec{kind: kind, rawSize: f.Size, tcpProto: -1, ethProto: -1, skb: -1}
	need := func(names ...string) error {
		for _, n := range names {
			if f.offset(n) < 0 {
				return fmt.Errorf("format has no field %s", n)
			}
		}
		return nil
	}
	var err error
	switch kind {
	case host.StateChange:
		err = need("skaddr", "protocol", "oldstate", "newstate", "sport", "dport", "family", "saddr", "daddr", "saddr_v6", "daddr_v6")
		p.tcpProto = f.offset("protocol")
		p.nsFrom = []nsSource{{nsSock, f.offset("skaddr")}}
	case host.ReceiveReset, host.Retransmit:
		err = need("skaddr", "sport", "dport", "family", "saddr", "daddr", "saddr_v6", "daddr_v6")
		p.nsFrom = []nsSource{{nsSock, f.offset("skaddr")}}
	case host.SendReset:
		// tcp_send_reset's saddr/daddr are sockaddrs: the socket's own
		// pair, or for a RST without a full socket the incoming segment's
		// addresses swapped (include/trace/events/tcp.h,
		// TP_STORE_ADDR_PORTS_SKB): saddr is this host's end either way.
		err = need("skaddr", "skbaddr", "saddr", "daddr", "reason")
		if fl := f.Fields["saddr"]; fl.Size < 28 {
			err = fmt.Errorf("saddr is %d bytes, not a sockaddr_in6", fl.Size)
		}
		l.sockaddr = true
		l.reasons = reasonNames(f, spec, "sk_rst_reason", "SK_RST_REASON_")
		p.nsFrom = []nsSource{{nsSock, f.offset("skaddr")}, {nsSkbDev, f.offset("skbaddr")}}
	case host.Drop:
		err = need("skbaddr", "protocol", "reason")
		if err == nil {
			err = need("rx_sk")
		}
		l.reasons = reasonNames(f, spec, "skb_drop_reason", "SKB_DROP_REASON_")
		p.ethProto = f.offset("protocol")
		p.skb = f.offset("skbaddr")
		// The device's namespace first: rx_sk is NULL for most drops
		// before a socket is found (include/trace/events/skb.h).
		p.nsFrom = []nsSource{{nsSkbDev, f.offset("skbaddr")}}
		if off := f.offset("rx_sk"); off >= 0 {
			p.nsFrom = append(p.nsFrom, nsSource{nsSock, off})
		}
	default:
		err = fmt.Errorf("unknown kind %d", kind)
	}
	if err != nil {
		return p, err
	}
	d.layouts[kind] = l
	return p, nil
}

// reasonNames names the values of a tracepoint's reason field from its
// format's __print_symbolic list, filling gaps from the BTF enum typ.
func reasonNames(f *format, spec *btf.Spec, typ, prefix string) []string {
	m := f.symbols("reason")
	if spec != nil {
		for v, n := range btfEnumNames(spec, typ, prefix) {
			if _, ok := m[v]; !ok && m != nil {
				m[v] = n
			} else if m == nil {
				m = map[uint32]string{v: n}
			}
		}
	}
	var max uint32
	for v := range m {
		if v < 1024 && v > max {
			max = v
		}
	}
	out := make([]string, max+1)
	for v, n := range m {
		if v <= max {
			out[v] = n
		}
	}
	return out
}

func nativeUint64(b []byte) uint64 { return *(*uint64)(unsafe.Pointer(&b[0])) }
func nativeUint32(b []byte) uint32 { return *(*uint32)(unsafe.Pointer(&b[0])) }
func nativeUint16(b []byte) uint16 { return *(*uint16)(unsafe.Pointer(&b[0])) }

// decode fills ev from one ring buffer record; false when the record is
// not one (too short, unknown kind). ev.Time is left as the BPF clock's
// nanoseconds since time.Unix(0, 0), for Read to convert.
func (d *decoder) decode(rec []byte, ev *host.Event) bool {
	if len(rec) < recSize {
		return false
	}
	kind := host.EventKind(nativeUint32(rec[recKind:]))
	if int(kind) >= len(d.layouts) || !d.layouts[kind].set {
		return false
	}
	l := &d.layouts[kind]
	raw := rec[recRaw : recRaw+rawMax]
	*ev = host.Event{Kind: kind}
	ev.Time = time.Unix(0, int64(nativeUint64(rec[recTime:])))
	ev.PID = uint32(nativeUint64(rec[recPID:]) >> 32)
	ev.Comm = d.comm(rec[recComm : recComm+16])

	i32 := func(off int) int32 { return int32(nativeUint32(raw[off:])) }
	state := func(off int) host.State {
		if off < 0 {
			return 0
		}
		if s := i32(off); s > 0 && s < 256 {
			return host.State(s)
		}
		return 0
	}
	switch kind {
	case host.StateChange:
		ev.Old, ev.New = state(l.oldState), state(l.newState)
	default:
		ev.New = state(l.state)
	}
	switch {
	case kind == host.Drop:
		ev.Tuple = dropTuple(rec[recNetHdr:recNetHdr+netHdrLen], rec[recPorts:recPorts+4])
	case l.sockaddr:
		ev.Tuple = host.Tuple{Local: sockaddr(raw[l.saddr:]), Remote: sockaddr(raw[l.daddr:])}
	default:
		sport := nativeUint16(raw[l.sport:])
		dport := nativeUint16(raw[l.dport:])
		var src, dst netip.Addr
		if nativeUint16(raw[l.family:]) == unix.AF_INET6 {
			src = netip.AddrFrom16([16]byte(raw[l.saddr6:])).Unmap()
			dst = netip.AddrFrom16([16]byte(raw[l.daddr6:])).Unmap()
		} else {
			src = netip.AddrFrom4([4]byte(raw[l.saddr:]))
			dst = netip.AddrFrom4([4]byte(raw[l.daddr:]))
		}
		ev.Tuple = host.Tuple{Local: netip.AddrPortFrom(src, sport), Remote: netip.AddrPortFrom(dst, dport)}
	}
	if l.reason >= 0 && l.reasons != nil {
		r := nativeUint32(raw[l.reason:])
		if int(r) < len(l.reasons) && l.reasons[r] != "" {
			ev.Reason = l.reasons[r]
		} else {
			ev.Reason = "REASON(" + strconv.FormatUint(uint64(r), 10) + ")"
		}
	}
	return true
}

// sockaddr reads a struct sockaddr_in or sockaddr_in6 (family in host
// order, port in network order); the zero AddrPort for another family.
func sockaddr(b []byte) netip.AddrPort {
	port := binary.BigEndian.Uint16(b[2:])
	switch nativeUint16(b) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port)
	}
	return netip.AddrPort{}
}

// dropTuple is a dropped segment's pair from the receiver's view: Local is
// its destination, Remote its source.
func dropTuple(ip, ports []byte) host.Tuple {
	sport := binary.BigEndian.Uint16(ports)
	dport := binary.BigEndian.Uint16(ports[2:])
	var src, dst netip.Addr
	if ip[0]>>4 == 6 {
		src = netip.AddrFrom16([16]byte(ip[8:24])).Unmap()
		dst = netip.AddrFrom16([16]byte(ip[24:40])).Unmap()
	} else {
		src = netip.AddrFrom4([4]byte(ip[12:16]))
		dst = netip.AddrFrom4([4]byte(ip[16:20]))
	}
	return host.Tuple{Local: netip.AddrPortFrom(dst, dport), Remote: netip.AddrPortFrom(src, sport)}
}

// comm interns a task's command name: one allocation per distinct name
// (bounded by maxComms), none per event.
func (d *decoder) comm(b []byte) string {
	var key [16]byte
	copy(key[:], b)
	if s, ok := d.comms[key]; ok {
		return s
	}
	if d.comms == nil || len(d.comms) >= maxComms {
		d.comms = make(map[[16]byte]string, 64)
	}
	n := 0
	for n < len(key) && key[n] != 0 {
		n++
	}
	s := string(key[:n])
	d.comms[key] = s
	return s
}
