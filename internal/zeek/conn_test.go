package zeek

import (
	"slices"
	"testing"
	"unsafe"

	"finwave/flow"
)

// zseg is one segment of a scripted connection: a says whether A (the first
// sender) sent it.
type zseg struct {
	a        bool
	flags    flow.Flags
	len      uint32
	seq, ack uint32
	win      uint16
}

const (
	zSA  = flow.SYN | flow.ACK
	zA   = flow.ACK
	zPA  = flow.PSH | flow.ACK
	zFA  = flow.FIN | flow.ACK
	zRA  = flow.RST | flow.ACK
	zR   = flow.RST
	zS   = flow.SYN
	zISN = 1000 // A's initial sequence number in the scripts
	zIRS = 5000 // B's
)

// handshake is A's SYN, B's SYN-ACK and A's ACK: history "ShA".
var zHandshake = []zseg{
	{a: true, flags: zS, seq: zISN},
	{a: false, flags: zSA, seq: zIRS, ack: zISN + 1},
	{a: true, flags: zA, seq: zISN + 1, ack: zIRS + 1},
}

func zcat(parts ...[]zseg) []zseg {
	var out []zseg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func zrun(t testing.TB, segs []zseg, ports *[4]uint16) *Conn {
	t.Helper()
	var z Conn
	if ports != nil {
		z.SetPorts(ports[0], ports[1], ports[2] != 0, ports[3] != 0)
	}
	for _, s := range segs {
		win := s.win
		if win == 0 {
			win = 64240 // scripts give a window only to test 'W'
		}
		if s.win == 0xffff {
			win = 0
		}
		seg := flow.Segment{Flags: s.flags, Len: s.len, Seq: flow.Seq(s.seq), Ack: flow.Seq(s.ack), Window: win}
		z.ObserveSegment(s.a, &seg)
	}
	return &z
}

// The expected conn_state and history of every case were derived by hand
// from Zeek's code (TCPSessionAdapter.cc, TCP_Endpoint.cc, Conn.cc and
// conn_state in scripts/base/protocols/conn/main.zeek); the comment of each
// case gives the reasoning. The four cases marked "baseline" are the packet
// sequences and results of Zeek's own test
// testing/btest/scripts/base/protocols/conn/conn_state-RST-behavior.zeek
// (Baseline/scripts.base.protocols.conn.conn_state-RST-behavior/out).
func TestConnState(t *testing.T) {
	// ports: A is the server on 80 (likely), B a client on 51000.
	serverFirst := &[4]uint16{80, 51000, 1, 0}
	tests := []struct {
		name    string
		segs    []zseg
		ports   *[4]uint16
		state   string
		history string
		origIsA bool
	}{
		{
			// Both endpoints end TCP_CLOSED. Letters: S h A D a d F f; the
			// last ACK repeats 'A' (logged once).
			name: "normal close SF",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zPA, len: 10, seq: zISN + 1, ack: zIRS + 1},
				{a: false, flags: zA, seq: zIRS + 1, ack: zISN + 11},
				{a: false, flags: zPA, len: 20, seq: zIRS + 1, ack: zISN + 11},
				{a: true, flags: zA, seq: zISN + 11, ack: zIRS + 21},
				{a: true, flags: zFA, seq: zISN + 11, ack: zIRS + 21},
				{a: false, flags: zFA, seq: zIRS + 21, ack: zISN + 12},
				{a: true, flags: zA, seq: zISN + 12, ack: zIRS + 22},
			}),
			state: "SF", history: "ShADadFf", origIsA: true,
		},
		{
			// Responder RST while the originator is TCP_SYN_SENT.
			name: "refused REJ",
			segs: []zseg{
				{a: true, flags: zS, seq: zISN},
				{a: false, flags: zRA, seq: 0, ack: zISN + 1},
			},
			state: "REJ", history: "Sr", origIsA: true,
		},
		{
			// The retransmitted SYN has the same relative seq (0): no
			// second 'S'.
			name: "S0 with SYN retransmission",
			segs: []zseg{
				{a: true, flags: zS, seq: zISN},
				{a: true, flags: zS, seq: zISN},
			},
			state: "S0", history: "S", origIsA: true,
		},
		{
			name: "S1 established",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zPA, len: 5, seq: zISN + 1, ack: zIRS + 1},
				{a: false, flags: zPA, len: 5, seq: zIRS + 1, ack: zISN + 6},
			}),
			state: "S1", history: "ShADd", origIsA: true,
		},
		{
			name:  "S2 originator FIN only",
			segs:  zcat(zHandshake, []zseg{{a: true, flags: zFA, seq: zISN + 1, ack: zIRS + 1}}),
			state: "S2", history: "ShAF", origIsA: true,
		},
		{
			// The responder's ACK of the FIN is an 'a'.
			name: "S3 responder FIN only",
			segs: zcat(zHandshake, []zseg{
				{a: false, flags: zFA, seq: zIRS + 1, ack: zISN + 1},
				{a: true, flags: zA, seq: zISN + 1, ack: zIRS + 2},
			}),
			state: "S3", history: "ShAf", origIsA: true,
		},
		{
			name:  "RSTO",
			segs:  zcat(zHandshake, []zseg{{a: true, flags: zRA, seq: zISN + 1, ack: zIRS + 1}}),
			state: "RSTO", history: "ShAR", origIsA: true,
		},
		{
			name:  "RSTR",
			segs:  zcat(zHandshake, []zseg{{a: false, flags: zR, seq: zIRS + 1}}),
			state: "RSTR", history: "ShAr", origIsA: true,
		},
		{
			name:  "baseline single RST: OTH",
			segs:  []zseg{{a: true, flags: zR, seq: zISN}},
			state: "OTH", history: "R", origIsA: true,
		},
		{
			name:  "baseline SYN then RST: RSTOS0",
			segs:  []zseg{{a: true, flags: zS, seq: zISN}, {a: true, flags: zR, seq: zISN + 1}},
			state: "RSTOS0", history: "SR", origIsA: true,
		},
		{
			// The responder's bare ACK of the SYN leaves it TCP_INACTIVE
			// (the "eccentric TCP" rule of UpdateInactiveState).
			name: "baseline SYN, ACK, RST: RSTOS0",
			segs: []zseg{
				{a: true, flags: zS, seq: zISN},
				{a: false, flags: zA, seq: zIRS, ack: zISN + 1},
				{a: true, flags: zR, seq: zISN + 1},
			},
			state: "RSTOS0", history: "SaR", origIsA: true,
		},
		{
			// The originator's FIN moves it to CLOSED, its RST to RESET;
			// 'F' before 'R' fails the RSTOS0 pattern.
			name: "baseline SYN, ACK, FIN, RST: OTH",
			segs: []zseg{
				{a: true, flags: zS, seq: zISN},
				{a: false, flags: zA, seq: zIRS, ack: zISN + 1},
				{a: true, flags: zFA, seq: zISN + 1, ack: zIRS},
				{a: true, flags: zR, seq: zISN + 2},
			},
			state: "OTH", history: "SaFR", origIsA: true,
		},
		{
			// SYN-ACK from port 80 to a non-server port: WantConnection
			// flips (history starts with '^'); the responder goes
			// ESTABLISHED on its SYN-ACK, then RESET; the originator
			// never spoke.
			name: "RSTRH",
			segs: []zseg{
				{a: true, flags: zSA, seq: zIRS, ack: zISN + 1},
				{a: true, flags: zR, seq: zIRS + 1},
			},
			ports: serverFirst,
			state: "RSTRH", history: "^hr", origIsA: false,
		},
		{
			// Same packets without port knowledge: A is the originator,
			// TCP_SYN_ACK_SENT then TCP_RESET; the pattern needs an 'S'.
			name: "SYN-ACK then RST without flip: OTH",
			segs: []zseg{
				{a: true, flags: zSA, seq: zIRS, ack: zISN + 1},
				{a: true, flags: zR, seq: zIRS + 1},
			},
			state: "OTH", history: "HR", origIsA: true,
		},
		{
			name:  "SH",
			segs:  []zseg{{a: true, flags: zS, seq: zISN}, {a: true, flags: zFA, seq: zISN + 1}},
			state: "SH", history: "SF", origIsA: true,
		},
		{
			name: "SHR",
			segs: []zseg{
				{a: true, flags: zSA, seq: zIRS, ack: zISN + 1},
				{a: true, flags: zFA, seq: zIRS + 1, ack: zISN + 1},
			},
			ports: serverFirst,
			state: "SHR", history: "^hf", origIsA: false,
		},
		{
			// Both sides TCP_PARTIAL.
			name: "mid-stream OTH",
			segs: []zseg{
				{a: true, flags: zPA, len: 100, seq: 7000, ack: 9000},
				{a: false, flags: zA, seq: 9000, ack: 7100},
			},
			state: "OTH", history: "Da", origIsA: true,
		},
		{
			// Both ports likely servers, no SYN, src port < dst port:
			// flip. A's data is now the responder's 'd', B's ACK the
			// originator's 'A'.
			name: "mid-stream flip by ports",
			segs: []zseg{
				{a: true, flags: zPA, len: 100, seq: 7000, ack: 9000},
				{a: false, flags: zA, seq: 9000, ack: 7100},
			},
			ports: &[4]uint16{25, 80, 1, 1},
			state: "OTH", history: "^dA", origIsA: false,
		},
		{
			// SYN-ACK before its SYN (UpdateInactiveState's reversal):
			// 'H' is logged as originator's, then the SYN as 's', then
			// the flip '^'; both end ESTABLISHED.
			name: "SYN-ACK first then SYN: flip",
			segs: []zseg{
				{a: true, flags: zSA, seq: zIRS, ack: zISN + 1},
				{a: false, flags: zS, seq: zISN},
				{a: false, flags: zA, seq: zISN + 1, ack: zIRS + 1},
			},
			state: "S1", history: "Hs^A", origIsA: false,
		},
		{
			// FIN then RST from the originator while the responder is
			// still established: UpdateClosedState moves it to RESET.
			name: "FIN then RST",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zFA, seq: zISN + 1, ack: zIRS + 1},
				{a: false, flags: zA, seq: zIRS + 1, ack: zISN + 2},
				{a: true, flags: zR, seq: zISN + 2},
			}),
			state: "RSTO", history: "ShAFaR", origIsA: true,
		},
		{
			// The responder's later FIN turns the originator's RESET
			// (previous state CLOSED) back into CLOSED.
			name: "FIN, RST, then peer FIN: SF",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zFA, seq: zISN + 1, ack: zIRS + 1},
				{a: true, flags: zR, seq: zISN + 2},
				{a: false, flags: zFA, seq: zIRS + 1, ack: zISN + 2},
			}),
			state: "SF", history: "ShAFRf", origIsA: true,
		},
		{
			// After both FINs a RST does not change CLOSED.
			name: "RST after both FINs: SF",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zFA, seq: zISN + 1, ack: zIRS + 1},
				{a: false, flags: zFA, seq: zIRS + 1, ack: zISN + 2},
				{a: true, flags: zR, seq: zISN + 2},
			}),
			state: "SF", history: "ShAFfR", origIsA: true,
		},
		{
			// Both RESET with zero sizes: REJ by the size rule.
			name: "both RST, no data: REJ",
			segs: []zseg{
				{a: true, flags: zS, seq: zISN},
				{a: true, flags: zR, seq: zISN + 1},
				{a: false, flags: zRA, seq: zIRS, ack: zISN + 1},
			},
			state: "REJ", history: "SRr", origIsA: true,
		},
		{
			// Same, but the originator had sent data: sizes are not 0,
			// so RSTR.
			name: "both RST after data: RSTR",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zPA, len: 10, seq: zISN + 1, ack: zIRS + 1},
				{a: true, flags: zRA, seq: zISN + 11, ack: zIRS + 1},
				{a: false, flags: zR, seq: zIRS + 1},
			}),
			state: "RSTR", history: "ShADRr", origIsA: true,
		},
		{
			// Retransmitted payload: 'T' at the 1st and the 10th time.
			name:  "retransmissions logged at 1 and 10",
			segs:  zcat(zHandshake, zrepeat(zseg{a: true, flags: zPA, len: 10, seq: zISN + 1, ack: zIRS + 1}, 11)),
			state: "S1", history: "ShADTT", origIsA: true,
		},
		{
			// Zero window from the responder ('w'); a zero window on a
			// RST is not logged.
			name: "zero window",
			segs: zcat(zHandshake, []zseg{
				{a: false, flags: zA, seq: zIRS + 1, ack: zISN + 1, win: 0xffff},
				{a: false, flags: zRA, seq: zIRS + 1, ack: zISN + 1, win: 0xffff},
			}),
			state: "RSTR", history: "ShAawr", origIsA: true,
		},
		{
			// FINs at different sequence numbers are both logged; a
			// retransmitted FIN is not. Data on a FIN gives no 'D'
			// (update_history looks at data only without SYN/FIN/RST).
			name: "two FINs at different seqs",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zFA, seq: zISN + 1, ack: zIRS + 1},
				{a: true, flags: zFA, seq: zISN + 1, ack: zIRS + 1},
				{a: true, flags: zFA | flow.PSH, len: 4, seq: zISN + 1, ack: zIRS + 1},
			}),
			state: "S2", history: "ShAFF", origIsA: true,
		},
		{
			// A FIN's history position is the sequence number after its
			// data: a bare FIN retransmitted at that position adds no 'F'
			// and, carrying no payload, no 'T'.
			name: "FIN with data then bare FIN at the same end",
			segs: zcat(zHandshake, []zseg{
				{a: true, flags: zFA | flow.PSH, len: 4, seq: zISN + 1, ack: zIRS + 1},
				{a: true, flags: zFA, seq: zISN + 5, ack: zIRS + 1},
			}),
			state: "S2", history: "ShAF", origIsA: true,
		},
		{
			// The responder ACKs the SYN before its SYN-ACK: that bare
			// ACK leaves it TCP_INACTIVE (UpdateInactiveState), so the
			// SYN-ACK still establishes both sides.
			name: "ACK before SYN-ACK",
			segs: []zseg{
				{a: true, flags: zS, seq: zISN},
				{a: false, flags: zA, seq: zIRS, ack: zISN + 1},
				{a: false, flags: zSA, seq: zIRS, ack: zISN + 1},
				{a: true, flags: zA, seq: zISN + 1, ack: zIRS + 1},
			},
			state: "S1", history: "SahA", origIsA: true,
		},
		{
			// SYN+FIN is 'Q' (multi-flag), FIN+RST is 'I'.
			name: "Q and I",
			segs: []zseg{
				{a: true, flags: zS | flow.FIN, seq: zISN},
				{a: false, flags: zR | flow.FIN, seq: zIRS},
			},
			// SYN|FIN: TCP_SYN_SENT then TCP_CLOSED; FIN|RST from the
			// responder: TCP_CLOSED then TCP_RESET. The originator is
			// not in a SYN state any more, so RSTR, not REJ.
			state: "RSTR", history: "Qi", origIsA: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := zrun(t, tc.segs, tc.ports)
			o, r := z.States()
			if got := z.ConnState(); got != tc.state {
				t.Errorf("ConnState = %q, want %q (orig %s, resp %s)", got, tc.state, o, r)
			}
			if got := z.History(); got != tc.history {
				t.Errorf("History = %q, want %q", got, tc.history)
			}
			if got := z.OrigIsA(); got != tc.origIsA {
				t.Errorf("OrigIsA = %v, want %v", got, tc.origIsA)
			}
		})
	}
}

