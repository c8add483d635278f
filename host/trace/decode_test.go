package trace

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"

	"finwave/host"
)

// The formats in testdata are the running kernel's (6.18) tracefs files,
// so that these tests need neither root nor tracefs.
func testFormat(t testing.TB, name string) *format {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".format")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseFormat(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseFormat(t *testing.T) {
	f := testFormat(t, "inet_sock_set_state")
	for name, want := range map[string]field{
		"common_type": {0, 2}, "skaddr": {8, 8}, "oldstate": {16, 4}, "newstate": {20, 4},
		"protocol": {30, 2}, "saddr": {32, 4}, "saddr_v6": {40, 16}, "daddr_v6": {56, 16},
	} {
		if got := f.Fields[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if f.Size != 72 {
		t.Errorf("size %d, want 72", f.Size)
	}
	// The kernel's state names agree with host.State's numbering
	// (include/net/tcp_states.h).
	states := f.symbols("oldstate")
	if len(states) < 12 {
		t.Errorf("oldstate symbols %v", states)
	}
	for n, name := range states {
		if got := "TCP_" + host.State(n).String(); got != name {
			t.Errorf("state %d: kernel %s, host.State %s", n, name, got)
		}
	}
	rst := testFormat(t, "tcp_send_reset").symbols("reason")
	if rst[1] != "NO_SOCKET" || rst[11] != "TCP_ABORT_ON_CLOSE" || rst[14] != "TCP_STATE" {
		t.Errorf("sk_rst_reason names %v", rst)
	}
	drop := testFormat(t, "kfree_skb").symbols("reason")
	if drop[3] != "NO_SOCKET" || drop[10] != "TCP_CSUM" || len(drop) < 100 {
		t.Errorf("skb_drop_reason names (%d) %v", len(drop), drop)
	}
}

// record builds a ring buffer record of kind with the given raw record
// fields set (by format offset).
func record(kind host.EventKind, set func(raw []byte)) []byte {
	rec := make([]byte, recSize)
	binary.NativeEndian.PutUint32(rec[recKind:], uint32(kind))
	binary.NativeEndian.PutUint64(rec[recTime:], 123456789)
	binary.NativeEndian.PutUint64(rec[recPID:], 4242<<32|4243)
	copy(rec[recComm:], "nginx\x00garbage")
	set(rec[recRaw : recRaw+rawMax])
	return rec
}

func testDecoder(t testing.TB) *decoder {
	d := &decoder{}
	for kind, name := range map[host.EventKind]string{
		host.StateChange: "inet_sock_set_state", host.SendReset: "tcp_send_reset",
		host.ReceiveReset: "tcp_receive_reset", host.Retransmit: "tcp_retransmit_skb", host.Drop: "kfree_skb",
	} {
		if _, err := d.setLayout(kind, testFormat(t, name), nil); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestDecode(t *testing.T) {
	d := testDecoder(t)
	f := testFormat(t, "inet_sock_set_state")
	put := func(raw []byte, name string, v uint64) {
		fl := f.Fields[name]
		switch fl.Size {
		case 2:
			binary.NativeEndian.PutUint16(raw[fl.Offset:], uint16(v))
		case 4:
			binary.NativeEndian.PutUint32(raw[fl.Offset:], uint32(v))
		}
	}
	state := record(host.StateChange, func(raw []byte) {
		put(raw, "oldstate", uint64(host.FinWait1))
		put(raw, "newstate", uint64(host.FinWait2))
		put(raw, "family", 2)
		put(raw, "sport", 50200)
		put(raw, "dport", 80)
		copy(raw[f.Fields["saddr"].Offset:], []byte{192, 0, 2, 1})
		copy(raw[f.Fields["daddr"].Offset:], []byte{192, 0, 2, 2})
	})
	v6 := record(host.StateChange, func(raw []byte) {
		put(raw, "newstate", uint64(host.Established))
		put(raw, "family", 10)
		put(raw, "sport", 1)
		put(raw, "dport", 2)
		a := netip.MustParseAddr("::ffff:10.0.0.1").As16()
		copy(raw[f.Fields["saddr_v6"].Offset:], a[:])
		b := netip.MustParseAddr("2001:db8::2").As16()
		copy(raw[f.Fields["daddr_v6"].Offset:], b[:])
	})
	sr := testFormat(t, "tcp_send_reset")
	rst := record(host.SendReset, func(raw []byte) {
		binary.NativeEndian.PutUint32(raw[sr.Fields["reason"].Offset:], 1)
		s := raw[sr.Fields["saddr"].Offset:]
		binary.NativeEndian.PutUint16(s, 2)
		binary.BigEndian.PutUint16(s[2:], 8080)
		copy(s[4:], []byte{192, 0, 2, 2})
		dd := raw[sr.Fields["daddr"].Offset:]
		binary.NativeEndian.PutUint16(dd, 10)
		binary.BigEndian.PutUint16(dd[2:], 40000)
		a := netip.MustParseAddr("2001:db8::1").As16()
		copy(dd[8:], a[:])
	})
	kf := testFormat(t, "kfree_skb")
	drop := record(host.Drop, func(raw []byte) {
		binary.NativeEndian.PutUint32(raw[kf.Fields["reason"].Offset:], 10)
	})
	copy(drop[recNetHdr:], tcpSegment(netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("192.0.2.2:80"), 1, 2, 0x10, nil)[:20])
	binary.BigEndian.PutUint16(drop[recPorts:], 40000)
	binary.BigEndian.PutUint16(drop[recPorts+2:], 80)

	for _, c := range []struct {
		name string
		rec  []byte
		want host.Event
	}{
		{"state", state, host.Event{Kind: host.StateChange, Old: host.FinWait1, New: host.FinWait2,
			Tuple: host.Tuple{Local: netip.MustParseAddrPort("192.0.2.1:50200"), Remote: netip.MustParseAddrPort("192.0.2.2:80")}}},
		{"state v6 mapped", v6, host.Event{Kind: host.StateChange, New: host.Established,
			Tuple: host.Tuple{Local: netip.MustParseAddrPort("10.0.0.1:1"), Remote: netip.MustParseAddrPort("[2001:db8::2]:2")}}},
		{"send-reset sockaddr", rst, host.Event{Kind: host.SendReset, Reason: "NO_SOCKET",
			Tuple: host.Tuple{Local: netip.MustParseAddrPort("192.0.2.2:8080"), Remote: netip.MustParseAddrPort("[2001:db8::1]:40000")}}},
		{"drop", drop, host.Event{Kind: host.Drop, Reason: "TCP_CSUM",
			Tuple: host.Tuple{Local: netip.MustParseAddrPort("192.0.2.2:80"), Remote: netip.MustParseAddrPort("192.0.2.1:40000")}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ev host.Event
			if !d.decode(c.rec, &ev) {
				t.Fatal("not decoded")
			}
			if ev.PID != 4242 || ev.Comm != "nginx" || ev.Time.UnixNano() != 123456789 {
				t.Errorf("pid %d comm %q time %d", ev.PID, ev.Comm, ev.Time.UnixNano())
			}
			ev.PID, ev.Comm, ev.Time = 0, "", c.want.Time
			if ev != c.want {
				t.Errorf("got  %+v\nwant %+v", ev, c.want)
			}
		})
	}
	var ev host.Event
	if d.decode(state[:recSize-1], &ev) {
		t.Error("a short record decoded")
	}
}

// TestDecodeAllocs: decoding allocates nothing once the task's command
// name is interned.
func TestDecodeAllocs(t *testing.T) {
	d := testDecoder(t)
	rec := record(host.StateChange, func([]byte) {})
	var ev host.Event
	d.decode(rec, &ev)
	if n := testing.AllocsPerRun(1000, func() { d.decode(rec, &ev) }); n != 0 {
		t.Errorf("%.1f allocations per event", n)
	}
}

// BenchmarkDecode is the user-space cost of one event after the ring
// buffer's copy: decoding it into a host.Event.
func BenchmarkDecode(b *testing.B) {
	d := testDecoder(b)
	rec := record(host.StateChange, func([]byte) {})
	var ev host.Event
	b.ReportAllocs()
	for b.Loop() {
		d.decode(rec, &ev)
	}
}
