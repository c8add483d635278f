package report

import (
	"fmt"
	"strconv"
	"time"

	"finwave/analyzer"
	"finwave/host"
)

// AppendStuckText appends live capture's notice of an endpoint held in
// CLOSE_WAIT or FIN_WAIT_2 past --stuck-after in a flow still open
// (analyzer.OpenStuck): a leaked socket never closes, so the notice comes
// when the threshold passes; the flow's report follows if it ends.
// A width above 0 fits the notice to that many columns, at words.
// owner, when not nil, is the process holding the stuck socket (finwave
// live's process attribution), named in the notice.
func AppendStuckText(b []byte, s *analyzer.OpenStuck, owner *host.Owner, color bool, width int) []byte {
	why := "its application has not called close() after reading EOF"
	if s.State == analyzer.FinWait2 {
		why = "the peer acknowledged its FIN but has not sent its own"
	}
	mark := "⚠"
	if color {
		mark = "\x1b[33m⚠\x1b[0m"
	}
	at := s.Client
	if s.Side == analyzer.Server {
		at = s.Server
	}
	held := ""
	if owner != nil {
		held = fmt.Sprintf(", socket held by %s, pid %d", owner.Comm, owner.PID)
		if owner.Container != "" {
			held += ", container " + owner.Container[:min(12, len(owner.Container))]
		}
	}
	line := fmt.Appendf(nil, "%s flow %d · %s → %s · still open: the %s (%s%s) has held %s for %s (%s): %s; its report follows when the flow ends\n",
		mark, s.Stream, s.Client, s.Server, s.Side, at, held, s.State, humanDuration(s.Held), s.Kind, why)
	if width > 0 {
		return fitLines(b, line, width)
	}
	return append(b, line...)
}

// AppendStuckJSON appends the same notice as one JSON line:
// {"type":"stuck",...} (report/SCHEMA.md).
// With an owner, an "owner" object names the process holding the socket.
func AppendStuckJSON(b []byte, s *analyzer.OpenStuck, owner *host.Owner) []byte {
	b = append(b, `{"type":"stuck","stream":`...)
	b = strconv.AppendInt(b, s.Stream, 10)
	b = append(b, `,"client":`...)
	b = strconv.AppendQuote(b, s.Client.String())
	b = append(b, `,"server":`...)
	b = strconv.AppendQuote(b, s.Server.String())
	b = append(b, `,"endpoint":`...)
	b = strconv.AppendQuote(b, s.Side.String())
	b = append(b, `,"state":`...)
	b = strconv.AppendQuote(b, s.State.String())
	b = append(b, `,"kind":`...)
	b = strconv.AppendQuote(b, s.Kind.String())
	b = append(b, `,"since":`...)
	b = strconv.AppendQuote(b, s.Since.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"held":`...)
	b = strconv.AppendFloat(b, s.Held.Seconds(), 'f', 6, 64)
	if owner != nil {
		b = append(b, `,"owner":{"pid":`...)
		b = strconv.AppendInt(b, int64(owner.PID), 10)
		b = appendKeyString(b, "command", owner.Comm)
		b = appendKeyString(b, "container", owner.Container)
		b = appendKeyString(b, "cgroup", owner.Cgroup)
		b = append(b, '}')
	}
	return append(b, "}\n"...)
}
