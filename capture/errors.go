package capture

import (
	"errors"
	"strconv"
)

// Sentinel errors, reachable with errors.Is through a *ReadError.
var (
	// ErrUnknownFormat: the first bytes are not a supported magic number.
	ErrUnknownFormat = errors.New("unknown capture format")
	// ErrTruncated: the input ends inside a header or a record.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt: a header or record is inconsistent (bad length, bad
	// version, interface out of range, ...).
	ErrCorrupt = errors.New("corrupt")
)

// ReadError reports a capture that cannot be read further.
//
// Frame is the 1-based number of the frame that could not be read (0 when
// the file header itself is bad). Offset is the byte offset, in the
// decompressed capture stream, of the header or record that failed.
type ReadError struct {
	File   string
	Frame  int64
	Offset int64
	Err    error
}

// Error formats "capture FILE: frame N (byte offset O): what is wrong"; when
// the file header is at fault it reads "capture FILE: file header (byte
// offset O): ...".
func (e *ReadError) Error() string {
	b := make([]byte, 0, 64)
	b = append(b, "capture "...)
	b = append(b, e.File...)
	if e.Frame > 0 {
		b = append(b, ": frame "...)
		b = strconv.AppendInt(b, e.Frame, 10)
	} else {
		b = append(b, ": file header"...)
	}
	b = append(b, " (byte offset "...)
	b = strconv.AppendInt(b, e.Offset, 10)
	b = append(b, "): "...)
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	} else {
		b = append(b, "unknown error"...)
	}
	return string(b)
}

// Unwrap returns the underlying error.
func (e *ReadError) Unwrap() error { return e.Err }
