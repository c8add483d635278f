package analyzer

import "strings"

// LinuxVersion is the kernel whose code the Linux words of the rule and
// kind tables describe (function names, counters, defaults): the kernel
// the fixtures were recorded on (fixtures/*.truth, "kernel:"), which
// TestLinuxVersionPinned keeps in step.
const LinuxVersion = "6.18"

// rule identifies one rule of the close machines: a state change an
// endpoint makes, or the role a segment plays in a teardown. The machines
// pass rule ids (conn.setState, conn.record) and never spell words; the
// words, and where the rule comes from, are its entry in rules.
type rule uint8

const (
	ruleNone rule = iota

	// Opening (RFC 9293 §3.10.1, §3.10.7.2, §3.10.7.3).
	ruleConnect          // SYN sent: CLOSED → SYN_SENT
	ruleSynInListen      // SYN received: LISTEN → SYN_RECEIVED
	ruleSimultaneousOpen // SYN received in SYN_SENT → SYN_RECEIVED
	ruleSynAckSent       // SYN-ACK sent: → SYN_RECEIVED
	ruleSynAckAccepted   // SYN-ACK received in SYN_SENT → ESTABLISHED
	ruleHandshakeDone    // our SYN acknowledged in SYN_RECEIVED → ESTABLISHED

	// Closing with FIN (RFC 9293 §3.10.4, §3.10.7.4).
	ruleActiveClose      // close() in ESTABLISHED → FIN_WAIT_1, FIN sent
	rulePassiveClose     // close() in CLOSE_WAIT → LAST_ACK, FIN sent
	ruleCloseAfterEOF    // wave-2+3: ACK of the peer's FIN and our FIN in one segment
	ruleFinCrossed       // our FIN crossed the peer's: FIN_WAIT_1 → CLOSING
	ruleFinInEstablished // FIN received in ESTABLISHED → CLOSE_WAIT
	ruleFinInFinWait1    // FIN received in FIN_WAIT_1 → CLOSING
	ruleFinInFinWait2    // FIN received in FIN_WAIT_2 → TIME_WAIT
	ruleFinAckedFinWait1 // our FIN acknowledged in FIN_WAIT_1 → FIN_WAIT_2
	ruleFinAckedClosing  // our FIN acknowledged in CLOSING → TIME_WAIT
	ruleFinAckedLastAck  // our FIN acknowledged in LAST_ACK → CLOSED
	ruleAckOfFin         // wave-2: the peer's FIN acknowledged alone
	ruleFinalAck         // wave-4: the last FIN acknowledged
	ruleFinalAckTimeWait // wave-4 from TIME_WAIT
	ruleFinRetransmit    // a FIN sent again on the RTO
	ruleTimeWaitReAck    // TIME_WAIT re-ACKs a retransmitted FIN

	// Timers (RFC 9293 §3.10.8; Linux tcp_fin_timeout).
	ruleTimeWaitExpired
	ruleFinWait2Timeout

	// Resets sent (RFC 9293 §3.10.5, §3.10.7.1; RFC 2525 §2.17).
	ruleRstRefused       // no listener: the SYN is refused
	ruleRstAfterFinWait2 // no socket: the orphaned FIN_WAIT_2 had timed out
	ruleRstAfterReset    // no socket: after this side's own reset
	ruleRstNoSocket      // no socket for the 4-tuple any more
	ruleRstDataAfterClose
	ruleRstDataAfterCloseMinisock // the orphan is a FIN_WAIT_2 mini-socket
	ruleRstLateInFinWait2         // data seconds into FIN_WAIT_2: expired or not
	ruleAbortUnread               // close() with unread data
	ruleAbortLinger               // SO_LINGER {1, 0} or an application abort
	ruleAbortMemory               // close() short of orphan memory: FIN, then RST at once
	ruleAbortLinger2Close         // TCP_LINGER2 < 0: close() in FIN_WAIT_2 resets
	ruleAbortLinger2Orphan        // TCP_LINGER2 < 0: the orphan resets on the ACK of its FIN
	ruleRstSynSent                // the connection attempt abandoned
	ruleRstIgnored                // a RST the receiver did not accept
	ruleKeepaliveReset            // the keepalive timer gave up on unanswered probes
	ruleRetransGaveUp             // tcp_write_timeout: retransmissions unanswered
	ruleOrphanGaveUp              // tcp_write_timeout: the orphan's FIN unanswered
	ruleSynGaveUp                 // tcp_write_timeout: the SYN unanswered
	ruleSynAckGaveUp              // the request socket dropped: SYN-ACKs unanswered
	ruleConnectGone               // no SYN retransmitted: the connecting socket is gone

	// Resets received (RFC 9293 §3.10.7; RFC 5961 §3).
	ruleRstRefusedSynSent // RST acknowledging our SYN in SYN_SENT → CLOSED
	ruleRstKillsTimeWait  // TIME_WAIT assassination
	ruleRstAccepted       // acceptable RST → CLOSED
	ruleChallengeAck      // our challenge ACK answering an inexact RST
	ruleBadChecksum       // dropped by the receiver: wrong checksum

	// Segments in an endpoint's name it did not send (fingerprint.go).
	ruleRstForged       // a RST its claimed sender's own segments contradict
	ruleSentAfterOwnRst // the claimed sender of a RST speaks on: the RST was not its own

	// RFC 5961 §4 (SYN on a synchronized connection) and a reuse the
	// peer's TIME_WAIT rejects (tcp_timewait_state_process, TCP_TW_ACK).
	ruleSynOnEstablished   // an in-window SYN on a synchronized connection: dropped, challenge ACK
	ruleChallengeAckSyn    // our challenge ACK answering that SYN
	ruleSynInWindowReset   // RFC 793: an in-window SYN resets the connection
	ruleSynRejected        // a SYN the peer's TIME_WAIT did not accept
	ruleTimeWaitRejectsSyn // the TIME_WAIT answers that SYN with an ACK of the old connection
	ruleRstSynSentBadAck   // RST from SYN_SENT answering an unacceptable ACK; the socket stays SYN_SENT
	ruleSynAfterReject     // the SYN sent again after the TIME_WAIT's ACK

	// RFC 5961 §5 (blind data injection, blind.go).
	ruleBlindData       // data with a too-old ACK: discarded, challenge ACK
	ruleChallengeAckOld // our challenge ACK answering that segment

	numRules
)

