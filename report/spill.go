package report

import (
	"fmt"

	"finwave/internal/spill"
)

// The text and JSON document renderers render each listed flow as it
// finishes and keep the bytes in a spill.Store keyed by the flow's stream
// id (tcp.stream); Finish replays them after the summary, in ascending
// stream id, flows sharing a stream (a continued stream) in finish order.
// These wrappers add the report's words to the store's errors.

// spillFlow stores the rendering b of the flow with stream id stream.
func spillFlow(s *spill.Store, stream int64, b []byte) error {
	if err := s.Add(stream, b); err != nil {
		return fmt.Errorf("report: flow %d: %w", stream, err)
	}
	return nil
}

// replaySpill calls write with every stored rendering in stream order. An
// error of write is returned as is; an error of the store, wrapped.
func replaySpill(s *spill.Store, write func(b []byte) error) error {
	var werr error
	err := s.Each(func(_ int64, b []byte) error {
		werr = write(b)
		return werr
	})
	if err != nil && err != werr {
		return fmt.Errorf("report: %w", err)
	}
	return err
}

// replaySpans is replaySpill for renderings stored with what joins them in
// the output: write gets runs of them, concatenated (spill.Store.Spans).
func replaySpans(s *spill.Store, write func(b []byte) error) error {
	var werr error
	err := s.Spans(func(b []byte) error {
		werr = write(b)
		return werr
	})
	if err != nil && err != werr {
		return fmt.Errorf("report: %w", err)
	}
	return err
}

// resetSpill empties the store for the next capture.
func resetSpill(s *spill.Store) error {
	if err := s.Reset(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
