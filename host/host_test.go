package host

import (
	"net/netip"
	"testing"
)

// The state names are the kernel's (include/net/tcp_states.h order, the
// tracepoint's spelling): a wrong index would put every traced change in
// the wrong state.
func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{
		Established: "ESTABLISHED", SynSent: "SYN_SENT", FinWait2: "FIN_WAIT2", TimeWait: "TIME_WAIT",
		Close: "CLOSE", CloseWait: "CLOSE_WAIT", LastAck: "LAST_ACK", Listen: "LISTEN", NewSynRecv: "NEW_SYN_RECV",
		0: "", 200: "STATE(200)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d) = %q, want %q", s, got, want)
		}
	}
	if Established != 1 || CloseWait != 8 || NewSynRecv != 12 {
		t.Errorf("numbering differs from tcp_states.h: ESTABLISHED %d CLOSE_WAIT %d NEW_SYN_RECV %d", Established, CloseWait, NewSynRecv)
	}
}

// A dual-stack socket's IPv4-mapped pair equals the wire's plain one.
func TestTupleUnmap(t *testing.T) {
	m := Tuple{netip.MustParseAddrPort("[::ffff:10.0.0.1]:80"), netip.MustParseAddrPort("[::ffff:10.0.0.2]:4000")}
	w := Tuple{netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:4000")}
	if m.Unmap() != w || w.Reverse().Reverse() != w || w.Reverse().Local != w.Remote {
		t.Errorf("Unmap %v, want %v", m.Unmap(), w)
	}
}
