package analyzer

import (
	"strconv"
	"strings"
	"testing"

	"finwave/flow"
)

// sendCs is sim.send with the segment's checksum verdict set (sim's
// segments are otherwise unchecked).
func (s *sim) sendCs(from Side, f flow.Flags, n uint32, cs flow.Checksum) *flow.Segment {
	seg := &flow.Segment{Src: s.ep[from], Dst: s.ep[from.Peer()], Seq: s.next[from], Ack: s.rcvd[from], Flags: f, Len: n, Window: 65535, Checksum: cs, MSS: flow.NoOption}
	if f&flow.ACK == 0 {
		seg.Ack = 0
	}
	return s.inject(from, seg)
}

// establishedCs is established with checksums checked: every segment
// right, or every one of side partial's (offload on its host).
func establishedCs(t *testing.T, cs [2]flow.Checksum) *sim {
	s := newSim(t)
	s.sendCs(Client, flow.SYN, 0, cs[Client])
	s.sendCs(Server, flow.SYN|flow.ACK, 0, cs[Server])
	s.sendCs(Client, flow.ACK, 0, cs[Client])
	s.wantStates(Established, Established)
	return s
}

var allGood = [2]flow.Checksum{flow.ChecksumGood, flow.ChecksumGood}

func TestEstablished_corruptedFin(t *testing.T) {
	s := establishedCs(t, allGood)
	w1 := s.lose().sendCs(Client, finack, 0, flow.ChecksumBadTCP)
	// The client sent it (FIN_WAIT_1); the server's kernel dropped it.
	s.wantStates(FinWait1, Established)
	s.sendCs(Server, ack|flow.PSH, 100, flow.ChecksumGood)
	s.wantStates(FinWait1, Established)
	re := s.inject(Client, &flow.Segment{Src: simClient, Dst: simServer, Seq: w1.Seq, Ack: s.rcvd[Client], Flags: finack, Window: 65535, Checksum: flow.ChecksumGood})
	s.wantStates(FinWait1, CloseWait)
	s.sendCs(Server, ack, 0, flow.ChecksumGood)
	s.sendCs(Server, finack, 0, flow.ChecksumGood)
	s.sendCs(Client, ack, 0, flow.ChecksumGood)
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	wantAnomalies(t, td, "client fin-retransmission", "server bad-checksum")
	for _, a := range td.Anomalies {
		if a.Kind == BadChecksum && (len(a.Frames) != 2 || a.Frames[0] != w1.Frame || a.Frames[1] != re.Frame ||
			!strings.Contains(a.Detail, "sent it again in frame "+strconv.FormatInt(re.Frame, 10))) {
			t.Errorf("bad-checksum frames %v, detail %q; want [%d %d], the retransmission named", a.Frames, a.Detail, w1.Frame, re.Frame)
		}
	}
	if td.BadChecksums != [2]int{1, 0} || td.Offload[Client].Any() || td.Offload[Server].Any() {
		t.Errorf("bad %v offload %+v, want [1 0] and none", td.BadChecksums, td.Offload)
	}
}

func TestEstablished_corruptedRst(t *testing.T) {
	s := establishedCs(t, allGood)
	rst := s.sendCs(Client, flow.RST, 0, flow.ChecksumBadTCP)
	s.wantStates(Established, Established)
	s.sendCs(Server, ack|flow.PSH, 100, flow.ChecksumGood)
	s.sendCs(Client, ack, 0, flow.ChecksumGood)
	td := s.finish(0)
	s.wantLabel(td, rst.Frame, RST)
	wantAnomalies(t, td, "server bad-checksum")
}

func TestEstablished_corruptedIPHeader(t *testing.T) {
	s := establishedCs(t, allGood)
	s.lose().sendCs(Server, finack, 0, flow.ChecksumBadIP)
	s.wantStates(Established, FinWait1)
	td := s.finish(0)
	wantAnomalies(t, td, "client bad-checksum")
	if a := td.Anomalies[0]; len(a.Counters) != 2 || a.Counters[0] != "IpInCsumErrors" {
		t.Errorf("counters %v, want IpInCsumErrors, IpInHdrErrors", a.Counters)
	}
}

