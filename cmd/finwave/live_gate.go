package main

import (
	"flag"
	"fmt"
	"io"

	"finwave/gate"
)

// registerGate registers --fail-on and --allow-empty, the CI gate that
// `finwave FILE...` and `finwave live` share.
func registerGate(fs *flag.FlagSet, failOn *string, allowEmpty *bool) {
	fs.StringVar(failOn, "fail-on", "", "exit 1 when a flow has one of these anomaly `KINDS`, patterns or severities (comma list; any: every anomaly, info too)")
	fs.BoolVar(allowEmpty, "allow-empty", false, "with --fail-on: a capture without any TCP flow is no failure")
}

// parseGate parses a --fail-on list; a bad one is a usage error.
func parseGate(s string) (gate.Gate, error) {
	if s == "" {
		return gate.Gate{}, nil
	}
	g, err := gate.Parse(s)
	if err != nil {
		return g, usagef("--fail-on: %v", err)
	}
	return g, nil
}

// gateVerdict writes on w why the capture name tripped --fail-on — the
// flows in res.tally, or (without --allow-empty) that it had no TCP flow —
// and says whether it did. ok is false when the capture failed: an error,
// not an empty capture.
func gateVerdict(w io.Writer, name string, res *result, failOn *gate.Gate, allowEmpty, ok bool) bool {
	tripped := false
	if res.tally.Flows > 0 {
		tripped = true
		fmt.Fprintf(w, "finwave: --fail-on: %s: %s\n", name, res.tally.String())
	}
	if failOn.Set() && !allowEmpty && ok && res.empty != "" {
		tripped = true
		fmt.Fprintf(w, "finwave: --fail-on: %s: nothing to analyse: %s (--allow-empty to pass)\n", name, res.empty)
	}
	return tripped
}
