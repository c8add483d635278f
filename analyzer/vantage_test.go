package analyzer

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/flow"
)

// ===================================================================
// Vantage: where the capture was taken
// ===================================================================

// sendAfter sends like sim.send, after, with the IP TTL ttl.
func (s *sim) sendAfter(after time.Duration, from Side, f flow.Flags, n uint32, ttl uint8) *flow.Segment {
	s.tick = after
	seg := &flow.Segment{Src: s.ep[from], Dst: s.ep[from.Peer()], Seq: s.next[from], Ack: s.rcvd[from], Flags: f, Len: n, Window: 65535, TTL: ttl}
	if f&flow.ACK == 0 {
		seg.Ack = 0
	}
	seg = s.inject(from, seg)
	s.tick = time.Millisecond
	return seg
}

// handshake plays SYN, SYN-ACK after synAck, ACK after ack, with the
// sides' TTLs.
func handshake(t *testing.T, synAck, ack time.Duration, clientTTL, serverTTL uint8) *sim {
	s := newSim(t)
	s.sendAfter(time.Millisecond, Client, syn, 0, clientTTL)
	s.sendAfter(synAck, Server, synack, 0, serverTTL)
	s.sendAfter(ack, Client, flow.ACK, 0, clientTTL)
	s.wantStates(Established, Established)
	return s
}

// serverResets ends the connection with a RST from the server: the
// client's CLOSED is a receiver-side change, tentative unless the capture
// was taken on the client host.
func serverResets(s *sim, serverTTL uint8) (*Teardown, *flow.Segment) {
	s.sendAfter(time.Millisecond, Client, ack|flow.PSH, 100, 64)
	r := s.sendAfter(40*time.Millisecond, Server, rstack, 0, serverTTL)
	s.wantStates(Closed, Closed)
	return s.finish(0), r
}

func clientChangeAt(td *Teardown, frame int64) (Change, bool) {
	for _, seg := range td.Segments {
		if seg.Frame == frame {
			for _, ch := range seg.Changes {
				if ch.Side == Client {
					return ch, true
				}
			}
		}
	}
	return Change{}, false
}

func TestVantage_clientHost_ownChangesConfirmed(t *testing.T) {
	s := handshake(t, 40*time.Millisecond, 50*time.Microsecond, 64, 61)
	td, r := serverResets(s, 61)
	if td.Vantage.At != VantageClient {
		t.Fatalf("vantage %v (%q), want client", td.Vantage.At, td.Vantage.Evidence)
	}
	if len(td.Vantage.Evidence) != 2 || !strings.Contains(td.Vantage.Evidence[0], "SYN→SYN-ACK 40 ms") || !strings.Contains(td.Vantage.Evidence[1], "TTL: client 64, server 61") {
		t.Errorf("evidence %q", td.Vantage.Evidence)
	}
	ch, ok := clientChangeAt(td, r.Frame)
	if !ok || ch.Tentative || ch.Confirmed != r.Frame || td.ClientEnd.Tentative {
		t.Errorf("client's CLOSED on the server's RST: %+v (end tentative %v), want confirmed at frame %d: the capture saw the RST arrive at the client's host", ch, td.ClientEnd.Tentative, r.Frame)
	}
}

func TestVantage_unknown_ownChangesStayTentative(t *testing.T) {
	// The same exchange with no timing contrast (one link, microseconds
	// both ways): nothing places the capture on the client host.
	s := handshake(t, 30*time.Microsecond, 20*time.Microsecond, 64, 64)
	td, r := serverResets(s, 64)
	if td.Vantage.At != VantageUnknown {
		t.Fatalf("vantage %v (%q), want unknown", td.Vantage.At, td.Vantage.Evidence)
	}
	if ch, ok := clientChangeAt(td, r.Frame); !ok || !ch.Tentative || !td.ClientEnd.Tentative {
		t.Errorf("client's CLOSED on the server's RST: %+v, want tentative", ch)
	}
}

