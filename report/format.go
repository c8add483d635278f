package report

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"finwave/analyzer"
	"finwave/flow"
)

// ANSI SGR sequences; used only for severity markers and RST/anomaly
// highlights, and only with Options.Color.
const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

// paint wraps s in an SGR sequence when on.
func paint(b []byte, on bool, sgr, s string) []byte {
	if !on || sgr == "" {
		return append(b, s...)
	}
	b = append(b, sgr...)
	b = append(b, s...)
	return append(b, ansiReset...)
}

// severityColor is the SGR for a severity.
func severityColor(s analyzer.Severity) string {
	switch s {
	case analyzer.Error:
		return ansiRed
	case analyzer.Warning:
		return ansiYellow
	}
	return ansiCyan
}

// SeverityMarker is the glyph leading an anomaly line (text, not colour:
// the HTML report's badges use it too).
func SeverityMarker(s analyzer.Severity) string {
	switch s {
	case analyzer.Error:
		return "✖"
	case analyzer.Warning:
		return "⚠"
	}
	return "ℹ"
}

// width is the display width of s: every glyph this package prints (ASCII,
// box drawing, arrows) is one column wide.
func width(s string) int { return utf8.RuneCountInString(s) }

// spaces and dashRun are runs appended in slices instead of glyph by glyph.
const spaces = "                                                                "

var dashRun = strings.Repeat("─", 64)

// appendSpaces appends n spaces (none when n <= 0).
func appendSpaces(b []byte, n int) []byte {
	for n > 0 {
		k := min(n, len(spaces))
		b = append(b, spaces[:k]...)
		n -= k
	}
	return b
}

// appendDashes appends n box-drawing dashes (none when n <= 0).
func appendDashes(b []byte, n int) []byte {
	const dash = len("─")
	for n > 0 {
		k := min(n, len(dashRun)/dash)
		b = append(b, dashRun[:k*dash]...)
		n -= k
	}
	return b
}

// pad appends s left-aligned in a field of n columns; s is w columns wide.
func pad(b []byte, s string, w, n int) []byte {
	return appendSpaces(append(b, s...), n-w)
}

// padLeft appends s right-aligned in a field of n columns; s is w columns wide.
func padLeft(b []byte, s string, w, n int) []byte {
	return append(appendSpaces(b, n-w), s...)
}

// humanDuration formats d for people: "850 µs", "208 ms", "2.41 s",
// "3m07s", "2h05m".
func humanDuration(d time.Duration) string { return string(appendHumanDuration(nil, d)) }

// appendHumanDuration appends humanDuration(d).
func appendHumanDuration(b []byte, d time.Duration) []byte {
	if d < 0 {
		return appendHumanDuration(append(b, '-'), -d)
	}
	switch {
	case d == 0:
		return append(b, "0 s"...)
	case d < time.Millisecond:
		return append(strconv.AppendInt(b, int64(d/time.Microsecond), 10), " µs"...)
	case d < time.Second:
		return append(strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'g', 3, 64), " ms"...)
	case d < time.Minute:
		return append(strconv.AppendFloat(b, d.Seconds(), 'f', 2, 64), " s"...)
	case d < time.Hour:
		d = d.Round(time.Second)
		b = strconv.AppendInt(b, int64(d/time.Minute), 10)
		b = appendTwoDigits(append(b, 'm'), int(d%time.Minute/time.Second))
		return append(b, 's')
	}
	d = d.Round(time.Minute)
	b = strconv.AppendInt(b, int64(d/time.Hour), 10)
	b = appendTwoDigits(append(b, 'h'), int(d%time.Hour/time.Minute))
	return append(b, 'm')
}

// appendTwoDigits appends n (0 <= n < 100) with a leading zero below 10.
func appendTwoDigits(b []byte, n int) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// appendRelSeconds appends t relative to base in seconds with microsecond
// precision (pcap's usual resolution), "-" when either time is zero.
func appendRelSeconds(b []byte, t, base time.Time) []byte {
	if t.IsZero() || base.IsZero() {
		return append(b, '-')
	}
	return strconv.AppendFloat(b, t.Sub(base).Seconds(), 'f', 6, 64)
}

// plural returns "1 flow" / "2 flows".
func plural(n int64, one, many string) string { return string(appendPlural(nil, n, one, many)) }

// appendPlural appends plural(n, one, many).
func appendPlural(b []byte, n int64, one, many string) []byte {
	if n == 1 {
		return append(append(b, "1 "...), one...)
	}
	b = strconv.AppendInt(b, n, 10)
	b = append(b, ' ')
	return append(b, many...)
}

