package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func samplePcap() []byte {
	return pcapFile(binary.LittleEndian, true, 65535, 1,
		rec{sec: 1, data: []byte{1, 2, 3}}, rec{sec: 2, data: bytes.Repeat([]byte{7}, 300)}, rec{sec: 3, data: []byte{4}})
}

func TestGzip(t *testing.T) {
	plain := samplePcap()
	ng := cat(ngSHB(le), ngIDB(le, 1, 0), ngEPB(le, 0, 1, []byte{1}, 1), ngEPB(le, 0, 2, []byte{2}, 1))
	for name, tc := range map[string]struct {
		in     []byte
		frames int
	}{
		"pcap":   {gz(t, plain), 3},
		"pcapng": {gz(t, ng), 2},
		// Concatenated members (RFC 1952 §2.2), split inside a record.
		"concatenated":        {cat(gz(t, plain[:30]), gz(t, plain[30:50]), gz(t, plain[50:])), 3},
		"concatenated-pcapng": {cat(gz(t, ng[:5]), gz(t, ng[5:])), 2},
	} {
		fr, err := readAll(t, tc.in, 100)
		if err != io.EOF || len(fr) != tc.frames {
			t.Errorf("%s: %d frames, error %v; want %d and io.EOF", name, len(fr), err, tc.frames)
		}
	}
}

func TestGzipTruncated(t *testing.T) {
	z := gz(t, samplePcap())
	for cut := 2; cut < len(z); cut++ {
		fr, err := readAll(t, z[:cut], 100)
		if err == io.EOF {
			t.Fatalf("cut %d of %d: clean EOF after %d frames; a truncated gzip stream must be an error", cut, len(z), len(fr))
		}
		asReadError(t, err)
	}
}

func TestGzipChecksum(t *testing.T) {
	z := gz(t, samplePcap())
	z[len(z)-8] ^= 0xff // CRC-32 in the trailer
	fr, err := readAll(t, z, 100)
	re := asReadError(t, err)
	if len(fr) != 3 || re.Frame != 4 {
		t.Errorf("%d frames, error %v; want 3 frames then an error for frame 4", len(fr), err)
	}
}

func TestGzipOfGarbage(t *testing.T) {
	_, err := readAll(t, gz(t, []byte("not a capture at all")), 10)
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("got %v", err)
	}
}
