package analyzer

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

// ===================================================================
// Silent peers: timers that gave up (silence.go)
// ===================================================================

// wantSilent checks that side's end state is its last state, reported as
// silent since frame.
func wantSilent(t *testing.T, es EndState, state State, frame int64) {
	t.Helper()
	if es.State != state || es.SilentFrame != frame {
		t.Errorf("end state %v silent since frame %d, want %v silent since frame %d", es.State, es.SilentFrame, state, frame)
	}
}

func wantPattern(t *testing.T, td *Teardown, p Pattern) {
	t.Helper()
	if td.Pattern != p {
		t.Errorf("pattern %v, want %v", td.Pattern, p)
	}
}

// anomalyOf returns the anomaly of kind k, failing when there is none.
func anomalyOf(t *testing.T, td *Teardown, k Kind) Anomaly {
	t.Helper()
	for _, a := range td.Anomalies {
		if a.Kind == k {
			return a
		}
	}
	t.Fatalf("no %v anomaly", k)
	return Anomaly{}
}

// retransmit resends side's segment seg after each of gaps.
func (s *sim) retransmit(from Side, seg *flow.Segment, gaps ...time.Duration) []*flow.Segment {
	var out []*flow.Segment
	for _, g := range gaps {
		s.wait(g - time.Millisecond) // inject adds a millisecond
		out = append(out, s.resend(from, seg.Flags, seg.Seq, seg.Len))
	}
	return out
}

func TestEstablished_keepaliveTimeout(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 10)
	last := s.send(Server, ack, 0)
	s.wait(75 * time.Second)
	var probes []*flow.Segment
	for range 3 {
		probes = append(probes, s.resend(Client, ack, s.next[Client]-1, 0))
		s.wait(time.Second)
	}
	s.send(Client, rstack, 0) // tcp_keepalive_timer gives up
	td := s.finish(0)
	wantAnomalies(t, td, "client keepalive-timeout")
	for _, p := range probes {
		s.wantLabel(td, p.Frame, KeepAlive)
	}
	wantPattern(t, td, PatternReset)
	// The server never answered: it probably still holds the connection.
	wantSilent(t, td.ServerEnd, Established, last.Frame)
	if a := anomalyOf(t, td, KeepaliveTimeout); len(a.Frames) != 4 {
		t.Errorf("evidence %v, want the three probes and the RST", a.Frames)
	}
	want := "client gave up: keepalive timeout; server silent since frame " + strconv.FormatInt(last.Frame, 10)
	if !strings.HasPrefix(td.Verdict, want) || !strings.Contains(td.Verdict, "probably still ESTABLISHED — check the path") {
		t.Errorf("verdict %q, want %q…, probably still ESTABLISHED — check the path…", td.Verdict, want)
	}
}

func TestEstablished_keepaliveAnswered(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 10)
	s.send(Server, ack, 0)
	for range 3 {
		s.wait(75 * time.Second)
		s.resend(Client, ack, s.next[Client]-1, 0)
		s.send(Server, ack, 0)
	}
	s.send(Client, finack, 0)
	s.send(Server, finack, 0)
	s.send(Client, ack, 0)
	td := s.finish(0)
	wantAnomalies(t, td)
	if td.ServerEnd.SilentFrame != 0 || td.ClientEnd.SilentFrame != 0 {
		t.Errorf("answered probes made a side silent: %+v %+v", td.ClientEnd, td.ServerEnd)
	}
}

func TestEstablished_retransmissionTimeout_gaveUp(t *testing.T) {
	s := established(t)
	last := s.send(Server, ack|flow.PSH, 50)
	data := s.send(Client, ack|flow.PSH, 100) // the server has vanished
	s.retransmit(Client, data, 200*time.Millisecond, 400*time.Millisecond, 800*time.Millisecond)
	td := s.finish(10 * time.Second) // long past the next RTO: the kernel gave up
	wantAnomalies(t, td, "client retransmission-timeout")
	wantPattern(t, td, PatternTimeout)
	wantSilent(t, td.ServerEnd, Established, last.Frame)
	if td.ClientEnd.State != Closed {
		t.Errorf("client %v, want CLOSED: tcp_write_timeout gave up", td.ClientEnd.State)
	}
	if a := anomalyOf(t, td, RetransmissionTimeout); len(a.Frames) != 4 || a.Frames[0] != data.Frame {
		t.Errorf("evidence %v, want the data and its three retransmissions", a.Frames)
	}
}

func TestEstablished_retransmissionTimeout_ongoing(t *testing.T) {
	s := established(t)
	data := s.send(Client, ack|flow.PSH, 100)
	s.retransmit(Client, data, 200*time.Millisecond, 400*time.Millisecond, 800*time.Millisecond)
	td := s.finish(time.Second) // the next retransmission is not due yet
	wantAnomalies(t, td, "client retransmission-timeout")
	wantPattern(t, td, PatternHalfOpen)
}

