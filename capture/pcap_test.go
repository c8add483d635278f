package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func TestPcapByteOrdersAndResolution(t *testing.T) {
	d1 := []byte{1, 2, 3, 4, 5}
	d2 := bytes.Repeat([]byte{0xaa}, 60)
	for _, tc := range []struct {
		name string
		bo   binary.AppendByteOrder
		nano bool
		want time.Time // of the first record: sec 1700000000, frac 123456
	}{
		{"micro-be", binary.BigEndian, false, time.Unix(1700000000, 123456000)},
		{"micro-le", binary.LittleEndian, false, time.Unix(1700000000, 123456000)},
		{"nano-be", binary.BigEndian, true, time.Unix(1700000000, 123456)},
		{"nano-le", binary.LittleEndian, true, time.Unix(1700000000, 123456)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pcapFile(tc.bo, tc.nano, 65535, 276,
				rec{sec: 1700000000, frac: 123456, data: d1, orig: 1500},
				rec{sec: 0xfffffff0, frac: 0, data: d2})
			fr := mustReadAll(t, b)
			if len(fr) != 2 {
				t.Fatalf("got %d frames, want 2", len(fr))
			}
			f := fr[0]
			if f.Number != 1 || !f.Time.Equal(tc.want) || !bytes.Equal(f.Data, d1) || f.OrigLen != 1500 || f.LinkType != layers.LinkTypeLinuxSLL2 {
				t.Errorf("frame 1 = %+v, want number 1, time %v, data %x, origlen 1500, link SLL2", f, tc.want, d1)
			}
			f = fr[1]
			// ts_sec is unsigned: 0xfffffff0 is in 2106, not 1969.
			if f.Number != 2 || f.Time.Unix() != 0xfffffff0 || !bytes.Equal(f.Data, d2) || f.OrigLen != 60 {
				t.Errorf("frame 2 = number %d time %d len %d orig %d", f.Number, f.Time.Unix(), len(f.Data), f.OrigLen)
			}
		})
	}
}

func TestPcapLinkTypeFCSBits(t *testing.T) {
	// The upper bits of the link-type field carry FCS information
	// (pcap-savefile(5)); they are not part of the link type.
	b := pcapFile(binary.LittleEndian, false, 65535, 0x14000001, rec{data: []byte{1}})
	fr := mustReadAll(t, b)
	if fr[0].LinkType != layers.LinkTypeEthernet {
		t.Errorf("link type %d, want 1", fr[0].LinkType)
	}
}

func TestPcapAbsurdSnaplen(t *testing.T) {
	// The header snaplen never sizes anything: 0 and 2^31 read normally.
	for _, snap := range []uint32{0, 1 << 31, 0xffffffff} {
		b := pcapFile(binary.BigEndian, false, snap, 1, rec{data: []byte{9, 9}}, rec{data: make([]byte, 1514)})
		if fr := mustReadAll(t, b); len(fr) != 2 {
			t.Errorf("snaplen %d: %d frames, want 2", snap, len(fr))
		}
	}
}

func TestPcapRecordLongerThanSnaplen(t *testing.T) {
	// libpcap and Wireshark accept a record longer than the header's snaplen
	// as long as it is below MAXIMUM_SNAPLEN; so do we.
	b := pcapFile(binary.BigEndian, false, 64, 1, rec{data: make([]byte, 100)})
	if fr := mustReadAll(t, b); len(fr) != 1 || len(fr[0].Data) != 100 {
		t.Fatalf("got %d frames", len(fr))
	}
}

func TestPcapAbsurdRecordLength(t *testing.T) {
	for _, incl := range []uint32{MaxFrameLen + 1, 1 << 31, 0xffffffff} {
		b := pcapFile(binary.LittleEndian, false, 65535, 1, rec{data: []byte{1, 2, 3}}, rec{data: []byte{4}})
		// Patch incl_len of the second record (offset 24 + 16 + 3 + 8).
		binary.LittleEndian.PutUint32(b[24+16+3+8:], incl)
		fr, err := readAll(t, b, 10)
		if len(fr) != 1 {
			t.Fatalf("incl %d: %d frames before the error, want 1", incl, len(fr))
		}
		re := asReadError(t, err)
		if re.Frame != 2 || re.Offset != 24+16+3 || !errors.Is(err, ErrCorrupt) {
			t.Errorf("incl %d: error %+v, want frame 2 offset 43 ErrCorrupt", incl, re)
		}
		if !strings.Contains(err.Error(), "capture test.pcap: frame 2 (byte offset 43): ") {
			t.Errorf("message %q", err)
		}
	}
}

