package analyzer

// Kind is an anomaly kind. String returns the stable JSON identifier.
//
// Adding a kind (docs/adding-a-kind.md): a constant here, its record in
// kinds, its detector (a conn.addAnomaly call where the machines see it) and
// its detail writer; nothing else names kinds one by one.
type Kind uint8

const (
	FINRetransmitted Kind = iota
	LostFinalACK
	TimeWaitAssassination
	RSTUnreadData
	RSTLingerZero
	RSTDataAfterClose
	RSTAfterFinWait2Timeout
	RSTOutOfWindow
	CloseWaitStuck
	FinWait2Stuck
	DataAfterFIN
	SYNInTimeWait
	SimultaneousClose
	HalfClose
	InvalidFlags // SYN+FIN, SYN+RST, FIN+RST or RST with data: hostile or broken
	KeepaliveTimeout
	RetransmissionTimeout
	SYNTimeout
	SYNACKTimeout
	OrphanTimeout
	RSTLinger2
	RSTMemoryPressure
	IdleCloseRace
	RSTForged // a RST in an endpoint's name that its own segments prove it did not send
	BadChecksum
	SYNOnEstablished // an in-window SYN on a synchronized connection (RFC 5961 §4)
	numKinds
)

// kindRecord is everything finwave says of an anomaly kind; its detector
// lives with the machine rule that sees it.
type kindRecord struct {
	name     string   // stable JSON identifier
	severity Severity // when found; a detector may raise it (repeated FIN retransmissions)
	summary  string   // one line: what it means (help, docs)
	check    string   // what to look at first
	act      string   // what the anomaly's side did, as the verdict says it ("<side> <act>")
	ends     bool     // the kind says how the connection ended (a reset, a timer that gave up)
	// counters are the nstat counters the anomaly's endpoint's host
	// certainly increments with it (as of LinuxVersion), none where no
	// counter does or the wire cannot tell which one (the detail then
	// says "counted as X if Y"). A detector may name others for the case
	// it found (anomaly.counters).
	counters []string
	// detail appends the paragraph a report prints: the likely cause, the
	// kernel path and what to check, from the facts the detector kept.
	// Values in and out, not pointers: what an indirect call is given
	// escapes, and a paragraph must not cost an allocation.
	detail func(p para, d detailFacts) para
}

// detailFacts is what a detail writer may read.
type detailFacts struct {
	c         *conn
	cfg       *Config
	a         *anomaly
	who, peer string // "client" / "server": the anomaly's endpoint, the other
	linux     bool   // the Linux profile's words (Profile.KernelPaths)
}

// last is the anomaly's latest evidence frame.
func (d detailFacts) last() int64 { return d.a.frames[len(d.a.frames)-1] }

// ep is the anomaly's endpoint, peerEp the other.
func (d detailFacts) ep() *endpoint     { return &d.c.ep[d.a.side] }
func (d detailFacts) peerEp() *endpoint { return &d.c.ep[d.a.side.Peer()] }

