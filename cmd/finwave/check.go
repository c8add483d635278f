package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"finwave/check"
)

// cmdCheck is `finwave check [--expect FILE] [analysis flags] CAPTURE...`.
func cmdCheck(ctx context.Context, args []string, e *env) error {
	var af analysisFlags
	var expect string
	var quiet bool
	fs := newFlagSet("finwave check")
	af.register(fs)
	fs.StringVar(&expect, "expect", "", "expectation `FILE` for every capture (default: beside each capture)")
	fs.BoolVar(&quiet, "q", false, "print only failed rules and the totals")
	files, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeCheckHelp(e.stdout)
		return err
	}
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("check: no capture file given")
	}
	for _, f := range files {
		if f == "-" {
			return usagef("check: reading a capture from stdin is not supported; give a file")
		}
	}
	base, err := af.config()
	if err != nil {
		return err
	}
	runner, err := af.runner()
	if err != nil {
		return err
	}
	var bad, failed, rules, captures int
	for _, path := range files {
		expPath := expect
		if expPath == "" {
			expPath = check.ExpectPath(path)
		}
		exp, err := check.ParseFile(expPath)
		if err != nil {
			// One line per bad expectation line, each file:line: what.
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, err := range errs {
				fmt.Fprintf(e.stderr, "finwave: %v\n", err)
			}
			bad++
			continue
		}
		o, runErr := check.RunWith(ctx, path, exp, base, runner)
		if o != nil {
			captures++
			rules += len(o.Results)
			failed += o.Failed()
			if quiet {
				err = writeFailures(e, o)
			} else {
				err = o.Write(e.stdout)
			}
			if err != nil {
				return &writeError{err}
			}
		}
		if runErr != nil {
			fmt.Fprintf(e.stderr, "finwave: %v\n", runErr)
			bad++
			if errors.Is(runErr, context.Canceled) {
				break
			}
		}
	}
	fmt.Fprintf(e.stdout, "check: %d capture(s), %d rule(s), %d failed", captures, rules, failed)
	if bad > 0 {
		fmt.Fprintf(e.stdout, ", %d input(s) unreadable", bad)
	}
	fmt.Fprintln(e.stdout)
	switch {
	case bad > 0:
		return &inputError{n: bad}
	case failed > 0:
		return errFindings
	}
	return nil
}

func writeFailures(e *env, o *check.Outcome) error {
	for i := range o.Results {
		r := &o.Results[i]
		if r.OK {
			continue
		}
		if _, err := fmt.Fprintf(e.stdout, "FAIL %s: %s: %s\n     found: %s\n", o.Capture, r.Rule.Pos(), r.Rule.Text, r.Found); err != nil {
			return err
		}
	}
	return nil
}
