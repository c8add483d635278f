package analyzer

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

const (
	syn    = flow.SYN
	ack    = flow.ACK
	fin    = flow.FIN
	rst    = flow.RST
	finack = flow.FIN | flow.ACK
	rstack = flow.RST | flow.ACK
	synack = flow.SYN | flow.ACK
)

// ===================================================================
// SYN_SENT
// ===================================================================

func TestSynSent_SynAck(t *testing.T) {
	s := newSim(t)
	s.send(Client, syn, 0)
	s.wantStates(SynSent, SynReceived)
	s.send(Server, synack, 0)
	s.wantStates(Established, SynReceived)
	s.send(Client, ack, 0)
	s.wantStates(Established, Established)
}

func TestSynSent_RstAck_refused(t *testing.T) {
	s := newSim(t)
	s.send(Client, syn, 0)
	s.send(Server, rstack, 0)
	s.wantStates(Closed, Closed)
	td := s.finish(0)
	if td.Pattern != PatternRefused || td.Closer != CloserNone {
		t.Errorf("pattern %v closer %v, want refused none", td.Pattern, td.Closer)
	}
	s.wantLabel(td, 1, SYNLabel)
	s.wantLabel(td, 2, RST)
	wantAnomalies(t, td)
}

func TestSynSent_noAnswer(t *testing.T) {
	s := newSim(t)
	s.send(Client, syn, 0)
	s.wait(time.Second)
	s.resend(Client, syn, 1000, 0)
	td := s.finish(0)
	if td.Pattern != PatternUnanswered || td.Closer != CloserNone {
		t.Errorf("pattern %v closer %v, want unanswered none", td.Pattern, td.Closer)
	}
	// The server never answered: no evidence of a SYN_RECV socket.
	if td.ClientEnd.State != SynSent || td.ServerEnd.State != Closed {
		t.Errorf("end states %v %v, want SYN_SENT CLOSED", td.ClientEnd.State, td.ServerEnd.State)
	}
}

// ===================================================================
// ESTABLISHED: the active and passive closes
// ===================================================================

func TestEstablished_Fin_fourWay(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 100)
	s.send(Server, ack|flow.PSH, 300)
	w1 := s.send(Client, finack, 0)
	s.wantStates(FinWait1, CloseWait)
	w2 := s.send(Server, ack, 0)
	s.wantStates(FinWait2, CloseWait)
	w3 := s.send(Server, finack, 0)
	s.wantStates(TimeWait, LastAck)
	w4 := s.send(Client, ack, 0)
	s.wantStates(TimeWait, Closed)
	td := s.finish(time.Second)
	if td.Pattern != PatternFourWay || td.Closer != CloserClient {
		t.Errorf("pattern %v closer %v, want four-way client", td.Pattern, td.Closer)
	}
	s.wantLabel(td, w1.Frame, Wave1)
	s.wantLabel(td, w2.Frame, Wave2)
	s.wantLabel(td, w3.Frame, Wave3)
	s.wantLabel(td, w4.Frame, Wave4)
	wantAnomalies(t, td)
	if td.ClientEnd.State != TimeWait || td.ServerEnd.State != Closed {
		t.Errorf("end states %v %v", td.ClientEnd.State, td.ServerEnd.State)
	}
	if want := w3.Time.Add(60 * time.Second); !td.ClientEnd.Until.Equal(want) {
		t.Errorf("TIME_WAIT until %v, want %v", td.ClientEnd.Until, want)
	}
	if !td.ServerEnd.Tentative {
		t.Errorf("server CLOSED should stay tentative: nothing after the final ACK proves it arrived")
	}
	// wave-1 changes: the sender's first, then the receiver's, tentative.
	ch := td.Segments[0].Changes
	if len(ch) != 2 || ch[0].Side != Client || ch[0].To != FinWait1 || ch[1].Side != Server || ch[1].To != CloseWait {
		t.Fatalf("wave-1 changes %+v", ch)
	}
	if ch[1].Confirmed != w2.Frame || ch[1].Tentative {
		t.Errorf("server's CLOSE_WAIT should be confirmed by its ACK in frame %d: %+v", w2.Frame, ch[1])
	}
}

