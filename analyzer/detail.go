package analyzer

import (
	"fmt"
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

func frameList(fs []int64) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(f)
	}
	return s
}

func ms(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// detail writes the explanation paragraph of one anomaly.
func (c *conn) detail(cfg *Config, a *anomaly, t *Teardown) string {
	who := a.side.String()
	peer := a.side.Peer().String()
	linux := cfg.Profile.KernelPaths
	switch a.kind {
	case FINRetransmitted:
		n := len(a.frames) - 1
		s := fmt.Sprintf("The %s sent its FIN %d more time(s) (frames %s).", who, n, frameList(a.frames))
		if a.refFrame != 0 {
			s += fmt.Sprintf(" The %s had acknowledged it in frame %d, so that ACK did not reach the %s in time.", peer, a.refFrame, who)
		} else if c.ep[a.side].finAckFrame == 0 {
			s += fmt.Sprintf(" The capture shows no ACK of it from the %s: the FIN or its ACK was lost, or the %s is gone.", peer, peer)
		}
		if linux {
			s += " Linux retransmits an unacknowledged FIN on the RTO; an orphaned socket gives up after tcp_orphan_retries (default 8) and resets."
		}
		s += " Once is harmless; repeated, look for loss on the path or an unresponsive peer."
		return s
	case LostFinalACK:
		return fmt.Sprintf("The %s sent its FIN again %s after the %s's final ACK (frame %d): that ACK never reached the %s, "+
			"which stayed in LAST_ACK. The %s, in TIME_WAIT, answers the retransmission: this is what TIME_WAIT is for. "+
			"Once is harmless; often, look for loss on the path toward the %s.",
			who, ms(a.dur), peer, a.refFrame, who, peer, who)
	case TimeWaitAssassination:
		s := fmt.Sprintf("A RST (frame %s) reached the %s while it was in TIME_WAIT (%s after entering it) and ended it early. "+
			"RFC 1337 calls this TIME_WAIT assassination: old duplicates of this connection can now be accepted by a new one on the same 4-tuple.",
			frameList(a.frames), who, ms(a.dur))
		if linux {
			s += " Linux kills TIME_WAIT on an in-window RST unless net.ipv4.tcp_rfc1337=1 (tcp_timewait_state_process). Check what sent the RST: a middlebox, a scanner, or the peer answering a stale ACK."
		}
		return s
	case RSTUnreadData:
		s := fmt.Sprintf("The %s reset the connection (frame %d) instead of closing it with FIN. The %s's last data (frame %d) "+
			"was never answered, so it was most likely still unread when the %s's application called close().",
			who, a.frames[len(a.frames)-1], peer, a.refFrame, who)
		if linux {
			s += " Linux tcp_close sends RST when the receive queue holds unread data (nstat TcpExtTCPAbortOnClose; RFC 2525 §2.17)."
		}
		s += fmt.Sprintf(" Check the %s's application: it closes without reading the whole request (pipelined or unexpected data). A SO_LINGER {1,0} abort looks the same on the wire.", who)
		return s
	case RSTLingerZero:
		s := fmt.Sprintf("The %s aborted the connection with RST (frame %d) and nothing it had received appears unread", who, a.frames[0])
		if a.note == "after-reply" {
			s += fmt.Sprintf(" (the %s's last data, frame %d, answered the %s's request)", peer, a.refFrame, who)
		}
		s += ": an abortive close, most likely SO_LINGER {1, 0} then close(), or an application abort."
		if linux {
			s += " Linux: tcp_close → tcp_disconnect → tcp_send_active_reset, counted as TcpExtTCPAbortOnData. If data was in fact unread, TcpExtTCPAbortOnClose counts it instead."
		}
		s += " Intentional in some clients (to skip TIME_WAIT); otherwise check the application's socket options."
		return s
	case RSTDataAfterClose:
		s := fmt.Sprintf("The %s had closed (FIN, frame %d), but the %s kept sending (frame %d); the %s answered with RST (frame %d).",
			who, c.ep[a.side].finFrame, peer, a.refFrame, who, a.frames[len(a.frames)-1])
		if linux {
			s += " After close() the socket is orphaned and cannot deliver data: tcp_rcv_state_process resets it (TcpExtTCPAbortOnData)."
		}
		s += fmt.Sprintf(" The %s's data is lost. Check the protocol: the %s closed while the %s still had something to say (use shutdown(SHUT_WR) and read to EOF before close()).", peer, who, peer)
		return s
	case RSTAfterFinWait2Timeout:
		return fmt.Sprintf("The %s closed and its FIN was acknowledged, but the %s did not close. After tcp_fin_timeout (%s here) the "+
			"orphaned FIN_WAIT_2 was destroyed; when the %s finally wrote (frame %d), the %s had no socket left and reset (frames %s). "+
			"Check why the %s kept the connection half-open so long (a CLOSE_WAIT leak).",
			who, peer, cfg.FinTimeout, peer, c.ep[a.side.Peer()].lastPayloadFrame, who, frameList(a.frames), peer)
	case RSTOutOfWindow:
		var why string
		switch a.note {
		case "challenge":
			why = fmt.Sprintf("its sequence number was inside the %s's window but not the exact next one, so the %s ignored it", peer, peer)
			if cfg.Profile.ChallengeACK {
				why += " and answers with a challenge ACK (RFC 5961 §3.2; Linux TcpExtTCPChallengeACK)"
			}
		case "time-wait":
			why = fmt.Sprintf("the %s was in TIME_WAIT and its sequence number was not the next expected one, so it was dropped", peer)
		default:
			why = fmt.Sprintf("its sequence number was outside the %s's receive window, so the %s ignored it", peer, peer)
		}
		return fmt.Sprintf("A RST claiming to come from the %s (frames %s) was not accepted: %s. "+
			"Blind or injected resets (a middlebox, an IPS, an attack) and stale RSTs after loss look like this. "+
			"Check what sits on the path and whether the %s really sent it.", who, frameList(a.frames), why, who)
	case CloseWaitStuck:
		s := fmt.Sprintf("The %s acknowledged the %s's FIN (frame %d) but did not close its side for %s", who, peer, c.ep[a.side.Peer()].finFrame, ms(a.dur))
		if a.note == "still" {
			s += " and was still in CLOSE_WAIT when the analysis ended"
		}
		return s + fmt.Sprintf(". The %s's application has read EOF and not called close(): a socket leak or a slow handler. "+
			"On the host, `ss -tn state close-wait` lists them.", who)
	case FinWait2Stuck:
		s := fmt.Sprintf("The %s's FIN was acknowledged (frame %d) but the %s's FIN did not come for %s", who, c.ep[a.side].finAckFrame, peer, ms(a.dur))
		if a.note == "still" {
			s += "; it was still in FIN_WAIT_2 when the analysis ended"
		}
		s += fmt.Sprintf(". This mirrors the %s staying in CLOSE_WAIT, or a half-close where the %s keeps sending.", peer, peer)
		if linux && cfg.Profile.OrphanFinWait2Timeout {
			s += fmt.Sprintf(" If the %s called close(), Linux destroys the orphaned FIN_WAIT_2 after tcp_fin_timeout (%s).", who, cfg.FinTimeout)
		}
		return s
	case DataAfterFIN:
		return fmt.Sprintf("The %s sent data beyond its own FIN (frames %s). No data may follow a FIN (RFC 9293 §3.10.7.4): a broken stack, "+
			"a middlebox rewriting sequence numbers, or crafted traffic.", who, frameList(a.frames))
	case SYNInTimeWait:
		return fmt.Sprintf("A new SYN (frame %s) reused the 4-tuple while the %s's previous connection on it was still in TIME_WAIT (%s left). "+
			"Linux accepts it when the SYN's sequence number (or timestamp) is newer than the old connection's, otherwise it re-ACKs the old one; "+
			"frequent reuse means port exhaustion on the client side (check ip_local_port_range, tcp_tw_reuse, connection pooling).",
			frameList(a.frames), who, ms(a.dur))
	case SimultaneousClose:
		return fmt.Sprintf("Both sides sent a FIN before receiving the other's (frames %s): a simultaneous close. Both end in TIME_WAIT "+
			"(RFC 9293 §3.6). Harmless; it means both applications closed at about the same time.", frameList(a.frames))
	case HalfClose:
		return fmt.Sprintf("The %s closed its sending side (FIN, frame %d) and kept receiving: the %s sent more data after the FIN (frame %d) "+
			"and the %s acknowledged it (frame %d). This is shutdown(SHUT_WR), a legitimate half-close.",
			who, c.ep[a.side].finFrame, peer, c.ep[a.side.Peer()].dataAfterPeerFINFrame, who, a.frames[len(a.frames)-1])
	case InvalidFlags:
		return fmt.Sprintf("The %s sent segments with an impossible combination of control flags, or a RST carrying data (frames %s): "+
			"no Linux path does this (a RST may carry diagnostic text by RFC 1122 §4.2.2.12, rarely seen); "+
			"it is crafted traffic (a scan or fingerprinting) or corruption.", who, frameList(a.frames))
	}
	return ""
}