// byteUnits are humanBytes' units above bytes.
var byteUnits = [...]string{"kB", "MB", "GB", "TB"}

// appendHumanBytes appends a byte count: "512 B", "1.4 kB", "3.2 MB".
func appendHumanBytes(b []byte, n uint64) []byte {
	const unit = 1000
	if n < unit {
		return append(strconv.AppendUint(b, n, 10), " B"...)
	}
	f := float64(n)
	for _, u := range byteUnits {
		f /= unit
		if f < unit {
			b = strconv.AppendFloat(b, f, 'f', 1, 64)
			b = append(b, ' ')
			return append(b, u...)
		}
	}
	return append(strconv.AppendFloat(b, f, 'f', 1, 64), " PB"...)
}

// appendEndpoint appends e as flow.Endpoint.String does: ip:port, IPv6 as
// [addr]:port, "invalid AddrPort" for the zero address.
func appendEndpoint(b []byte, e flow.Endpoint) []byte {
	if !e.Addr.IsValid() {
		return append(b, "invalid AddrPort"...)
	}
	return netip.AddrPortFrom(e.Addr, e.Port).AppendTo(b)
}

// flagNames holds flow.Flags.String for every flag byte, computed once.
var flagNames = func() (n [256]string) {
	for i := range n {
		n[i] = flow.Flags(i).String()
	}
	return n
}()

// flagsString is flow.Flags.String without allocating.
func flagsString(f flow.Flags) string { return flagNames[f] }

// wrap appends text word-wrapped to lines of at most cols columns, each
// starting with indent. Words longer than a line are not broken.
func wrap(b []byte, text, indent string, cols int) []byte {
	// Paragraphs split at '\n', words as strings.Fields splits them
	// (unicode.IsSpace), without allocating either. A word's width is
	// counted while it is scanned. Words on one line that the text already
	// separates by a single ' ' are copied as one run (para[rs:re]), not
	// word by word.
	iw := width(indent)
	for {
		para, rest, more := strings.Cut(text, "\n")
		col := -1
		rs, re := 0, 0 // the run of para not yet appended
		for i := 0; i < len(para); {
			if k := byteClass[para[i]]; k == 1 {
				i++
				continue
			} else if k == 2 {
				if r, size := utf8.DecodeRuneInString(para[i:]); unicode.IsSpace(r) {
					i += size
					continue
				}
			}
			j, ww := wordEnd(para, i)
			switch {
			case col < 0: // the paragraph's first word
				b = append(b, indent...)
				rs, re, col = i, j, iw+ww
			case col+1+ww > cols: // the next line
				b = append(b, para[rs:re]...)
				b = append(b, '\n')
				b = append(b, indent...)
				rs, re, col = i, j, iw+ww
			case i == re+1 && para[re] == ' ': // same line, same run
				re, col = j, col+1+ww
			default: // same line, other white space in the text
				b = append(b, para[rs:re]...)
				b = append(b, ' ')
				rs, re, col = i, j, col+1+ww
			}
			i = j
		}
		if col >= 0 {
			b = append(b, para[rs:re]...)
			b = append(b, '\n')
		}
		if !more {
			return b
		}
		text = rest
	}
}

// byteClass sorts bytes for wrap: ASCII word bytes 0, ASCII white space
// (unicode.IsSpace) 1, bytes of multi-byte runes 2.
var byteClass = func() (c [256]uint8) {
	for i := range c {
		switch {
		case i >= utf8.RuneSelf:
			c[i] = 2
		case asciiSpace(byte(i)):
			c[i] = 1
		}
	}
	return c
}()

