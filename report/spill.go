package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
)

// defaultSpillMem is how many bytes of rendered flows stay in memory before
// the spill moves to a temporary file.
const defaultSpillMem = 8 << 20

// spillWindow is how much of the spill file each is read at a time.
const spillWindow = 1 << 20

// spillEntry locates one rendered flow in the spill.
type spillEntry struct {
	stream int64
	off    int64
	n      uint32
	seq    uint32 // arrival order, breaks ties between equal streams
}

// spill stores rendered flows out of order and replays them in stream order.
// Invariant: bytes [0, len(mem)) are in memory while file is nil; once file
// is set every byte lives in the file (mem was written to it first) and size
// counts all of them.
type spill struct {
	limit int
	mem   []byte
	file  *os.File
	w     *bufio.Writer
	size  int64
	index []spillEntry
	err   error
}

// add appends the rendering of one flow.
func (s *spill) add(stream int64, b []byte) error {
	if s.err != nil {
		return s.err
	}
	if len(b) > int(^uint32(0)) {
		return fmt.Errorf("report: flow %d renders to %d bytes, too large", stream, len(b))
	}
	s.index = append(s.index, spillEntry{stream: stream, off: s.size, n: uint32(len(b)), seq: uint32(len(s.index))})
	s.size += int64(len(b))
	if s.file == nil {
		limit := s.limit
		if limit <= 0 {
			limit = defaultSpillMem
		}
		s.mem = append(s.mem, b...)
		if len(s.mem) <= limit {
			return nil
		}
		f, err := os.CreateTemp("", "finwave-report-*")
		if err != nil {
			s.err = fmt.Errorf("report: spill to temporary file: %w", err)
			return s.err
		}
		// Unlinked at once where the OS allows it: nothing to clean up later.
		_ = os.Remove(f.Name())
		s.file = f
		s.w = bufio.NewWriterSize(f, 256<<10)
		b = s.mem
		s.mem = nil
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("report: spill write: %w", err)
	}
	return s.err
}

// len returns the number of stored flows.
func (s *spill) len() int { return len(s.index) }

// each calls fn with every stored rendering in ascending stream order (ties
// in arrival order). The slice given to fn is valid only during the call.
func (s *spill) each(fn func(stream int64, b []byte) error) error {
	if s.err != nil {
		return s.err
	}
	slices.SortFunc(s.index, func(a, b spillEntry) int {
		if c := cmp.Compare(a.stream, b.stream); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	if s.file == nil {
		for _, e := range s.index {
			if err := fn(e.stream, s.mem[e.off:e.off+int64(e.n)]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("report: spill flush: %w", err)
	}
	// Flows often finish in nearly stream order, so consecutive entries
	// are often adjacent in the file: one read covers the run of
	// following entries that lie within spillWindow bytes after this one
	// (one system call per run, not per flow); a scattered entry is read
	// alone.
	var win []byte
	var winOff int64 = -1
	for i, e := range s.index {
		end := e.off + int64(e.n)
		if winOff < 0 || e.off < winOff || end > winOff+int64(len(win)) {
			hi := end
			for k := i + 1; k < len(s.index); k++ {
				f := s.index[k]
				fe := f.off + int64(f.n)
				if f.off < e.off || fe-e.off > spillWindow {
					break
				}
				hi = max(hi, fe)
			}
			n := hi - e.off
			if int64(cap(win)) < n {
				win = make([]byte, n)
			}
			win = win[:n]
			if _, err := s.file.ReadAt(win, e.off); err != nil && err != io.EOF {
				return fmt.Errorf("report: spill read: %w", err)
			}
			winOff = e.off
		}
		if err := fn(e.stream, win[e.off-winOff:end-winOff]); err != nil {
			return err
		}
	}
	return nil
}

// reset frees everything, closing the temporary file.
func (s *spill) reset() error {
	var err error
	if s.file != nil {
		err = s.file.Close()
	}
	limit := s.limit
	*s = spill{limit: limit}
	if err != nil {
		return fmt.Errorf("report: close spill: %w", err)
	}
	return nil
}
