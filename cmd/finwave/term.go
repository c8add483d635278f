package main

import (
	"io"
	"os"
	"strconv"
	"strings"

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
