package report

import (
	"net/netip"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// Hand-built teardowns mirroring real scenarios. Relative sequence numbers,
// states and kernel paths follow the Linux TCP stack (net/ipv4/tcp_input.c,
// tcp_minisocks.c) as the analyzer is specified to report them.

var t0 = time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func ep(s string) flow.Endpoint {
	ap := netip.MustParseAddrPort(s)
	return flow.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
}

const (
	c = analyzer.Client
	s = analyzer.Server
)

func seg(frame int64, sec float64, from analyzer.Side, flags flow.Flags, seq, ack, n uint32, l analyzer.Label, explain string, ch ...analyzer.Change) analyzer.LabelledSegment {
	for i := range ch {
		if ch[i].Frame == 0 {
			ch[i].Frame = frame
		}
		ch[i].Time = at(sec)
	}
	return analyzer.LabelledSegment{Frame: frame, Time: at(sec), From: from, Flags: flags, Seq: seq, Ack: ack, Len: n, Label: l, Changes: ch, Explain: explain}
}

func chg(side analyzer.Side, from, to analyzer.State, reason string) analyzer.Change {
	return analyzer.Change{Side: side, From: from, To: to, Reason: reason}
}

func tentative(ch analyzer.Change, confirmed int64) analyzer.Change {
	ch.Tentative = true
	ch.Confirmed = confirmed
	return ch
}

func undone(ch analyzer.Change) analyzer.Change {
	ch.Undone = true
	return ch
}

const (
	finAck = flow.FIN | flow.ACK
	rstAck = flow.RST | flow.ACK
)

// lostFinalACK: the REPORT.md example. The client closes first; its final
// ACK (frame 12) is lost, the server retransmits its FIN (frame 13, ~208 ms,
// the minimum RTO TCP_RTO_MIN is 200 ms), the client in TIME_WAIT answers
// (frame 14, tcp_timewait_state_process → TCP_TW_ACK) and restarts its
// 60 s TIME_WAIT timer (inet_twsk_reschedule with TCP_TIMEWAIT_LEN).
func lostFinalACK() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 0, Client: ep("10.77.0.1:41009"), Server: ep("10.77.0.2:8000"),
		FirstFrame: 1, LastFrame: 14, FirstTime: at(0), LastTime: at(0.3311),
		Pattern: analyzer.PatternFourWay, Closer: analyzer.CloserClient,
		ClientEnd:     analyzer.EndState{State: analyzer.TimeWait, Since: at(0.1231), Until: at(60.3311)},
		ServerEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(0.3311), Tentative: true},
		ZeekConnState: "SF",
		Segments: []analyzer.LabelledSegment{
			seg(9, 0.0812, c, finAck, 201, 1449, 0, analyzer.Wave1, "tcp_close → tcp_send_fin",
				chg(c, analyzer.Established, analyzer.FinWait1, "tcp_close: ESTABLISHED→FIN_WAIT_1"),
				tentative(chg(s, analyzer.Established, analyzer.CloseWait, "tcp_fin: ESTABLISHED→CLOSE_WAIT"), 10)),
			seg(10, 0.1225, s, flow.ACK, 1449, 202, 0, analyzer.Wave2, "",
				chg(c, analyzer.FinWait1, analyzer.FinWait2, "tcp_rcv_state_process: FIN_WAIT_1→FIN_WAIT_2")),
			seg(11, 0.1231, s, finAck, 1449, 202, 0, analyzer.Wave3, "tcp_close → tcp_send_fin",
				chg(s, analyzer.CloseWait, analyzer.LastAck, "tcp_close: CLOSE_WAIT→LAST_ACK"),
				tentative(chg(c, analyzer.FinWait2, analyzer.TimeWait, "tcp_fin → tcp_time_wait"), 12)),
			seg(12, 0.1232, c, flow.ACK, 202, 1450, 0, analyzer.Wave4, "",
				undone(tentative(chg(s, analyzer.LastAck, analyzer.Closed, "tcp_rcv_state_process: LAST_ACK→CLOSED"), 0))),
			seg(13, 0.3310, s, finAck, 1449, 202, 0, analyzer.FINRetransmission, "tcp_retransmit_timer"),
			seg(14, 0.3311, c, flow.ACK, 202, 1450, 0, analyzer.TimeWaitACK, "tcp_timewait_state_process → TCP_TW_ACK",
				tentative(chg(s, analyzer.LastAck, analyzer.Closed, "tcp_rcv_state_process: LAST_ACK→CLOSED"), 0)),
		},
		Anomalies: []analyzer.Anomaly{
			{Kind: analyzer.LostFinalACK, Endpoint: s, Frames: []int64{12, 13}, Severity: analyzer.Warning,
				Detail: "The server sent its FIN again 208 ms after the client's final ACK (frame 12): that ACK never reached the server. The client, still in TIME_WAIT, answered the retransmission — this is what TIME_WAIT is for. Once is harmless; often, look for loss on the path to the server."},
			{Kind: analyzer.FINRetransmitted, Endpoint: s, Frames: []int64{13}, Severity: analyzer.Info,
				Detail: "The server retransmitted its FIN (frame 13) after its retransmission timeout."},
		},
		Sent:    [2]analyzer.DirStats{{Packets: 7, Bytes: 200}, {Packets: 7, Bytes: 1448}},
		Finish:  flow.FinishEnd,
		Profile: "linux",
	}
}

