// Package report renders analyzer.Teardown results for people and machines:
// a text report (summary tables, then a ladder diagram per flow worth
// reading), one JSON document per capture, or JSON lines for live mode.
//
// Data flow: the analyzer hands each finished flow to Renderer.Flow, in the
// order flows finish (not stream order). A renderer renders the flow into
// bytes at once, keeps nothing of the Teardown, and adds the bytes to a
// spill store keyed by stream id (internal/spill: an external merge sort,
// memory up to a few MB, then temporary files). Summary counters are updated
// incrementally. At Renderer.Finish the summary is written, then the spilled
// flows in ascending stream id (Wireshark's tcp.stream). Memory is therefore
// the counters (the top-endpoint table is capped) and about 11 MB of spill,
// whatever the number of flows.
//
// Invariants:
//   - Output is deterministic: the same Flow calls (in any order) and the same
//     Capture give the same bytes. Ties are broken by name, never by map order.
//   - The summary always covers every flow given to Flow; the Options filters
//     (Stream, Only, All, SummaryOnly) select only which flows are listed.
//   - JSON output is always one complete, valid document, also when the
//     capture ended with a read error (Capture.ReadError).
//   - A renderer can be reused: Finish resets it for the next capture.
//
// The JSON schema is described in SCHEMA.md.
package report
