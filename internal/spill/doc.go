// Package spill is an external merge sort for records that arrive in any
// key order and must be read back in key order: finwave's report renders
// each flow as it finishes and writes the flows out, after the summary, in
// ascending stream id.
//
// A Store keeps the records' bytes in memory up to a limit (4 MiB), then
// in one temporary file, appended as they come; an index entry per record
// (key, offset, length) is kept in memory in a chunk of bounded length,
// which, once full, is sorted and written as a run to a second temporary
// file. Each merges the runs and the last chunk with a heap and reads the
// records back, several neighbours in one read where they lie close in the
// file.
//
// Invariants:
//   - Each yields every record added since the last Reset exactly once, in
//     ascending key order, equal keys in the order they were added.
//   - Memory is bounded whatever the number of records: about 11 MiB at the
//     default limits (see Store).
//   - Add and Each allocate nothing per record in steady state; buffers grow
//     by doubling up to their limits.
//   - Temporary files are unlinked as soon as they are created, where the
//     OS allows it: nothing is left behind, even after a crash; Reset
//     closes them.
//   - Errors are returned, never panicked, and wrapped with the operation
//     that failed ("spill: write: ...").
package spill
