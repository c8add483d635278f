package analyzer

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"finwave/flow"
	"finwave/host"
)

// fakeKernel is the kernel's account of the sim's flow: each side local
// when it has events (or local is set), traced from the epoch.
type fakeKernel struct {
	events [2][]host.Event
	local  [2]bool
	reset  string // ExplainReset's answer
}

func (k *fakeKernel) View(client, server netip.AddrPort, first, last time.Time, v *KernelView) {
	for s := range v.Sockets {
		if k.local[s] || len(k.events[s]) > 0 {
			v.Sockets[s].Local, v.Sockets[s].Traced = true, true
			v.Sockets[s].Events = append(v.Sockets[s].Events, k.events[s]...)
		}
	}
}

func (k *fakeKernel) ExplainReset(from, to netip.AddrPort, at time.Time) string { return k.reset }

// change appends the kernel's traced change of side s at time at.
func (k *fakeKernel) change(s Side, at time.Time, from, to host.State) {
	k.events[s] = append(k.events[s], host.Event{Kind: host.StateChange, Time: at, Old: from, New: to})
}

// closedTraced runs a four-way close the client starts; the server's
// LAST_ACK → CLOSED on the client's final ACK stays tentative on the wire
// (the server sends nothing after it).
func closedTraced(t *testing.T) (*sim, time.Time) {
	s := established(t)
	t0 := s.now
	s.send(Client, flow.FIN|flow.ACK, 0)
	s.send(Server, flow.ACK, 0)
	s.send(Server, flow.FIN|flow.ACK, 0)
	s.send(Client, flow.ACK, 0)
	return s, t0
}

// The kernel traced the server's LAST_ACK ending: the machine's tentative
// change is confirmed, and the two agree on every other change of both
// sockets (the client's TIME_WAIT is Linux's timewait handover:
// FIN_WAIT2 → CLOSE in the trace).
func TestKernel_lastAckConfirmedByTrace(t *testing.T) {
	s, t0 := closedTraced(t)
	k := &fakeKernel{}
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	k.change(Client, at(-3), host.Close, host.SynSent)
	k.change(Client, at(-1), host.SynSent, host.Established)
	k.change(Server, at(0), host.Listen, host.SynRecv)
	k.change(Server, at(0), host.SynRecv, host.Established)
	k.change(Client, at(1), host.Established, host.FinWait1)
	k.change(Server, at(1), host.Established, host.CloseWait)
	k.change(Client, at(2), host.FinWait1, host.FinWait2)
	k.change(Server, at(3), host.CloseWait, host.LastAck)
	k.change(Client, at(3), host.FinWait2, host.Close)
	k.change(Server, at(4), host.LastAck, host.Close)
	s.cfg.Kernel = k
	td := s.finish(time.Second)
	if td.ServerEnd.Tentative {
		t.Error("without the trace the server's CLOSED is tentative; with it, it should be confirmed")
	}
	for side, ks := range td.Kernel.Sockets {
		if len(ks.Differences) != 0 {
			t.Errorf("%v: differences %+v, want none", Side(side), ks.Differences)
		}
	}
	if n := td.Kernel.Sockets[Server].KernelConfirmed; n != 1 {
		t.Errorf("server: %d changes confirmed by the kernel, want 1 (LAST_ACK → CLOSED)", n)
	}
	// Without the kernel, the same flow leaves it tentative: the test can fail.
	s2, _ := closedTraced(t)
	if td2 := s2.finish(time.Second); !td2.ServerEnd.Tentative || td2.Kernel != nil {
		t.Errorf("without Config.Kernel: server end tentative %v, Kernel %v; want tentative, nil", td2.ServerEnd.Tentative, td2.Kernel)
	}
}

// The final ACK passed the tap but the server's kernel never took it: the
// trace has the server still in LAST_ACK. The machine's change stays
// tentative and the disagreement is shown.
func TestKernel_lastAckNotTraced(t *testing.T) {
	s, t0 := closedTraced(t)
	k := &fakeKernel{}
	k.change(Server, t0.Add(1*time.Millisecond), host.Established, host.CloseWait)
	k.change(Server, t0.Add(3*time.Millisecond), host.CloseWait, host.LastAck)
	s.cfg.Kernel = k
	td := s.finish(time.Second)
	ks := td.Kernel.Sockets[Server]
	// SYN_RECEIVED is never compared (a request socket); the trace begins
	// at ESTABLISHED → CLOSE_WAIT, the machine's ESTABLISHED is before.
	var got []string
	for _, d := range ks.Differences {
		got = append(got, d.Machine.From.String()+"→"+d.Machine.To.String())
	}
	if len(ks.Differences) != 2 || ks.Differences[1].OnlyKernel || ks.Differences[1].Machine.To != Closed {
		t.Fatalf("differences %v, want the machine's ESTABLISHED (no trace of the handshake) and LAST_ACK→CLOSED, not traced", got)
	}
	if !td.ServerEnd.Tentative {
		t.Error("the server's CLOSED should stay tentative: the kernel did not confirm it")
	}
	if td.Kernel.Sockets[Client].Local {
		t.Error("the client is not local: no events")
	}
}

