package analyzer

import (
	"testing"
	"time"

	"finwave/flow"
)

// fourWay feeds one clean connection of client port i (client closes
// first) and returns the wire for more.
func fourWay(a *Analyzer, w *wire, i int) {
	c, s := clientN(i), server80
	for _, sg := range []*flow.Segment{
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, finack, 101, 901, 0), w.seg(s, c, ack, 901, 102, 0),
		w.seg(s, c, finack, 901, 102, 0), w.seg(c, s, ack, 102, 902, 0),
	} {
		a.Segment(sg)
	}
}

// A recycled Teardown carries nothing of the flow it described before.
func TestRecycle_noLeftovers(t *testing.T) {
	var got *Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = td })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	// Flow 0: the server resets with the client's data unread.
	resetUnread(a, w, 1)
	a.Advance(w.now.Add(10 * time.Second))
	if got == nil || len(got.Anomalies) == 0 || len(got.Segments) == 0 {
		t.Fatalf("flow 0: %+v, want a reset with an anomaly", got)
	}
	first := got
	Recycle(got)
	got = nil

	fourWay(a, w, 2)
	a.Close()
	if got == nil {
		t.Fatal("flow 1 not emitted")
	}
	if got != first {
		t.Log("the pool did not hand the recycled Teardown back (allowed; the check below still holds)")
	}
	if got.Anomalies != nil {
		t.Errorf("flow 1 anomalies %+v, want nil", got.Anomalies)
	}
	if got.Pattern != PatternFourWay || got.Stream != 1 || got.Client != clientN(2) {
		t.Errorf("flow 1: pattern %v stream %d client %v", got.Pattern, got.Stream, got.Client)
	}
	if len(got.Segments) != 4 {
		t.Errorf("flow 1: %d labelled segments, want 4 (the waves)", len(got.Segments))
	}
	for _, sg := range got.Segments {
		if sg.Frame <= 5 {
			t.Errorf("flow 1 shows frame %d of flow 0", sg.Frame)
		}
		for _, ch := range sg.Changes {
			if ch.Frame != sg.Frame {
				t.Errorf("frame %d carries a change of frame %d", sg.Frame, ch.Frame)
			}
		}
	}
}

// A whole clean connection, from SYN to its Teardown emitted and recycled,
// allocates nothing once the analyzer's per-flow state has warmed up.
func TestRecycle_allocsPerFlow(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop Teardowns at random: allocation counts mean nothing")
	}
	for _, tc := range []struct {
		name string
		feed func(*Analyzer, *wire, int)
		segs float64 // segments the test builds per connection (one allocation each)
	}{
		{"four-way close", fourWay, 7},
		{"reset with unread data (an anomaly and its paragraph)", resetUnread, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(DefaultConfig(), Recycle)
			w := &wire{now: time.Unix(1_700_000_000, 0)}
			// Distinct ports: a reused 4-tuple would be a SYN in TIME_WAIT.
			for i := range 64 {
				tc.feed(a, w, i)
				w.now = w.now.Add(3 * time.Second) // past the grace: the flow finishes
			}
			i := 64
			allocs := testing.AllocsPerRun(200, func() {
				tc.feed(a, w, i)
				w.now = w.now.Add(3 * time.Second)
				i++
			})
			if allocs > tc.segs {
				t.Errorf("%.1f allocations per connection (%.0f of them the test's segments), want at most %.0f", allocs, tc.segs, tc.segs)
			}
		})
	}
}

// resetUnread feeds a connection of client port i that the server resets
// with the client's request unread (one anomaly, with a detail paragraph).
func resetUnread(a *Analyzer, w *wire, i int) {
	c, s := clientN(i), server80
	for _, sg := range []*flow.Segment{
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, ack|flow.PSH, 101, 901, 100), w.seg(s, c, rstack, 901, 101, 0),
	} {
		a.Segment(sg)
	}
}

// Detail paragraphs live in the Teardown's recycled text: a recycled
// Teardown's details are the same as a fresh one's.
func TestRecycle_details(t *testing.T) {
	var got []*Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	resetUnread(a, w, 1)
	a.Advance(w.now.Add(10 * time.Second))
	Recycle(got[0])
	w.frame = 0 // the second flow gets the same frame numbers
	resetUnread(a, w, 2)
	a.Close()

	var fresh *Teardown
	b := New(DefaultConfig(), func(td *Teardown) { fresh = td })
	resetUnread(b, &wire{now: time.Unix(1_700_000_000, 0)}, 2)
	b.Close()

	second := got[len(got)-1]
	if len(second.Anomalies) != 1 || len(fresh.Anomalies) != 1 {
		t.Fatalf("anomalies: recycled %d, fresh %d, want 1 each", len(second.Anomalies), len(fresh.Anomalies))
	}
	if second.Anomalies[0].Detail != fresh.Anomalies[0].Detail || fresh.Anomalies[0].Detail == "" {
		t.Errorf("recycled detail\n%q\nfresh\n%q", second.Anomalies[0].Detail, fresh.Anomalies[0].Detail)
	}
}