// TestOffload_wholeDirection: a capture on the client's host with TX
// checksum offload: every client segment is wrong from its SYN on (here
// not even the pseudo-header sum), the server's right. A clean close, no
// anomaly, the same states as without offload.
func TestOffload_wholeDirection(t *testing.T) {
	s := establishedCs(t, [2]flow.Checksum{flow.ChecksumBadTCP, flow.ChecksumGood})
	s.sendCs(Client, ack|flow.PSH, 100, flow.ChecksumBadTCP)
	s.sendCs(Server, ack, 0, flow.ChecksumGood)
	s.sendCs(Client, finack, 0, flow.ChecksumBadTCP)
	s.wantStates(FinWait1, CloseWait)
	s.sendCs(Server, finack, 0, flow.ChecksumGood)
	s.sendCs(Client, ack, 0, flow.ChecksumBadTCP)
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	wantAnomalies(t, td)
	if td.Offload[Client].ChecksumPartial != 5 || td.Offload[Server].Any() || td.BadChecksums != [2]int{} {
		t.Errorf("offload %+v bad %v, want client 5 partial, no bad", td.Offload, td.BadChecksums)
	}
}

// TestOffload_superSegments: TSO/GSO frames (larger than the MSS the
// server announced) with partial checksums, after a right SYN: offload
// traces, not errors; and a right RST from the control socket in an
// offloaded direction is just right.
func TestOffload_superSegments(t *testing.T) {
	s := newSim(t)
	s.sendCs(Client, flow.SYN, 0, flow.ChecksumPartial)
	sa := &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server], Ack: s.rcvd[Server], Flags: flow.SYN | flow.ACK, Window: 65535, Checksum: flow.ChecksumGood, MSS: 1460}
	s.inject(Server, sa)
	s.sendCs(Client, ack, 0, flow.ChecksumPartial)
	s.sendCs(Client, ack|flow.PSH, 20000, flow.ChecksumPartial)
	s.sendCs(Client, ack|flow.PSH, 1000, flow.ChecksumPartial)
	s.sendCs(Server, ack, 0, flow.ChecksumGood)
	s.sendCs(Client, ack|flow.PSH, 30000, flow.ChecksumGood) // GRO'd frame already fixed: right
	td := s.finish(0)
	wantAnomalies(t, td)
	o := td.Offload[Client]
	if o.ChecksumPartial != 4 || o.Super != 2 || o.Largest != 30000 || td.BadChecksums != [2]int{} {
		t.Errorf("offload %+v bad %v, want 4 partial, 2 super, largest 30000", o, td.BadChecksums)
	}
}

// TestOffload_superMidstream: no SYN, so no MSS: only a segment larger
// than any jumbo frame carries is taken for a merged one.
func TestOffload_superMidstream(t *testing.T) {
	s := newSim(t)
	for i := range s.k.ep {
		s.k.ep[i].enter(Established, toNanos(s.now))
	}
	s.sendCs(Client, ack|flow.PSH, 7240, flow.ChecksumPartial)  // a jumbo frame could carry it
	s.sendCs(Client, ack|flow.PSH, 64000, flow.ChecksumPartial) // none could
	td := s.finish(0)
	if o := td.Offload[Client]; o.Super != 1 || o.Largest != 64000 || o.ChecksumPartial != 2 {
		t.Errorf("offload %+v, want 1 super of 64000, 2 partial", o)
	}
}

// TestEstablished_mergedFrameWithWrongChecksum: a receiver's LRO or a
// driver's GRO merges segments into a frame larger than the MSS whose
// checksum is whatever the host left there: not a corrupted segment,
// though the direction's first segments were right.
func TestEstablished_mergedFrameWithWrongChecksum(t *testing.T) {
	s := newSim(t)
	s.sendCsum(Client, syn, 0, flow.ChecksumGood)
	s.sendCsum(Server, synack, 0, flow.ChecksumGood) // MSS 1460
	s.sendCsum(Client, flow.ACK, 0, flow.ChecksumGood)
	s.sendCsum(Client, ack|flow.PSH, 100, flow.ChecksumGood)
	s.sendCsum(Server, ack|flow.PSH, 5840, flow.ChecksumBadTCP) // four segments merged
	s.sendCsum(Client, flow.ACK, 0, flow.ChecksumGood)
	s.sendCsum(Client, finack, 0, flow.ChecksumGood)
	s.sendCsum(Server, finack, 0, flow.ChecksumGood)
	s.sendCsum(Client, flow.ACK, 0, flow.ChecksumGood)
	s.wantStates(TimeWait, Closed)
	td := s.finish(0)
	wantAnomalies(t, td)
	if td.BadChecksums != [2]int{} || td.Offload[Server].Super != 1 || td.Offload[Server].ChecksumPartial != 1 {
		t.Errorf("bad %v offload %+v, want no bad and one merged frame from the server", td.BadChecksums, td.Offload)
	}
}
