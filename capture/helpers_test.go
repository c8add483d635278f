package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// Hand-built captures. The builders write the formats from their
// specifications (pcap-savefile(5), draft-ietf-opsawg-pcapng), independently
// of the reader under test.

type rec struct {
	sec, frac uint32
	data      []byte
	orig      uint32 // 0: len(data)
}

// pcapFile builds a pcap file: magic selects µs/ns, bo the byte order.
func pcapFile(bo binary.AppendByteOrder, nano bool, snaplen, linktype uint32, recs ...rec) []byte {
	var b []byte
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b = bo.AppendUint32(b, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0) // thiszone
	b = bo.AppendUint32(b, 0) // sigfigs
	b = bo.AppendUint32(b, snaplen)
	b = bo.AppendUint32(b, linktype)
	for _, r := range recs {
		orig := r.orig
		if orig == 0 {
			orig = uint32(len(r.data))
		}
		b = bo.AppendUint32(b, r.sec)
		b = bo.AppendUint32(b, r.frac)
		b = bo.AppendUint32(b, uint32(len(r.data)))
		b = bo.AppendUint32(b, orig)
		b = append(b, r.data...)
	}
	return b
}

// ngBlock builds one pcapng block with the given body (padded to 32 bits).
func ngBlock(bo binary.AppendByteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	var b []byte
	b = bo.AppendUint32(b, typ)
	b = bo.AppendUint32(b, total)
	b = append(b, body...)
	b = bo.AppendUint32(b, total)
	return b
}

func ngSHB(bo binary.AppendByteOrder) []byte {
	var body []byte
	body = bo.AppendUint32(body, 0x1a2b3c4d)
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint64(body, 0xffffffffffffffff) // section length unknown
	return ngBlock(bo, 0x0a0d0d0a, body)
}

// ngOpt is one option; ngIDB appends them and opt_endofopt.
type ngOpt struct {
	code uint16
	val  []byte
}

func ngIDB(bo binary.AppendByteOrder, linktype uint16, snaplen uint32, opts ...ngOpt) []byte {
	var body []byte
	body = bo.AppendUint16(body, linktype)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint32(body, snaplen)
	if len(opts) > 0 {
		for _, o := range opts {
			body = bo.AppendUint16(body, o.code)
			body = bo.AppendUint16(body, uint16(len(o.val)))
			body = append(body, o.val...)
			for len(body)%4 != 0 {
				body = append(body, 0)
			}
		}
		body = append(body, 0, 0, 0, 0)
	}
	return ngBlock(bo, 1, body)
}

func ngEPB(bo binary.AppendByteOrder, ifid uint32, ts uint64, data []byte, orig uint32) []byte {
	var body []byte
	body = bo.AppendUint32(body, ifid)
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(data)))
	body = bo.AppendUint32(body, orig)
	body = append(body, data...)
	return ngBlock(bo, 6, body)
}

func ngSPB(bo binary.AppendByteOrder, data []byte, orig uint32) []byte {
	var body []byte
	body = bo.AppendUint32(body, orig)
	body = append(body, data...)
	return ngBlock(bo, 3, body)
}

func ngOPB(bo binary.AppendByteOrder, ifid uint16, ts uint64, data []byte, orig uint32) []byte {
	var body []byte
	body = bo.AppendUint16(body, ifid)
	body = bo.AppendUint16(body, 0) // drops
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(data)))
	body = bo.AppendUint32(body, orig)
	body = append(body, data...)
	return ngBlock(bo, 2, body)
}

func u64(bo binary.AppendByteOrder, v uint64) []byte { return bo.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll opens b and reads frames until an error (at most limit frames).
// It returns copies of the frames and the final error (io.EOF when clean).
func readAll(t testing.TB, b []byte, limit int) ([]Frame, error) {
	t.Helper()
	src, err := NewReader("test.pcap", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return drain(src, limit)
}

func drain(src Source, limit int) ([]Frame, error) {
	var out []Frame
	var f Frame
	for i := 0; i < limit; i++ {
		err := src.Next(&f)
		if err != nil {
			return out, err
		}
		c := f
		c.Data = bytes.Clone(f.Data)
		out = append(out, c)
	}
	return out, errors.New("frame limit reached")
}

func mustReadAll(t testing.TB, b []byte) []Frame {
	t.Helper()
	fr, err := readAll(t, b, 1000)
	if err != io.EOF {
		t.Fatalf("reading: got error %v, want io.EOF", err)
	}
	return fr
}

func asReadError(t testing.TB, err error) *ReadError {
	t.Helper()
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *ReadError", err, err)
	}
	return re
}