func TestPcapMaxFrameLenAccepted(t *testing.T) {
	b := pcapFile(binary.LittleEndian, false, MaxFrameLen, 1, rec{data: make([]byte, MaxFrameLen)}, rec{data: make([]byte, 10)})
	fr := mustReadAll(t, b)
	if len(fr) != 2 || len(fr[0].Data) != MaxFrameLen {
		t.Fatalf("got %d frames", len(fr))
	}
}

func TestPcapBadVersion(t *testing.T) {
	b := pcapFile(binary.BigEndian, false, 65535, 1)
	binary.BigEndian.PutUint16(b[4:], 3)
	_, err := NewReader("x", bytes.NewReader(b))
	re := asReadError(t, err)
	if re.Frame != 0 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("got %v", err)
	}
}

func TestHeaderOnlyIsCleanEOF(t *testing.T) {
	for name, b := range map[string][]byte{
		"pcap":   pcapFile(binary.BigEndian, true, 65535, 1),
		"pcapng": ngSHB(binary.LittleEndian),
	} {
		if fr := mustReadAll(t, b); len(fr) != 0 {
			t.Errorf("%s: %d frames", name, len(fr))
		}
	}
}

func TestUnknownMagic(t *testing.T) {
	_, err := NewReader("notes.pcap", strings.NewReader("hello world"))
	re := asReadError(t, err)
	if !errors.Is(err, ErrUnknownFormat) || re.Frame != 0 {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"notes.pcap", "68 65 6c 6c", "pcapng", "a1b2c3d4", "gzip"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestEmptyAndShortInput(t *testing.T) {
	for _, in := range []string{"", "\xa1", "\xa1\xb2\xc3"} {
		_, err := NewReader("e", strings.NewReader(in))
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%q: got %v, want ErrTruncated", in, err)
		}
		asReadError(t, err)
	}
}

// TestTruncatedEveryOffset cuts a small file at every byte offset: the
// frames wholly before the cut are returned, then io.EOF if the cut falls on
// a record boundary, else a *ReadError naming the next frame and the offset
// of its record.
func TestTruncatedEveryOffset(t *testing.T) {
	recs := []rec{{sec: 1, data: []byte{1, 2, 3}}, {sec: 2, data: []byte{4, 5, 6, 7, 8}}, {sec: 3, data: nil}, {sec: 4, data: []byte{9}}}
	full := pcapFile(binary.LittleEndian, false, 65535, 1, recs...)
	// Record start offsets; a cut at one of them (or at the end) is clean.
	starts := []int{24}
	for _, r := range recs {
		starts = append(starts, starts[len(starts)-1]+16+len(r.data))
	}
	for cut := 0; cut <= len(full); cut++ {
		fr, err := readAll(t, full[:cut], 100)
		if cut < 24 {
			if err == nil || err == io.EOF || !errors.Is(err, ErrTruncated) {
				t.Errorf("cut %d: got %v, want a truncated header error", cut, err)
			}
			continue
		}
		whole := 0
		for whole+1 < len(starts) && starts[whole+1] <= cut {
			whole++
		}
		if len(fr) != whole {
			t.Errorf("cut %d: %d frames, want %d", cut, len(fr), whole)
		}
		if cut == starts[whole] {
			if err != io.EOF {
				t.Errorf("cut %d at a record boundary: got %v, want io.EOF", cut, err)
			}
			continue
		}
		re := asReadError(t, err)
		if re.Frame != int64(whole+1) || re.Offset != int64(starts[whole]) || !errors.Is(err, ErrTruncated) {
			t.Errorf("cut %d: got %v, want frame %d offset %d truncated", cut, err, whole+1, starts[whole])
		}
	}
}

func TestErrorsAreSticky(t *testing.T) {
	b := pcapFile(binary.LittleEndian, false, 65535, 1, rec{data: []byte{1, 2}})
	src, err := NewReader("s", bytes.NewReader(b[:len(b)-1]))
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	e1 := src.Next(&f)
	e2 := src.Next(&f)
	if e1 == nil || e1 != e2 {
		t.Errorf("errors %v then %v, want the same error twice", e1, e2)
	}
}