// kinds is the one table of anomaly kinds, indexed by Kind.
var kinds = [...]kindRecord{
	FINRetransmitted: {
		name: "fin-retransmission", severity: Info,
		summary:  "a FIN was sent again: it or its ACK was lost or late",
		check:    "loss on the path, or a peer that stopped answering",
		act:      "retransmitted its FIN",
		counters: retransSegs,
		detail:   finRetransmittedDetail,
	},
	LostFinalACK: {
		name: "lost-final-ack", severity: Warning,
		summary:  "the last ACK of the close never reached the LAST_ACK side, which retransmitted its FIN",
		check:    "loss on the path toward the side that sent its FIN again",
		act:      "never got the final ACK of the close and sent its FIN again",
		counters: retransSegs,
		detail:   lostFinalACKDetail,
	},
	TimeWaitAssassination: {
		name: "time-wait-assassination", severity: Warning,
		summary: "a RST ended a TIME_WAIT early (RFC 1337 hazard; Linux tcp_rfc1337=0)",
		check:   "what sent the RST (a middlebox, a scanner, the peer answering a stale ACK); net.ipv4.tcp_rfc1337",
		act:     "lost its TIME_WAIT to a RST (TIME_WAIT assassination)",
		ends:    true,
		detail:  timeWaitAssassinationDetail,
	},
	RSTUnreadData: {
		name: "rst-unread-data", severity: Warning,
		summary:  "close() with unread received data: RST instead of FIN (Linux TCPAbortOnClose, RFC 2525)",
		check:    "the application: it closes without reading the whole request",
		act:      "reset the connection: close() with unread data",
		ends:     true,
		counters: outRsts, // TcpExtTCPAbortOnClose only if the data was unread: the detail says so
		detail:   rstUnreadDataDetail,
	},
	RSTLingerZero: {
		name: "rst-linger-zero", severity: Warning,
		summary:  "abortive close with nothing pending: SO_LINGER {1,0} likely",
		check:    "the application's socket options (SO_LINGER {1, 0}) or its abort path",
		act:      "aborted with RST: SO_LINGER {1,0} or an application abort",
		ends:     true,
		counters: outRsts, // TcpExtTCPAbortOnData only if SO_LINGER {1,0}: the detail says so
		detail:   rstLingerZeroDetail,
	},
	RSTDataAfterClose: {
		name: "rst-data-after-close", severity: Warning,
		summary:  "the peer kept sending to a socket that had been closed: RST (Linux TCPAbortOnData)",
		check:    "the protocol: one side closed while the other still had something to say",
		act:      "reset the peer's data: it had already closed",
		ends:     true,
		counters: abortOnData, // a FIN_WAIT_2 mini-socket counts TcpOutRsts only (the detector says)
		detail:   rstDataAfterCloseDetail,
	},
	RSTAfterFinWait2Timeout: {
		name: "rst-after-fin-wait2-timeout", severity: Warning,
		summary:  "the peer wrote after the closer's orphaned FIN_WAIT_2 timed out (tcp_fin_timeout): RST",
		check:    "why the peer kept the connection half-open so long (a CLOSE_WAIT leak)",
		act:      "reset the peer's late data: its FIN_WAIT_2 had expired or was about to",
		ends:     true,
		counters: []string{"TcpOutRsts"},
		detail:   rstAfterFinWait2TimeoutDetail,
	},
	RSTOutOfWindow: {
		name: "rst-out-of-window", severity: Warning,
		summary: "a RST the receiver did not accept: its sequence number was outside the window, or in it but not exact (RFC 5961); blind, injected or stale",
		check:   "what sits on the path, and whether the claimed sender really sent it",
		act:     "is named as the sender of a RST its peer did not accept (blind, injected or stale)",
		detail:  rstOutOfWindowDetail,
	},
	CloseWaitStuck: {
		name: "close-wait-stuck", severity: Warning,
		summary: "the peer's FIN was acknowledged but this side did not close for --stuck-after or more",
		check:   "the application: it read EOF and did not call close() (ss -tn state close-wait)",
		act:     "never closed after the peer's FIN (CLOSE_WAIT)",
		ends:    true,
		detail:  closeWaitStuckDetail,
	},
	FinWait2Stuck: {
		name: "fin-wait2-stuck", severity: Info,
		summary: "this side's FIN was acknowledged but the peer's FIN did not come for --stuck-after or more",
		check:   "the peer: it stays in CLOSE_WAIT, or keeps sending after a half-close",
		act:     "waited in FIN_WAIT_2 for the peer's FIN",
		detail:  finWait2StuckDetail,
	},
	DataAfterFIN: {
		name: "data-after-fin", severity: Error,
		summary: "data sent after the sender's own FIN (protocol violation)",
		check:   "the sender's stack, or a middlebox rewriting sequence numbers",
		act:     "sent data after its own FIN",
		detail:  dataAfterFINDetail,
	},
	SYNInTimeWait: {
		name: "syn-in-time-wait", severity: Warning,
		summary: "a new SYN reused the 4-tuple of a connection still in TIME_WAIT",
		check:   "client port exhaustion: ip_local_port_range, tcp_tw_reuse, connection pooling",
		act:     "had its 4-tuple reused while in TIME_WAIT",
		detail:  synInTimeWaitDetail,
	},
	SimultaneousClose: {
		name: "simultaneous-close", severity: Info,
		summary: "both sides sent FIN before receiving the other's (info)",
		check:   "nothing: both applications closed at about the same time",
		act:     "closed at the same time as its peer",
		detail:  simultaneousCloseDetail,
	},
	HalfClose: {
		name: "half-close", severity: Info,
		summary: "data kept flowing toward the side that closed first, which kept reading (shutdown(SHUT_WR)) (info)",
		check:   "nothing: shutdown(SHUT_WR) is a legitimate half-close",
		act:     "half-closed and kept reading",
		detail:  halfCloseDetail,
	},
	InvalidFlags: {
		name: "invalid-flags", severity: Error,
		summary: "impossible flag combination (SYN+FIN, SYN+RST, FIN+RST) or RST with data: crafted or broken traffic",
		check:   "the source: a scanner, fingerprinting, or corruption",
		act:     "sent impossible flag combinations",
		detail:  invalidFlagsDetail,
	},
	KeepaliveTimeout: {
		name: "keepalive-timeout", severity: Warning,
		summary:  "keep-alive probes went unanswered and the prober's keepalive timer reset the connection: the peer vanished",
		check:    "the path to the silent peer and its host (down, rebooted, or a middlebox dropped the connection's state)",
		act:      "gave up: keepalive timeout",
		ends:     true,
		counters: []string{"TcpExtTCPKeepAlive", "TcpExtTCPAbortOnTimeout", "TcpOutRsts"},
		detail:   keepaliveTimeoutDetail,
	},
	RetransmissionTimeout: {
		name: "retransmission-timeout", severity: Warning,
		summary:  "data or FIN retransmitted with backoff and never acknowledged: the peer went silent (the sender gives up after tcp_retries2)",
		check:    "the path to the silent peer and its host",
		act:      "gave up: retransmission timeout",
		ends:     true,
		counters: retransSegs, // and TcpExtTCPAbortOnTimeout once it gave up (the detector says)
		detail:   retransmissionTimeoutDetail,
	},
	SYNTimeout: {
		name: "syn-timeout", severity: Warning,
		summary:  "SYNs retransmitted and never answered: connect() fails with ETIMEDOUT after tcp_syn_retries",
		check:    "whether the server is up and a firewall drops (rather than rejects) the port",
		act:      "gave up connecting: SYN timeout",
		ends:     true,
		counters: retransSegs,
		detail:   synTimeoutDetail,
	},
	SYNACKTimeout: {
		name: "synack-timeout", severity: Warning,
		summary:  "the server's SYN-ACK retransmitted and its ACK never came (tcp_synack_retries): the client vanished or the path back is broken",
		check:    "the path from the server to the client (asymmetric routing, a firewall), or a SYN flood",
		act:      "gave up on the handshake: SYN-ACK timeout",
		ends:     true,
		counters: retransSegs,
		detail:   synACKTimeoutDetail,
	},
	OrphanTimeout: {
		name: "orphan-timeout", severity: Warning,
		summary:  "a closed socket's FIN retransmitted to a silent peer until tcp_orphan_retries ran out: destroyed without a RST",
		check:    "the path to the silent peer and its host",
		act:      "gave up on its FIN: orphan timeout",
		ends:     true,
		counters: []string{"TcpRetransSegs", "TcpExtTCPAbortOnTimeout"},
		detail:   orphanTimeoutDetail,
	},
	RSTLinger2: {
		name: "rst-linger2", severity: Warning,
		summary:  "TCP_LINGER2 < 0: the closer resets instead of waiting in FIN_WAIT_2 (Linux TCPAbortOnLinger)",
		check:    "the application's TCP_LINGER2 socket option",
		act:      "reset instead of waiting in FIN_WAIT_2 (TCP_LINGER2 < 0)",
		ends:     true,
		counters: outRsts, // TcpExtTCPAbortOnData on the orphan path (the detector says)
		detail:   rstLinger2Detail,
	},
	RSTMemoryPressure: {
		name: "rst-memory-pressure", severity: Error,
		summary:  "close() sent its FIN and at once a RST: too many orphans or TCP memory exhausted (Linux tcp_check_oom, TCPAbortOnMemory)",
		check:    "the closer's host: orphan count against net.ipv4.tcp_max_orphans, TCP memory against net.ipv4.tcp_mem (ss -s, /proc/net/sockstat)",
		act:      "reset at close(): the host was short of orphan or TCP memory",
		ends:     true,
		counters: []string{"TcpExtTCPAbortOnMemory", "TcpOutRsts"},
		detail:   rstMemoryPressureDetail,
	},
	IdleCloseRace: {
		name: "idle-close-race", severity: Warning,
		summary:  "a connection idle in a pool was closed by one side as the other sent a new request on it: the request met a RST (ECONNRESET, HTTP 502)",
		check:    "idle timeouts: the client's (or load balancer's) must be shorter than the server's",
		act:      "closed an idle connection as its peer sent a new request on it (idle-timeout race)",
		ends:     true,
		counters: outRsts, // and TcpExtTCPAbortOnData if a full socket answered (the detector says)
		detail:   idleCloseRaceDetail,
	},
	RSTForged: {
		name: "rst-forged", severity: Error,
		summary: "a RST in an endpoint's name that the endpoint's own segments prove it did not send (another hop count, sent from a closed socket with nothing to answer, or the endpoint kept sending): injected on the path",
		check:   "what sits on the path: a firewall, NAT gateway or load balancer (idle timeout), an IPS, or an attacker",
		act:     "is named as the sender of a RST it did not send (forged or injected on the path)",
		ends:    true,
		detail:  rstForgedDetail, // fingerprint.go
	},
	BadChecksum: {
		name: "bad-checksum", severity: Warning,
		summary:  "a segment with a wrong TCP or IPv4 header checksum from a sender whose first segment was right: corrupted, dropped by the receiver (not checksum offload)",
		check:    "the NIC, cable or optics and middleboxes between the sender and the capture point (ethtool -S, CRC errors)",
		act:      "dropped a corrupted segment (bad checksum)",
		counters: []string{"TcpInCsumErrors", "TcpInErrs"}, // IpInCsumErrors, IpInHdrErrors for the IPv4 header (the detector says)
		detail:   badChecksumDetail,
	},
	SYNOnEstablished: {
		name: "syn-on-established", severity: Warning,
		summary:  "a SYN in the window of a synchronized connection (injected, or a peer that lost its state): Linux drops it and answers with a challenge ACK (RFC 5961 §4)",
		check:    "what sent the SYN: the claimed peer's host (ss), a middlebox or an attacker on the path",
		act:      "received a SYN in the window of its synchronized connection",
		counters: []string{"TcpExtTCPSYNChallenge"},
		detail:   synOnEstablishedDetail,
	},
}