// Profile.KernelPaths picks the words of a rule: words[linuxWords] for the
// Linux profile, words[rfcWords] for RFC 793/9293.
const (
	rfcWords   = 0
	linuxWords = 1
)

// ruleRecord is one rule: where it comes from and what reports say of it.
type ruleRecord struct {
	// rfc is the RFC section the rule restates; linux the kernel
	// function(s) implementing it (as of LinuxVersion). One may be "":
	// the RFC has no FIN_WAIT_2 timer, Linux no function for a wire role.
	rfc, linux string
	// change is the reason of the state change the rule makes
	// (Change.Reason), segment the explanation of the segment it labels
	// (LabelledSegment.Explain), each indexed by rfcWords/linuxWords; ""
	// where the rule makes no change or says nothing of its segment. In
	// change, {from} stands for the state left.
	change, segment [2]string
}

// noSocketReset is the change of an endpoint that answers with RST from no
// socket (tcp_v4_send_reset): the reasons differ only in what they explain.
const noSocketReset = "RST sent for a segment with no socket"

// rules is the one table of rule words, indexed by rule.
var rules = [...]ruleRecord{
	ruleNone: {},

	ruleConnect: {rfc: "RFC 9293 §3.10.1", linux: "tcp_v4_connect",
		change: [2]string{"RFC 9293 §3.10.1: OPEN → SYN-SENT", "tcp_v4_connect → tcp_connect: SYN sent"}},
	ruleSynInListen: {rfc: "RFC 9293 §3.10.7.2", linux: "tcp_conn_request",
		change: [2]string{"RFC 9293 §3.10.7.2: SYN in LISTEN → SYN-RECEIVED", "tcp_conn_request: SYN queued as a request socket (SYN_RECV)"}},
	ruleSimultaneousOpen: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_rcv_synsent_state_process",
		change: both("simultaneous open: SYN in SYN-SENT → SYN-RECEIVED")},
	ruleSynAckSent: {rfc: "RFC 9293 §3.10.7.2", linux: "tcp_v4_send_synack",
		change: both("SYN-ACK sent: SYN_RECEIVED")},
	ruleSynAckAccepted: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_rcv_synsent_state_process",
		change: [2]string{"RFC 9293 §3.10.7.3: SYN-ACK in SYN-SENT → ESTABLISHED", "tcp_rcv_synsent_state_process: SYN-ACK accepted → ESTABLISHED"}},
	ruleHandshakeDone: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_check_req",
		change: [2]string{"RFC 9293 §3.10.7.4: SYN-RECEIVED, our SYN acknowledged → ESTABLISHED", "tcp_check_req → tcp_create_openreq_child: handshake complete, ESTABLISHED"}},

	ruleActiveClose: {rfc: "RFC 9293 §3.10.4", linux: "tcp_close_state",
		change:  [2]string{"RFC 9293 §3.10.4: CLOSE in ESTABLISHED → FIN-WAIT-1, FIN sent", "tcp_close → tcp_close_state: ESTABLISHED → FIN_WAIT_1, tcp_send_fin"},
		segment: linux("close() or shutdown(SHUT_WR): tcp_close_state ESTABLISHED → FIN_WAIT_1, tcp_send_fin (active close)")},
	rulePassiveClose: {rfc: "RFC 9293 §3.10.4", linux: "tcp_close_state",
		change:  [2]string{"RFC 9293 §3.10.4: CLOSE in CLOSE-WAIT → LAST-ACK, FIN sent", "tcp_close → tcp_close_state: CLOSE_WAIT → LAST_ACK, tcp_send_fin"},
		segment: linux("close() after EOF: tcp_close_state CLOSE_WAIT → LAST_ACK, tcp_send_fin (passive close)")},
	ruleCloseAfterEOF: {rfc: "RFC 9293 §3.10.4", linux: "tcp_send_fin",
		segment: linux("close() right after EOF, before the delayed ACK went out: ACK of the peer's FIN and our FIN in one segment (tcp_send_fin)")},
	ruleFinCrossed: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_fin",
		change:  [2]string{"RFC 9293 §3.10.7.4: FIN received in FIN-WAIT-1 → CLOSING", "tcp_fin: FIN_WAIT_1 → CLOSING (simultaneous close: the peer's FIN crossed ours)"},
		segment: linux("close() while the peer's FIN was in flight: tcp_close_state ESTABLISHED → FIN_WAIT_1, then tcp_fin → CLOSING (simultaneous close)")},
	ruleFinInEstablished: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_fin",
		change: [2]string{"RFC 9293 §3.10.7.4: FIN received in ESTABLISHED → CLOSE-WAIT", "tcp_fin: ESTABLISHED → CLOSE_WAIT (the application reads EOF)"}},
	ruleFinInFinWait1: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_fin",
		change: [2]string{"RFC 9293 §3.10.7.4: FIN received in FIN-WAIT-1 → CLOSING", "tcp_fin: FIN_WAIT_1 → CLOSING (simultaneous close)"}},
	ruleFinInFinWait2: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_fin",
		change: [2]string{"RFC 9293 §3.10.7.4: FIN received in FIN-WAIT-2 → TIME-WAIT", "tcp_fin: FIN_WAIT_2 → tcp_time_wait(TIME_WAIT)"}},
	ruleFinAckedFinWait1: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_rcv_state_process",
		change: [2]string{"RFC 9293 §3.10.7.4: FIN-WAIT-1, our FIN acknowledged → FIN-WAIT-2", "tcp_rcv_state_process: FIN_WAIT_1, our FIN acknowledged → FIN_WAIT_2"}},
	ruleFinAckedClosing: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_rcv_state_process",
		change: [2]string{"RFC 9293 §3.10.7.4: CLOSING, our FIN acknowledged → TIME-WAIT", "tcp_rcv_state_process: CLOSING, our FIN acknowledged → tcp_time_wait(TIME_WAIT)"}},
	ruleFinAckedLastAck: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_rcv_state_process",
		change: [2]string{"RFC 9293 §3.10.7.4: LAST-ACK, our FIN acknowledged → CLOSED", "tcp_rcv_state_process: LAST_ACK, our FIN acknowledged → tcp_done (CLOSED)"}},
	ruleAckOfFin: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_fin",
		segment: linux("ACK of the peer's FIN, sent alone: that FIN moved this side to CLOSE_WAIT (tcp_fin); its application reads EOF and should close()")},
	ruleFinalAck: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_fin",
		segment: linux("final ACK of the peer's FIN")},
	ruleFinalAckTimeWait: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_time_wait",
		segment: linux("final ACK of the peer's FIN, sent from TIME_WAIT (entered on that FIN: tcp_fin → tcp_time_wait), held 60 s (TCP_TIMEWAIT_LEN)")},
	ruleFinRetransmit: {rfc: "RFC 9293 §3.8.1", linux: "tcp_retransmit_timer",
		segment: linux("tcp_retransmit_timer: FIN not acknowledged within the RTO, sent again (TcpRetransSegs)")},
	ruleTimeWaitReAck: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_timewait_state_process",
		segment: linux("tcp_timewait_state_process: retransmitted FIN in TIME_WAIT → TCP_TW_ACK, TIME_WAIT timer restarted")},

	ruleTimeWaitExpired: {rfc: "RFC 9293 §3.10.8", linux: "inet_twsk_kill",
		change: [2]string{"RFC 9293 §3.10.8: 2×MSL TIME_WAIT timer expired", "inet_twsk_kill: TIME_WAIT timer (TCP_TIMEWAIT_LEN, 60 s) expired"}},
	ruleFinWait2Timeout: {linux: "tcp_time_wait",
		change: both("tcp_fin_timeout: orphaned FIN_WAIT_2 destroyed (tcp_time_wait with TCP_FIN_WAIT2 substate expired)")},

	ruleRstRefused: {rfc: "RFC 9293 §3.10.7.1", linux: "tcp_v4_send_reset",
		change:  both(noSocketReset),
		segment: [2]string{"no socket listening on the port: the SYN is refused", "tcp_v4_send_reset: no socket listening on the port (connection refused, TcpOutRsts)"}},
	ruleRstAfterFinWait2: {rfc: "RFC 9293 §3.10.7.1", linux: "tcp_v4_send_reset",
		change:  both(noSocketReset),
		segment: both("no socket: the orphaned FIN_WAIT_2 timed out (tcp_fin_timeout); tcp_v4_send_reset answers the late data")},
	ruleRstAfterReset: {rfc: "RFC 9293 §3.10.7.1", linux: "tcp_v4_send_reset",
		change:  both(noSocketReset),
		segment: both("no socket: answering a segment that arrived after this side's reset")},
	ruleRstNoSocket: {rfc: "RFC 9293 §3.10.7.1", linux: "tcp_v4_send_reset",
		change:  both(noSocketReset),
		segment: [2]string{"no socket for this connection any more: the segment is answered with RST", "tcp_v4_send_reset: no socket for this 4-tuple (already closed); TcpOutRsts"}},
	ruleRstDataAfterClose: {rfc: "RFC 2525 §2.17", linux: "tcp_rcv_state_process",
		change:  [2]string{"RFC 2525 §2.17: data after close() on an orphaned socket → RST", "tcp_rcv_state_process: data after close() in {from} → tcp_reset (TCPAbortOnData)"},
		segment: linux("data after close(): the orphaned socket cannot deliver it; tcp_rcv_state_process → tcp_reset (TCPAbortOnData)")},
	ruleRstDataAfterCloseMinisock: {rfc: "RFC 2525 §2.17", linux: "tcp_timewait_state_process",
		change:  [2]string{"RFC 2525 §2.17: data after close() on an orphaned socket → RST", "tcp_timewait_state_process: data to the FIN_WAIT_2 mini-socket → TCP_TW_RST, tcp_v4_send_reset"},
		segment: linux("data after close(): the orphaned FIN_WAIT_2 mini-socket answers it with RST (TCP_TW_RST; counted in TcpOutRsts, not TcpExtTCPAbortOnData)")},
	ruleRstLateInFinWait2: {rfc: "RFC 2525 §2.17", linux: "tcp_timewait_state_process",
		change:  [2]string{"RFC 2525 §2.17: data after close() on an orphaned socket → RST", "tcp_timewait_state_process (TCP_TW_RST), or tcp_v4_send_reset from no socket once tcp_fin_timeout expired"},
		segment: linux("data long after close(): the orphaned FIN_WAIT_2, expired (tcp_fin_timeout) or not, answers with RST (counted in TcpOutRsts)")},
	ruleAbortUnread: {rfc: "RFC 9293 §3.10.5", linux: "tcp_close",
		change:  [2]string{"RFC 9293 §3.10.5: ABORT → RST sent, CLOSED", "tcp_close: unread data in the receive queue → tcp_set_state(CLOSE), tcp_send_active_reset (TCPAbortOnClose)"},
		segment: linux("close() with unread received data: RST instead of FIN")},
	ruleAbortLinger: {rfc: "RFC 9293 §3.10.5", linux: "tcp_disconnect",
		change:  [2]string{"RFC 9293 §3.10.5: ABORT → RST sent, CLOSED", "tcp_close → tcp_disconnect → tcp_send_active_reset (SO_LINGER {1,0}; counted as TCPAbortOnData)"},
		segment: linux("abortive close: SO_LINGER with a zero timeout, or an application abort")},
	ruleAbortMemory: {rfc: "RFC 9293 §3.10.5", linux: "tcp_check_oom",
		change:  [2]string{"RFC 9293 §3.10.5: ABORT → RST sent, CLOSED", "tcp_close → tcp_check_oom: too many orphans or TCP memory exhausted → tcp_set_state(CLOSE), tcp_send_active_reset (TCPAbortOnMemory)"},
		segment: linux("close() sent the FIN, then found the host short of memory for orphans: RST at once (tcp_check_oom)")},
	ruleAbortLinger2Close: {rfc: "RFC 9293 §3.10.5", linux: "tcp_close",
		change:  [2]string{"RFC 9293 §3.10.5: ABORT → RST sent, CLOSED", "tcp_close: FIN_WAIT_2 with TCP_LINGER2 < 0 → tcp_set_state(CLOSE), tcp_send_active_reset (TCPAbortOnLinger)"},
		segment: linux("close() in FIN_WAIT_2 with TCP_LINGER2 < 0 (or SO_LINGER {1,0}): RST instead of waiting for the peer's FIN")},
	ruleAbortLinger2Orphan: {rfc: "RFC 9293 §3.10.5", linux: "tcp_rcv_state_process",
		change:  [2]string{"RFC 9293 §3.10.5: ABORT → RST sent, CLOSED", "tcp_rcv_state_process: FIN_WAIT_1 orphan with TCP_LINGER2 < 0, FIN acknowledged → tcp_done (TCPAbortOnData), tcp_v4_send_reset"},
		segment: linux("the orphan with TCP_LINGER2 < 0 dies when its FIN is acknowledged: RST answering that ACK")},
	ruleRstSynSent: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_rcv_synsent_state_process",
		change: both("RST sent in SYN_SENT: the connection attempt is abandoned")},
	ruleKeepaliveReset: {rfc: "RFC 9293 §3.8.4", linux: "tcp_keepalive_timer",
		change:  [2]string{"RFC 9293 §3.8.4: keep-alive probes unanswered, connection aborted", "tcp_keepalive_timer: keep-alive probes unanswered → tcp_send_active_reset, tcp_write_err (ETIMEDOUT)"},
		segment: [2]string{"keep-alive probes unanswered: the connection is aborted", "tcp_keepalive_timer: tcp_keepalive_probes unanswered → tcp_send_active_reset; the application gets ETIMEDOUT"}},
	ruleRetransGaveUp: {rfc: "RFC 9293 §3.8.3", linux: "tcp_write_timeout",
		change: [2]string{"RFC 9293 §3.8.3 (R2): retransmissions unanswered, connection closed", "tcp_write_timeout: retransmissions unanswered (tcp_retries2) → tcp_write_err: ETIMEDOUT, CLOSED, no RST"}},
	ruleOrphanGaveUp: {rfc: "RFC 9293 §3.8.3", linux: "tcp_write_timeout",
		change: [2]string{"RFC 9293 §3.8.3 (R2): FIN retransmissions unanswered, connection closed", "tcp_write_timeout: the orphan's FIN unanswered (tcp_orphan_retries) → tcp_write_err: destroyed, no RST"}},
	ruleSynGaveUp: {rfc: "RFC 9293 §3.8.3", linux: "tcp_write_timeout",
		change: [2]string{"RFC 9293 §3.8.3 (R2 for a SYN): no answer, connection attempt abandoned", "tcp_write_timeout: SYN unanswered (tcp_syn_retries) → tcp_write_err: connect() fails with ETIMEDOUT"}},
	ruleSynAckGaveUp: {rfc: "RFC 9293 §3.8.3", linux: "inet_csk_reqsk_queue_drop",
		change: [2]string{"RFC 9293 §3.8.3: SYN-ACK retransmissions unanswered, half-open connection dropped", "reqsk_timer_handler: SYN-ACK unanswered (tcp_synack_retries) → inet_csk_reqsk_queue_drop: the request socket is gone"}},
	ruleConnectGone: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_retransmit_timer",
		change: both("no SYN sent again while the SYN-ACKs went unanswered: the connecting socket is gone (connect() abandoned)")},
	ruleRstIgnored: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_validate_incoming",
		segment: both("not accepted by the receiver: its sequence number is not the expected one")},

	ruleRstRefusedSynSent: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_rcv_synsent_state_process",
		change: [2]string{"RFC 9293 §3.10.7.3: RST acknowledging our SYN → CLOSED (connection refused)", "tcp_rcv_synsent_state_process → tcp_reset: ECONNREFUSED"}},
	ruleRstKillsTimeWait: {rfc: "RFC 1337", linux: "tcp_timewait_state_process",
		change: [2]string{"RFC 793: RST in TIME-WAIT → CLOSED (the hazard RFC 1337 describes)", "tcp_timewait_state_process: RST in TIME_WAIT kills it (tcp_rfc1337=0): TIME_WAIT assassination"}},
	ruleRstAccepted: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_validate_incoming",
		change: [2]string{"RFC 9293 §3.10.7.4: acceptable RST → CLOSED", "tcp_validate_incoming → tcp_reset: connection reset by peer (ECONNRESET)"}},
	ruleChallengeAck: {rfc: "RFC 5961 §3.2", linux: "tcp_send_challenge_ack",
		segment: linux("tcp_validate_incoming → tcp_send_challenge_ack: RST in window but not at rcv_nxt (RFC 5961 §3.2); TCPChallengeACK")},

	ruleRstForged: {rfc: "RFC 5961 §1", linux: "tcp_v4_send_reset",
		segment: [2]string{"not its claimed sender's: its own segments contradict it (forged or injected on the path, rst-forged)",
			"not its claimed sender's kernel: neither tcp_send_active_reset nor tcp_v4_send_reset would send it so (forged or injected on the path, rst-forged)"}},
	ruleSentAfterOwnRst: {rfc: "RFC 9293 §3.10.5", linux: "tcp_done",
		segment: [2]string{"sent after a RST in this side's name: a side that reset has no connection left, so that RST was not its own",
			"sent after a RST in this side's name: tcp_send_active_reset is followed by tcp_done, so that RST was not its kernel's"}},
	ruleBadChecksum: {rfc: "RFC 1122 §4.2.2.7", linux: "tcp_checksum_complete",
		segment: [2]string{"wrong checksum: discarded by the receiver (RFC 1122 §4.2.2.7), no state changed", "tcp_v4_rcv → tcp_checksum_complete: wrong checksum, dropped (TcpInCsumErrors), no state changed"}},
	ruleSynOnEstablished: {rfc: "RFC 5961 §4.2", linux: "tcp_validate_incoming",
		segment: [2]string{"a SYN in the window of a synchronized connection: RFC 793 resets the connection", "a SYN on a synchronized connection, in its window: not a new connection; tcp_validate_incoming drops it and answers with a challenge ACK (RFC 5961 §4.2; TCPSYNChallenge)"}},
	ruleChallengeAckSyn: {rfc: "RFC 5961 §4.2", linux: "tcp_send_challenge_ack",
		segment: linux("tcp_validate_incoming → tcp_send_challenge_ack: SYN on a synchronized connection (RFC 5961 §4.2); TCPSYNChallenge, TCPChallengeACK")},
	ruleSynInWindowReset: {rfc: "RFC 793 p.71", linux: "",
		change: [2]string{"RFC 793 p.71: SYN in the window of a synchronized connection → RST sent, CLOSED", ""}},
	ruleSynRejected: {rfc: "RFC 9293 §3.6.1", linux: "tcp_timewait_state_process",
		segment: [2]string{"a SYN reusing the 4-tuple of a connection in TIME-WAIT, not accepted: answered with an ACK of the old connection", "a SYN reusing the 4-tuple that the TIME_WAIT did not accept (sequence number not after the old rcv_nxt, no newer timestamp): tcp_timewait_state_process → TCP_TW_ACK"}},
	ruleTimeWaitRejectsSyn: {rfc: "RFC 9293 §3.10.7.4", linux: "tcp_timewait_state_process",
		change:  [2]string{"RFC 9293 §3.10.7.4: the old connection's TIME-WAIT answers an unacceptable segment with an ACK", "tcp_timewait_state_process → TCP_TW_ACK: the old connection's TIME_WAIT answers the SYN (tcp_v4_timewait_ack)"},
		segment: [2]string{"ACK of the old connection from TIME-WAIT, answering a SYN it did not accept", "tcp_v4_timewait_ack: the TIME_WAIT's ACK of the old connection (seq snd_nxt, ack rcv_nxt of the old one), answering a SYN it did not accept (TCP_TW_ACK)"}},
	ruleRstSynSentBadAck: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_rcv_synsent_state_process",
		segment: [2]string{"RST from SYN-SENT answering an unacceptable ACK (seq = its ACK); the connection attempt goes on", "tcp_rcv_synsent_state_process: unacceptable ACK → reset_and_undo, tcp_v4_send_reset (seq = its ack); the socket stays SYN_SENT and resends the SYN at once (TCP_TIMEOUT_MIN)"}},
	ruleSynAfterReject: {rfc: "RFC 9293 §3.10.7.3", linux: "tcp_retransmit_timer",
		segment: linux("the SYN sent again: tcp_rcv_synsent_state_process re-armed the retransmit timer to TCP_TIMEOUT_MIN after the unacceptable ACK")},
	ruleBlindData: {rfc: "RFC 5961 §5.2", linux: "tcp_ack",
		segment: [2]string{"its ACK is older than SND.UNA - MAX.SND.WND: not acceptable, discarded with its data and answered with a challenge ACK (RFC 5961 §5.2; blind data injection?)", "its ack is before snd_una - max_window: tcp_ack sends a challenge ACK and tcp_rcv_established discards the segment, data too (RFC 5961 §5.2, SKB_DROP_REASON_TCP_TOO_OLD_ACK); blind data injection?"}},
	ruleChallengeAckOld: {rfc: "RFC 5961 §5.2", linux: "tcp_send_challenge_ack",
		segment: linux("tcp_ack → tcp_send_challenge_ack: a segment with a too-old ACK (RFC 5961 §5.2); TCPChallengeACK")},
}