func TestEstablished_Fin_byServer(t *testing.T) {
	s := established(t)
	s.send(Server, finack, 0)
	s.send(Client, ack, 0)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	s.wantStates(Closed, TimeWait)
	td := s.finish(0)
	if td.Pattern != PatternFourWay || td.Closer != CloserServer {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
}

func TestEstablished_Fin_threeWay(t *testing.T) {
	s := established(t)
	w1 := s.send(Client, finack, 0)
	w23 := s.send(Server, finack, 0)
	s.wantStates(TimeWait, LastAck)
	w4 := s.send(Client, ack, 0)
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	if td.Pattern != PatternThreeWay || td.Closer != CloserClient {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
	s.wantLabel(td, w1.Frame, Wave1)
	s.wantLabel(td, w23.Frame, Wave23)
	s.wantLabel(td, w4.Frame, Wave4)
}

func TestEstablished_Fin_simultaneous(t *testing.T) {
	s := established(t)
	a := s.lose().send(Client, finack, 0) // in flight when the server closes
	b := s.send(Server, finack, 0)        // does not ACK the client's FIN
	s.rcvd[Server] = a.End()              // now the client's FIN arrives
	s.wantStates(Closing, Closing)
	c := s.send(Client, ack, 0)
	d := s.send(Server, ack, 0)
	s.wantStates(TimeWait, TimeWait)
	td := s.finish(0)
	if td.Pattern != PatternSimultaneous || td.Closer != CloserBoth {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
	s.wantLabel(td, a.Frame, Wave1)
	s.wantLabel(td, b.Frame, Wave1)
	s.wantLabel(td, c.Frame, Wave4)
	s.wantLabel(td, d.Frame, Wave4)
	wantAnomalies(t, td, "server simultaneous-close")
	// The client's FIN reached the server only after the server's own FIN
	// left: at frame a the server changed nothing (no lost segment either).
	if ch := td.Segments[0].Changes; len(ch) != 1 || ch[0].Side != Client {
		t.Errorf("frame %d changes %+v, want only the client's", a.Frame, ch)
	}
}

func TestEstablished_Rst_unreadData(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 200) // the server never reads this
	r := s.send(Server, rstack, 0)
	s.wantStates(Closed, Closed)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-unread-data")
	if td.Pattern != PatternReset || td.Closer != CloserServer {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
	s.wantLabel(td, r.Frame, RST)
}

func TestEstablished_Rst_lingerZeroAfterReply(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 100) // request
	s.send(Server, ack|flow.PSH, 900) // the reply the client waited for
	s.send(Client, ack, 0)
	s.send(Client, rstack, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "client rst-linger-zero")
	if td.Closer != CloserClient {
		t.Errorf("closer %v", td.Closer)
	}
}

// A server that spoke first (a banner) and then reset with the client's
// request unread: the server awaited no reply, so the request sat unread
// (only a client that sent a request awaits the server's data).
func TestEstablished_Rst_serverUnreadAfterBanner(t *testing.T) {
	s := established(t)
	s.send(Server, ack|flow.PSH, 50)  // banner
	s.send(Client, ack|flow.PSH, 200) // request, never read
	s.send(Server, rstack, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-unread-data")
}

// The same exchange seen from the client: it sent a request and got the
// reply it waited for, then reset: nothing awaited sits unread.
func TestEstablished_Rst_clientAfterAwaitedReply(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 200) // request
	s.send(Server, ack|flow.PSH, 50)  // the reply
	s.send(Client, rstack, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "client rst-linger-zero")
}

func TestEstablished_Rst_lingerZeroNoData(t *testing.T) {
	s := established(t)
	s.send(Server, rstack, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-linger-zero")
}

func TestEstablished_Rst_outOfWindow(t *testing.T) {
	s := established(t)
	blind := &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server] + 0x40000000, Flags: rst}
	s.inject(Server, blind)
	s.wantStates(Established, Established) // ignored; nothing shows the server sent it
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-out-of-window")
}

func TestEstablished_Rst_inWindowChallenge(t *testing.T) {
	s := established(t)
	inexact := &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server] + 100, Flags: rst}
	s.inject(Server, inexact)
	if s.k.ep[Client].state != Established {
		t.Fatalf("client %v: an inexact RST must be ignored (RFC 5961)", s.k.ep[Client].state)
	}
	ca := s.send(Client, ack, 0)
	td := s.finish(0)
	s.wantLabel(td, ca.Frame, ChallengeACK)
	wantAnomalies(t, td, "server rst-out-of-window")
}

func TestEstablished_Rst_inWindowRFC793Accepts(t *testing.T) {
	s := established(t)
	s.cfg.Profile = &RFC793
	inexact := &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server] + 100, Flags: rst}
	s.inject(Server, inexact)
	if s.k.ep[Client].state != Closed {
		t.Fatalf("client %v: RFC 793 accepts any in-window RST", s.k.ep[Client].state)
	}
}

func TestEstablished_keepAlive(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 10)
	s.wait(75 * time.Second)
	ka := s.resend(Client, ack, s.next[Client]-1, 0)
	td := s.finish(0)
	s.wantLabel(td, ka.Frame, KeepAlive)
}

