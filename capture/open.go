package capture

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// StdinName is the name used in messages for input read from os.Stdin.
const StdinName = "<stdin>"

// Open opens a capture file; "-" means stdin, read as a stream. The format
// is detected from the magic bytes (see the package documentation). Errors
// about the file header are *ReadError values with Frame 0.
func Open(path string) (Source, error) {
	if path == "-" {
		return newSource(StdinName, os.Stdin, nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	src, err := newSource(path, f, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

// NewReader reads a capture from r, detecting the format like Open. name is
// used in error messages only. Closing the Source does not close r.
func NewReader(name string, r io.Reader) (Source, error) {
	return newSource(name, r, nil)
}

// base is the state shared by the pcap and pcapng readers.
type base struct {
	name   string
	s      stream
	frame  int64 // number of the last frame handed out
	err    error // sticky: io.EOF or a *ReadError
	gz     *gzip.Reader
	closer io.Closer // the file opened by Open, if any
	closed bool
}

// fail records and returns a *ReadError for the record at offset off.
func (b *base) fail(off int64, err error) error {
	b.err = &ReadError{File: b.name, Frame: b.frame + 1, Offset: off, Err: err}
	return b.err
}

// Close releases the gzip decompressor and the file opened by Open.
func (b *base) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.err == nil {
		b.err = &ReadError{File: b.name, Frame: b.frame + 1, Offset: b.s.off, Err: os.ErrClosed}
	}
	var err error
	if b.gz != nil {
		err = b.gz.Close()
	}
	if b.closer != nil {
		if cerr := b.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Magic numbers, as the first four bytes appear in the file.
const (
	magicPcapMicro   = 0xa1b2c3d4
	magicPcapNano    = 0xa1b23c4d
	magicPcapMicroLE = 0xd4c3b2a1
	magicPcapNanoLE  = 0x4d3cb2a1
	magicPcapng      = 0x0a0d0d0a // also the Section Header Block type
)

const supported = "supported: pcap (a1b2c3d4 µs, a1b23c4d ns, either byte order), pcapng (0a0d0d0a), and gzip (1f8b) of either"

func newSource(name string, r io.Reader, closer io.Closer) (Source, error) {
	b := base{name: name, closer: closer}
	b.s.br = bufio.NewReaderSize(r, bufSize)
	headErr := func(err error) error {
		return &ReadError{File: name, Offset: 0, Err: err}
	}
	head, err := b.s.br.Peek(4)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(b.s.br)
		if err != nil {
			return nil, headErr(b.s.readErrGzip(err))
		}
		b.gz = gz
		b.s.br = bufio.NewReaderSize(gz, bufSize)
		b.s.gz = true
		head, err = b.s.br.Peek(4)
		if len(head) < 4 {
			return nil, headErr(headShort(len(head), b.s.readErr(err)))
		}
	}
	if len(head) < 4 {
		return nil, headErr(headShort(len(head), b.s.readErr(err)))
	}
	magic := uint32(head[0])<<24 | uint32(head[1])<<16 | uint32(head[2])<<8 | uint32(head[3])
	var src Source
	switch magic {
	case magicPcapMicro, magicPcapNano, magicPcapMicroLE, magicPcapNanoLE:
		src, err = newPcap(b)
	case magicPcapng:
		src, err = newPcapng(b)
	default:
		err = headErr(fmt.Errorf("%w: first bytes % x; %s", ErrUnknownFormat, head, supported))
	}
	if err != nil {
		if b.gz != nil {
			b.gz.Close()
		}
		return nil, err
	}
	return src, nil
}

func headShort(got int, err error) error {
	if got == 0 && err == io.EOF {
		return fmt.Errorf("%w: empty input, no capture file header", ErrTruncated)
	}
	return short("file header", got, 4, err)
}

// readErrGzip labels an error from the gzip header reader.
func (s *stream) readErrGzip(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w gzip header (%w)", ErrTruncated, err)
	}
	return fmt.Errorf("%w gzip header: %w", ErrCorrupt, err)
}