// threeWay: the server closes first; the client's FIN rides on the ACK of
// the server's FIN (wave-2+3, delayed ACK merged with the FIN).
func threeWay() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 1, Client: ep("10.0.0.1:53412"), Server: ep("10.0.0.2:80"),
		FirstFrame: 15, LastFrame: 22, FirstTime: at(1), LastTime: at(1.05),
		Pattern: analyzer.PatternThreeWay, Closer: analyzer.CloserServer,
		ClientEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(1.05), Tentative: true},
		ServerEnd:     analyzer.EndState{State: analyzer.TimeWait, Since: at(1.0401), Until: at(61.0401)},
		ZeekConnState: "SF",
		Segments: []analyzer.LabelledSegment{
			seg(20, 1.04, s, finAck, 5001, 78, 0, analyzer.Wave1, "",
				chg(s, analyzer.Established, analyzer.FinWait1, ""),
				tentative(chg(c, analyzer.Established, analyzer.CloseWait, ""), 21)),
			seg(21, 1.0401, c, finAck, 78, 5002, 0, analyzer.Wave23, "",
				chg(c, analyzer.CloseWait, analyzer.LastAck, ""),
				tentative(chg(s, analyzer.FinWait1, analyzer.TimeWait, ""), 22)),
			seg(22, 1.05, s, flow.ACK, 5002, 79, 0, analyzer.Wave4, "",
				tentative(chg(c, analyzer.LastAck, analyzer.Closed, ""), 0)),
		},
		Sent:    [2]analyzer.DirStats{{Packets: 4, Bytes: 77}, {Packets: 4, Bytes: 5000}},
		Finish:  flow.FinishDone,
		Profile: "linux",
	}
}

// simultaneous: both FINs cross (RFC 9293 §3.6 case 2): both go through
// CLOSING to TIME_WAIT.
func simultaneous() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 2, Client: ep("10.0.0.1:53414"), Server: ep("10.0.0.2:7000"),
		FirstFrame: 23, LastFrame: 33, FirstTime: at(2), LastTime: at(2.0003),
		Pattern: analyzer.PatternSimultaneous, Closer: analyzer.CloserBoth,
		ClientEnd:     analyzer.EndState{State: analyzer.TimeWait, Since: at(2.0003), Until: at(62.0003)},
		ServerEnd:     analyzer.EndState{State: analyzer.TimeWait, Since: at(2.0002), Until: at(62.0002)},
		ZeekConnState: "SF",
		Segments: []analyzer.LabelledSegment{
			seg(30, 2.0001, c, finAck, 11, 21, 0, analyzer.Wave1, "",
				chg(c, analyzer.Established, analyzer.FinWait1, "")),
			seg(31, 2.0001, s, finAck, 21, 11, 0, analyzer.Wave1, "",
				chg(s, analyzer.Established, analyzer.FinWait1, ""),
				chg(c, analyzer.FinWait1, analyzer.Closing, "")),
			seg(32, 2.0002, c, flow.ACK, 12, 22, 0, analyzer.Wave4, "",
				chg(s, analyzer.FinWait1, analyzer.Closing, ""), chg(s, analyzer.Closing, analyzer.TimeWait, "")),
			seg(33, 2.0003, s, flow.ACK, 22, 12, 0, analyzer.Wave4, "",
				chg(c, analyzer.Closing, analyzer.TimeWait, "")),
		},
		Anomalies: []analyzer.Anomaly{
			{Kind: analyzer.SimultaneousClose, Endpoint: c, Frames: []int64{30, 31}, Severity: analyzer.Info,
				Detail: "Both sides sent a FIN before seeing the other's; both pass through CLOSING and both keep a TIME_WAIT."},
		},
		Sent:    [2]analyzer.DirStats{{Packets: 5, Bytes: 10}, {Packets: 5, Bytes: 20}},
		Finish:  flow.FinishDone,
		Profile: "linux",
	}
}

