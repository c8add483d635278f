package analyzer

import (
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

// Forged resets (fingerprint.go): each test plays a connection with the
// sim, whose segments all carry TTL 0 unless set, and a RST in one side's
// name.

// rstAt is a bare RST from side from at its next sequence number.
func (s *sim) rstAt(from Side, ttl uint8) *flow.Segment {
	return s.inject(from, &flow.Segment{Src: s.ep[from], Dst: s.ep[from.Peer()], Seq: s.next[from], Flags: rst, TTL: ttl})
}

func forgedOf(td *Teardown, k Kind) *Anomaly {
	for i := range td.Anomalies {
		if td.Anomalies[i].Kind == k {
			return &td.Anomalies[i]
		}
	}
	return nil
}

// A RST at exactly the client's rcv_nxt in the server's name, after which
// the server goes on sending: the client was reset, the server was not.
func TestEstablished_forgedExactRstServerKeepsSending(t *testing.T) {
	s := established(t)
	s.send(Client, flow.PSH|ack, 100)
	s.send(Server, flow.PSH|ack, 500)
	s.send(Client, ack, 0)
	forged := s.rstAt(Server, 0)
	s.wantStates(Closed, Closed) // taken for the server's abort, until...
	s.wait(10 * time.Millisecond)
	more := s.send(Server, flow.PSH|ack, 500)
	s.wantStates(Closed, Established)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-forged")
	s.wantLabel(td, forged.Frame, RST)
	s.wantLabel(td, more.Frame, AfterOwnRST)
	a := forgedOf(td, RSTForged)
	if a == nil || !strings.Contains(a.Detail, "went on sending afterwards (frame 8)") {
		t.Errorf("detail does not give the proof: %+v", a)
	}
	if td.Closer == CloserServer {
		t.Error("closer: the server did not close")
	}
	for _, seg := range td.Segments {
		for _, ch := range seg.Changes {
			if ch.Side == Server && ch.To == Closed && !ch.Undone {
				t.Errorf("the server's change to CLOSED at frame %d stands", seg.Frame)
			}
		}
	}
}

// The same RST, but the server sends nothing afterwards: nothing proves
// it forged (a linger-0 abort looks the same), so it is not called so.
func TestEstablished_exactRstServerSilentAfter(t *testing.T) {
	s := established(t)
	s.send(Client, flow.PSH|ack, 100)
	s.send(Server, flow.PSH|ack, 500)
	s.send(Client, ack, 0)
	s.rstAt(Server, 0)
	td := s.finish(time.Second)
	if td.HasAnomaly(RSTForged) {
		t.Error("a RST nothing contradicts was called forged")
	}
}

// A RST whose TTL no other segment of its claimed sender had: another
// hop count, from another place on the path. The server's state stays.
func TestEstablished_forgedRstOtherHopCount(t *testing.T) {
	s := established(t)
	s.send(Client, flow.PSH|ack, 100)
	s.send(Server, flow.PSH|ack, 500)
	s.send(Server, flow.PSH|ack, 500)
	s.send(Client, ack, 0)
	s.rstAt(Server, 61)
	s.wantStates(Closed, Established)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-forged")
	if a := forgedOf(td, RSTForged); a == nil || !strings.Contains(a.Detail, "its TTL (hop limit) was 61 where the server's 3 other segments all had 0") {
		t.Errorf("detail: %+v", a)
	}
}

// Linux's own RSTs from no socket carry no timestamps, no DF and IP ID 0
// (tcp_v4_send_reset, ip_send_unicast_reply): with the TTL of the data,
// none of that makes a RST forged.
func TestEstablished_rstWithoutOptionsNotForged(t *testing.T) {
	s := established(t)
	for i := range 3 {
		seg := &flow.Segment{Src: s.ep[Server], Dst: s.ep[Client], Seq: s.next[Server], Ack: s.rcvd[Server], Flags: flow.PSH | ack, Len: 100,
			Window: 65535, TTL: 64, DF: true, HasTS: true, IPID: uint16(0x410 + i)}
		s.inject(Server, seg)
	}
	s.inject(Server, &flow.Segment{Src: s.ep[Server], Dst: s.ep[Client], Seq: s.next[Server], Flags: rst, TTL: 64})
	td := s.finish(time.Second)
	if td.HasAnomaly(RSTForged) {
		t.Error("a RST differing only in options, DF and IP ID was called forged")
	}
}

// A middlebox forgot the connection after 350 s idle and resets the
// client's next request in the server's name, from its own hop count.
func TestEstablished_forgedRstAfterNATIdleTimeout(t *testing.T) {
	s := established(t)
	s.send(Client, flow.PSH|ack, 100)
	s.send(Server, flow.PSH|ack, 500)
	s.send(Client, ack, 0)
	s.send(Server, flow.PSH|ack, 500)
	s.wait(351 * time.Second)
	s.send(Client, flow.PSH|ack, 100)
	s.rstAt(Server, 250)
	td := s.finish(0)
	a := forgedOf(td, RSTForged)
	if a == nil || !strings.Contains(a.Detail, "idle 351.0 s, which matches the idle timeout of AWS NAT gateways and Network Load Balancers (350 s)") {
		t.Errorf("detail: %+v", a)
	}
}

func TestMiddleboxIdle(t *testing.T) {
	tol := idleTolerance(50 * time.Millisecond)
	for _, tc := range []struct {
		idle time.Duration
		want int
	}{
		{240 * time.Second, 0},
		{242 * time.Second, 0},
		{350*time.Second + 500*time.Millisecond, 1},
		{598 * time.Second, 2},
		{1203 * time.Second, 3},
		{300 * time.Second, -1},
		{355 * time.Second, -1},
		{60 * time.Second, -1},
	} {
		if got := middleboxIdle(tc.idle, tol); got != tc.want {
			t.Errorf("middleboxIdle(%v) = %d, want %d", tc.idle, got, tc.want)
		}
	}
}

// A forged RST closes both sides in the machines (the client took it, the
// server was taken to have sent it) until the server speaks again: the
// flow table's done deadline must not cut the flow while the server goes
// on sending past the grace.
func TestAnalyzer_forgedRstFlowNotCutShort(t *testing.T) {
	var got []*Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(7), server80
	for _, sg := range []*flow.Segment{w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, flow.PSH|ack, 101, 901, 10), w.seg(s, c, flow.PSH|ack, 901, 111, 10), w.seg(c, s, ack, 111, 911, 0),
		w.seg(s, c, rst, 911, 0, 0), // forged: the server goes on below
		w.seg(s, c, flow.PSH|ack, 911, 111, 10)} {
		a.Segment(sg)
	}
	w.now = w.now.Add(3 * time.Second) // past the 2 s grace
	a.Segment(w.seg(s, c, flow.PSH|ack, 911, 111, 10))
	a.Segment(w.seg(c, s, rst, 111, 0, 0))
	a.Close()
	if len(got) != 1 {
		t.Fatalf("%d teardowns, want 1: the server's later data was cut into a new flow", len(got))
	}
	if !got[0].HasAnomaly(RSTForged) || got[0].HasAnomaly(RSTLingerZero) {
		t.Errorf("anomalies %+v, want rst-forged and no abort of the server", got[0].Anomalies)
	}
}
