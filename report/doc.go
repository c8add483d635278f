// Package report renders analyzer.Teardown results for people and machines.
// For a capture file: a text report (summary tables, then the flows worth
// reading in groups of flows alike, one exemplar's ladder diagram per
// group; with Options.All or Stream, a ladder per flow; NewText) or one
// JSON document (NewJSON, every flow and the groups); for pipelines, one
// line per flow in stream order: JSON lines (NewJSONFileLines) or a Zeek
// conn.log-like TSV (NewTSV), both spilled like the document. For a
// live capture, each flow is written as it finishes, as text
// (NewStreamText) or as one JSON line (NewJSONLines), and Finish adds the
// live counters (Capture.Live) and the summary.
//
// Data flow: the analyzer hands each finished flow to Renderer.Flow, in the
// order flows finish (not stream order). A renderer renders the flow into
// bytes at once and keeps nothing of the Teardown. The live renderers write
// the bytes at once; the JSON document and the text report with All or
// Stream add them to a spill store keyed by stream id (internal/spill: an
// external merge sort, memory up to a few MB, then temporary files).
// Summary counters are updated incrementally. At Renderer.Finish the
// summary is written, then the spilled flows in ascending stream id
// (Wireshark's tcp.stream). The default text report spills nothing: each
// flow worth reading joins its group (group.go), which keeps counters, its
// lowest stream ids and the rendering of its exemplar, the flow with the
// lowest stream id, rendered again only when a lower one arrives; Finish
// writes the summary, then the groups. Memory is therefore the counters
// (the top-endpoint, per-service and group tables are capped) and about
// 11 MB of spill, or the groups, whatever the number of flows.
//
// Invariants:
//   - Output is deterministic: the same Flow calls and the same Capture give
//     the same bytes; for the file renderers the order of the Flow calls
//     matters only between flows of one stream (a continued stream), listed
//     in the order given. Ties are broken by name, never by map order.
//     Past the cap of groups (maxGroups), which flows still open a group
//     depends on the order of the Flow calls.
//   - The summary always covers every flow given to Flow; the Options filters
//     (Stream, Only, All, SummaryOnly) select only which flows are listed.
//   - NewJSON's output is always one complete, valid document, also when the
//     capture ended with a read error (Capture.ReadError); each line of
//     NewJSONLines is one complete object.
//   - A renderer can be reused: Finish resets it for the next capture.
//
// The JSON schema is described in SCHEMA.md.
package report
