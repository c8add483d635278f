package analyzer

// Streams returns how many stream ids the analyzer has handed out; a
// segment that raises it started the stream numbered Streams()-1. With
// Advance (called for the segments of other shards, so that every analyzer
// finishes flows at the same capture times as a single one would), it lets
// several analyzers share one capture, each owning the flows of a hash
// shard (pipeline.Shard, finwave -j N).
func (a *Analyzer) Streams() int64 { return a.table.Stats().Streams }
