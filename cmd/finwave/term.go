package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"
)

// isTerminal reports whether w (a writer or a reader) is a terminal.
// Anything that is not an *os.File (tests, buffers) is not.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// useColor: colour only on a terminal, and never when NO_COLOR is set
// (https://no-color.org) or --no-color was given.
func useColor(e *env, noColor bool) bool {
	if noColor {
		return false
	}
	if _, set := e.getenv("NO_COLOR"); set {
		return false
	}
	return isTerminal(e.stdout)
}

// termWidth is the number of columns of the terminal w writes to: the
// COLUMNS environment variable when set (as shells export it, and tests
// use it), else the terminal's own size (TIOCGWINSZ), else 80.
func termWidth(e *env, w io.Writer) int {
	if v, ok := e.getenv("COLUMNS"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n
		}
	}
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 80
}

// fitWidth shortens line to at most cols-1 columns (the last column of a
// terminal wraps on some terminals): the middle of the name goes first
// ("…"), then the end of the line.
func fitWidth(name, rest string, cols int) string {
	max := cols - 1
	n, r := []rune(name), []rune(rest)
	if len(n)+len(r) <= max {
		return name + rest
	}
	// Keep at least 12 columns of the name, its head and its tail.
	if keep := max - len(r); keep >= 12 {
		head := (keep - 1) / 2
		tail := keep - 1 - head
		return string(n[:head]) + "…" + string(n[len(n)-tail:]) + rest
	}
	line := []rune(name + rest)
	if len(n) > 12 {
		line = append(append(append([]rune{}, n[:5]...), '…'), append(n[len(n)-6:], r...)...)
	}
	if len(line) > max {
		line = line[:max]
	}
	return string(line)
}

// termWrap wraps the message line s (ending in a newline) at spaces to the
// width of the terminal w, continuation lines indented by two; a word is
// never cut. Into a pipe or file s is returned as it is.
func termWrap(e *env, w io.Writer, s string) string {
	if !isTerminal(w) {
		return s
	}
	return wrapWords(s, termWidth(e, w))
}

// wrapWords wraps the one line s (a trailing newline kept) at spaces to
// lines of at most cols columns (a longer word stays whole).
func wrapWords(s string, cols int) string {
	body, nl := strings.CutSuffix(s, "\n")
	var b strings.Builder
	col := 0
	for i, word := range strings.Fields(body) {
		n := utf8.RuneCountInString(word)
		switch {
		case i == 0:
		case col+1+n > cols:
			b.WriteString("\n  ")
			col = 2
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	if nl {
		b.WriteByte('\n')
	}
	return b.String()
}