var _ [numKinds]kindRecord = kinds // a record per kind

// Counter lists shared by the table and the detectors (never modified).
var (
	outRsts        = []string{"TcpOutRsts"}
	retransSegs    = []string{"TcpRetransSegs"}
	abortOnData    = []string{"TcpExtTCPAbortOnData", "TcpOutRsts"}
	abortOnTimeout = []string{"TcpRetransSegs", "TcpExtTCPAbortOnTimeout"}
)

// Describe returns a one-line meaning of the kind, for help and
// documentation.
func (k Kind) Describe() string { return k.record().summary }

// Check says what to look at first when the kind is found.
func (k Kind) Check() string { return k.record().check }

// Counters lists the nstat counters the host of the anomaly's endpoint
// certainly increments with the kind (Linux LinuxVersion); nil where none
// does or the wire cannot tell which. An Anomaly's own Counters may name
// more, for the cause its detector found.
func (k Kind) Counters() []string { return k.record().counters }

// Severity is the kind's severity when found (a detector may raise it).
func (k Kind) Severity() Severity { return k.record().severity }

func (k Kind) record() *kindRecord {
	if k < numKinds {
		return &kinds[k]
	}
	return &kindRecord{}
}

// appendDetail appends the explanation paragraph of one anomaly to p.
func (c *conn) appendDetail(p *para, cfg *Config, a *anomaly) {
	if a.kind >= numKinds {
		return
	}
	d := detailFacts{c: c, cfg: cfg, a: a, who: a.side.String(), peer: a.side.Peer().String(), linux: cfg.Profile.KernelPaths}
	*p = kinds[a.kind].detail(*p, d)
}

