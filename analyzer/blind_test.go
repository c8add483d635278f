package analyzer

import (
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

// blindSegs: an established connection 100/900 with 10 octets each way,
// then 10 octets from the client's address at its next seq (111) with
// ack, the server's answer, the client's real 10 octets at the same seq
// and an orderly close, client first.
func blindSegs(w *wire, old flow.Seq) []*flow.Segment {
	c, s := clientN(4), server80
	return []*flow.Segment{
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, ack|flow.PSH, 101, 901, 10), w.seg(s, c, ack|flow.PSH, 901, 111, 10), w.seg(c, s, ack, 111, 911, 0),
		w.seg(c, s, ack|flow.PSH, 111, old, 10), // frame 7: injected
		w.seg(s, c, ack, 911, 111, 0),           // frame 8: the server's answer
		w.seg(c, s, ack|flow.PSH, 111, 911, 10), w.seg(s, c, ack, 911, 121, 0),
		w.seg(c, s, finack, 121, 911, 0), w.seg(s, c, finack, 911, 122, 0), w.seg(c, s, ack, 122, 912, 0),
	}
}

// TestEstablished_blindDataTooOldAck_challengeAck: data at the client's
// next seq whose ACK is 2^30 below the server's snd_una (RFC 5961 §5.2,
// tcp_ack's too-old ACK) is discarded: the server's next pure ACK is a
// challenge ACK, the data changes nothing (no anomaly, the close reads
// as if it never came); an ACK merely behind snd_una by less than the
// window (reordering) is not challenged.
func TestEstablished_blindDataTooOldAck_challengeAck(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	got := run(t, DefaultConfig(), blindSegs(w, flow.Seq(911+3<<30))...)
	if len(got) != 1 {
		t.Fatalf("%d flows, want 1", len(got))
	}
	td := got[0]
	if l, why := labelOf(td, 7); l != NoLabel || !strings.Contains(why, "RFC 5961 §5.2") {
		t.Errorf("frame 7: %v %q, want recorded, unlabelled, RFC 5961 §5.2", l, why)
	}
	if l, why := labelOf(td, 8); l != ChallengeACK || !strings.Contains(why, "too-old ACK") {
		t.Errorf("frame 8: %v %q, want challenge-ack answering the too-old ACK", l, why)
	}
	if len(td.Anomalies) != 0 {
		t.Errorf("anomalies %+v, want none", td.Anomalies)
	}
	if l, _ := labelOf(td, 11); l != Wave1 {
		t.Errorf("frame 11: %v, want wave-1", l)
	}

	w = &wire{now: time.Unix(1_700_000_000, 0)}
	td = run(t, DefaultConfig(), blindSegs(w, 905)...)[0]
	if l, why := labelOf(td, 8); l == ChallengeACK || why != "" && strings.Contains(why, "§5.2") {
		t.Errorf("ack 6 behind snd_una: frame 8 %v %q, want no challenge", l, why)
	}
	if l, why := labelOf(td, 7); strings.Contains(why, "§5.2") {
		t.Errorf("ack 6 behind snd_una: frame 7 %v %q, want no RFC 5961 §5.2", l, why)
	}
}

// TestEstablished_blindFinTooOldAck_noCloseWait: a FIN at the client's
// next seq with a too-old ACK is discarded like blind data (tcp_ack
// returns before tcp_fin): the server does not move to CLOSE_WAIT, its
// answer is a challenge ACK, and the client's real FIN later is the
// close's first.
func TestEstablished_blindFinTooOldAck_noCloseWait(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	segs := blindSegs(w, flow.Seq(911+3<<30))
	segs[6].Flags, segs[6].Len = finack, 0
	td := run(t, DefaultConfig(), segs...)[0]
	for _, s := range td.Segments {
		if s.Frame == 7 && (s.Label != NoLabel || len(s.Changes) != 0) {
			t.Errorf("frame 7: %v, changes %+v; want no label, no change", s.Label, s.Changes)
		}
	}
	if l, _ := labelOf(td, 8); l != ChallengeACK {
		t.Errorf("frame 8: %v, want challenge-ack", l)
	}
	if l, _ := labelOf(td, 11); l != Wave1 {
		t.Errorf("frame 11: %v, want wave-1 (the real FIN)", l)
	}
}
