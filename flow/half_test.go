package flow

import (
	"testing"
	"time"
)

func seg(flags Flags, seq, ack uint32, n uint32) *Segment {
	return &Segment{Flags: flags, Seq: Seq(seq), Ack: Seq(ack), Len: n, WScale: NoOption, MSS: NoOption, Window: 1000}
}

// A connection whose ISNs sit just below 2^32: every comparison must use
// serial arithmetic (RFC 1982, RFC 9293 §3.4).
func TestHalfWrapAround(t *testing.T) {
	var a, b Half
	a.Reset()
	b.Reset()
	const isnA, isnB = 0xFFFFFFF0, 0xFFFFFFFE
	a.Observe(seg(SYN, isnA, 0, 0), &b)
	b.Observe(seg(SYN|ACK, isnB, isnA+1, 0), &a)
	a.Observe(seg(ACK, isnA+1, isnB+1, 0), &b)
	// 100 octets from A cross the wrap: they end at 0x55.
	a.Observe(seg(ACK|PSH, isnA+1, 0xFFFFFFFF, 100), &b)
	if a.NextSeq != 0x55 {
		t.Errorf("NextSeq %#x, want 0x55", uint32(a.NextSeq))
	}
	// An old retransmission (before the wrap) must not pull NextSeq back.
	a.Observe(seg(ACK|PSH, isnA+1, 0xFFFFFFFF, 10), &b)
	if a.NextSeq != 0x55 {
		t.Errorf("after retransmission NextSeq %#x, want 0x55", uint32(a.NextSeq))
	}
	// B acknowledges across the wrap; a stale ACK does not lower MaxAck.
	b.Observe(seg(ACK, 0xFFFFFFFF, 0x55, 0), &a)
	b.Observe(seg(ACK, 0xFFFFFFFF, 0xFFFFFFF5, 0), &a)
	if b.MaxAck != 0x55 {
		t.Errorf("MaxAck %#x, want 0x55", uint32(b.MaxAck))
	}
	a.Observe(seg(FIN|ACK, 0x55, 0xFFFFFFFF, 0), &b)
	if !a.FIN || a.FINSeq != 0x55 || a.NextSeq != 0x56 {
		t.Errorf("FIN %v FINSeq %#x NextSeq %#x, want true 0x55 0x56", a.FIN, uint32(a.FINSeq), uint32(a.NextSeq))
	}
	if got := a.RelSeq(0x55); got != 101 { // 1 (SYN) + 100 octets
		t.Errorf("RelSeq(FIN) = %d, want 101", got)
	}
	if got := b.RelSeq(b.NextSeq); got != 1 {
		t.Errorf("B RelSeq(NextSeq) = %d, want 1", got)
	}
	if a.ISN != isnA || b.ISN != isnB || !a.SYN || !b.SYN {
		t.Errorf("ISN %#x/%#x SYN %v/%v", uint32(a.ISN), uint32(b.ISN), a.SYN, b.SYN)
	}
	if a.Packets != 5 || a.Bytes != 110 {
		t.Errorf("Packets %d Bytes %d, want 5 110", a.Packets, a.Bytes)
	}
}

func TestHalfBaseMidStream(t *testing.T) {
	var a, b Half
	a.Reset()
	b.Reset()
	// A's first segment acknowledges B: B's base is ack-1 before B sent
	// anything (Wireshark: "get the ISN from the first segment with the
	// ACK bit set").
	a.Observe(seg(ACK|PSH, 5000, 7000, 10), &b)
	if !a.BaseSet || a.Base != 4999 || a.RelSeq(5000) != 1 {
		t.Errorf("A Base %d set %v", a.Base, a.BaseSet)
	}
	if !b.BaseSet || b.Base != 6999 || b.Seen {
		t.Errorf("B Base %d set %v seen %v, want 6999 true false", b.Base, b.BaseSet, b.Seen)
	}
	if a.ISN != a.Base || a.SYN {
		t.Errorf("ISN %d SYN %v, want Base and false", a.ISN, a.SYN)
	}
	// B's first segment keeps the base its peer's ACK gave it.
	b.Observe(seg(ACK, 7000, 5010, 0), &a)
	if b.Base != 6999 {
		t.Errorf("B Base %d after its first segment, want 6999", b.Base)
	}
}