// The detail writers, one per kind, in the order of the table.

func finRetransmittedDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	p.s("The ", who, " sent its FIN ").n(int64(len(a.frames))).s(" times (").fr(a.frames).s(").")
	if a.refFrame != 0 {
		p.s(" The ", peer, " had acknowledged it in frame ").n(a.refFrame).s(", so that ACK did not reach the ", who, " in time.")
		d.c.appendLossWhere(&p, a.refFrame, a.side.Peer(), a.side)
	} else if a.dsack != 0 {
		p.s(" The ", peer, "'s D-SACK in frame ").n(a.dsack).s(" (RFC 2883) reports the FIN received twice: the first one arrived and its ACK was lost or late, not the FIN.")
	} else if d.ep().finAckFrame == 0 {
		p.s(" The capture shows no ACK of it from the ", peer, ": the FIN or its ACK was lost, or the ", peer, " is gone.")
	}
	if d.linux {
		p.s(" Linux retransmits an unacknowledged FIN on the RTO (counted as TcpRetransSegs); a closed (orphaned) socket gives up after tcp_orphan_retries and is destroyed without a RST.")
	}
	p.s(" Once is harmless; repeated, look for loss on the path or an unresponsive peer.")
	return p
}

func lostFinalACKDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	p.s("The ", who, " sent its FIN again ").ms(a.dur).s(" after the ", peer, "'s final ACK (frame ").n(a.refFrame).
		s("): that ACK never reached the ", who, ", which stayed in LAST_ACK. The ", peer,
			", in TIME_WAIT, answers the retransmission: this is what TIME_WAIT is for. Once is harmless; often, look for loss on the path toward the ",
			who, ".")
	d.c.appendLossWhere(&p, a.refFrame, a.side.Peer(), a.side)
	if a.dsack != 0 {
		p.s(" The ", peer, "'s D-SACK in frame ").n(a.dsack).s(" (RFC 2883) reports the FIN received twice: the ", peer, " had it, only its ACK was lost.")
	}
	return p
}

func timeWaitAssassinationDetail(p para, d detailFacts) para {
	if d.a.note == noteReuse {
		p.s("A RST (").fr(d.a.frames).s(") ended the ", d.who, "'s TIME_WAIT of the previous connection on this 4-tuple ").ms(d.a.dur).
			s(" after it began (RFC 1337 TIME_WAIT assassination). It was no middlebox's: the ", d.peer, ", reconnecting from SYN_SENT, answered with it the TIME_WAIT's ACK of the old connection (frame ").n(d.a.refFrame).
			s(") that refused its SYN; the RST's sequence number is that ACK's acknowledgment number, exactly the TIME_WAIT's rcv_nxt.")
		if d.linux {
			p.s(" Linux kills the TIME_WAIT on it (tcp_timewait_state_process) unless net.ipv4.tcp_rfc1337=1 on the ", d.who, "'s host.")
		}
		return p
	}
	p.s("A RST (").fr(d.a.frames).s(") reached the ", d.who, " while it was in TIME_WAIT (").ms(d.a.dur).
		s(" after entering it) and ended it early. RFC 1337 calls this TIME_WAIT assassination: old duplicates of this connection can now be accepted by a new one on the same 4-tuple.")
	if d.linux {
		p.s(" Linux kills TIME_WAIT on an in-window RST unless net.ipv4.tcp_rfc1337=1 (tcp_timewait_state_process). Check what sent the RST: a middlebox, a scanner, or the peer answering a stale ACK.")
	}
	return p
}

func rstUnreadDataDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	if a.note == noteHalfClose {
		p.s("The ", who, " had shut down its sending side (FIN, frame ").n(d.ep().finFrame).s(") and its kernel acknowledged the ", peer,
			"'s later data (frame ").n(a.refFrame).s("); ").ms(a.dur).s(" later the ", who, " reset the connection (frame ").n(d.last()).
			s(") instead of waiting for the ", peer, "'s FIN: the data most likely still sat unread when the ", who, "'s application called close().")
		if d.linux {
			p.s(" Linux tcp_close sends RST when the receive queue holds unread data (counted as TcpExtTCPAbortOnClose; had the data been read, the RST would come from TCP_LINGER2 < 0 or SO_LINGER {1,0} instead).")
		}
		p.s(" Check the ", who, "'s application: after shutdown(SHUT_WR) it must read to EOF before close().")
		return p
	}
	p.s("The ", who, " reset the connection (frame ").n(d.last()).s(") instead of closing it with FIN. The ", peer, "'s last data (frame ").n(a.refFrame).
		s(") was never answered, so it was most likely still unread when the ", who, "'s application called close().")
	if d.linux {
		p.s(" Linux tcp_close sends RST when the receive queue holds unread data (RFC 2525 §2.17; counted as TcpExtTCPAbortOnClose).")
	}
	p.s(" Check the ", who, "'s application: it closes without reading the whole request (pipelined or unexpected data). A SO_LINGER {1,0} abort looks the same on the wire (counted as TcpExtTCPAbortOnData instead).")
	return p
}

func rstLingerZeroDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	if a.note == noteUnanswered {
		// Only a profile without Linux's RST on unread close gets here
		// (abortCause): the wire is rst-unread-data's, the reading not.
		p.s("The ", who, " aborted the connection with RST (frame ").n(a.frames[0]).s("). The ", peer, "'s last data (frame ").n(a.refFrame).
			s(") was never answered, so it may have been still unread; but close() sends FIN whatever the receive queue holds (RFC 9293 §3.10.4), so the RST is an abort: most likely SO_LINGER {1, 0} then close(), or an application abort.")
		p.s(" Intentional in some clients (to skip TIME_WAIT); otherwise check the application's socket options.")
		return p
	}
	p.s("The ", who, " aborted the connection with RST (frame ").n(a.frames[0]).s(") and nothing it had received appears unread")
	if a.note == noteAfterReply {
		p.s(" (the ", peer, "'s last data, frame ").n(a.refFrame).s(", answered the ", who, "'s request)")
	}
	p.s(": an abortive close, most likely SO_LINGER {1, 0} then close(), or an application abort.")
	if d.linux {
		p.s(" Linux: tcp_close → tcp_disconnect → tcp_send_active_reset, counted as TcpExtTCPAbortOnData; if data was in fact unread, as TcpExtTCPAbortOnClose instead.")
	}
	p.s(" Intentional in some clients (to skip TIME_WAIT); otherwise check the application's socket options.")
	return p
}

func rstDataAfterCloseDetail(p para, d detailFacts) para {
	who, peer := d.who, d.peer
	p.s("The ", who, " had closed (FIN, frame ").n(d.ep().finFrame).s("), but the ", peer, " kept sending (frame ").n(d.a.refFrame).
		s("); the ", who, " answered with RST (frame ").n(d.last()).s(").")
	if d.linux {
		if d.a.note == noteMinisock {
			p.s(" After close() the socket is orphaned; in FIN_WAIT_2 Linux keeps only a mini-socket (tcp_time_wait, FIN_WAIT2 substate), which answers data with RST (tcp_timewait_state_process: TCP_TW_RST): counted in TcpOutRsts, not TcpExtTCPAbortOnData.")
		} else {
			p.s(" After close() the socket is orphaned and cannot deliver data: tcp_rcv_state_process resets it (TcpExtTCPAbortOnData).")
		}
	}
	p.s(" The ", peer, "'s data is lost. Check the protocol: the ", who, " closed while the ", peer,
		" still had something to say (use shutdown(SHUT_WR) and read to EOF before close()).")
	return p
}

