package report

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// wrapRef is wrap written the obvious way (strings.Split and
// strings.Fields, one word at a time): the specification the fast wrap
// must match byte for byte.
func wrapRef(text, indent string, cols int) string {
	var b strings.Builder
	iw := utf8.RuneCountInString(indent)
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			continue
		}
		b.WriteString(indent)
		col := iw
		for _, w := range words {
			ww := utf8.RuneCountInString(w)
			if col > iw && col+1+ww > cols {
				b.WriteString("\n")
				b.WriteString(indent)
				col = iw
			}
			if col > iw {
				b.WriteString(" ")
				col++
			}
			b.WriteString(w)
			col += ww
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestWrap_matchesReference(t *testing.T) {
	for _, tc := range []struct {
		text string
		cols int
	}{
		{"The server reset the connection (frame 806) instead of closing it with FIN.", 20},
		{"  leading and   inner\tspaces\r\nand a second\u00a0paragraph\u2003here  ", 12},
		{"tcp_close → tcp_disconnect → tcp_send_active_reset: 850 µs, RFC 2525 §2.17", 16},
		{"averyveryverylongwordthatdoesnotfit short", 10},
		{"\n\n\nx\n", 5},
		{"", 10},
		{"a\x85b c\u2028d", 3},
	} {
		got := string(wrap(nil, tc.text, "   ", tc.cols))
		if want := wrapRef(tc.text, "   ", tc.cols); got != want {
			t.Errorf("wrap(%q, %d)\n got %q\nwant %q", tc.text, tc.cols, got, want)
		}
	}
}

func FuzzWrap(f *testing.F) {
	f.Add("The client aborted the connection with RST (frame 1408)", 20)
	f.Add("a  b\tc\u00a0d → é\n\ne", 4)
	f.Fuzz(func(t *testing.T, text string, cols int) {
		if !utf8.ValidString(text) || cols < 0 || cols > 200 {
			t.Skip()
		}
		if got, want := string(wrap(nil, text, "  ", cols)), wrapRef(text, "  ", cols); got != want {
			t.Errorf("wrap(%q, %d)\n got %q\nwant %q", text, cols, got, want)
		}
	})
}
