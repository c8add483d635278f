package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// fuzzFrameCap bounds the frames read from one input.
const fuzzFrameCap = 10000

// FuzzOpen feeds arbitrary bytes to NewReader and reads to the end. It
// checks the contracts: no panic, termination, every error a *ReadError
// naming the next frame, frames numbered 1, 2, ..., no frame larger than
// MaxFrameLen.
func FuzzOpen(f *testing.F) {
	f.Add(samplePcap())
	f.Add(pcapFile(binary.BigEndian, false, 0, 276, rec{sec: 1, frac: 999999, data: []byte{1, 2}}))
	f.Add(cat(ngSHB(le), ngIDB(le, 1, 0, ngOpt{optTsresol, []byte{0x80 | 20}}, ngOpt{optTsoffset, u64(le, 5)}),
		ngIDB(le, 276, 64), ngEPB(le, 1, 7, []byte{1, 2, 3}, 3), ngSPB(le, []byte{9, 9, 9, 9, 9}, 5),
		ngBlock(le, 0x40000001, []byte{1, 2, 3}), ngOPB(le, 0, 1, []byte{4}, 4)))
	f.Add(cat(ngSHB(be), ngIDB(be, 1, 0), ngEPB(be, 0, 1, []byte{1}, 1), ngSHB(le), ngIDB(le, 113, 0), ngEPB(le, 0, 2, nil, 0)))
	f.Add(gz(f, samplePcap()))
	f.Add(cat(gz(f, samplePcap()[:20]), gz(f, samplePcap()[20:])))
	f.Fuzz(func(t *testing.T, in []byte) {
		src, err := NewReader("fuzz", bytes.NewReader(in))
		if err != nil {
			var re *ReadError
			if !errors.As(err, &re) || re.Frame != 0 || re.File != "fuzz" {
				t.Fatalf("open error %v (%T): want a *ReadError for the file header", err, err)
			}
			return
		}
		defer src.Close()
		var fr Frame
		for n := int64(1); n <= fuzzFrameCap; n++ {
			err := src.Next(&fr)
			if err == io.EOF {
				if again := src.Next(&fr); again != io.EOF {
					t.Fatalf("after io.EOF, Next returned %v", again)
				}
				return
			}
			if err != nil {
				var re *ReadError
				if !errors.As(err, &re) || re.Frame != n || re.Offset < 0 {
					t.Fatalf("error %v (%T) while reading frame %d", err, err, n)
				}
				if again := src.Next(&fr); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				return
			}
			if fr.Number != n || len(fr.Data) > MaxFrameLen {
				t.Fatalf("frame %d: number %d, %d bytes", n, fr.Number, len(fr.Data))
			}
		}
	})
}
