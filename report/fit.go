package report

import (
	"bytes"
	"unicode/utf8"
)

// visibleWidth is the number of columns b takes on a terminal: runes,
// not counting ANSI SGR escapes (ESC '[' … 'm').
func visibleWidth(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] == 0x1b {
			j := i + 1
			for j < len(b) && b[j] != 'm' {
				j++
			}
			i = j + 1
			continue
		}
		_, size := utf8.DecodeRune(b[i:])
		i += size
		n++
	}
	return n
}

// fitLines appends src to dst with every line wider than cols columns
// broken at spaces, never inside a word: the continuation lines get a
// hanging indent (the line's own indent plus two). A word wider than the
// room left on a fresh line is kept whole: the one case a line still
// exceeds cols. Aligned lines (table rows, ladder rows: aligned) are left
// as they are, the documented exception: breaking them would scatter their
// columns. cols <= 0 copies src unchanged. Lines that fit are copied
// as they are (their inner runs of spaces, the table and ladder alignment,
// kept); a broken line loses the spaces at each break.
func fitLines(dst, src []byte, cols int) []byte {
	if cols <= 0 {
		return append(dst, src...)
	}
	for len(src) > 0 {
		line := src
		next := len(src)
		for i, c := range src {
			if c == '\n' {
				line, next = src[:i], i+1
				break
			}
		}
		if visibleWidth(line) <= cols || aligned(line) {
			dst = append(dst, src[:next]...)
			src = src[next:]
			continue
		}
		lead := 0
		for lead < len(line) && line[lead] == ' ' {
			lead++
		}
		indent := min(lead+2, len(spaces), cols/3)
		col := 0
		first := true
		for i := 0; i < len(line); {
			// A run of spaces, then a word.
			s := i
			for i < len(line) && line[i] == ' ' {
				i++
			}
			ws := i
			for i < len(line) && line[i] != ' ' {
				i++
			}
			word := line[ws:i]
			if len(word) == 0 {
				break // trailing spaces
			}
			gap, ww := ws-s, visibleWidth(word)
			if first {
				dst = append(dst, line[s:i]...)
				col = gap + ww
				first = false
				continue
			}
			if col+gap+ww > cols {
				dst = append(dst, '\n')
				dst = append(dst, spaces[:indent]...)
				dst = append(dst, word...)
				col = indent + ww
				continue
			}
			dst = append(dst, line[s:i]...)
			col += gap + ww
		}
		if next > len(line) {
			dst = append(dst, '\n')
		}
		src = src[next:]
	}
	return dst
}

// aligned reports whether line is a row of aligned columns (a table, a
// ladder, a sparkline): after its indent it holds a run of two spaces,
// which prose never does, or a ladder arrow ("──", a compacted ladder's
// rows may have single spaces only).
func aligned(line []byte) bool {
	if bytes.Contains(line, []byte("──")) {
		return true
	}
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	for ; i+1 < len(line); i++ {
		if line[i] == ' ' && line[i+1] == ' ' {
			return true
		}
	}
	return false
}