// rstUnread: the client closed with unread data in its receive queue; Linux
// sends RST instead of FIN (tcp_close, LINUX_MIB_TCPABORTONCLOSE; RFC 2525
// §2.17).
func rstUnread() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 3, Client: ep("192.168.1.10:50123"), Server: ep("192.168.1.20:5432"),
		// Pod traffic on a node's uplink: ERSPAN from a switch mirror
		// around the node's VXLAN.
		Tunnel: flow.Tunnel{Type: flow.TunnelVXLAN, ID: 42, HasID: true, Depth: 2,
			Outer: flow.Key{Src: ep("10.0.0.1:53211"), Dst: ep("10.0.0.2:4789")},
			Path:  [4]flow.TunnelType{flow.TunnelERSPAN, flow.TunnelVXLAN}},
		FirstFrame: 34, LastFrame: 41, FirstTime: at(3), LastTime: at(3.5),
		Pattern: analyzer.PatternReset, Closer: analyzer.CloserClient,
		ClientEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(3.5)},
		ServerEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(3.5), Tentative: true},
		ZeekConnState: "RSTO",
		Segments: []analyzer.LabelledSegment{
			seg(41, 3.5, c, rstAck, 120, 1025, 0, analyzer.RST, "tcp_close: unread data → tcp_send_active_reset",
				chg(c, analyzer.Established, analyzer.Closed, "tcp_close: TCPAbortOnClose"),
				tentative(chg(s, analyzer.Established, analyzer.Closed, "tcp_reset"), 0)),
		},
		Anomalies: []analyzer.Anomaly{
			{Kind: analyzer.RSTUnreadData, Endpoint: c, Frames: []int64{40, 41}, Severity: analyzer.Warning,
				Detail: "The client closed the socket with 512 bytes from the server still unread (frame 40), so Linux reset the connection instead of closing it (tcp_close, TCPAbortOnClose). The server may lose data it thought delivered. Check that the client reads the whole response before close(), or that it means to abort."},
		},
		Sent:    [2]analyzer.DirStats{{Packets: 4, Bytes: 119}, {Packets: 4, Bytes: 1536}},
		Finish:  flow.FinishDone,
		Profile: "linux",
	}
}

// refused: SYN to a closed port answered by RST,ACK (tcp_v4_send_reset).
func refused() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 4, Client: ep("10.1.1.1:40000"), Server: ep("10.1.1.2:9999"),
		FirstFrame: 50, LastFrame: 51, FirstTime: at(5), LastTime: at(5.00004),
		Pattern: analyzer.PatternRefused, Closer: analyzer.CloserNone,
		ClientEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(5.00004)},
		ServerEnd:     analyzer.EndState{State: analyzer.Closed},
		ZeekConnState: "REJ",
		Segments: []analyzer.LabelledSegment{
			seg(50, 5, c, flow.SYN, 0, 0, 0, analyzer.SYNLabel, "",
				chg(c, analyzer.Closed, analyzer.SynSent, "tcp_v4_connect")),
			seg(51, 5.00004, s, rstAck, 0, 1, 0, analyzer.RST, "no listener: tcp_v4_send_reset",
				chg(c, analyzer.SynSent, analyzer.Closed, "tcp_reset: ECONNREFUSED")),
		},
		Sent:    [2]analyzer.DirStats{{Packets: 1}, {Packets: 1}},
		Finish:  flow.FinishDone,
		Profile: "linux",
	}
}

