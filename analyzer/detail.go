package analyzer

import (
	"strconv"
	"time"
)

// Describe returns a one-line meaning of an anomaly kind, for --help and
// documentation.
func (k Kind) Describe() string {
	switch k {
	case FINRetransmitted:
		return "a FIN was sent again: it or its ACK was lost or late"
	case LostFinalACK:
		return "the last ACK of the close never reached the LAST_ACK side, which retransmitted its FIN"
	case TimeWaitAssassination:
		return "a RST ended a TIME_WAIT early (RFC 1337 hazard; Linux tcp_rfc1337=0)"
	case RSTUnreadData:
		return "close() with unread received data: RST instead of FIN (Linux TCPAbortOnClose, RFC 2525)"
	case RSTLingerZero:
		return "abortive close with nothing pending: SO_LINGER {1,0} likely"
	case RSTDataAfterClose:
		return "the peer kept sending to a socket that had been closed: RST (Linux TCPAbortOnData)"
	case RSTAfterFinWait2Timeout:
		return "the peer wrote after the closer's orphaned FIN_WAIT_2 timed out (tcp_fin_timeout): RST"
	case RSTOutOfWindow:
		return "a RST whose sequence number the receiver did not accept (blind/injected or stale); a challenge ACK may follow"
	case CloseWaitStuck:
		return "the peer's FIN was acknowledged but this side did not close for --stuck-after or more"
	case FinWait2Stuck:
		return "this side's FIN was acknowledged but the peer's FIN did not come for --stuck-after or more"
	case DataAfterFIN:
		return "data sent after the sender's own FIN (protocol violation)"
	case SYNInTimeWait:
		return "a new SYN reused the 4-tuple of a connection still in TIME_WAIT"
	case SimultaneousClose:
		return "both sides sent FIN before receiving the other's (info)"
	case HalfClose:
		return "data kept flowing toward the side that closed first, which kept reading (shutdown(SHUT_WR)) (info)"
	case InvalidFlags:
		return "impossible flag combination (SYN+FIN, SYN+RST, FIN+RST) or RST with data: crafted or broken traffic"
	}
	return ""
}

// para builds detail paragraphs by appending: no fmt, the buffer reused
// across flows (a Teardown's text).
type para struct{ b []byte }

// s appends strings.
func (p *para) s(parts ...string) *para {
	for _, x := range parts {
		p.b = append(p.b, x...)
	}
	return p
}

// n appends a decimal integer (a frame number or a count).
func (p *para) n(v int64) *para {
	p.b = strconv.AppendInt(p.b, v, 10)
	return p
}

// frames appends a list of frame numbers: "3, 7, 12".
func (p *para) frames(fs []int64) *para {
	for i, f := range fs {
		if i > 0 {
			p.b = append(p.b, ", "...)
		}
		p.b = strconv.AppendInt(p.b, f, 10)
	}
	return p
}

// ms appends a duration for people: "850 µs", "200 ms", "61.0 s".
func (p *para) ms(d time.Duration) *para {
	switch {
	case d < time.Millisecond:
		p.b = append(strconv.AppendInt(p.b, d.Microseconds(), 10), " µs"...)
	case d < 10*time.Second:
		p.b = append(strconv.AppendInt(p.b, d.Milliseconds(), 10), " ms"...)
	default:
		p.b = append(strconv.AppendFloat(p.b, d.Seconds(), 'f', 1, 64), " s"...)
	}
	return p
}

