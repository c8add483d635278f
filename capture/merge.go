package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Piece describes one file of a merged capture set: the frame numbers (of
// the merged capture) and capture times of its first and last frames.
// First is 0 when the file held no frame.
type Piece struct {
	Name        string
	First, Last int64
	FirstTime   time.Time
	LastTime    time.Time
	Frames      int64
}

// Merged reads many capture files as one capture, packet by packet in
// timestamp order, as mergecap does by default (mergecap(1): "merged in
// chronological order based on each frame's timestamp"). Files that follow
// each other (rotated pieces) come out concatenated in the order of their
// first timestamps; files that overlap are interleaved. On equal times the
// file given first wins, as in mergecap's merge_read_packet (the earliest
// input is chosen with a strict less-than). Frames are renumbered 1.. across
// the set, which is the numbering tshark gives the mergecap output.
//
// Invariant: at most one frame per input is held (its Data is the input's
// buffer, valid until that input's next Next), so memory is one read buffer
// per file.
type Merged struct {
	srcs  []Source
	cur   []Frame
	live  []bool
	pcs   []Piece
	frame int64
	last  int // input whose frame was handed out last; -1 before the first
	err   error
}

// OpenMerged opens every path and primes one frame from each. An error names
// the file (a missing file, or one that is not a capture).
func OpenMerged(paths []string) (*Merged, error) {
	if len(paths) == 0 {
		return nil, errors.New("merge: no capture files")
	}
	m := &Merged{last: -1}
	for _, p := range paths {
		src, err := Open(p)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("merge: %w", err)
		}
		m.srcs = append(m.srcs, src)
		m.pcs = append(m.pcs, Piece{Name: p})
	}
	m.cur = make([]Frame, len(m.srcs))
	m.live = make([]bool, len(m.srcs))
	for i := range m.srcs {
		if err := m.advance(i); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// advance reads the next frame of input i into cur[i].
func (m *Merged) advance(i int) error {
	err := m.srcs[i].Next(&m.cur[i])
	switch {
	case err == nil:
		m.live[i] = true
		return nil
	case err == io.EOF:
		m.live[i] = false
		return nil
	default:
		m.live[i] = false
		return err // a *ReadError naming the file and its own frame number
	}
}

// Next hands out the earliest pending frame of all inputs.
func (m *Merged) Next(f *Frame) error {
	if m.err != nil {
		return m.err
	}
	if m.last >= 0 {
		if err := m.advance(m.last); err != nil {
			m.err = err
			return err
		}
	}
	best := -1
	for i := range m.cur {
		// Linear scan: sets are tens of files; a heap pays off only for
		// hundreds. Strict Before keeps the earlier file on ties.
		if m.live[i] && (best < 0 || m.cur[i].Time.Before(m.cur[best].Time)) {
			best = i
		}
	}
	if best < 0 {
		m.err = io.EOF
		return io.EOF
	}
	m.last = best
	m.frame++
	*f = m.cur[best]
	f.Number = m.frame
	p := &m.pcs[best]
	if p.Frames == 0 {
		p.First, p.FirstTime = m.frame, f.Time
	}
	p.Last, p.LastTime = m.frame, f.Time
	p.Frames++
	return nil
}

// Pieces returns the files with their frame ranges so far (complete after
// Next returned io.EOF), in the order given.
func (m *Merged) Pieces() []Piece { return m.pcs }

// Close closes every input.
func (m *Merged) Close() error {
	var first error
	for _, s := range m.srcs {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	if m.err == nil {
		m.err = &ReadError{File: "merge", Err: os.ErrClosed}
	}
	return first
}