func rstAfterFinWait2TimeoutDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	if a.note == noteLikely {
		p.s("The ", who, " closed and its FIN was acknowledged, but the ", peer, " did not close: it wrote ").ms(a.dur).
			s(" after the ", who, " entered FIN_WAIT_2 (frame ").n(d.peerEp().lastPayloadFrame).s(") and the ", who, " answered with RST (frame ").n(d.last()).s(").")
		if d.linux {
			p.s(" An orphaned FIN_WAIT_2 lives net.ipv4.tcp_fin_timeout (60 s by default, often lowered): on a host where it is below ").ms(a.dur).
				s(" it had been destroyed and the RST came from no socket; before that, its mini-socket answers data with RST just the same (TCP_TW_RST). Either way it is counted in TcpOutRsts, not TcpExtTCPAbortOnData; `sysctl net.ipv4.tcp_fin_timeout` on the ", who, "'s host (or --fin-timeout) settles which.")
		}
		p.s(" The ", peer, "'s data is lost. Check why the ", peer, " kept the connection half-open so long (a CLOSE_WAIT leak).")
		return p
	}
	p.s("The ", who, " closed and its FIN was acknowledged, but the ", peer, " did not close. After tcp_fin_timeout (", d.cfg.FinTimeout.String(),
		" here) the orphaned FIN_WAIT_2 was destroyed; when the ", peer, " finally wrote (frame ").n(d.peerEp().lastPayloadFrame).
		s("), the ", who, " had no socket left and reset (").fr(d.a.frames).
		s("). Check why the ", peer, " kept the connection half-open so long (a CLOSE_WAIT leak).")
	return p
}

func rstOutOfWindowDetail(p para, d detailFacts) para {
	who, peer := d.who, d.peer
	p.s("A RST claiming to come from the ", who, " (").fr(d.a.frames).s(") was not accepted: ")
	switch d.a.note {
	case noteChallenge:
		p.s("its sequence number fell in the ", peer, "'s receive window but was not exactly the next one expected, which RFC 5961 §3.2 no longer accepts, so the ", peer, " ignored it")
		if d.cfg.Profile.ChallengeACK {
			p.s(" and answers with a challenge ACK (RFC 5961 §3.2; Linux rate-limits them, counted as TcpExtTCPChallengeACK on the ", peer, "'s host when sent)")
		}
	case noteTimeWait:
		p.s("the ", peer, " was in TIME_WAIT and its sequence number was not the next expected one, so it was dropped")
	default:
		p.s("its sequence number was outside the ", peer, "'s receive window, so the ", peer, " ignored it")
	}
	p.s(". Blind or injected resets (a middlebox, an IPS, an attack) and stale RSTs after loss look like this. Check what sits on the path and whether the ",
		who, " really sent it.")
	return p
}

func closeWaitStuckDetail(p para, d detailFacts) para {
	who, peer := d.who, d.peer
	p.s("The ", who, " acknowledged the ", peer, "'s FIN (frame ").n(d.peerEp().finFrame).s(") but did not close its side for ").ms(d.a.dur)
	if d.a.note == noteStill {
		p.s(" and was still in CLOSE_WAIT when the analysis ended")
	}
	if d.a.note2 == noteRTT {
		p.s(", silent all along: ").n(int64(d.a.dur / d.a.dur2)).s(" times the flow's round trip (").ms(d.a.dur2).s("), though under --stuck-after")
	}
	p.s(". The ", who, "'s application has read EOF and not called close(): a socket leak or a slow handler. On the host, `ss -tn state close-wait` lists them.")
	return p
}

func finWait2StuckDetail(p para, d detailFacts) para {
	who, peer := d.who, d.peer
	p.s("The ", who, "'s FIN was acknowledged (frame ").n(d.ep().finAckFrame).s(") but the ", peer, "'s FIN did not come for ").ms(d.a.dur)
	if d.a.note == noteStill {
		p.s("; it was still in FIN_WAIT_2 when the analysis ended")
	}
	p.s(". This mirrors the ", peer, " staying in CLOSE_WAIT, or a half-close where the ", peer, " keeps sending.")
	if d.linux && d.cfg.Profile.OrphanFinWait2Timeout {
		p.s(" If the ", who, " called close(), Linux destroys the orphaned FIN_WAIT_2 after tcp_fin_timeout (", d.cfg.FinTimeout.String(), ").")
	}
	return p
}

func dataAfterFINDetail(p para, d detailFacts) para {
	p.s("The ", d.who, " sent data beyond its own FIN (").fr(d.a.frames).
		s("). No data may follow a FIN (RFC 9293 §3.10.7.4): a broken stack, a middlebox rewriting sequence numbers, or crafted traffic.")
	return p
}

