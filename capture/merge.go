package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"
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
	LinkType    layers.LinkType // of the first frame
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
		p.First, p.FirstTime, p.LinkType = m.frame, f.Time, f.LinkType
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

// Notes says how the set departs from a clean sequence of files, in time
// order: a file with no frame, files that overlap in time (their frames were
// interleaved by time, as mergecap does), silences between consecutive files
// longer than minGap (a piece may be missing), and files whose first frames
// have different link types (each frame is decoded by its own link type,
// as in mergecap's pcapng output with one interface per link type). Call it
// after Next returned io.EOF. No note: the files follow each other.
func (m *Merged) Notes(minGap time.Duration) []string {
	var notes []string
	ord := make([]*Piece, 0, len(m.pcs))
	for i := range m.pcs {
		if m.pcs[i].Frames == 0 {
			notes = append(notes, fmt.Sprintf("%s holds no frame", m.pcs[i].Name))
			continue
		}
		ord = append(ord, &m.pcs[i])
	}
	// Insertion sort by first frame number, i.e. by first time.
	for i := 1; i < len(ord); i++ {
		for j := i; j > 0 && ord[j].First < ord[j-1].First; j-- {
			ord[j], ord[j-1] = ord[j-1], ord[j]
		}
	}
	var end *Piece // the piece reaching furthest in time so far
	for _, p := range ord {
		if end != nil {
			switch {
			case p.FirstTime.Before(end.LastTime):
				notes = append(notes, fmt.Sprintf("%s overlaps %s in time (merged frame by frame by time)", p.Name, end.Name))
			case p.FirstTime.Sub(end.LastTime) > minGap:
				notes = append(notes, fmt.Sprintf("gap of %s between %s and %s", p.FirstTime.Sub(end.LastTime).Round(time.Millisecond), end.Name, p.Name))
			}
		}
		if end == nil || p.LastTime.After(end.LastTime) {
			end = p
		}
		if p.LinkType != ord[0].LinkType {
			notes = append(notes, fmt.Sprintf("%s has link type %s, %s has %s (each frame decoded by its own)", p.Name, p.LinkType, ord[0].Name, ord[0].LinkType))
		}
	}
	return notes
}