// appendDetail appends the explanation paragraph of one anomaly to p.
func (c *conn) appendDetail(p *para, cfg *Config, a *anomaly) {
	who := a.side.String()
	peer := a.side.Peer().String()
	linux := cfg.Profile.KernelPaths
	last := func() int64 { return a.frames[len(a.frames)-1] }
	switch a.kind {
	case FINRetransmitted:
		p.s("The ", who, " sent its FIN ").n(int64(len(a.frames) - 1)).s(" more time(s) (frames ").frames(a.frames).s(").")
		if a.refFrame != 0 {
			p.s(" The ", peer, " had acknowledged it in frame ").n(a.refFrame).s(", so that ACK did not reach the ", who, " in time.")
		} else if c.ep[a.side].finAckFrame == 0 {
			p.s(" The capture shows no ACK of it from the ", peer, ": the FIN or its ACK was lost, or the ", peer, " is gone.")
		}
		if linux {
			p.s(" Linux retransmits an unacknowledged FIN on the RTO; an orphaned socket gives up after tcp_orphan_retries (default 8) and resets.")
		}
		p.s(" Once is harmless; repeated, look for loss on the path or an unresponsive peer.")
	case LostFinalACK:
		p.s("The ", who, " sent its FIN again ").ms(a.dur).s(" after the ", peer, "'s final ACK (frame ").n(a.refFrame).
			s("): that ACK never reached the ", who, ", which stayed in LAST_ACK. The ", peer,
				", in TIME_WAIT, answers the retransmission: this is what TIME_WAIT is for. Once is harmless; often, look for loss on the path toward the ",
				who, ".")
	case TimeWaitAssassination:
		p.s("A RST (frame ").frames(a.frames).s(") reached the ", who, " while it was in TIME_WAIT (").ms(a.dur).
			s(" after entering it) and ended it early. RFC 1337 calls this TIME_WAIT assassination: old duplicates of this connection can now be accepted by a new one on the same 4-tuple.")
		if linux {
			p.s(" Linux kills TIME_WAIT on an in-window RST unless net.ipv4.tcp_rfc1337=1 (tcp_timewait_state_process). Check what sent the RST: a middlebox, a scanner, or the peer answering a stale ACK.")
		}
	case RSTUnreadData:
		p.s("The ", who, " reset the connection (frame ").n(last()).s(") instead of closing it with FIN. The ", peer, "'s last data (frame ").n(a.refFrame).
			s(") was never answered, so it was most likely still unread when the ", who, "'s application called close().")
		if linux {
			p.s(" Linux tcp_close sends RST when the receive queue holds unread data (nstat TcpExtTCPAbortOnClose; RFC 2525 §2.17).")
		}
		p.s(" Check the ", who, "'s application: it closes without reading the whole request (pipelined or unexpected data). A SO_LINGER {1,0} abort looks the same on the wire.")
	case RSTLingerZero:
		p.s("The ", who, " aborted the connection with RST (frame ").n(a.frames[0]).s(") and nothing it had received appears unread")
		if a.note == "after-reply" {
			p.s(" (the ", peer, "'s last data, frame ").n(a.refFrame).s(", answered the ", who, "'s request)")
		}
		p.s(": an abortive close, most likely SO_LINGER {1, 0} then close(), or an application abort.")
		if linux {
			p.s(" Linux: tcp_close → tcp_disconnect → tcp_send_active_reset, counted as TcpExtTCPAbortOnData. If data was in fact unread, TcpExtTCPAbortOnClose counts it instead.")
		}
		p.s(" Intentional in some clients (to skip TIME_WAIT); otherwise check the application's socket options.")
	case RSTDataAfterClose:
		p.s("The ", who, " had closed (FIN, frame ").n(c.ep[a.side].finFrame).s("), but the ", peer, " kept sending (frame ").n(a.refFrame).
			s("); the ", who, " answered with RST (frame ").n(last()).s(").")
		if linux {
			p.s(" After close() the socket is orphaned and cannot deliver data: tcp_rcv_state_process resets it (TcpExtTCPAbortOnData).")
		}
		p.s(" The ", peer, "'s data is lost. Check the protocol: the ", who, " closed while the ", peer,
			" still had something to say (use shutdown(SHUT_WR) and read to EOF before close()).")
	case RSTAfterFinWait2Timeout:
		p.s("The ", who, " closed and its FIN was acknowledged, but the ", peer, " did not close. After tcp_fin_timeout (", cfg.FinTimeout.String(),
			" here) the orphaned FIN_WAIT_2 was destroyed; when the ", peer, " finally wrote (frame ").n(c.ep[a.side.Peer()].lastPayloadFrame).
			s("), the ", who, " had no socket left and reset (frames ").frames(a.frames).
			s("). Check why the ", peer, " kept the connection half-open so long (a CLOSE_WAIT leak).")
	case RSTOutOfWindow:
		p.s("A RST claiming to come from the ", who, " (frames ").frames(a.frames).s(") was not accepted: ")
		switch a.note {
		case "challenge":
			p.s("its sequence number was inside the ", peer, "'s window but not the exact next one, so the ", peer, " ignored it")
			if cfg.Profile.ChallengeACK {
				p.s(" and answers with a challenge ACK (RFC 5961 §3.2; Linux TcpExtTCPChallengeACK)")
			}
		case "time-wait":
			p.s("the ", peer, " was in TIME_WAIT and its sequence number was not the next expected one, so it was dropped")
		default:
			p.s("its sequence number was outside the ", peer, "'s receive window, so the ", peer, " ignored it")
		}
		p.s(". Blind or injected resets (a middlebox, an IPS, an attack) and stale RSTs after loss look like this. Check what sits on the path and whether the ",
			who, " really sent it.")
	case CloseWaitStuck:
		p.s("The ", who, " acknowledged the ", peer, "'s FIN (frame ").n(c.ep[a.side.Peer()].finFrame).s(") but did not close its side for ").ms(a.dur)
		if a.note == "still" {
			p.s(" and was still in CLOSE_WAIT when the analysis ended")
		}
		p.s(". The ", who, "'s application has read EOF and not called close(): a socket leak or a slow handler. On the host, `ss -tn state close-wait` lists them.")
	case FinWait2Stuck:
		p.s("The ", who, "'s FIN was acknowledged (frame ").n(c.ep[a.side].finAckFrame).s(") but the ", peer, "'s FIN did not come for ").ms(a.dur)
		if a.note == "still" {
			p.s("; it was still in FIN_WAIT_2 when the analysis ended")
		}
		p.s(". This mirrors the ", peer, " staying in CLOSE_WAIT, or a half-close where the ", peer, " keeps sending.")
		if linux && cfg.Profile.OrphanFinWait2Timeout {
			p.s(" If the ", who, " called close(), Linux destroys the orphaned FIN_WAIT_2 after tcp_fin_timeout (", cfg.FinTimeout.String(), ").")
		}
	case DataAfterFIN:
		p.s("The ", who, " sent data beyond its own FIN (frames ").frames(a.frames).
			s("). No data may follow a FIN (RFC 9293 §3.10.7.4): a broken stack, a middlebox rewriting sequence numbers, or crafted traffic.")
	case SYNInTimeWait:
		p.s("A new SYN (frame ").frames(a.frames).s(") reused the 4-tuple while the ", who, "'s previous connection on it was still in TIME_WAIT (").ms(a.dur).
			s(" left). Linux accepts it when the SYN's sequence number (or timestamp) is newer than the old connection's, otherwise it re-ACKs the old one; " +
				"frequent reuse means port exhaustion on the client side (check ip_local_port_range, tcp_tw_reuse, connection pooling).")
	case SimultaneousClose:
		p.s("Both sides sent a FIN before receiving the other's (frames ").frames(a.frames).
			s("): a simultaneous close. Both end in TIME_WAIT (RFC 9293 §3.6). Harmless; it means both applications closed at about the same time.")
	case HalfClose:
		p.s("The ", who, " closed its sending side (FIN, frame ").n(c.ep[a.side].finFrame).s(") and kept receiving: the ", peer,
			" sent more data after the FIN (frame ").n(c.ep[a.side.Peer()].dataAfterPeerFINFrame).s(") and the ", who, " acknowledged it (frame ").n(last()).
			s("). This is shutdown(SHUT_WR), a legitimate half-close.")
	case InvalidFlags:
		p.s("The ", who, " sent segments with an impossible combination of control flags, or a RST carrying data (frames ").frames(a.frames).
			s("): no Linux path does this (a RST may carry diagnostic text by RFC 1122 §4.2.2.12, rarely seen); it is crafted traffic (a scan or fingerprinting) or corruption.")
	}
}