func synInTimeWaitDetail(p para, d detailFacts) para {
	p.s("A new SYN (frame ").n(d.a.frames[0]).s(") reused the 4-tuple while the ", d.who, "'s previous connection on it was still in TIME_WAIT (").ms(d.a.dur).s(" left)")
	switch d.a.note {
	case noteAccepted:
		p.s(", and the reuse was accepted: the SYN-ACK (frame ").n(d.a.refFrame).s(") answered that first SYN.")
		if d.linux {
			if d.a.side == Client {
				p.s(" Linux allows it: connect() takes over the client's own TIME_WAIT with net.ipv4.tcp_tw_reuse (counted as TcpExtTWRecycled).")
			} else {
				p.s(" Linux allows it: the server's TIME_WAIT hands a SYN with a newer timestamp or sequence number to the listener (tcp_timewait_state_process, TCP_TW_SYN).")
			}
		}
		p.s(" Information; frequent reuse means the client is short of ports (check ip_local_port_range, connection pooling).")
		return p
	case noteRejected:
		return twRejectDetail(p, d)
	case noteRetried:
		p.s(", and the reuse was not accepted at once: the SYN was sent again (frame ").n(d.a.refFrame).s(") before any SYN-ACK answered it.")
	default:
		p.s(", and no SYN-ACK answered it in the capture.")
	}
	if d.linux {
		p.s(" Linux's TIME_WAIT answers a SYN that is not newer than the old connection (timestamps off, or a sequence number behind) with an ACK of the old connection; the client's RST to that ACK ends the TIME_WAIT early (an assassination, unless tcp_rfc1337=1) and its SYN is retried after the RTO.")
	}
	p.s(" Frequent reuse means port exhaustion on the client side (check ip_local_port_range, tcp_tw_reuse, connection pooling).")
	return p
}

func simultaneousCloseDetail(p para, d detailFacts) para {
	p.s("Both sides sent a FIN before receiving the other's (").fr(d.a.frames).
		s("): a simultaneous close. Both end in TIME_WAIT (RFC 9293 §3.6). Harmless; it means both applications closed at about the same time.")
	return p
}

func halfCloseDetail(p para, d detailFacts) para {
	who, peer := d.who, d.peer
	p.s("The ", who, " closed its sending side (FIN, frame ").n(d.ep().finFrame).s(") and kept receiving: the ", peer,
		" sent more data after the FIN (frame ").n(d.c.rareOf().ep[d.a.side.Peer()].dataAfterPeerFINFrame).s(") and the ", who, " acknowledged it (frame ").n(d.last()).
		s("). This is shutdown(SHUT_WR), a legitimate half-close.")
	return p
}

func invalidFlagsDetail(p para, d detailFacts) para {
	p.s("The ", d.who, " sent segments with an impossible combination of control flags, or a RST carrying data (").fr(d.a.frames).
		s("): no Linux path does this (a RST may carry diagnostic text by RFC 1122 §4.2.2.12, rarely seen); it is crafted traffic (a scan or fingerprinting) or corruption.")
	return p
}

func keepaliveTimeoutDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	probes := int64(len(a.frames) - 1)
	p.s("The ", who, " sent ").n(probes).s(" keep-alive probe(s) (").fr(a.frames[:probes]).s(") that the ", peer, " never answered, then reset the connection (frame ").n(d.last()).s(")")
	if a.refFrame != 0 {
		p.s("; the ", peer, " had been silent since frame ").n(a.refFrame).s(", ").ms(a.dur).s(" before the reset")
	}
	p.s(".")
	if d.linux {
		p.s(" Linux: tcp_keepalive_timer sends a probe every tcp_keepalive_intvl and, after tcp_keepalive_probes unanswered, resets and reports ETIMEDOUT (counted as TcpExtTCPKeepAlive per probe and TcpExtTCPAbortOnTimeout at the reset).")
	}
	p.s(" The ", peer, " vanished without closing (host down or rebooted, path broken, a middlebox that dropped the connection): it is probably still ESTABLISHED on its side, or gone. Check the path to the ", peer, " and its host.")
	return p
}

func retransmissionTimeoutDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	p.s("The ", who, " sent the same ")
	if a.note == noteFIN {
		p.s("FIN")
	} else {
		p.s("data")
	}
	p.s(" ").n(int64(len(a.frames))).s(" times (").fr(a.frames).s(") over ").ms(a.dur).s(", the gaps doubling, and the ", peer, " acknowledged none of it")
	if a.refFrame != 0 {
		p.s("; the ", peer, "'s last segment was frame ").n(a.refFrame)
	}
	p.s(".")
	switch a.note2 {
	case noteGaveUp:
		p.s(" Then nothing more: the ", who, "'s kernel gave up")
		if d.linux {
			p.s(" (tcp_write_timeout: tcp_retries2 retransmissions, ETIMEDOUT to the application, no RST; counted as TcpExtTCPAbortOnTimeout)")
		}
		p.s(".")
	default:
		p.s(" It was still retransmitting when the capture ended")
		if d.linux {
			p.s("; with the default tcp_retries2 = 15 Linux gives up 924.6 s after the first transmission, whatever the RTO (tcp_write_timeout → retransmits_timed_out: tcp_model_timeout on TCP_RTO_MIN), then reports ETIMEDOUT; ").
				ms(d.a.dur).s(" of them had passed")
		}
		p.s(".")
	}
	p.s(" The ", peer, " went silent: host down, path broken, or a firewall dropping the connection. Check the path to the ", peer, " and its host.")
	return p
}

