package analyzer

import (
	"slices"
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

// run feeds segs through a new Analyzer with cfg and returns the
// teardowns, in the order they finished.
func run(t *testing.T, cfg Config, segs ...*flow.Segment) []*Teardown {
	t.Helper()
	var got []*Teardown
	a := New(cfg, func(td *Teardown) { got = append(got, td) })
	for _, sg := range segs {
		a.Segment(sg)
	}
	a.Close()
	return got
}

func labelOf(td *Teardown, frame int64) (Label, string) {
	for _, s := range td.Segments {
		if s.Frame == frame {
			return s.Label, s.Explain
		}
	}
	return NoLabel, ""
}

func findKind(td *Teardown, k Kind) *Anomaly {
	for i := range td.Anomalies {
		if td.Anomalies[i].Kind == k {
			return &td.Anomalies[i]
		}
	}
	return nil
}

// established connection 100/900 with 10 octets each way, then an
// injected SYN from the client's address at seq, and the server's answer.
func inWindowSyn(w *wire, seq flow.Seq) []*flow.Segment {
	c, s := clientN(3), server80
	return []*flow.Segment{
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, ack|flow.PSH, 101, 901, 10), w.seg(s, c, ack|flow.PSH, 901, 111, 10), w.seg(c, s, ack, 111, 911, 0),
		w.seg(c, s, syn, seq, 0, 0),   // frame 7: injected
		w.seg(s, c, ack, 911, 111, 0), // frame 8: the server's challenge ACK
		w.seg(c, s, ack|flow.PSH, 111, 911, 10), w.seg(s, c, ack, 911, 121, 0),
		w.seg(c, s, finack, 121, 911, 0), w.seg(s, c, finack, 911, 122, 0), w.seg(c, s, ack, 122, 912, 0),
	}
}

// TestEstablished_inWindowSyn_challengeAck: a SYN in the server's receive
// window on an established connection (RFC 5961 §4.2) stays in the flow
// although Wireshark starts a new tcp.stream there; the flow takes that
// id too; the server's answer is a challenge ACK; no state changes.
func TestEstablished_inWindowSyn_challengeAck(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	got := run(t, DefaultConfig(), inWindowSyn(w, 5000)...)
	if len(got) != 1 {
		t.Fatalf("%d flows, want 1 (the SYN split the connection)", len(got))
	}
	td := got[0]
	if td.Stream != 0 || !slices.Equal(td.Streams, []flow.StreamStart{{ID: 1, Frame: 7}}) {
		t.Errorf("stream %d, further streams %v; want 0, [{1 7}]", td.Stream, td.Streams)
	}
	if l, why := labelOf(td, 7); l != SYNLabel || !strings.Contains(why, "RFC 5961 §4.2") {
		t.Errorf("frame 7: %v %q, want syn (RFC 5961 §4.2)", l, why)
	}
	if l, why := labelOf(td, 8); l != ChallengeACK || !strings.Contains(why, "SYN") {
		t.Errorf("frame 8: %v %q, want challenge-ack answering the SYN", l, why)
	}
	an := findKind(td, SYNOnEstablished)
	if an == nil || an.Endpoint != Server || !slices.Equal(an.Frames, []int64{7}) {
		t.Fatalf("syn-on-established: %+v, want the server's, frame 7", an)
	}
	for _, sg := range td.Segments {
		if sg.Frame == 7 || sg.Frame == 8 {
			if len(sg.Changes) != 0 {
				t.Errorf("frame %d changed %+v, want no change", sg.Frame, sg.Changes)
			}
		}
	}
	if td.Pattern != PatternFourWay && td.Pattern != PatternThreeWay || td.ClientEnd.State != TimeWait || td.ServerEnd.State != Closed {
		t.Errorf("pattern %v, client %v server %v: the close after the SYN was not followed", td.Pattern, td.ClientEnd.State, td.ServerEnd.State)
	}
	if b := td.Counters[Server][TcpExtTCPSYNChallenge]; b.Min != 1 || b.Max != 1 {
		t.Errorf("server TcpExtTCPSYNChallenge %+v, want 1", b)
	}
	if b := td.Counters[Server][TcpExtTCPChallengeACK]; b.Min != 1 || b.Max != 1 {
		t.Errorf("server TcpExtTCPChallengeACK %+v, want 1", b)
	}
}

// TestEstablished_inWindowSyn_RFC793Resets: RFC 793 p.71 resets the
// connection on an in-window SYN (the profile without ChallengeACK).
func TestEstablished_inWindowSyn_RFC793Resets(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.Profile = &RFC793
	segs := inWindowSyn(w, 5000)[:7]
	got := run(t, cfg, segs...)
	if len(got) != 1 || got[0].ServerEnd.State != Closed || findKind(got[0], SYNOnEstablished) == nil {
		t.Fatalf("flows %d; want one, the server CLOSED by the SYN, with syn-on-established", len(got))
	}
}

// TestEstablished_farSyn_newFlow: a SYN with an ISN far outside the
// window is a new connection (a peer that lost its state, port reuse):
// Wireshark's split stands.
func TestEstablished_farSyn_newFlow(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	segs := inWindowSyn(w, 0x80000000)[:7]
	got := run(t, DefaultConfig(), segs...)
	if len(got) != 2 || got[0].Stream != 0 || got[1].Stream != 1 || len(got[0].Streams) != 0 {
		t.Fatalf("%d flows, want 2 with streams 0 and 1", len(got))
	}
	if findKind(got[0], SYNOnEstablished) != nil || findKind(got[1], SYNOnEstablished) != nil {
		t.Error("syn-on-established on a new connection")
	}
}

// TestClosed_inWindowSyn_newFlow: after the connection was reset, even a
// SYN in the old window starts a new flow (nothing is synchronized).
func TestClosed_inWindowSyn_newFlow(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(4), server80
	got := run(t, DefaultConfig(),
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, rstack, 101, 901, 0),
		w.seg(c, s, syn, 200, 0, 0), w.seg(s, c, synack, 3000, 201, 0))
	if len(got) != 2 {
		t.Fatalf("%d flows, want 2", len(got))
	}
}