func TestVantage_serverHost(t *testing.T) {
	s := handshake(t, 60*time.Microsecond, 35*time.Millisecond, 57, 64)
	td, _ := serverResets(s, 64)
	if td.Vantage.At != VantageServer {
		t.Fatalf("vantage %v (%q), want server", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_between_bothHandshakeGapsSlow(t *testing.T) {
	// A router's client-side interface: the client's TTL undecremented,
	// but delay on both sides of the capture point.
	s := handshake(t, 21*time.Millisecond, 20*time.Millisecond, 64, 63)
	td, _ := serverResets(s, 63)
	if td.Vantage.At != VantageBetween {
		t.Fatalf("vantage %v (%q), want between", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_between_bothTTLsDecremented(t *testing.T) {
	s := handshake(t, 30*time.Microsecond, 20*time.Microsecond, 62, 60)
	td, _ := serverResets(s, 60)
	if td.Vantage.At != VantageBetween {
		t.Fatalf("vantage %v (%q), want between", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_ttlContradictsTiming_unknown(t *testing.T) {
	// Timing says client host, the TTLs say the server's side of every
	// router: no verdict.
	s := handshake(t, 40*time.Millisecond, 50*time.Microsecond, 61, 64)
	td, _ := serverResets(s, 64)
	if td.Vantage.At != VantageUnknown {
		t.Fatalf("vantage %v (%q), want unknown", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_ttlAloneIsNotAHost(t *testing.T) {
	// The client's TTL as sent, the server's decremented, no timing
	// contrast: the client host or a router's interface facing it.
	s := handshake(t, 30*time.Microsecond, 20*time.Microsecond, 64, 63)
	td, _ := serverResets(s, 63)
	if td.Vantage.At != VantageUnknown {
		t.Fatalf("vantage %v (%q), want unknown", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_midstream_delayedAcksAreNotBetween(t *testing.T) {
	// No handshake: both sides' fastest answers are slow (delayed ACKs):
	// that places the capture nowhere.
	s := newSim(t)
	s.k.estab = true
	s.k.ep[Client].state, s.k.ep[Server].state = Established, Established
	s.sendAfter(time.Millisecond, Client, ack|flow.PSH, 100, 64)
	s.sendAfter(40*time.Millisecond, Server, ack|flow.PSH, 200, 64)
	s.sendAfter(40*time.Millisecond, Client, ack, 0, 64)
	td := s.finish(0)
	if td.Vantage.At != VantageUnknown || td.Vantage.Handshake {
		t.Fatalf("vantage %v handshake %v (%q), want unknown from the answers", td.Vantage.At, td.Vantage.Handshake, td.Vantage.Evidence)
	}
	// ... while a fast answer from one side does.
	s = newSim(t)
	s.k.estab = true
	s.k.ep[Client].state, s.k.ep[Server].state = Established, Established
	s.sendAfter(time.Millisecond, Client, ack|flow.PSH, 100, 64)
	s.sendAfter(40*time.Millisecond, Server, ack|flow.PSH, 200, 64)
	s.sendAfter(30*time.Microsecond, Client, ack, 0, 64)
	if td := s.finish(0); td.Vantage.At != VantageClient {
		t.Fatalf("vantage %v (%q), want client", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_offloadHint(t *testing.T) {
	s := handshake(t, 30*time.Microsecond, 20*time.Microsecond, 64, 64)
	s.k.csum[Server].ownOffload = true // the server's small segments had checksums left to its NIC
	td, _ := serverResets(s, 64)
	if td.Vantage.At != VantageServer || len(td.Vantage.Evidence) != 3 || !strings.Contains(td.Vantage.Evidence[2], "offload traces on the server's segments") {
		t.Fatalf("vantage %v (%q), want server with the offload clue", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestLastAck_lostFinalAck_betweenSaysWhere(t *testing.T) {
	s := handshake(t, 21*time.Millisecond, 20*time.Millisecond, 64, 63)
	s.send(Client, finack, 0)
	s.send(Server, ack, 0)
	w3 := s.send(Server, finack, 0)
	w4 := s.lose().send(Client, ack, 0)
	s.wait(200 * time.Millisecond)
	s.resend(Server, finack, w3.Seq, 0)
	s.send(Client, ack, 0)
	td := s.finish(0)
	want := "frame " + itoa(w4.Frame) + " passed it: it was lost between here and the server."
	for _, a := range td.Anomalies {
		if a.Kind == LostFinalACK {
			if !strings.Contains(a.Detail, want) {
				t.Errorf("lost-final-ack detail %q, want %q", a.Detail, want)
			}
			return
		}
	}
	t.Fatal("no lost-final-ack")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ===================================================================
// D-SACK (RFC 2883): a lost FIN or a lost ACK of it
// ===================================================================

// finAckLostThenDSACK: the client's FIN arrives, its ACK is lost, the
// FIN is retransmitted and the server's ACK carries a D-SACK of it when
// dsack is set (Linux tcp_dsack_set, SACK negotiated).
func finAckLostThenDSACK(t *testing.T, dsack bool) (*Teardown, *flow.Segment) {
	s := established(t)
	f := s.send(Client, finack, 0)
	s.wantStates(FinWait1, CloseWait)
	s.wait(200 * time.Millisecond)
	s.resend(Client, finack, f.Seq, 0)
	a := &flow.Segment{Src: s.ep[Server], Dst: s.ep[Client], Seq: s.next[Server], Ack: s.rcvd[Server], Flags: ack, Window: 65535}
	if dsack {
		a.SACKBlocks = 1
		a.SACK[0] = flow.SACKBlock{Left: f.Seq, Right: f.Seq.Add(1)}
	}
	s.inject(Server, a)
	s.wantStates(FinWait2, CloseWait)
	return s.finish(0), a
}

func TestFinWait1_finRetransmitted_dsackProvesFinArrived(t *testing.T) {
	td, a := finAckLostThenDSACK(t, true)
	want := "The server's D-SACK in frame " + itoa(a.Frame) + " (RFC 2883) reports the FIN received twice: the first one arrived and its ACK was lost or late, not the FIN."
	for _, an := range td.Anomalies {
		if an.Kind == FINRetransmitted {
			if !strings.Contains(an.Detail, want) {
				t.Errorf("detail %q, want %q", an.Detail, want)
			}
			if len(an.Frames) != 2 {
				t.Errorf("frames %v: the D-SACK is not a FIN sent", an.Frames)
			}
			return
		}
	}
	t.Fatal("no fin-retransmission")
}

func TestFinWait1_finRetransmitted_noDSACK(t *testing.T) {
	td, _ := finAckLostThenDSACK(t, false)
	for _, an := range td.Anomalies {
		if an.Kind == FINRetransmitted && strings.Contains(an.Detail, "D-SACK") {
			t.Errorf("detail %q names a D-SACK the capture does not show", an.Detail)
		}
	}
}

func TestFinWait1_dsackOfDataIsNotTheFin(t *testing.T) {
	// A D-SACK below the FIN (a duplicate data segment) says nothing of
	// the FIN.
	s := established(t)
	d := s.send(Client, ack|flow.PSH, 100)
	f := s.send(Client, finack, 0)
	s.wait(200 * time.Millisecond)
	s.resend(Client, finack, f.Seq, 0)
	a := &flow.Segment{Src: s.ep[Server], Dst: s.ep[Client], Seq: s.next[Server], Ack: s.rcvd[Server], Flags: ack, Window: 65535,
		SACKBlocks: 1}
	a.SACK[0] = flow.SACKBlock{Left: d.Seq, Right: d.Seq.Add(100)}
	s.inject(Server, a)
	for _, an := range s.finish(0).Anomalies {
		if an.Kind == FINRetransmitted && strings.Contains(an.Detail, "D-SACK") {
			t.Errorf("detail %q: the D-SACK covers data, not the FIN", an.Detail)
		}
	}
}

func TestVantage_applicationTTLIsNoRouter(t *testing.T) {
	// eBGP sends with TTL 1 both ways: not decremented from 64 by 63
	// routers on each side, and no vantage.
	s := handshake(t, 30*time.Microsecond, 20*time.Microsecond, 1, 1)
	td, _ := serverResets(s, 1)
	if td.Vantage.At != VantageUnknown {
		t.Fatalf("vantage %v (%q), want unknown", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_sameLinkSlowHostsAreNotBetween(t *testing.T) {
	// Both TTLs as sent (one link) and answers of 1-2 ms: routers'
	// control planes answering slowly, not a path on both sides.
	s := handshake(t, 2*time.Millisecond, 1500*time.Microsecond, 255, 255)
	td, _ := serverResets(s, 255)
	if td.Vantage.At != VantageUnknown {
		t.Fatalf("vantage %v (%q), want unknown", td.Vantage.At, td.Vantage.Evidence)
	}
	// ... while tens of milliseconds on one link are a delay on it.
	s = handshake(t, 20*time.Millisecond, 20*time.Millisecond, 64, 64)
	if td, _ := serverResets(s, 64); td.Vantage.At != VantageBetween {
		t.Fatalf("vantage %v (%q), want between", td.Vantage.At, td.Vantage.Evidence)
	}
}

func TestVantage_secondLongAnswersAreNoPath(t *testing.T) {
	// A second or more each way (a stalled host, a broken clock): no
	// path puts the capture between.
	s := handshake(t, 1000*time.Millisecond, 1147*time.Millisecond, 64, 117)
	td, _ := serverResets(s, 117)
	if td.Vantage.At != VantageUnknown {
		t.Fatalf("vantage %v (%q), want unknown", td.Vantage.At, td.Vantage.Evidence)
	}
}

// sendCsum sends like sendAfter (TTL 64), with checksum verdict cs and,
// on a SYN, an MSS of 1460.
func (s *sim) sendCsum(from Side, f flow.Flags, n uint32, cs flow.Checksum) {
	s.tick = 2 * time.Millisecond
	seg := &flow.Segment{Src: s.ep[from], Dst: s.ep[from.Peer()], Seq: s.next[from], Ack: s.rcvd[from], Flags: f, Len: n,
		Window: 65535, TTL: 64, Checksum: cs, MSS: flow.NoOption, WScale: flow.NoOption}
	if f&flow.SYN != 0 {
		seg.MSS = 1460
	}
	if f&flow.ACK == 0 {
		seg.Ack = 0
	}
	s.inject(from, seg)
}

// TestVantage_offloadedChecksumsPlaceTheCapture: the client's segments,
// small ones included, carry checksums left to its NIC, the server's are
// right: only a capture on the client host shows that, though timing and
// TTLs cannot tell.
func TestVantage_offloadedChecksumsPlaceTheCapture(t *testing.T) {
	s := newSim(t)
	s.sendCsum(Client, syn, 0, flow.ChecksumPartial)
	s.sendCsum(Server, synack, 0, flow.ChecksumGood)
	s.sendCsum(Client, flow.ACK, 0, flow.ChecksumPartial)
	s.sendCsum(Client, ack|flow.PSH, 100, flow.ChecksumPartial)
	s.sendCsum(Server, flow.ACK, 0, flow.ChecksumGood)
	td := s.finish(0)
	if td.Vantage.At != VantageClient {
		t.Fatalf("vantage %v (%q), want client from the offloaded checksums", td.Vantage.At, td.Vantage.Evidence)
	}
	if !td.Offload[Client].Any() || td.Offload[Server].Any() {
		t.Errorf("offload %+v, want the client's only", td.Offload)
	}
}

// TestVantage_mergedFramesAloneDoNotPlaceIt: frames larger than the MSS
// with the pseudo-header sum are TSO at the sender or GRO at the
// receiver (tcp4_gro_complete): no clue to the host.
func TestVantage_mergedFramesAloneDoNotPlaceIt(t *testing.T) {
	s := newSim(t)
	s.sendCsum(Client, syn, 0, flow.ChecksumGood)
	s.sendCsum(Server, synack, 0, flow.ChecksumGood)
	s.sendCsum(Client, flow.ACK, 0, flow.ChecksumGood)
	s.sendCsum(Client, ack|flow.PSH, 100, flow.ChecksumGood)
	s.sendCsum(Server, ack|flow.PSH, 4380, flow.ChecksumPartial)
	s.sendCsum(Client, flow.ACK, 0, flow.ChecksumGood)
	td := s.finish(0)
	if td.Offload[Server].Super != 1 {
		t.Fatalf("offload %+v, want one super frame from the server", td.Offload)
	}
	if td.Vantage.At != VantageUnknown {
		t.Errorf("vantage %v (%q), want unknown: a merged frame names no host", td.Vantage.At, td.Vantage.Evidence)
	}
}
