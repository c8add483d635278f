// Package gate decides which flows trip a --fail-on gate and describes them:
// the gate is a list of anomaly kinds, close patterns and severities; a flow
// trips it when one of its anomalies has a listed kind or a severity at least
// a listed one, or when its pattern is listed.
//
// A capture with nothing to analyse (no frames, no TCP, only skipped
// frames) is a failure of its own under a gate, named by Empty, unless the
// user allows it (--allow-empty): a CI job must not pass on a capture it
// could not read. Tally bounds what the message lists: at most MaxStreams
// streams per reason.
package gate
