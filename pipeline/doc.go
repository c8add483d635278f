// Package pipeline is the one loop between a capture source and the
// analyzer, shared by file analysis, `finwave check` and (later) live
// capture: one pipeline, two kinds of source.
//
// Run reads frames from a capture.Source, decodes each into a single reused
// flow.Segment and hands it to a Sink (the analyzer), counting frames, TCP
// segments and skipped frames by reason.
//
// Invariants:
//   - No allocation per frame: the Frame, the Segment and the Decoder are
//     allocated once per Run; counters are plain fields.
//   - The first read error ends reading and is kept (Stats.ReadErr): every
//     frame before it has been analysed, so the caller can still report.
//   - Context cancellation (SIGINT/SIGTERM in the CLI) stops reading between
//     frames; the caller then closes the analyzer, which flushes every open
//     flow, and reports what was read.
//   - Run never closes the Source or the Sink; the caller owns both.
package pipeline
