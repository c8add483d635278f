package analyzer

import (
	"testing"
	"time"

	"finwave/flow"
)

// wantCounter checks one predicted counter of side s.
func wantCounter(t *testing.T, td *Teardown, s Side, k Counter, lo, hi uint32) {
	t.Helper()
	if b := td.Counters[s][k]; b != (Bound{lo, hi}) {
		t.Errorf("%v %v: [%d, %d], want [%d, %d]", s, k, b.Min, b.Max, lo, hi)
	}
}

// want is one expected counter bound.
type want struct {
	side   Side
	k      Counter
	lo, hi uint32
}

// TestCounters plays connections on the machines and checks the rules
// the fixtures cannot tell apart.
func TestCounters(t *testing.T) {
	for _, tc := range []struct {
		name  string
		play  func(s *sim) time.Duration // returns how long the capture ran on
		wants []want
	}{
		{"four-way close", func(s *sim) time.Duration {
			s.send(Client, finack, 0)
			s.send(Server, ack, 0)
			s.send(Server, finack, 0)
			s.send(Client, ack, 0)
			return 0
		}, []want{{Client, TcpActiveOpens, 1, 1}, {Client, TcpPassiveOpens, 0, 0}, {Server, TcpPassiveOpens, 1, 1},
			{Server, TcpActiveOpens, 0, 0}, {Client, TcpExtTW, 1, 1}, {Server, TcpExtTW, 0, 0}, {Client, TcpEstabResets, 0, 0}}},

		// The RST's sender counted its abort (unread data or SO_LINGER
		// {1,0}: a bound each); whether the receiver got it, the capture
		// does not show.
		{"rst receiver is a bound", func(s *sim) time.Duration {
			s.send(Client, ack|flow.PSH, 100)
			s.send(Server, rstack, 0)
			return 0
		}, []want{{Server, TcpEstabResets, 1, 1}, {Server, TcpOutRsts, 1, 1}, {Client, TcpEstabResets, 0, 1},
			{Server, TcpExtTCPAbortOnClose, 0, 1}, {Server, TcpExtTCPAbortOnData, 0, 1}}},

		// A receiver that speaks after a RST never took it.
		{"rst not taken", func(s *sim) time.Duration {
			s.send(Server, rstack, 0)
			s.send(Client, ack|flow.PSH, 100)
			return 0
		}, []want{{Client, TcpEstabResets, 0, 0}}},

		// A RST out of the receiver's window may not be the claimed
		// sender's.
		{"blind rst", func(s *sim) time.Duration {
			s.send(Client, ack|flow.PSH, 100)
			s.inject(Server, &flow.Segment{Src: simServer, Dst: simClient, Seq: s.next[Server].Add(1 << 30), Flags: rst})
			return 0
		}, []want{{Server, TcpOutRsts, 0, 1}, {Server, TcpEstabResets, 0, 0}, {Client, TcpEstabResets, 0, 0}}},

		// A closed side's RST answers a segment; with none to answer it
		// is not its kernel's.
		{"unprovoked rst", func(s *sim) time.Duration {
			s.send(Client, finack, 0)
			s.send(Server, finack, 0)
			s.send(Client, ack, 0) // the server closes on it
			s.wait(time.Second).send(Server, rst, 0)
			return 0
		}, []want{{Server, TcpOutRsts, 0, 1}}},

		// close() in FIN_WAIT_2 resets a full socket: there never was a
		// mini-socket to count.
		{"FIN_WAIT_2 reset by close()", func(s *sim) time.Duration {
			s.send(Client, finack, 0)
			s.send(Server, ack, 0)
			s.wait(time.Second).send(Client, rstack, 0)
			return 0
		}, []want{{Client, TcpExtTW, 0, 0}, {Client, TcpExtTWKilled, 0, 0}, {Client, TcpExtTCPAbortOnLinger, 0, 1}}},

		// A FIN_WAIT_2 that ends the capture: a mini-socket (close())
		// counted at its scheduling, a full socket (shutdown()) not.
		{"FIN_WAIT_2 at the end", func(s *sim) time.Duration {
			s.send(Client, finack, 0)
			s.send(Server, ack, 0)
			return time.Second
		}, []want{{Client, TcpExtTW, 0, 1}, {Client, TcpExtTWKilled, 0, 0}}},

		// With tcp_fin_timeout at most 4 s an orphan's FIN_WAIT_2 is
		// counted TWKilled when scheduled and its TIME_WAIT counts
		// nothing; a full socket's TIME_WAIT counts TW: the wire cannot
		// tell which.
		{"short tcp_fin_timeout", func(s *sim) time.Duration {
			s.cfg.FinTimeout = 3 * time.Second
			s.send(Client, finack, 0)
			s.send(Server, ack, 0)
			s.send(Server, finack, 0)
			s.send(Client, ack, 0)
			return 0
		}, []want{{Client, TcpExtTW, 0, 1}, {Client, TcpExtTWKilled, 0, 1}}},

		// Retransmissions still going at the end: the timer may give up
		// before the counters are read.
		{"retransmissions ongoing", func(s *sim) time.Duration {
			d := s.send(Client, ack|flow.PSH, 100)
			gap := 200 * time.Millisecond
			for range 3 {
				s.wait(gap).resend(Client, ack|flow.PSH, d.Seq, 100)
				gap *= 2
			}
			return gap / 2
		}, []want{{Client, TcpExtTCPAbortOnTimeout, 0, 1}, {Client, TcpEstabResets, 0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := established(t)
			td := s.finish(tc.play(s))
			for _, w := range tc.wants {
				wantCounter(t, td, w.side, w.k, w.lo, w.hi)
			}
		})
	}
}

// tcp_validate_incoming: a SYN-ACK sent again reaches the established
// client, which answers with a challenge ACK.
func TestCounters_synChallenge(t *testing.T) {
	s := newSim(t)
	s.send(Client, syn, 0)
	sa := s.send(Server, synack, 0)
	s.lose().send(Client, ack, 0)
	s.wait(time.Second).resend(Server, synack, sa.Seq, 0)
	s.send(Client, ack, 0)
	s.send(Client, ack|flow.PSH, 10)
	td := s.finish(0)
	wantCounter(t, td, Client, TcpExtTCPSYNChallenge, 1, 1)
	wantCounter(t, td, Client, TcpExtTCPChallengeACK, 1, 1)
	wantCounter(t, td, Server, TcpExtTCPSYNChallenge, 0, 0)
}

// connect() on a 4-tuple this host holds in TIME_WAIT takes the timewait
// socket over (tcp_twsk_unique): TcpExtTWRecycled on the client's host. A
// SYN reaching the server's TIME_WAIT (TCP_TW_SYN) counts nothing.
func TestCounters_twRecycled(t *testing.T) {
	for _, clientCloses := range []bool{true, false} {
		var got []*Teardown
		a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
		w := &wire{now: time.Unix(1_700_000_000, 0)}
		c, s := clientN(3), server80
		feed := func(segs ...*flow.Segment) {
			for _, sg := range segs {
				a.Segment(sg)
			}
		}
		feed(w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0))
		if clientCloses {
			feed(w.seg(c, s, finack, 101, 901, 0), w.seg(s, c, finack, 901, 102, 0), w.seg(c, s, ack, 102, 902, 0))
		} else {
			feed(w.seg(s, c, finack, 901, 101, 0), w.seg(c, s, finack, 101, 902, 0), w.seg(s, c, ack, 902, 102, 0))
		}
		w.now = w.now.Add(2 * time.Second)
		feed(w.seg(c, s, syn, 5000, 0, 0), w.seg(s, c, synack, 7000, 5001, 0), w.seg(c, s, ack, 5001, 7001, 0))
		a.Close()
		if len(got) != 2 {
			t.Fatalf("%d teardowns, want 2", len(got))
		}
		want := uint32(0)
		if clientCloses {
			want = 1
		}
		wantCounter(t, got[1], Client, TcpExtTWRecycled, want, want)
		wantCounter(t, got[1], Server, TcpExtTWRecycled, 0, 0)
		wantCounter(t, got[0], Client, TcpExtTW, want, want)
		wantCounter(t, got[0], Server, TcpExtTW, 1-want, 1-want)
	}
}