// ===================================================================
// FIN_WAIT_1 / LAST_ACK: lost segments
// ===================================================================

func TestLastAck_lostFinalAck(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	w3 := s.send(Server, finack, 0)
	w4 := s.lose().send(Client, ack, 0)
	s.wantStates(TimeWait, Closed) // as far as the capture can tell
	s.wait(200 * time.Millisecond)
	rx := s.resend(Server, finack, w3.Seq, 0)
	s.wantStates(TimeWait, LastAck) // the retransmission proves the ACK was lost
	twa := s.send(Client, ack, 0)
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	s.wantLabel(td, rx.Frame, FINRetransmission)
	s.wantLabel(td, twa.Frame, TimeWaitACK)
	wantAnomalies(t, td, "server lost-final-ack", "server fin-retransmission")
	var undone bool
	for _, seg := range td.Segments {
		if seg.Frame == w4.Frame {
			for _, ch := range seg.Changes {
				undone = undone || (ch.Side == Server && ch.Undone)
			}
		}
	}
	if !undone {
		t.Errorf("the server's LAST_ACK→CLOSED at frame %d should be marked undone", w4.Frame)
	}
	for _, a := range td.Anomalies {
		if a.Kind == LostFinalACK && (len(a.Frames) != 2 || a.Frames[0] != w4.Frame || a.Frames[1] != rx.Frame) {
			t.Errorf("lost-final-ack frames %v, want [%d %d]", a.Frames, w4.Frame, rx.Frame)
		}
	}
	if td.Pattern != PatternFourWay {
		t.Errorf("pattern %v", td.Pattern)
	}
}

func TestFinWait1_lostAckOfFin(t *testing.T) {
	s := established(t)
	w1 := s.send(Client, finack, 0)
	s.lose().send(Server, ack, 0)
	s.wantStates(FinWait2, CloseWait)
	s.resend(Client, finack, w1.Seq, 0)
	s.wantStates(FinWait1, CloseWait)
	td := s.finish(0)
	wantAnomalies(t, td, "client fin-retransmission")
}

// ===================================================================
// FIN_WAIT_2 / CLOSE_WAIT: half-close, data after close, timeouts
// ===================================================================

func TestFinWait2_halfClose(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0) // shutdown(SHUT_WR)
	s.send(Server, ack, 0)
	s.send(Server, ack|flow.PSH, 1000)
	s.send(Client, ack, 0) // still reading
	s.send(Server, ack|flow.PSH, 1000)
	s.send(Client, ack, 0)
	s.send(Server, finack, 0)
	s.send(Client, ack, 0)
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	wantAnomalies(t, td, "client half-close")
	if td.Pattern != PatternFourWay || td.Closer != CloserClient {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
}

func TestFinWait2_dataAfterClose(t *testing.T) {
	s := established(t)
	s.send(Server, finack, 0) // close()
	s.send(Client, ack, 0)
	s.send(Client, ack|flow.PSH, 100) // the client keeps writing
	s.send(Server, rst, 0)
	s.wantStates(Closed, Closed)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-data-after-close")
	if td.Pattern != PatternFINThenReset || td.Closer != CloserServer {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
}

func TestFinWait2_timeoutThenPeerWrites(t *testing.T) {
	s := established(t)
	s.cfg.FinTimeout = 3 * time.Second
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	s.wait(5 * time.Second)
	s.send(Server, ack|flow.PSH, 50)
	if s.k.ep[Client].state != Closed {
		t.Fatalf("client %v: the orphaned FIN_WAIT_2 should have timed out", s.k.ep[Client].state)
	}
	s.send(Client, rst, 0)
	td := s.finish(0)
	// The server sat in CLOSE_WAIT for 5 s (= --stuck-after) before writing.
	wantAnomalies(t, td, "client rst-after-fin-wait2-timeout", "server close-wait-stuck")
}

func TestCloseWait_stuck(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	td := s.finish(10 * time.Second)
	wantAnomalies(t, td, "server close-wait-stuck", "client fin-wait2-stuck")
	if td.Pattern != PatternHalfClosed || td.ServerEnd.State != CloseWait || td.ClientEnd.State != FinWait2 {
		t.Errorf("pattern %v, ends %v %v", td.Pattern, td.ClientEnd.State, td.ServerEnd.State)
	}
}

// Under --stuck-after and under a second (leakFloor): not stuck.
func TestCloseWait_shortIsNotStuck(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	td := s.finish(500 * time.Millisecond)
	wantAnomalies(t, td)
}

func TestFinWait1_dataAfterFin(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Client, ack|flow.PSH, 10) // beyond its own FIN
	td := s.finish(0)
	wantAnomalies(t, td, "client data-after-fin")
}

