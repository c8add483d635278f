package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"finwave/capture"
	"finwave/capture/bpf"
)

// filterFlags is -f EXPR of `finwave [flags] FILE... [EXPRESSION]`: a
// tcpdump filter applied to the frames of files, in user space, by the
// same compiler `finwave live` attaches in the kernel.
type filterFlags struct {
	expr string
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.expr, "f", "", "tcpdump filter `EXPR` applied to the frames of the captures (as tcpdump -r FILE EXPR)")
}

// splitFilter separates captures from a trailing filter expression.
//
// The rule, stated in --help and README.md: arguments that exist (as
// files, or "-" for stdin) are captures. From the first argument after at
// least one capture that does not exist, the remaining arguments are
// joined with spaces as a filter expression when they parse as one;
// otherwise they are all taken as captures, and each missing one is an
// error "no such file" naming it. So the expression comes last, and an
// existing file named like an expression ("tcp") is a capture.
//
// With -f, every argument is a capture, and a trailing expression is a
// usage error (given twice).
func splitFilter(args []string, flagExpr string) (files []string, expr string, err error) {
	exists := func(a string) bool {
		if a == "-" {
			return true
		}
		_, err := os.Stat(a)
		return !errors.Is(err, os.ErrNotExist)
	}
	i := 0
	for i < len(args) && exists(args[i]) {
		i++
	}
	if i == 0 || i == len(args) {
		return args, flagExpr, nil
	}
	rest := strings.Join(args[i:], " ")
	if _, perr := bpf.NewMatcher(rest); perr != nil {
		return args, flagExpr, nil // not an expression: missing files, reported each
	}
	if flagExpr != "" {
		return nil, "", usagef("filter given both with -f (%q) and as arguments (%q)", flagExpr, rest)
	}
	return args[:i], rest, nil
}

// matcher compiles expr for files ("" gives nil: no filter). A syntax
// error is a usage error, before any capture is read.
func matcher(expr string) (*bpf.Matcher, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	m, err := bpf.NewMatcher(expr)
	if err != nil {
		return nil, usagef("filter %q: %v", expr, err)
	}
	return m, nil
}

// filterError names the capture in an error of its filter (a link type
// the compiler does not support).
func filterError(path string, err error) error {
	var ue *bpf.UnsupportedLinkError
	if errors.As(err, &ue) {
		return fmt.Errorf("capture %s: %w", displayName(path), err)
	}
	return err
}

// filterHelp is the part of `finwave --help` about the filter (the rule
// of splitFilter).
const filterHelp = `
Filter: finwave [flags] CAPTURE... EXPRESSION (or -f EXPR) analyses only the
frames a tcpdump filter accepts (tcpdump's syntax, the subset of 'finwave
help live'), as tcpdump -r CAPTURE EXPRESSION would; frame numbers stay the
capture's; rejected frames are counted as filtered out, not skipped.
Arguments that exist (and -) are captures; from the first one after a
capture that does not exist, the rest is the expression if it parses as
one, else each is a missing capture (no such file).
`

// precheckFilter reads the first frame of a capture file to find out,
// before any output, whether the filter can be compiled for its link type
// (a pcap file has one). stdin is not read twice: its error comes during
// the analysis, as for a later pcapng interface of another link type.
func precheckFilter(path string, m *bpf.Matcher) error {
	if m == nil || path == "-" {
		return nil
	}
	src, err := capture.Open(path)
	if err != nil {
		return nil // the analysis reports it
	}
	defer src.Close()
	var fr capture.Frame
	if src.Next(&fr) != nil {
		return nil
	}
	if _, err := m.Match(fr.LinkType, fr.Data); err != nil {
		return filterError(path, err)
	}
	return nil
}