func synTimeoutDetail(p para, d detailFacts) para {
	p.s("The ", d.who, " sent its SYN ").n(int64(len(d.a.frames))).s(" times (").fr(d.a.frames).s(") over ").ms(d.a.dur).s(" and no answer came")
	if d.linux {
		p.s(": connect() fails with ETIMEDOUT once tcp_syn_retries retransmissions are spent (default 6, about 127 s)")
	}
	p.s(". Nothing answered, not even a RST: the ", d.peer, " is down or a firewall drops the SYNs. Check that the ", d.peer, " is up and what filters the port.")
	return p
}

func synACKTimeoutDetail(p para, d detailFacts) para {
	p.s("The ", d.who, " sent its SYN-ACK ").n(int64(len(d.a.frames))).s(" times (").fr(d.a.frames).s(") over ").ms(d.a.dur).s(" and the ", d.peer, "'s ACK never came")
	if d.linux {
		p.s(": the request socket is dropped after tcp_synack_retries (default 5)")
	}
	p.s(". The ", d.peer, " vanished or the path back to it is broken (asymmetric routing, a firewall); many of these at once look like a SYN flood.")
	return p
}

func orphanTimeoutDetail(p para, d detailFacts) para {
	p.s("The ", d.who, " closed and sent its FIN ").n(int64(len(d.a.frames))).s(" times (").fr(d.a.frames).s(") over ").ms(d.a.dur).s("; the ", d.peer, " acknowledged none")
	if d.linux {
		p.s(". The closed (orphaned) socket gives up after tcp_orphan_retries retransmissions (default 8 when set to 0) and is destroyed without a RST")
	}
	p.s(". The ", d.peer, " went silent: it probably still holds the connection ESTABLISHED, or its host is gone. Check the path to the ", d.peer, ".")
	return p
}

func rstLinger2Detail(p para, d detailFacts) para {
	p.s("The ", d.who, " closed (FIN, frame ").n(d.ep().finFrame).s(") and reset the connection (frame ").n(d.last()).s(") instead of waiting in FIN_WAIT_2 for the ", d.peer, "'s FIN")
	if d.a.note == noteOrphanACK {
		p.s(": the RST, without ACK, answers the ", d.peer, "'s ACK of that FIN (frame ").n(d.a.refFrame).s(").")
		if d.linux {
			p.s(" Linux does this for an orphan whose TCP_LINGER2 is negative: tcp_rcv_state_process in FIN_WAIT_1 → tcp_done (counted as TcpExtTCPAbortOnData, not TcpExtTCPAbortOnLinger), and the ACK is answered by tcp_v4_send_reset.")
		}
	} else {
		p.s(", nothing from the ", d.peer, " left unread.")
		if d.linux {
			p.s(" Linux does this at close() in FIN_WAIT_2 when TCP_LINGER2 is negative (tcp_close → tcp_send_active_reset, counted as TcpExtTCPAbortOnLinger); SO_LINGER {1,0} at close() looks the same on the wire (counted as TcpExtTCPAbortOnData instead).")
		}
	}
	p.s(" Check the ", d.who, "'s application for setsockopt(TCP_LINGER2) with a negative value, or SO_LINGER.")
	return p
}

func rstMemoryPressureDetail(p para, d detailFacts) para {
	p.s("The ", d.who, " sent its FIN (frame ").n(d.ep().finFrame).s(") and a RST ").ms(d.a.dur).s(" later (frame ").n(d.last()).
		s("), before any answer could come: close() found the host short of memory for orphaned sockets.")
	if d.linux {
		p.s(" Linux: tcp_close → tcp_check_oom (too many orphans: net.ipv4.tcp_max_orphans, or TCP memory over net.ipv4.tcp_mem) → tcp_set_state(CLOSE), tcp_send_active_reset, counted as TcpExtTCPAbortOnMemory; the kernel logs \"too many orphaned sockets\" or \"out of memory -- consider tuning tcp_mem\".")
	}
	p.s(" Check the ", d.who, "'s host: ss -s, /proc/net/sockstat and dmesg.")
	return p
}

func idleCloseRaceDetail(p para, d detailFacts) para {
	p.s("The connection was idle ").ms(d.a.dur).s(" when the ", d.who, " closed it (FIN, frame ").n(d.ep().finFrame).s("); the ", d.peer, " sent a new request on it (frame ").n(d.a.refFrame).
		s(") and got a RST (frame ").n(d.last()).s("). The ", d.peer, " kept the connection in a pool longer than the ", d.who,
		" keeps idle connections: the request is lost, and its application reads EOF or gets ECONNRESET, depending on when it reads (a load balancer answers 502). Set the ", d.peer,
		"'s idle timeout below the ", d.who, "'s, or retry idempotent requests on a fresh connection.")
	return p
}
