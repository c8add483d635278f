package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"finwave/check"
)

// checkFlags are the flags of `finwave check`.
type checkFlags struct {
	analysisFlags
	expect      string
	quiet       bool
	writeExpect bool // write expectation files from the analysis instead of checking
	force       bool // --write-expect may overwrite an existing file
}

// flagSet registers check's flags on a new flag set.
func (c *checkFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("finwave check")
	c.register(fs)
	fs.StringVar(&c.expect, "expect", "", "expectation `FILE` for every capture (default: beside each capture)")
	fs.BoolVar(&c.quiet, "q", false, "print only failed rules and the totals")
	fs.BoolVar(&c.writeExpect, "write-expect", false, "write each capture's expectation file from the analysis instead of checking")
	fs.BoolVar(&c.force, "force", false, "let --write-expect overwrite an existing expectation file")
	return fs
}

// cmdCheck is `finwave check [--expect FILE] [analysis flags] CAPTURE...`.
func cmdCheck(ctx context.Context, args []string, e *env) error {
	var cf checkFlags
	files, err := parseArgs(cf.flagSet(), args)
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
	if cf.writeExpect {
		return cmdWriteExpect(ctx, &cf, files, e)
	}
	if cf.force {
		return usagef("check: --force only applies to --write-expect")
	}
	for _, f := range files {
		if f == "-" {
			return usagef("check: reading a capture from stdin is not supported; give a file")
		}
	}
	base, err := cf.config()
	if err != nil {
		return err
	}
	runner, err := cf.runner()
	if err != nil {
		return err
	}
	var bad, failed, rules, captures int
	for _, path := range files {
		expPath := cf.expect
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
			if cf.quiet {
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
