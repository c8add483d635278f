package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit codes, decided only in exitCode.
const (
	exitOK       = 0 // analysis done; no --fail-on kind found; every check rule held
	exitFindings = 1 // a --fail-on anomaly was found, or a check rule failed
	exitUsage    = 2 // bad usage, or an input that could not be (fully) read
)

// env is the process environment run works in; tests replace all of it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	sets           map[string][]string // --merge: a set's name → its files
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errFindings reports that the run worked and found what --fail-on asked
// about (or a check rule failed); details were already printed.
var errFindings = errors.New("findings")

// inputError reports inputs that could not be read (already printed, one
// line each, as they happened).
type inputError struct{ n int }

func (e *inputError) Error() string { return fmt.Sprintf("%d input(s) could not be read", e.n) }

// run is the whole program: it parses args, runs a subcommand and turns the
// result into an exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: lookupEnv}
	return exitCode(dispatch(ctx, args, e), e.stderr)
}

// dispatch picks the subcommand. A capture file literally named "check",
// "live", "hosts", "help" or "version" is given as ./check.
func dispatch(ctx context.Context, args []string, e *env) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return cmdCheck(ctx, args[1:], e)
		case "live":
			return cmdLive(ctx, args[1:], e)
		case "hosts":
			return cmdHosts(ctx, args[1:], e)
		case "help":
			return cmdHelp(args[1:], e)
		case "version", "--version", "-version":
			if len(args) > 1 {
				return usagef("%s takes no arguments", args[0])
			}
			writeVersion(e.stdout)
			return nil
		}
	}
	return cmdAnalyze(ctx, args, e)
}

// exitCode is the one place that maps results to exit codes. Usage errors
// are printed here; every other error was printed where it happened.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	var ie *inputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "finwave: %s\nRun 'finwave --help' for usage.\n", ue.msg)
		return exitUsage
	case errors.As(err, &ie):
		return exitUsage
	case errors.Is(err, errFindings):
		return exitFindings
	}
	fmt.Fprintf(stderr, "finwave: %v\n", err)
	return exitUsage
}