// One retransmission, or retransmissions without backoff, are a loss and a
// recovery cut short by the capture, not a silent peer.
func TestEstablished_retransmissionNoBackoff(t *testing.T) {
	s := established(t)
	data := s.send(Client, ack|flow.PSH, 100)
	s.retransmit(Client, data, 200*time.Millisecond)
	wantAnomalies(t, s.finish(10*time.Second))

	s = established(t)
	data = s.send(Client, ack|flow.PSH, 100)
	s.retransmit(Client, data, 200*time.Millisecond, 200*time.Millisecond)
	wantAnomalies(t, s.finish(10*time.Second))
}

// A retransmission the peer answers ends the run: loss, then recovery.
func TestEstablished_retransmissionAnswered(t *testing.T) {
	s := established(t)
	data := s.send(Client, ack|flow.PSH, 100)
	s.retransmit(Client, data, 200*time.Millisecond, 400*time.Millisecond)
	s.send(Server, ack, 0)
	s.retransmit(Client, data, 800*time.Millisecond) // a spurious one
	wantAnomalies(t, s.finish(10*time.Second))
}

func TestSynSent_synTimeout(t *testing.T) {
	s := newSim(t)
	syn1 := s.send(Client, syn, 0)
	s.retransmit(Client, syn1, time.Second, 2*time.Second)
	td := s.finish(20 * time.Second)
	wantAnomalies(t, td, "client syn-timeout")
	wantPattern(t, td, PatternTimeout)
	if td.ClientEnd.State != Closed {
		t.Errorf("client %v, want CLOSED: connect() failed", td.ClientEnd.State)
	}
}

// Linux 6.18 sends its first SYN retransmissions a second apart
// (tcp_syn_linear_timeouts): level gaps are its timer too.
func TestSynSent_synTimeoutLinear(t *testing.T) {
	s := newSim(t)
	syn1 := s.send(Client, syn, 0)
	s.retransmit(Client, syn1, time.Second, time.Second, time.Second)
	wantAnomalies(t, s.finish(20*time.Second), "client syn-timeout")
}

// One SYN retransmission at the end of a capture is not a timeout yet.
func TestSynSent_oneRetransmissionIsUnanswered(t *testing.T) {
	s := newSim(t)
	syn1 := s.send(Client, syn, 0)
	s.retransmit(Client, syn1, time.Second)
	td := s.finish(500 * time.Millisecond)
	wantAnomalies(t, td)
	wantPattern(t, td, PatternUnanswered)
}

func TestSynReceived_synackTimeout(t *testing.T) {
	s := newSim(t)
	syn1 := s.send(Client, syn, 0)
	sa := s.send(Server, synack, 0) // the client never gets it
	s.retransmit(Server, sa, time.Second, 2*time.Second)
	td := s.finish(20 * time.Second)
	wantAnomalies(t, td, "server synack-timeout")
	wantPattern(t, td, PatternTimeout)
	// A client alive in SYN_SENT would have sent its SYN again: gone.
	wantSilent(t, td.ClientEnd, Closed, syn1.Frame)
	if td.ServerEnd.State != Closed {
		t.Errorf("server %v, want CLOSED: the request socket is dropped", td.ServerEnd.State)
	}
}

func TestFinWait1_orphanTimeout(t *testing.T) {
	s := established(t)
	last := s.send(Server, ack|flow.PSH, 50)
	s.send(Client, ack, 0)
	fin1 := s.send(Client, finack, 0) // the server has vanished
	s.retransmit(Client, fin1, 200*time.Millisecond, 400*time.Millisecond)
	td := s.finish(10 * time.Second)
	wantAnomalies(t, td, "client orphan-timeout", "client fin-retransmission")
	wantPattern(t, td, PatternTimeout)
	// The server never answered the FIN: not CLOSE_WAIT, still ESTABLISHED.
	wantSilent(t, td.ServerEnd, Established, last.Frame)
	if td.ClientEnd.State != Closed {
		t.Errorf("client %v, want CLOSED (the orphan is destroyed by its timer, silently)", td.ClientEnd.State)
	}
	// The ending, not the FIN sent again on the way, makes the verdict.
	if !strings.HasPrefix(td.Verdict, "client gave up on its FIN: orphan timeout") {
		t.Errorf("verdict %q", td.Verdict)
	}
}

// ===================================================================
// Resets after a FIN: the orphan's and close()'s other abort paths
// ===================================================================

func TestFinWait2_linger2Close(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0) // shutdown(SHUT_WR)
	s.send(Server, ack, 0)
	s.wait(100 * time.Millisecond)
	r := s.send(Client, rstack, 0) // close() with TCP_LINGER2 < 0
	td := s.finish(0)
	wantAnomalies(t, td, "client rst-linger2")
	s.wantLabel(td, r.Frame, RST)
}

