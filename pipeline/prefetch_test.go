package pipeline

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"finwave/capture"
)

// TestPrefetchSameFrames: the prefetching source hands out exactly the
// frames of the source, in order, then the source's error.
func TestPrefetchSameFrames(t *testing.T) {
	var recs []rec
	for i := range 3000 {
		recs = append(recs, rec{layers.LinkTypeEthernet, tcpFrame(t, uint16(40000+i%7), i%5 == 0, i%300)})
	}
	re := &capture.ReadError{File: "x", Frame: 3001, Err: capture.ErrTruncated}
	want := &fakeSource{recs: recs, loops: 1, end: re}
	got := Prefetch(&fakeSource{recs: recs, loops: 1, end: re})
	defer got.Close()
	var a, b capture.Frame
	for n := 0; ; n++ {
		ea, eb := want.Next(&a), got.Next(&b)
		if ea != nil || eb != nil {
			if !errors.Is(eb, ea) {
				t.Fatalf("after %d frames: error %v, want %v", n, eb, ea)
			}
			break
		}
		if a.Number != b.Number || !a.Time.Equal(b.Time) || a.OrigLen != b.OrigLen || a.LinkType != b.LinkType || !bytes.Equal(a.Data, b.Data) {
			t.Fatalf("frame %d differs", n)
		}
	}
}

// TestPrefetchCloseEarly: closing before the end stops the goroutine.
func TestPrefetchCloseEarly(t *testing.T) {
	src := Prefetch(&fakeSource{recs: []rec{{layers.LinkTypeEthernet, tcpFrame(t, 1, false, 0)}}, loops: 1 << 20})
	var f capture.Frame
	if err := src.Next(&f); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPrefetchNoAllocPerFrame(t *testing.T) {
	recs := []rec{{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 100)}}
	run := func(loops int) float64 {
		return testing.AllocsPerRun(5, func() {
			src := Prefetch(&fakeSource{recs: recs, loops: loops})
			var f capture.Frame
			for src.Next(&f) != io.EOF {
			}
			src.Close()
		})
	}
	small, large := run(1), run(100000)
	if large > small+2 {
		t.Errorf("allocations grow with frames: %v for 1, %v for 100000", small, large)
	}
}