// A RST the kernel sent is matched to its frame on the wire, with the
// kernel's reason and the conntrack explanation; a drop to the segment
// before it.
func TestKernel_resetReasonMatchedToFrame(t *testing.T) {
	s := established(t)
	s.send(Client, flow.PSH|flow.ACK, 10)
	data := s.last
	drop := data.Time.Add(20 * time.Microsecond)
	rst := s.send(Server, flow.RST|flow.ACK, 0)
	k := &fakeKernel{reset: "conntrack INVALID"}
	k.events[Server] = []host.Event{
		{Kind: host.Drop, Time: drop, Reason: "TCP_INVALID_SEQUENCE"},
		{Kind: host.SendReset, Time: rst.Time.Add(-5 * time.Microsecond), New: host.Established, Reason: "NOT_SPECIFIED"},
		{Kind: host.Retransmit, Time: rst.Time},
	}
	s.cfg.Kernel = k
	td := s.finish(time.Second)
	ks := td.Kernel.Sockets[Server]
	if len(ks.Resets) != 1 || ks.Resets[0].Frame != rst.Frame || ks.Resets[0].Reason != "NOT_SPECIFIED" || !ks.Resets[0].Sent {
		t.Errorf("resets %+v, want frame %d sent, NOT_SPECIFIED", ks.Resets, rst.Frame)
	}
	if cr := td.Kernel.ConntrackResets; len(cr) != 1 || cr[0].Frame != rst.Frame || cr[0].Conntrack != "conntrack INVALID" {
		t.Errorf("conntrack resets %+v, want frame %d explained", cr, rst.Frame)
	}
	if len(ks.Drops) != 1 || ks.Drops[0].Reason != "TCP_INVALID_SEQUENCE" {
		t.Errorf("drops %+v, want one TCP_INVALID_SEQUENCE", ks.Drops)
	}
	if ks.Retransmits != 1 {
		t.Errorf("retransmits %d, want 1", ks.Retransmits)
	}
}

// A SYN to a port nothing listens on: the server side had no socket, so
// its machine's CLOSED is no difference from an empty trace; the kernel's
// RST (NO_SOCKET) and its drop of the SYN land on their frames; the owner
// says there was no socket.
func TestKernel_refusedHasNoSocket(t *testing.T) {
	s := newSim(t)
	syn := s.send(Client, flow.SYN, 0)
	rst := s.send(Server, flow.RST|flow.ACK, 0)
	k := &fakeKernel{}
	k.events[Server] = []host.Event{
		{Kind: host.Drop, Time: syn.Time.Add(5 * time.Microsecond), Reason: "NO_SOCKET"},
		{Kind: host.SendReset, Time: rst.Time.Add(-time.Microsecond), Reason: "NO_SOCKET"},
	}
	s.cfg.Kernel = k
	td := s.finish(time.Second)
	ks := td.Kernel.Sockets[Server]
	if len(ks.Differences) != 0 {
		t.Errorf("differences %+v, want none: no socket, no trace", ks.Differences)
	}
	if len(ks.Drops) != 1 || ks.Drops[0].Frame != syn.Frame {
		t.Errorf("drops %+v, want the SYN (frame %d)", ks.Drops, syn.Frame)
	}
	if len(ks.Resets) != 1 || ks.Resets[0].Frame != rst.Frame || ks.Resets[0].Reason != "NO_SOCKET" {
		t.Errorf("resets %+v, want frame %d NO_SOCKET", ks.Resets, rst.Frame)
	}
	if !strings.HasPrefix(ks.OwnerNote, "no socket") {
		t.Errorf("owner note %q, want no socket", ks.OwnerNote)
	}
	if td.Vantage.At != VantageServer {
		t.Errorf("vantage %v, want server: only its address is this host's", td.Vantage.At)
	}
}

// One local side settles the vantage: the capture is on its host.
func TestKernel_localSideIsTheVantage(t *testing.T) {
	s, _ := closedTraced(t)
	s.cfg.Kernel = &fakeKernel{local: [2]bool{false, true}}
	td := s.finish(time.Second)
	if td.Vantage.At != VantageServer || len(td.Vantage.Evidence) == 0 || !strings.Contains(td.Vantage.Evidence[0], "server's address is this host's") {
		t.Errorf("vantage %v %q, want server, from its local address", td.Vantage.At, td.Vantage.Evidence)
	}
}