func TestHalfWindowScaling(t *testing.T) {
	syn := func(flags Flags, seq uint32, ws int8) *Segment {
		s := seg(flags, seq, 1, 0)
		s.WScale, s.Window = ws, 64240
		return s
	}
	cases := []struct {
		name       string
		wsA, wsB   int8
		wantWindow uint32
	}{
		{"both scale", 7, 9, 1000 << 7},
		{"A only", 7, NoOption, 1000},
		{"B only", NoOption, 9, 1000},
		{"zero shift", 0, 0, 1000},
	}
	for _, c := range cases {
		var a, b Half
		a.Reset()
		b.Reset()
		a.Observe(syn(SYN, 100, c.wsA), &b)
		if a.Window != 64240 {
			t.Errorf("%s: SYN window %d, want unscaled 64240 (RFC 7323 §2.2)", c.name, a.Window)
		}
		b.Observe(syn(SYN|ACK, 500, c.wsB), &a)
		if b.Window != 64240 {
			t.Errorf("%s: SYN-ACK window %d, want unscaled 64240", c.name, b.Window)
		}
		a.Observe(seg(ACK, 101, 501, 0), &b)
		if a.Window != c.wantWindow {
			t.Errorf("%s: window %d, want %d", c.name, a.Window, c.wantWindow)
		}
		if a.WScale != c.wsA {
			t.Errorf("%s: WScale %d, want %d", c.name, a.WScale, c.wsA)
		}
	}
	// Mid-stream: no SYN seen, scale unknown, raw window.
	var a, b Half
	a.Reset()
	b.Reset()
	a.Observe(seg(ACK, 1, 1, 0), &b)
	if a.Window != 1000 || a.WScale != NoOption {
		t.Errorf("mid-stream: window %d WScale %d", a.Window, a.WScale)
	}
}

func TestHalfRSTAndFIN(t *testing.T) {
	var a, b Half
	a.Reset()
	b.Reset()
	a.Observe(seg(ACK|PSH, 1000, 1, 50), &b)
	// A RST carrying a seq far away (taken from an ACK) does not move
	// snd.nxt.
	a.Observe(seg(RST, 90000, 0, 0), &b)
	if !a.RST || a.NextSeq != 1050 {
		t.Errorf("RST %v NextSeq %d, want true 1050", a.RST, a.NextSeq)
	}
	// A side seen only through a RST takes its seq.
	b.Observe(seg(RST|ACK, 77, 1050, 0), &a)
	if b.NextSeq != 77 {
		t.Errorf("RST-only NextSeq %d, want 77", b.NextSeq)
	}
	b.Observe(seg(ACK, 80, 1050, 0), &a)
	if b.NextSeq != 80 {
		t.Errorf("NextSeq after a real segment %d, want 80", b.NextSeq)
	}
	// FIN with data: the FIN occupies seq+len.
	a.Observe(seg(FIN|ACK|PSH, 1050, 80, 20), &b)
	a.Observe(seg(FIN|ACK, 1070, 80, 0), &b) // retransmitted FIN
	if !a.FIN || a.FINSeq != 1070 || a.NextSeq != 1071 {
		t.Errorf("FINSeq %d NextSeq %d, want 1070 1071", a.FINSeq, a.NextSeq)
	}
}

func TestHalfTimestampsAndData(t *testing.T) {
	var a, b Half
	a.Reset()
	b.Reset()
	t0 := time.Unix(100, 0)
	s := seg(ACK|PSH, 1, 1, 5)
	s.HasTS, s.TSVal, s.Time, s.Frame = true, 42, t0, 7
	a.Observe(s, &b)
	s = seg(ACK, 6, 1, 0)
	s.Time, s.Frame = t0.Add(time.Second), 8
	a.Observe(s, &b)
	if !a.HasTS || a.TSVal != 42 {
		t.Errorf("TS %v %d", a.HasTS, a.TSVal)
	}
	if !a.LastData.Equal(t0) || a.LastDataFrame != 7 {
		t.Errorf("LastData %v frame %d, want %v 7", a.LastData, a.LastDataFrame, t0)
	}
}

// Observe must not allocate.
func TestHalfNoAllocs(t *testing.T) {
	var a, b Half
	a.Reset()
	b.Reset()
	s := seg(ACK|PSH, 1, 1, 100)
	n := testing.AllocsPerRun(1000, func() {
		s.Seq += 100
		a.Observe(s, &b)
	})
	if n != 0 {
		t.Errorf("Observe allocates %.1f", n)
	}
}
