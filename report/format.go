package report

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"finwave/analyzer"
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

// severityMarker is the glyph leading an anomaly line.
func severityMarker(s analyzer.Severity) string {
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

// pad appends s left-aligned in a field of n columns.
func pad(b []byte, s string, n int) []byte {
	b = append(b, s...)
	for i := width(s); i < n; i++ {
		b = append(b, ' ')
	}
	return b
}

// padLeft appends s right-aligned in a field of n columns.
func padLeft(b []byte, s string, n int) []byte {
	for i := width(s); i < n; i++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}

// humanDuration formats d for people: "850 µs", "208 ms", "2.41 s",
// "3m07s", "2h05m".
func humanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + humanDuration(-d)
	}
	switch {
	case d == 0:
		return "0 s"
	case d < time.Millisecond:
		return strconv.FormatInt(int64(d/time.Microsecond), 10) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'g', 3, 64) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return strconv.Itoa(int(d/time.Minute)) + "m" + twoDigits(int(d%time.Minute/time.Second)) + "s"
	}
	d = d.Round(time.Minute)
	return strconv.Itoa(int(d/time.Hour)) + "h" + twoDigits(int(d%time.Hour/time.Minute)) + "m"
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// relSeconds formats t relative to base in seconds with microsecond
// precision (pcap's usual resolution), "-" when either time is zero.
func relSeconds(t, base time.Time) string {
	if t.IsZero() || base.IsZero() {
		return "-"
	}
	return strconv.FormatFloat(t.Sub(base).Seconds(), 'f', 6, 64)
}

// plural returns "1 flow" / "2 flows".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// humanBytes formats a byte count: "512 B", "1.4 kB", "3.2 MB".
func humanBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " PB"
}

// wrap appends text word-wrapped to lines of at most cols columns, each
// starting with indent. Words longer than a line are not broken.
func wrap(b []byte, text, indent string, cols int) []byte {
	// Paragraphs split at '\n', words as strings.Fields splits them
	// (unicode.IsSpace), without allocating either.
	iw := width(indent)
	for {
		para, rest, more := strings.Cut(text, "\n")
		col, start := -1, iw
		for i := 0; i < len(para); {
			if c := para[i]; c < utf8.RuneSelf {
				if asciiSpace(c) {
					i++
					continue
				}
			} else if r, size := utf8.DecodeRuneInString(para[i:]); unicode.IsSpace(r) {
				i += size
				continue
			}
			size := 1
			if para[i] >= utf8.RuneSelf {
				_, size = utf8.DecodeRuneInString(para[i:])
			}
			j := i + size
			for j < len(para) {
				if c := para[j]; c < utf8.RuneSelf {
					if asciiSpace(c) {
						break
					}
					j++
					continue
				}
				r, size := utf8.DecodeRuneInString(para[j:])
				if unicode.IsSpace(r) {
					break
				}
				j += size
			}
			w := para[i:j]
			i = j
			if col < 0 {
				b = append(b, indent...)
				col = iw
			}
			ww := width(w)
			if col > start && col+1+ww > cols {
				b = append(b, '\n')
				b = append(b, indent...)
				col = start
			}
			if col > start {
				b = append(b, ' ')
				col++
			}
			b = append(b, w...)
			col += ww
		}
		if col >= 0 {
			b = append(b, '\n')
		}
		if !more {
			return b
		}
		text = rest
	}
}

// asciiSpace is unicode.IsSpace for ASCII: '\t', '\n', '\v', '\f', '\r', ' '.
func asciiSpace(c byte) bool { return c == ' ' || c-'\t' <= '\r'-'\t' }

// frameList formats evidence frames "12, 13", eliding long lists.
func frameList(frames []int64) string {
	const show = 8
	var sb strings.Builder
	for i, f := range frames {
		if i == show && len(frames) > show+1 {
			sb.WriteString(", … (+" + strconv.Itoa(len(frames)-show) + " more)")
			break
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.FormatInt(f, 10))
	}
	return sb.String()
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
		return "half-open (one side closed)"
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