// wordEnd returns the end of the word starting at s[i] (a non-space) and
// its width in runes, as utf8.RuneCountInString counts them.
func wordEnd(s string, i int) (end, w int) {
	j := i
	for j < len(s) {
		// Runs of ASCII word bytes: one table look-up per byte.
		k := j
		for k < len(s) && byteClass[s[k]] == 0 {
			k++
		}
		w += k - j
		j = k
		if j == len(s) || byteClass[s[j]] == 1 {
			break
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if unicode.IsSpace(r) {
			break
		}
		j += size
		w++
	}
	return j, w
}

// asciiSpace is unicode.IsSpace for ASCII: '\t', '\n', '\v', '\f', '\r', ' '.
func asciiSpace(c byte) bool { return c == ' ' || c-'\t' <= '\r'-'\t' }

// appendFrameList appends evidence frames "12, 13", eliding long lists.
func appendFrameList(b []byte, frames []int64) []byte {
	const show = 8
	for i, f := range frames {
		if i == show && len(frames) > show+1 {
			b = append(b, ", … (+"...)
			b = strconv.AppendInt(b, int64(len(frames)-show), 10)
			return append(b, " more)"...)
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, f, 10)
	}
	return b
}

// patternPhrase names a pattern in a flow header.
func patternPhrase(p analyzer.Pattern) string {
	switch p {
	case analyzer.PatternFourWay:
		return "four-way close"
	case analyzer.PatternThreeWay:
		return "three-way close"
	case analyzer.PatternSimultaneous:
		return "simultaneous close"
	case analyzer.PatternReset:
		return "reset"
	case analyzer.PatternFINThenReset:
		return "FIN then reset"
	case analyzer.PatternRefused:
		return "refused (SYN answered by RST)"
	case analyzer.PatternHalfOpen:
		return "half-open (one side went silent)"
	case analyzer.PatternHalfClosed:
		return "half-closed (one side closed)"
	case analyzer.PatternTimeout:
		return "timed out (a timer gave up on a silent peer)"
	case analyzer.PatternUnanswered:
		return "unanswered SYN"
	case analyzer.PatternOpen:
		return "open (no close seen)"
	}
	return p.String()
}

// closerPhrase says who closed first in a flow header.
// It is empty for a connection that never opened (refused, unanswered).
func closerPhrase(c analyzer.Closer, p analyzer.Pattern) string {
	if p == analyzer.PatternRefused || p == analyzer.PatternUnanswered {
		return ""
	}
	abort := p == analyzer.PatternReset || p == analyzer.PatternRefused
	switch c {
	case analyzer.CloserClient:
		if abort {
			return "client aborted"
		}
		return "client closed first"
	case analyzer.CloserServer:
		if abort {
			return "server aborted"
		}
		return "server closed first"
	case analyzer.CloserBoth:
		return "both closed at once"
	}
	return "nobody closed"
}

// appendTunnelID appends a tunnel's identifier as its header names it
// ("VNI 42", "key 7", "TEID 0x1f"), nothing when it has none.
func appendTunnelID(b []byte, t *flow.Tunnel) []byte {
	if !t.HasID {
		return b
	}
	switch t.Type {
	case flow.TunnelVXLAN, flow.TunnelVXLANGPE, flow.TunnelGeneve:
		b = append(b, " VNI "...)
	case flow.TunnelGRE:
		b = append(b, " key "...)
	case flow.TunnelERSPAN, flow.TunnelPPPoE:
		b = append(b, " session "...)
	case flow.TunnelGTPU:
		b = append(b, " TEID 0x"...)
		return strconv.AppendUint(b, uint64(t.ID), 16)
	case flow.TunnelMPLS:
		b = append(b, " label "...)
	case flow.TunnelPBB:
		b = append(b, " I-SID "...)
	default:
		b = append(b, " id "...)
	}
	return strconv.AppendUint(b, uint64(t.ID), 10)
}

// appendTunnelText appends "via vxlan VNI 42, outer 10.0.0.1:53211 →
// 10.0.0.2:4789" (the path of nested tunnels joined by ›), for a flow's
// header.
func appendTunnelText(b []byte, t *flow.Tunnel) []byte {
	b = append(b, "via "...)
	for i := 0; i+1 < int(t.Depth) && i < len(t.Path); i++ {
		b = append(b, t.Path[i].String()...)
		b = append(b, " › "...)
	}
	b = append(b, t.Type.String()...)
	b = appendTunnelID(b, t)
	if t.Outer.Src.Addr.IsValid() {
		b = append(b, ", outer "...)
		b = appendTunnelEndpoint(b, t.Outer.Src)
		b = append(b, " → "...)
		b = appendTunnelEndpoint(b, t.Outer.Dst)
	}
	return b
}

// appendTunnelEndpoint appends an outer endpoint: ip:port, or the bare
// address for tunnels without ports (GRE, IP in IP).
func appendTunnelEndpoint(b []byte, e flow.Endpoint) []byte {
	if e.Port == 0 {
		return e.Addr.AppendTo(b)
	}
	return appendEndpoint(b, e)
}

// FlagsString names a segment's flags as the JSON's "flags" does
// ("FIN,ACK").
func FlagsString(f flow.Flags) string { return flagNames[f] }