func TestFinWait1_linger2OrphanAck(t *testing.T) {
	s := established(t)
	fin1 := s.send(Client, finack, 0) // close() of an orphan with TCP_LINGER2 < 0
	s.send(Server, ack, 0)
	// tcp_v4_send_reset answering the ACK: seq = its ack, no ACK bit.
	s.inject(Client, &flow.Segment{Src: simClient, Dst: simServer, Seq: fin1.End(), Flags: rst})
	td := s.finish(0)
	wantAnomalies(t, td, "client rst-linger2")
	// The orphan's path (tcp_rcv_state_process) counts TCPAbortOnData.
	if a := anomalyOf(t, td, RSTLinger2); !strings.Contains(strings.Join(a.Counters, ","), "TcpExtTCPAbortOnData") {
		t.Errorf("counters %v, want TcpExtTCPAbortOnData: the RST answered the ACK of the orphan's FIN", a.Counters)
	}
}

func TestFinWait1_memoryPressure(t *testing.T) {
	s := established(t)
	s.send(Server, ack|flow.PSH, 100)
	s.send(Client, ack, 0)
	s.wait(50 * time.Millisecond)
	s.tick = 20 * time.Microsecond // the FIN and the RST of one close() call
	s.send(Client, finack, 0)
	s.send(Client, rstack, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "client rst-memory-pressure")
	if a := anomalyOf(t, td, RSTMemoryPressure); len(a.Frames) != 2 {
		t.Errorf("evidence %v, want the FIN and the RST", a.Frames)
	}
}

// A FIN and, a round trip later, a RST is not the same close() call.
func TestFinWait1_rstAfterAnAnswerIsNotMemoryPressure(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Client, rstack, 0) // 1 ms later, but after the server's handshake ACK took 1 ms: rtt 2 ms
	td := s.finish(0)
	if td.HasAnomaly(RSTMemoryPressure) {
		t.Errorf("a RST half a round trip after the FIN taken as memory pressure: %v", td.Anomalies)
	}
}

func TestFinWait2_unreadAfterHalfClose(t *testing.T) {
	s := established(t)
	s.send(Server, finack, 0) // shutdown(SHUT_WR)
	s.send(Client, ack, 0)
	s.send(Client, ack|flow.PSH, 100) // the client goes on writing
	s.send(Server, ack, 0)            // the server's kernel takes it
	s.wait(200 * time.Millisecond)
	s.send(Server, rstack, 0) // close() with it unread
	td := s.finish(0)
	wantAnomalies(t, td, "server rst-unread-data", "server half-close")
}

func TestFinWait2_peerWritesSecondsLater(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0) // close()
	s.send(Server, ack, 0)
	s.wait(4 * time.Second)
	s.send(Server, ack|flow.PSH, 100)
	s.send(Client, rst, 0)
	td := s.finish(0) // --fin-timeout is 60 s, the host's may be lower
	wantAnomalies(t, td, "client rst-after-fin-wait2-timeout")
}

func TestFinWait2_idleCloseRace(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 100) // request
	s.send(Server, ack|flow.PSH, 300) // response
	s.send(Client, ack, 0)
	s.wait(2 * time.Second)   // idle in the client's pool
	s.send(Server, finack, 0) // the server's idle timeout
	s.send(Client, ack, 0)
	s.wait(300 * time.Millisecond)
	s.send(Client, ack|flow.PSH, 100) // the next request, on the closed connection
	s.send(Server, rst, 0)
	td := s.finish(0)
	wantAnomalies(t, td, "server idle-close-race")
}

// A close right after the exchange is no idle timeout: the client's late
// data is data after close.
func TestFinWait2_closeAfterExchangeIsNoRace(t *testing.T) {
	s := established(t)
	s.send(Client, ack|flow.PSH, 100)
	s.send(Server, ack|flow.PSH, 300)
	s.send(Server, finack, 0)
	s.send(Client, ack, 0)
	s.wait(300 * time.Millisecond)
	s.send(Client, ack|flow.PSH, 100)
	s.send(Server, rst, 0)
	wantAnomalies(t, s.finish(0), "server rst-data-after-close")
}

// ===================================================================
// CLOSE_WAIT judged by the flow's own round trip
// ===================================================================

func TestCloseWait_leakByRTT(t *testing.T) {
	s := established(t) // round trip 2 ms
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	td := s.finish(2 * time.Second) // under --stuck-after (5 s), a thousand round trips
	wantAnomalies(t, td, "server close-wait-stuck")
}

// A side that keeps sending after the peer's FIN is half-closing, not
// leaking: only --stuck-after applies.
func TestCloseWait_busyIsNotALeak(t *testing.T) {
	s := established(t)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	s.wait(time.Second)
	s.send(Server, ack|flow.PSH, 100)
	s.send(Client, ack, 0)
	wantAnomalies(t, s.finish(time.Second), "client half-close")
}

// Probes still unanswered when the capture ends: the peer is silent, the
// prober has not given up yet: half-open, worth reading.
func TestEstablished_keepaliveUnansweredAtEnd(t *testing.T) {
	s := established(t)
	last := s.send(Server, ack|flow.PSH, 10)
	s.send(Client, ack, 0)
	s.wait(75 * time.Second)
	for range 3 {
		s.resend(Client, ack, s.next[Client]-1, 0)
		s.wait(time.Second)
	}
	td := s.finish(0)
	wantPattern(t, td, PatternHalfOpen)
	wantSilent(t, td.ServerEnd, Established, last.Frame)
}
