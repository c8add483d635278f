package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

// bufSize is the size of the read buffer: one maximal frame plus room for
// record headers and a few options, so that every sane record is handed out
// without copying (Frame.Data aliases the bufio buffer).
const bufSize = MaxFrameLen + 4096

// chunk is the step by which the scratch buffer grows for records larger than
// bufSize: memory follows the bytes that actually arrive, never a length
// field alone.
const chunk = 64 << 10

// stream is a buffered reader that knows its offset in the (decompressed)
// capture stream.
//
// Records are handed out of a window on br's buffer: win holds the bytes
// br has buffered that take has not handed out yet, and off-brOff counts
// the bytes handed out of the window that br has not been told about
// (Discard). A take that the window can serve costs a slice operation,
// not a Peek and a Discard; the others (the window runs dry, a record
// larger than bufSize, skip) first settle with br and drop the
// window. Slices from the window alias br's buffer, which br changes only
// when it is read, that is in the next call on s: the validity take
// promises.
type stream struct {
	br      *bufio.Reader
	off     int64  // offset of the next unread byte
	gz      bool   // the bytes come out of a gzip decompressor
	scratch []byte // for records larger than bufSize; reused
	win     []byte // buffered in br, not yet handed out
	brOff   int64  // offset of br's next unread byte: off less what win handed out
}

// take returns the next n bytes and advances past them. The slice is valid
// until the next call on s. If fewer than n bytes are available it returns
// the number it could get and the error: io.EOF when the input ended, or
// the underlying error.
func (s *stream) take(n int) (b []byte, got int, err error) {
	if uint(n) <= uint(len(s.win)) { // n >= 0 too
		b, s.win = s.win[:n:n], s.win[n:]
		s.off += int64(n)
		return b, n, nil
	}
	return s.takeSlow(n)
}

// buffered returns the bytes take could hand out without reading: a
// reader may parse a record in place and then consume it whole. The slice
// is valid until the next call on s.
func (s *stream) buffered() []byte { return s.win }

// consume advances past the first n bytes of buffered(), n <= its length.
func (s *stream) consume(n int) {
	s.win = s.win[n:]
	s.off += int64(n)
}

// settle tells br about the bytes handed out of the window and drops it,
// so that br can be read directly: afterwards brOff == off until the
// next window opens.
func (s *stream) settle() error {
	s.win = nil
	n := int(s.off - s.brOff)
	if n == 0 {
		return nil
	}
	s.brOff = s.off
	if _, err := s.br.Discard(n); err != nil {
		return s.readErr(err) // cannot happen: the bytes were buffered
	}
	return nil
}

// takeSlow is take when the window cannot serve n bytes.
func (s *stream) takeSlow(n int) (b []byte, got int, err error) {
	if err := s.settle(); err != nil {
		return nil, 0, err
	}
	if n <= s.br.Size() {
		b, err = s.br.Peek(n)
		if len(b) < n {
			return nil, len(b), s.readErr(err)
		}
		// Open a window on everything buffered (n bytes at least),
		// and take n from it.
		if s.win, err = s.br.Peek(s.br.Buffered()); err != nil || len(s.win) < n {
			return nil, 0, s.readErr(err) // cannot happen: n bytes are buffered
		}
		b, s.win = s.win[:n:n], s.win[n:]
		s.off += int64(n)
		return b, n, nil
	}
	s.scratch = s.scratch[:0]
	for len(s.scratch) < n {
		step := min(n-len(s.scratch), chunk)
		s.scratch = slices.Grow(s.scratch, step)
		m, err := io.ReadFull(s.br, s.scratch[len(s.scratch):len(s.scratch)+step])
		s.scratch = s.scratch[:len(s.scratch)+m]
		s.off += int64(m)
		s.brOff = s.off
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) && !s.gz {
				err = io.EOF
			}
			return nil, len(s.scratch), s.readErr(err)
		}
	}
	return s.scratch, n, nil
}

// skip advances past n bytes without keeping them. It returns how many it
// skipped and, if fewer than n, why.
func (s *stream) skip(n int64) (int64, error) {
	if err := s.settle(); err != nil {
		return 0, err
	}
	var done int64
	for done < n {
		step := int(min(n-done, 1<<30))
		m, err := s.br.Discard(step)
		done += int64(m)
		s.off += int64(m)
		s.brOff = s.off
		if err != nil {
			return done, s.readErr(err)
		}
	}
	return done, nil
}

// readErr normalises an error from the underlying reader: io.EOF stays
// io.EOF (the caller knows whether it fell on a record boundary); gzip
// damage is labelled as such.
func (s *stream) readErr(err error) error {
	switch {
	case err == nil:
		return io.ErrUnexpectedEOF // short read without error: treat as truncation
	case err == io.EOF:
		return io.EOF
	case s.gz && errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w gzip stream (%w)", ErrTruncated, err)
	case s.gz:
		return fmt.Errorf("%w gzip stream: %w", ErrCorrupt, err)
	default:
		return fmt.Errorf("read: %w", err)
	}
}

// short builds the error for a header or record cut short: "truncated WHAT:
// got G of N bytes" when the input simply ended, the underlying error
// otherwise.
func short(what string, got, n int, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w %s: got %d of %d bytes", ErrTruncated, what, got, n)
	}
	return fmt.Errorf("%s: %w", what, err)
}
