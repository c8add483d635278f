package analyzer

import (
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

// rejectedReuse: the server closes first and holds TIME_WAIT (its
// rcv_nxt 1102); 300 ms later the client reconnects from the same port
// with ISN 1000, not after it and without timestamps. Frames 7..: the
// SYN, the TIME_WAIT's ACK of the old connection, the client's RST from
// SYN_SENT at that ACK's ack, then (again) per round.
func rejectedReuse(w *wire, rounds int, accepted bool) []*flow.Segment {
	c, s := clientN(9), server80
	segs := []*flow.Segment{
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack|flow.PSH, 101, 901, 1000),
		w.seg(s, c, finack, 901, 1101, 0), w.seg(c, s, finack, 1101, 902, 0), w.seg(s, c, ack, 902, 1102, 0),
	}
	w.now = w.now.Add(300 * time.Millisecond)
	for range rounds {
		segs = append(segs, w.seg(c, s, syn, 1000, 0, 0), w.seg(s, c, ack, 902, 1102, 0), w.seg(c, s, rst, 1102, 0, 0))
	}
	if accepted {
		segs = append(segs, w.seg(c, s, syn, 1000, 0, 0), w.seg(s, c, synack, 5000, 1001, 0), w.seg(c, s, ack, 1001, 5001, 0))
	}
	return segs
}

func wantLabels(t *testing.T, td *Teardown, want map[int64]Label) {
	t.Helper()
	for f, l := range want {
		if got, _ := labelOf(td, f); got != l {
			t.Errorf("frame %d labelled %q, want %q", f, got, l)
		}
	}
}

// TestTimeWait_rejectedReuse_assassination: the TIME_WAIT answers the
// SYN with an ACK of the old connection, the client's RST from SYN_SENT
// (exact for the old connection) kills it, and the SYN sent again is
// accepted. Every segment is labelled; no rst-out-of-window.
func TestTimeWait_rejectedReuse_assassination(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	got := run(t, DefaultConfig(), rejectedReuse(w, 1, true)...)
	if len(got) != 2 {
		t.Fatalf("%d flows, want 2", len(got))
	}
	td := got[1]
	wantLabels(t, td, map[int64]Label{7: SYNRejected, 8: TimeWaitReject, 9: RST, 10: SYNLabel})
	if _, why := labelOf(td, 9); !strings.Contains(why, "SYN_SENT") {
		t.Errorf("frame 9 explained %q, want the RST from SYN_SENT", why)
	}
	wantAnomalies(t, td, "server syn-in-time-wait", "server time-wait-assassination")
	a := findKind(td, SYNInTimeWait)
	if !strings.Contains(a.Detail, "connected") || !strings.Contains(a.Detail, "assassination") {
		t.Errorf("syn-in-time-wait detail does not give the outcome: %s", a.Detail)
	}
	if a := findKind(td, TimeWaitAssassination); !strings.Contains(a.Detail, "SYN_SENT") {
		t.Errorf("assassination detail does not name the client's RST from SYN_SENT: %s", a.Detail)
	}
	if td.ClientEnd.State != Established || td.ServerEnd.State != Established {
		t.Errorf("end states client %v server %v, want ESTABLISHED both", td.ClientEnd.State, td.ServerEnd.State)
	}
	var killed bool
	for _, sg := range td.Segments {
		for _, ch := range sg.Changes {
			if sg.Frame == 9 && ch.Side == Server && ch.From == TimeWait && ch.To == Closed {
				killed = !ch.Tentative
			}
			if sg.Frame == 9 && ch.Side == Client {
				t.Errorf("the client changed state on its RST from SYN_SENT: %+v", ch)
			}
		}
	}
	if !killed {
		t.Error("no confirmed TIME_WAIT → CLOSED of the server at the RST")
	}
}

// TestTimeWait_rejectedReuse_rfc1337: with tcp_rfc1337=1 the TIME_WAIT
// ignores the RST and rejects the SYN again; the reuse has not connected
// when the capture ends.
func TestTimeWait_rejectedReuse_rfc1337(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.RFC1337 = true
	got := run(t, cfg, rejectedReuse(w, 2, false)...)
	if len(got) != 2 {
		t.Fatalf("%d flows, want 2", len(got))
	}
	td := got[1]
	wantLabels(t, td, map[int64]Label{7: SYNRejected, 8: TimeWaitReject, 9: RST, 10: SYNRejected, 11: TimeWaitReject, 12: RST})
	wantAnomalies(t, td, "server syn-in-time-wait")
	if a := findKind(td, SYNInTimeWait); !strings.Contains(a.Detail, "ignored the RST") {
		t.Errorf("detail: %s", a.Detail)
	}
	if td.ServerEnd.State != TimeWait || td.ClientEnd.State != SynSent {
		t.Errorf("end states client %v server %v, want SYN_SENT, TIME_WAIT", td.ClientEnd.State, td.ServerEnd.State)
	}
}

// TestTimeWait_rejectedReuse_rfc1337Unknown: without --rfc1337 the first
// RST is taken for an assassination, until the TIME_WAIT answers the
// next SYN again: it ignored the RST (tcp_rfc1337=1 on its host), and
// the assassination is withdrawn.
func TestTimeWait_rejectedReuse_rfc1337Unknown(t *testing.T) {
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	got := run(t, DefaultConfig(), rejectedReuse(w, 2, false)...)
	if len(got) != 2 {
		t.Fatalf("%d flows, want 2", len(got))
	}
	td := got[1]
	wantLabels(t, td, map[int64]Label{7: SYNRejected, 8: TimeWaitReject, 9: RST, 10: SYNRejected, 11: TimeWaitReject, 12: RST})
	wantAnomalies(t, td, "server syn-in-time-wait")
	if td.ServerEnd.State != TimeWait || td.ClientEnd.State != SynSent {
		t.Errorf("end states client %v server %v, want SYN_SENT, TIME_WAIT", td.ClientEnd.State, td.ServerEnd.State)
	}
}
