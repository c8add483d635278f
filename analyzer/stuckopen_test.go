package analyzer

import (
	"testing"
	"time"

	"finwave/flow"
)

// TestStuckOpen_closeWaitLeak: the client closes, the server acknowledges
// its FIN and never closes. Before --stuck-after nothing is noticed; once
// it passes, StuckOpen names the server's CLOSE_WAIT (and the client's
// FIN_WAIT_2) once, while the flow stays open: no Teardown yet.
func TestStuckOpen_closeWaitLeak(t *testing.T) {
	var ended int
	cfg := DefaultConfig()
	cfg.StuckAfter = 2 * time.Second
	a := New(cfg, func(*Teardown) { ended++ })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(1), server80
	for _, sg := range []*flow.Segment{
		w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(c, s, finack, 101, 901, 0), w.seg(s, c, ack, 901, 102, 0),
	} {
		a.Segment(sg)
	}
	closeWaitSince := w.now
	var got []OpenStuck
	notice := func(now time.Time) {
		a.Advance(now)
		a.StuckOpen(now, func(o *OpenStuck) { got = append(got, *o) })
	}
	notice(closeWaitSince.Add(1900 * time.Millisecond))
	if len(got) != 0 {
		t.Fatalf("before --stuck-after: %+v, want nothing", got)
	}
	notice(closeWaitSince.Add(2500 * time.Millisecond))
	if len(got) != 2 {
		t.Fatalf("past --stuck-after: %d notices %+v, want the server's CLOSE_WAIT and the client's FIN_WAIT_2", len(got), got)
	}
	var sawServer bool
	for _, o := range got {
		if o.Side == Server {
			sawServer = true
			if o.State != CloseWait || o.Kind != CloseWaitStuck || o.Stream != 0 || o.Server != s || o.Held < cfg.StuckAfter || !o.Since.Add(o.Held).Equal(closeWaitSince.Add(2500*time.Millisecond)) {
				t.Errorf("server notice %+v", o)
			}
		} else if o.State != FinWait2 || o.Kind != FinWait2Stuck {
			t.Errorf("client notice %+v", o)
		}
	}
	if !sawServer {
		t.Errorf("no notice for the server: %+v", got)
	}
	notice(closeWaitSince.Add(10 * time.Second))
	if len(got) != 2 {
		t.Errorf("noticed again: %+v", got[2:])
	}
	if ended != 0 {
		t.Errorf("%d teardowns: the leaked flow must stay open", ended)
	}
}
