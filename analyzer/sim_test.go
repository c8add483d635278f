package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"finwave/flow"
)

// sim drives one conn's two machines with segments built like a real
// exchange: each side's sequence numbers advance, and each ACK covers what
// that side has received so far. lose() makes the next segment vanish
// before its receiver (the capture still sees it).
type sim struct {
	t     *testing.T
	cfg   Config
	k     *conn
	half  [2]flow.Half // indexed by Side
	next  [2]flow.Seq  // next sequence number each side sends
	rcvd  [2]flow.Seq  // what each side has received (its rcv_nxt)
	frame int64
	now   time.Time
	drop  bool
	tick  time.Duration // time between two segments; 1 ms unless a test sets it
	last  *flow.Segment
	ep    [2]flow.Endpoint
}

var (
	simClient = flow.Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Port: 40000}
	simServer = flow.Endpoint{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
)

func newSim(t *testing.T) *sim {
	t.Helper()
	cfg := DefaultConfig()
	s := &sim{t: t, cfg: cfg, now: time.Unix(1_700_000_000, 0)}
	s.k = &conn{}
	s.k.sideOf = [2]Side{Client, Server}
	s.k.ep[Client].side, s.k.ep[Server].side = Client, Server
	for i := range s.k.ep {
		s.k.ep[i].since = noTime
	}
	s.ep = [2]flow.Endpoint{simClient, simServer}
	s.next = [2]flow.Seq{1000, 0xfffffff0} // the server's ISN wraps soon
	for i := range s.half {
		s.half[i].WScale = flow.NoOption
	}
	return s
}

// established returns a sim past the three-way handshake.
func established(t *testing.T) *sim {
	s := newSim(t)
	s.send(Client, flow.SYN, 0)
	s.send(Server, flow.SYN|flow.ACK, 0)
	s.send(Client, flow.ACK, 0)
	s.wantStates(Established, Established)
	return s
}

func (s *sim) lose() *sim { s.drop = true; return s }

func (s *sim) wait(d time.Duration) *sim { s.now = s.now.Add(d); return s }

// send builds and steps a segment from side `from` with the next sequence
// number and an ACK of what `from` has received.
func (s *sim) send(from Side, f flow.Flags, n uint32) *flow.Segment {
	seg := &flow.Segment{Src: s.ep[from], Dst: s.ep[from.Peer()], Seq: s.next[from], Ack: s.rcvd[from], Flags: f, Len: n, Window: 65535}
	if f&flow.ACK == 0 {
		seg.Ack = 0
	}
	return s.inject(from, seg)
}

// resend sends a segment again at the sequence number given.
func (s *sim) resend(from Side, f flow.Flags, seq flow.Seq, n uint32) *flow.Segment {
	seg := &flow.Segment{Src: s.ep[from], Dst: s.ep[from.Peer()], Seq: seq, Ack: s.rcvd[from], Flags: f, Len: n, Window: 65535}
	return s.inject(from, seg)
}

// inject steps an arbitrary segment from side `from`.
func (s *sim) inject(from Side, seg *flow.Segment) *flow.Segment {
	s.t.Helper()
	s.frame++
	if s.tick == 0 {
		s.tick = time.Millisecond
	}
	s.now = s.now.Add(s.tick)
	seg.Frame, seg.Time = s.frame, s.now
	snd, rcv := &s.half[from], &s.half[from.Peer()]
	s.k.step(&s.cfg, seg, from, snd, rcv)
	snd.Observe(seg, rcv)
	if end := seg.End(); s.next[from].Less(end) && seg.Flags&flow.RST == 0 {
		s.next[from] = end
	}
	if !s.drop && seg.Flags&flow.RST == 0 {
		if s.rcvd[from.Peer()] == 0 && seg.Flags&flow.SYN != 0 || s.rcvd[from.Peer()].Less(seg.End()) {
			s.rcvd[from.Peer()] = seg.End()
		}
	}
	s.drop = false
	s.last = seg
	return seg
}

func (s *sim) wantStates(client, server State) {
	s.t.Helper()
	if c, v := s.k.ep[Client].state, s.k.ep[Server].state; c != client || v != server {
		s.t.Fatalf("after frame %d: states client %v server %v, want client %v server %v", s.frame, c, v, client, server)
	}
}

// finish ends the analysis d after the last segment.
func (s *sim) finish(d time.Duration) *Teardown {
	return s.k.finish(&s.cfg, flow.FinishEnd, s.now.Add(d), &flow.Conn{A: simClient, B: simServer})
}

func (s *sim) wantLabel(t *Teardown, frame int64, l Label) {
	s.t.Helper()
	for _, seg := range t.Segments {
		if seg.Frame == frame {
			if seg.Label != l {
				s.t.Errorf("frame %d labelled %v, want %v", frame, seg.Label, l)
			}
			return
		}
	}
	s.t.Errorf("frame %d not labelled, want %v", frame, l)
}

func wantAnomalies(t *testing.T, td *Teardown, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, a := range td.Anomalies {
		got[a.Endpoint.String()+" "+a.Kind.String()] = true
	}
	wantSet := map[string]bool{}
	for _, w := range want {
		wantSet[w] = true
		if !got[w] {
			t.Errorf("missing anomaly %q; have %v", w, keys(got))
		}
	}
	for g := range got {
		if !wantSet[g] {
			t.Errorf("unexpected anomaly %q", g)
		}
	}
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
