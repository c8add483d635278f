// Package pipeline is the one loop between a capture source and the
// analyzer, shared by file analysis, `finwave check` and `finwave live`:
// one pipeline, two kinds of source (files and streams from capture, an
// interface from capture/live).
//
// Run reads frames from a capture.Source, decodes each into a single reused
// flow.Segment and hands it to a Sink (the analyzer), counting frames, TCP
// segments and skipped frames by reason. Prefetch reads a source ahead on
// another goroutine; Sharded spreads the flows over several analyzers
// (finwave -j N) and merges their results in stream-id order.
//
// Invariants:
//   - No allocation per frame: the Frame, the Segment and the Decoder are
//     allocated once per Run; counters are plain fields.
//   - The first read error ends reading and is kept (Stats.ReadErr): every
//     frame before it has been analysed, so the caller can still report.
//   - Context cancellation (SIGINT/SIGTERM in the CLI) stops reading between
//     frames: Run looks at the context before the first frame and then every
//     1024 frames. A source blocked in Next must end on the context itself
//     (capture/live's source and the CLI's stdin reader do). The caller then
//     closes the analyzer, which flushes every open flow, and reports what
//     was read.
//   - Run never closes the Source or the Sink; the caller owns both.
package pipeline