// ===================================================================
// TIME_WAIT
// ===================================================================

func closedByClient(t *testing.T) *sim {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	s.send(Server, finack, 0)
	s.send(Client, ack, 0)
	s.wantStates(TimeWait, Closed)
	return s
}

func TestTimeWait_rstAssassinates(t *testing.T) {
	s := closedByClient(t)
	s.wait(time.Second)
	s.inject(Server, &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server], Flags: rst})
	s.wantStates(Closed, Closed)
	td := s.finish(0)
	// Nothing from the client since the server closed: unprompted.
	wantAnomalies(t, td, "client time-wait-assassination", "server rst-forged")
	if td.Pattern != PatternFourWay {
		t.Errorf("pattern %v: the close had completed before the RST", td.Pattern)
	}
}

// tcp_timewait_state_process takes a RST only at exactly rcv_nxt: one in
// the window but not exact leaves TIME_WAIT alone.
func TestTimeWait_inexactRstInWindowIgnored(t *testing.T) {
	s := closedByClient(t)
	s.wait(time.Second)
	s.inject(Server, &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server] + 100, Flags: rst})
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-out-of-window", "server rst-forged")
	if td.HasAnomaly(TimeWaitAssassination) {
		t.Error("an inexact RST was taken as a TIME_WAIT assassination")
	}
}

func TestTimeWait_rstIgnoredWithRFC1337(t *testing.T) {
	s := closedByClient(t)
	s.cfg.RFC1337 = true
	s.inject(Server, &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server], Flags: rst})
	s.wantStates(TimeWait, Closed)
	wantAnomalies(t, s.finish(0), "server rst-forged")
}

func TestTimeWait_expires(t *testing.T) {
	s := closedByClient(t)
	td := s.finish(61 * time.Second)
	if td.ClientEnd.State != Closed {
		t.Errorf("client %v after 61 s, want CLOSED (Linux TIME_WAIT is 60 s)", td.ClientEnd.State)
	}
	s2 := closedByClient(t)
	s2.cfg.Profile = &RFC793
	if td := s2.finish(61 * time.Second); td.ClientEnd.State != TimeWait {
		t.Errorf("RFC 793: client %v after 61 s, want TIME_WAIT (2 MSL = 4 min)", td.ClientEnd.State)
	}
}

// ===================================================================
// Mid-stream captures
// ===================================================================

func TestMidstream_closeByServer(t *testing.T) {
	s := newSim(t)
	s.k.roles = RolesInferred
	for i := range s.k.ep {
		s.k.ep[i].state = Established
	}
	s.k.estab = true
	s.next = [2]flow.Seq{5000, 9000}
	s.rcvd = [2]flow.Seq{9000, 5000}
	s.send(Server, ack|flow.PSH, 100)
	s.send(Server, finack, 0)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	s.wantStates(Closed, TimeWait)
	td := s.finish(0)
	if td.Pattern != PatternThreeWay || td.Closer != CloserServer {
		t.Errorf("pattern %v closer %v", td.Pattern, td.Closer)
	}
}

// A RST that reached the CLOSE_WAIT side at its exact rcv_nxt was taken as
// accepted, then undone when that side spoke again: its CLOSE_WAIT never
// ended, so how long it lasted counts from the peer's FIN, not from the RST.
func TestCloseWait_stuckAcrossUndoneRst(t *testing.T) {
	s := established(t)
	peerFIN := s.send(Server, finack, 0)
	s.send(Client, ack, 0)
	s.wantStates(CloseWait, FinWait2)
	s.wait(10 * time.Second)
	s.send(Server, rstack, 0) // exact: the client would take it
	s.wantStates(Closed, Closed)
	s.send(Client, ack|flow.PSH, 10) // the client speaks: it never got the RST
	s.wantStates(CloseWait, Closed)
	if since := s.k.ep[Client].since; !since.time().Equal(peerFIN.Time) {
		t.Errorf("client CLOSE_WAIT since %v after the undone RST, want %v (the peer's FIN)", since, peerFIN.Time)
	}
	s.wait(11 * time.Second)
	close := s.send(Client, finack, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "client close-wait-stuck", "server rst-linger2", "server fin-wait2-stuck")
	want := close.Time.Sub(peerFIN.Time) // 21.0 s
	for _, a := range td.Anomalies {
		if a.Kind == CloseWaitStuck && !strings.Contains(a.Detail, "did not close its side for "+fmtSeconds(want)) {
			t.Errorf("close-wait-stuck detail %q, want a CLOSE_WAIT of %s", a.Detail, fmtSeconds(want))
		}
	}
}

// fmtSeconds is how anomaly details print durations of 10 s or more.
func fmtSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s" }