func zrepeat(s zseg, n int) []zseg {
	out := make([]zseg, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// zSF is the normal-close script of TestConnState with A's ISN isn.
func zSF(isn, irs uint32) []zseg {
	return []zseg{
		{a: true, flags: zS, seq: isn},
		{a: false, flags: zSA, seq: irs, ack: isn + 1},
		{a: true, flags: zA, seq: isn + 1, ack: irs + 1},
		{a: true, flags: zPA, len: 10, seq: isn + 1, ack: irs + 1},
		{a: false, flags: zPA, len: 20, seq: irs + 1, ack: isn + 11},
		{a: true, flags: zFA, seq: isn + 11, ack: irs + 21},
		{a: false, flags: zFA, seq: irs + 21, ack: isn + 12},
		{a: true, flags: zA, seq: isn + 12, ack: irs + 22},
	}
}

// TestSizes checks orig_bytes/resp_bytes (TCP_Endpoint::Size: the
// sequence space less the SYN and FIN octets), including across the 2^32
// wrap, where Zeek counts wraps in UpdateLastSeq/UpdateAckSeq.
func TestSizes(t *testing.T) {
	for _, isn := range []uint32{zISN, 0xfffffff8, 0xffffffff} {
		z := zrun(t, zSF(isn, 0xfffffffe), nil)
		o, r := z.Sizes()
		if o != 10 || r != 20 {
			t.Errorf("isn %#x: sizes = %d, %d, want 10, 20", isn, o, r)
		}
		if z.ConnState() != "SF" || z.History() != "ShADdFf" {
			t.Errorf("isn %#x: %s %q, want SF ShADdFf", isn, z.ConnState(), z.History())
		}
	}
}

// TestReuse follows TCPSessionAdapter::IsReuse.
func TestReuse(t *testing.T) {
	var zero Conn
	if zero.Reuse(true, zS, zISN) {
		t.Error("zero Conn: Reuse = true")
	}
	if zero.ConnState() != "" || zero.History() != "" {
		t.Error("zero Conn: want empty state and history")
	}

	attempt := zrun(t, []zseg{{a: true, flags: zS, seq: zISN}}, nil)
	if attempt.Reuse(true, zS, zISN) {
		t.Error("retransmitted SYN: Reuse = true, want false")
	}
	if !attempt.Reuse(true, zS, zISN+100000) {
		t.Error("SYN with a new ISN on an open attempt: Reuse = false, want true (SYN_seq_jump)")
	}
	if attempt.Reuse(true, zA, zISN+1) {
		t.Error("ACK: Reuse = true, want false")
	}

	done := zrun(t, zSF(zISN, zIRS), nil)
	if !done.Reuse(true, zS, zISN+7777) {
		t.Error("SYN after close: Reuse = false, want true")
	}
	if done.Reuse(false, zSA, zIRS) {
		t.Error("SYN-ACK when the originator is active: Reuse = true, want false")
	}

	// SYN-ACK seen first, then its SYN with the ISN the SYN-ACK acked:
	// not a reuse (the flipped-order case).
	synack := zrun(t, []zseg{{a: true, flags: zSA, seq: zIRS, ack: zISN + 1}}, nil)
	if synack.Reuse(false, zS, zISN) {
		t.Error("SYN after its SYN-ACK: Reuse = true, want false")
	}
	if !synack.Reuse(false, zS, zISN+5) {
		t.Error("SYN not matching the SYN-ACK's ack: Reuse = false, want true")
	}
}

// TestHistoryOverflow: a history longer than the buffer is reported
// as unknown rather than truncated.
func TestHistoryOverflow(t *testing.T) {
	segs := append([]zseg(nil), zHandshake...)
	for i := uint32(0); i < historyCap; i++ {
		segs = append(segs, zseg{a: true, flags: zR, seq: zISN + 1 + i})
	}
	z := zrun(t, segs, nil)
	if h := z.History(); h != "" {
		t.Errorf("History = %q (len %d), want \"\" after overflow", h, len(h))
	}
	if z.ConnState() != "RSTO" {
		t.Errorf("ConnState = %q, want RSTO", z.ConnState())
	}
}

func TestObserveAllocs(t *testing.T) {
	segs := zSF(zISN, zIRS)
	var z Conn
	allocs := testing.AllocsPerRun(100, func() {
		z = Conn{}
		for i := range segs {
			s := &segs[i]
			z.Observe(s.a, s.flags, s.len, flow.Seq(s.seq), flow.Seq(s.ack))
		}
		_ = z.ConnState()
	})
	if allocs != 0 {
		t.Errorf("Observe+ConnState allocate %.1f times per connection, want 0", allocs)
	}
}

func BenchmarkObserve(b *testing.B) {
	segs := zSF(zISN, zIRS)
	b.ReportAllocs()
	var z Conn
	for b.Loop() {
		z = Conn{}
		for i := range segs {
			s := &segs[i]
			z.Observe(s.a, s.flags, s.len, flow.Seq(s.seq), flow.Seq(s.ack))
		}
	}
	_ = z.ConnState()
}

// TestScaleThr pins the thresholds ScaledHistoryEntry's uint32 takes.
func TestScaleThr(t *testing.T) {
	want := []uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 1410065408}
	if !slices.Equal(scaleThr, want) {
		t.Errorf("scaleThr = %v, want %v", scaleThr, want)
	}
}

// TestConnSize keeps Conn at 192 octets: the analyzer holds one per flow.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 192 {
		t.Errorf("Conn is %d octets, over 192", n)
	}
}
