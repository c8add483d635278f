package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"finwave/analyzer"
	"finwave/check"
	"finwave/pipeline"
)

// cmdWriteExpect is `finwave check --write-expect [--force] [--expect FILE]
// CAPTURE...`: it analyses each capture and writes the expectation file
// `finwave check` would read for it (check.ExpectPath, or --expect FILE),
// holding rules that state what finwave found (check.Generate). An existing
// file is never replaced without --force: it may hold hand-verified truth.
// A capture read from stdin ("-") has no name to derive a file from, so it
// needs --expect.
func cmdWriteExpect(ctx context.Context, cf *checkFlags, files []string, e *env) error {
	if cf.expect != "" && len(files) > 1 {
		return usagef("check --write-expect: --expect %s names one file but %d captures were given; give one capture, or drop --expect to write one file beside each", cf.expect, len(files))
	}
	if cf.quiet {
		return usagef("check: -q does not apply to --write-expect")
	}
	for _, f := range files {
		if f == "-" && cf.expect == "" {
			return usagef("check --write-expect: a capture from stdin (-) needs --expect FILE to name the expectation file to write")
		}
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	runner, err := cf.runner()
	if err != nil {
		return err
	}
	bad := 0
	for _, path := range files {
		out := cf.expect
		if out == "" {
			out = check.ExpectPath(path)
		}
		if err := writeExpect(ctx, cf.force, cfg, runner, path, out, e); err != nil {
			fmt.Fprintf(e.stderr, "finwave: %v\n", err)
			bad++
			if errors.Is(err, context.Canceled) {
				break
			}
		}
	}
	if bad > 0 {
		return &inputError{n: bad}
	}
	return nil
}

// writeExpect analyses one capture and writes its expectation file to out.
// Nothing is written when the capture cannot be read to its end: rules
// from part of a capture would not hold for the whole of it.
func writeExpect(ctx context.Context, force bool, cfg analyzer.Config, runner pipeline.Runner, path, out string, e *env) error {
	if !force {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s exists: not overwriting it (it may hold verified rules); give --force to replace it", out)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("expectation: %w", err)
		}
	}
	src, err := openCapture(ctx, path, e)
	if err != nil {
		return err
	}
	defer src.Close()
	facts, st, err := check.Collect(ctx, src, cfg, runner)
	if err != nil {
		return fmt.Errorf("%s: not written: %w", out, err)
	}
	name := filepath.Base(path)
	if path == "-" {
		name = "standard input"
	}
	var b bytes.Buffer
	n, err := check.Generate(&b, check.Header{Version: moduleVersion(), Capture: name, First: st.First, Last: st.Last}, facts, cfg)
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL // the Lstat above races with other writers; this does not
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: not overwriting it (it may hold verified rules); give --force to replace it", out)
	}
	if err != nil {
		return fmt.Errorf("expectation: %w", err)
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("expectation %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("expectation %s: %w", out, err)
	}
	_, err = fmt.Fprintf(e.stdout, "wrote %s: %d rule(s) from %s; they state what finwave saw: verify each against the endpoints before committing\n", out, n, path)
	if err != nil {
		return &writeError{err}
	}
	return nil
}

// moduleVersion is the module version: finwave version, and the header of
// the files --write-expect writes.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(unknown)"
}
