package hostview

import (
	"net/netip"
	"testing"
	"time"

	"finwave/host"
)

var jt = host.Tuple{Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: netip.MustParseAddrPort("10.0.0.9:40000")}

func ev(at time.Time, old, new host.State) host.Event {
	return host.Event{Kind: host.StateChange, Time: at, Tuple: jt, Old: old, New: new}
}

// Take gives a flow its socket's events in time order and keeps those of a
// later connection on the same pair.
func TestJournal_takeByFlowTime(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	j := NewJournal(t0, 0)
	j.Add(ev(t0.Add(2*time.Millisecond), host.Established, host.CloseWait))
	j.Add(ev(t0.Add(1*time.Millisecond), host.SynRecv, host.Established)) // out of order (another CPU)
	j.Add(ev(t0.Add(10*time.Second), host.SynRecv, host.Established))     // the pair's next connection
	got := j.Take(jt, t0, t0.Add(5*time.Millisecond), nil)
	if len(got) != 2 || got[0].New != host.Established || got[1].New != host.CloseWait {
		t.Fatalf("took %+v, want ESTABLISHED then CLOSE_WAIT", got)
	}
	if j.Len() != 1 {
		t.Fatalf("%d sockets kept, want 1 (the later connection's event)", j.Len())
	}
	if got := j.Take(jt, t0.Add(10*time.Second), t0.Add(11*time.Second), nil); len(got) != 1 || j.Len() != 0 {
		t.Fatalf("second connection took %+v, %d left; want 1 event, none left", got, j.Len())
	}
}

// The journal is bounded: sockets past the limit and events past a
// socket's limit are counted, not kept; Sweep forgets idle sockets.
func TestJournal_bounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	j := NewJournal(t0, 2)
	for p := uint16(1); p <= 3; p++ {
		e := ev(t0, host.Established, host.CloseWait)
		e.Tuple.Remote = netip.AddrPortFrom(e.Tuple.Remote.Addr(), p)
		j.Add(e)
	}
	for i := 0; i < maxEvents+5; i++ {
		e := ev(t0.Add(time.Hour), host.Established, host.CloseWait)
		e.Tuple.Remote = netip.AddrPortFrom(e.Tuple.Remote.Addr(), 1)
		j.Add(e)
	}
	if j.Len() != 2 || j.Overflow() != 1+5+1 {
		t.Fatalf("len %d overflow %d, want 2 sockets and 7 events not kept", j.Len(), j.Overflow())
	}
	j.Sweep(t0.Add(time.Minute))
	if j.Len() != 1 {
		t.Fatalf("after sweep %d sockets, want 1 (the one with recent events)", j.Len())
	}
}
