// Package check evaluates expectation files (docs/expect-format.md) against
// the analysis of a capture: the machinery behind `finwave check` and the
// fixture test that makes `go test ./...` fail the moment finwave and the
// kernel that produced a capture disagree.
//
// Flow of a check: Parse reads an expectation file into an Expect (options and
// rules, with precise file:line errors); Run opens the capture, applies the
// Expect's options to the analyzer configuration, streams the capture through
// the same pipeline as the report (pipeline.Run), and condenses every finished
// flow into a small Flow fact (no Teardown is kept, so memory follows the
// number of flows, not the number of segments); Evaluate then judges every
// rule against the Facts and returns one Result per rule.
//
// Generate goes the other way (`finwave check --write-expect`): from the
// Facts of a capture (Collect) it writes an expectation file whose every
// rule holds for that analysis, headed by a warning that the rules are
// finwave's findings, to be verified against the endpoints, not the truth.
//
// Invariants:
//   - A rule whose selector matches no flow fails; `flow *` over a capture
//     without flows fails (a vacuous truth would hide a broken decoder).
//   - Identifiers in rules are exactly the JSON output's values; states also
//     accept ss's spellings (analyzer.ParseState).
//   - Segment labels are collected only when the file has `frame` rules.
package check