// The table has an entry per rule: a rule added without one fails to
// compile here.
var _ [numRules]ruleRecord = rules

// both is words said alike under either profile; linux, words said only
// under the Linux profile (the RFC one says nothing there).
func both(w string) [2]string  { return [2]string{w, w} }
func linux(w string) [2]string { return [2]string{rfcWords: "", linuxWords: w} }

// fromWords holds, for the rules whose change words name the state left
// ({from}), the words for each state: built once, so a change's reason is
// a constant string whatever its state (no allocation per change).
var fromWords [numRules]*[2][numStates]string

func init() {
	for r := range rules {
		for w, words := range rules[r].change {
			if !strings.Contains(words, "{from}") {
				continue
			}
			if fromWords[r] == nil {
				fromWords[r] = new([2][numStates]string)
			}
			for s := range State(numStates) {
				fromWords[r][w][s] = strings.ReplaceAll(words, "{from}", s.String())
			}
		}
	}
}

// wordsOf is the index of the words profile p reads.
func wordsOf(p *Profile) int {
	if p.KernelPaths {
		return linuxWords
	}
	return rfcWords
}

// reason is the Change.Reason of a change made by r from state from.
func (r rule) reason(p *Profile, from State) string {
	w := wordsOf(p)
	if fw := fromWords[r]; fw != nil && from < numStates {
		return fw[w][from]
	}
	return rules[r].change[w]
}

// explain is the LabelledSegment.Explain of a segment labelled by r.
func (r rule) explain(p *Profile) string { return rules[r].segment[wordsOf(p)] }
