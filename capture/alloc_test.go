package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// bigCapture builds n frames of size sz in the given format.
func bigCapture(format string, n, sz int) []byte {
	data := bytes.Repeat([]byte{0x5a}, sz)
	switch format {
	case "pcap":
		recs := make([]rec, n)
		for i := range recs {
			recs[i] = rec{sec: uint32(i), data: data}
		}
		return pcapFile(binary.LittleEndian, false, 65535, 1, recs...)
	default:
		parts := [][]byte{ngSHB(le), ngIDB(le, 1, 0), ngIDB(le, 276, 0, ngOpt{optTsresol, []byte{9}})}
		for i := 0; i < n; i++ {
			parts = append(parts, ngEPB(le, uint32(i%2), uint64(i)*1000, data, uint32(sz)))
		}
		return cat(parts...)
	}
}

// TestNextDoesNotAllocate: in steady state Next allocates nothing, for pcap,
// pcapng and gzip input.
func TestNextDoesNotAllocate(t *testing.T) {
	for _, format := range []string{"pcap", "pcapng", "pcap.gz"} {
		t.Run(format, func(t *testing.T) {
			in := bigCapture("pcap", 3000, 200)
			if format == "pcapng" {
				in = bigCapture("pcapng", 3000, 200)
			}
			if format == "pcap.gz" {
				in = gz(t, in)
			}
			src, err := NewReader(format, bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var f Frame
			for i := 0; i < 100; i++ { // warm up
				if err := src.Next(&f); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(2000, func() {
				if err := src.Next(&f); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Next allocates %.2f times per frame, want 0", allocs)
			}
		})
	}
}

func benchRead(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	var f Frame
	for b.Loop() {
		src, err := NewReader("bench", bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if err := src.Next(&f); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
		src.Close()
	}
}

func BenchmarkPcap(b *testing.B)   { benchRead(b, bigCapture("pcap", 10000, 100)) }
func BenchmarkPcapng(b *testing.B) { benchRead(b, bigCapture("pcapng", 10000, 100)) }
func BenchmarkPcapGzip(b *testing.B) {
	benchRead(b, gz(b, bigCapture("pcap", 10000, 100)))
}

// BenchmarkNext measures Next alone on a long pcap (no open cost).
func BenchmarkNext(b *testing.B) {
	b.ReportAllocs()
	in := bigCapture("pcap", 1, 100)
	rec := in[24:]
	// An endless pcap: header, then the same record forever.
	r := io.MultiReader(bytes.NewReader(in[:24]), &repeater{b: rec})
	src, err := NewReader("bench", r)
	if err != nil {
		b.Fatal(err)
	}
	var f Frame
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := src.Next(&f); err != nil {
			b.Fatal(err)
		}
	}
}

type repeater struct {
	b   []byte
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}
