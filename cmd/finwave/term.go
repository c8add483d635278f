package main

import (
	"os"

	"github.com/mattn/go-isatty"
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