// halfOpen6: IPv6, no SYN seen (roles inferred). The server closed, the
// client acknowledged the FIN but never closed: CLOSE_WAIT stuck; the server
// sits in orphaned FIN_WAIT_2 until tcp_fin_timeout.
func halfOpen6() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 5, Client: ep("[2001:db8::1]:51000"), Server: ep("[2001:db8::2]:443"),
		Roles:      analyzer.RolesInferred,
		FirstFrame: 52, LastFrame: 61, FirstTime: at(6), LastTime: at(16.2),
		Pattern: analyzer.PatternHalfClosed, Closer: analyzer.CloserServer,
		ClientEnd:     analyzer.EndState{State: analyzer.CloseWait, Since: at(16.1)},
		ServerEnd:     analyzer.EndState{State: analyzer.FinWait2, Since: at(16.2), Until: at(76.2)},
		ZeekConnState: "OTH",
		Segments: []analyzer.LabelledSegment{
			seg(60, 16.1, s, finAck, 3001, 401, 0, analyzer.Wave1, "",
				chg(s, analyzer.Established, analyzer.FinWait1, ""),
				tentative(chg(c, analyzer.Established, analyzer.CloseWait, ""), 61)),
			seg(61, 16.2, c, flow.ACK, 401, 3002, 0, analyzer.Wave2, "",
				chg(s, analyzer.FinWait1, analyzer.FinWait2, "")),
		},
		Anomalies: []analyzer.Anomaly{
			{Kind: analyzer.CloseWaitStuck, Endpoint: c, Frames: []int64{60, 61}, Severity: analyzer.Warning,
				Detail: "The client acknowledged the server's FIN but did not close its side for the rest of the capture (> 5 s). The application has not called close() after read() returned 0: look for a leaked socket (ss -tan state close-wait)."},
		},
		Sent:    [2]analyzer.DirStats{{Packets: 3, Bytes: 400}, {Packets: 6, Bytes: 3000}},
		Finish:  flow.FinishEnd,
		Profile: "linux",
	}
}

// finThenReset: the client closed (orphaned FIN_WAIT_1); the server kept
// sending data without acknowledging the FIN, so the server's CLOSE_WAIT
// stays unconfirmed, and Linux answered the data with RST
// (tcp_rcv_state_process, TCPAbortOnData).
func finThenReset() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 7, Client: ep("10.2.0.1:33000"), Server: ep("10.2.0.2:8080"),
		FirstFrame: 62, LastFrame: 72, FirstTime: at(20), LastTime: at(20.5),
		Pattern: analyzer.PatternFINThenReset, Closer: analyzer.CloserClient,
		ClientEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(20.5)},
		ServerEnd:     analyzer.EndState{State: analyzer.Closed, Since: at(20.5), Tentative: true},
		ZeekConnState: "RSTO",
		Segments: []analyzer.LabelledSegment{
			seg(70, 20.1, c, finAck, 51, 1001, 0, analyzer.Wave1, "",
				chg(c, analyzer.Established, analyzer.FinWait1, ""),
				tentative(chg(s, analyzer.Established, analyzer.CloseWait, ""), 0)),
			seg(71, 20.4, s, flow.PSH|flow.ACK, 1001, 51, 100, analyzer.DataAfterClose, ""),
			seg(72, 20.5, c, flow.RST, 52, 0, 0, analyzer.RST, "tcp_rcv_state_process: data after close → tcp_reset",
				chg(c, analyzer.FinWait1, analyzer.Closed, ""),
				tentative(chg(s, analyzer.CloseWait, analyzer.Closed, ""), 0)),
		},
		Anomalies: []analyzer.Anomaly{
			{Kind: analyzer.RSTDataAfterClose, Endpoint: c, Frames: []int64{71, 72}, Severity: analyzer.Error,
				Detail: "The server sent 100 bytes after the client had closed its socket; Linux resets an orphaned connection that receives data (TCPAbortOnData). The server's response was lost."},
		},
		Sent:    [2]analyzer.DirStats{{Packets: 4, Bytes: 50}, {Packets: 4, Bytes: 1100}},
		Finish:  flow.FinishEnd,
		Profile: "linux",
	}
}

// bare: a mid-stream flow with nothing labelled and no timestamps.
func bare() *analyzer.Teardown {
	return &analyzer.Teardown{
		Stream: 6, Client: ep("10.9.9.9:60000"), Server: ep("10.9.9.8:22"),
		Roles: analyzer.RolesInferred, FirstFrame: 55, LastFrame: 58,
		Pattern: analyzer.PatternOpen, ZeekConnState: "OTH",
		ClientEnd: analyzer.EndState{State: analyzer.Established},
		ServerEnd: analyzer.EndState{State: analyzer.Established},
		Sent:      [2]analyzer.DirStats{{Packets: 2, Bytes: 96}, {Packets: 2, Bytes: 1200}},
		Finish:    flow.FinishEnd,
		Profile:   "linux",
	}
}

// scenarios returns every scenario in a finish order that is not stream
// order, as the analyzer emits them.
func scenarios() []*analyzer.Teardown {
	return []*analyzer.Teardown{refused(), threeWay(), rstUnread(), simultaneous(), finThenReset(), lostFinalACK(), bare(), halfOpen6()}
}

func scenarioCapture() *Capture {
	return &Capture{
		File: "scenarios.pcap", Frames: 72, TCPSegments: 70,
		Skipped: map[string]int64{"not tcp": 1, "malformed": 1},
		First:   at(0), Last: at(20.5), Profile: "linux", Flows: 8,
	}
}
