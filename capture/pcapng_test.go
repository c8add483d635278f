package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

var le, be = binary.LittleEndian, binary.BigEndian

func TestPcapngTwoInterfaces(t *testing.T) {
	eth := bytes.Repeat([]byte{0xee}, 60)
	sll := bytes.Repeat([]byte{0x55}, 40)
	b := cat(
		ngSHB(le),
		ngIDB(le, uint16(layers.LinkTypeEthernet), 262144),
		ngIDB(le, uint16(layers.LinkTypeLinuxSLL2), 96, ngOpt{optTsresol, []byte{9}}),
		ngEPB(le, 0, 1700000000_123456, eth, 60),
		ngEPB(le, 1, 1700000001_000000007, sll, 1500),
		ngEPB(le, 0, 1700000002_000001, eth[:14], 14),
	)
	fr := mustReadAll(t, b)
	want := []struct {
		link layers.LinkType
		time time.Time
		data []byte
		orig int
	}{
		{layers.LinkTypeEthernet, time.Unix(1700000000, 123456000), eth, 60},
		{layers.LinkTypeLinuxSLL2, time.Unix(1700000001, 7), sll, 1500},
		{layers.LinkTypeEthernet, time.Unix(1700000002, 1000), eth[:14], 14},
	}
	if len(fr) != len(want) {
		t.Fatalf("%d frames, want %d", len(fr), len(want))
	}
	for i, w := range want {
		f := fr[i]
		if f.Number != int64(i+1) || f.LinkType != w.link || !f.Time.Equal(w.time) || !bytes.Equal(f.Data, w.data) || f.OrigLen != w.orig {
			t.Errorf("frame %d: number %d link %d time %v len %d orig %d; want link %d time %v len %d orig %d",
				i+1, f.Number, f.LinkType, f.Time, len(f.Data), f.OrigLen, w.link, w.time, len(w.data), w.orig)
		}
	}
}

func TestPcapngTsresolAndOffset(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ngOpt
		ts   uint64
		want time.Time
	}{
		{"default-micro", nil, 1_500_000, time.Unix(1, 500_000_000)},
		{"milli", []ngOpt{{optTsresol, []byte{3}}}, 2_250, time.Unix(2, 250_000_000)},
		{"seconds", []ngOpt{{optTsresol, []byte{0}}}, 7, time.Unix(7, 0)},
		{"pico", []ngOpt{{optTsresol, []byte{12}}}, 3_000_000_123_999, time.Unix(3, 123)},
		{"1e-19", []ngOpt{{optTsresol, []byte{19}}}, 10_000_000_000_000_000_000 + 59_999_999_999, time.Unix(1, 5)},
		// 2^-10 s: 1024 units per second; 1536 units = 1.5 s.
		{"pow2-10", []ngOpt{{optTsresol, []byte{0x80 | 10}}}, 1536, time.Unix(1, 500_000_000)},
		// 2^-20: 1 unit = 953.67431640625 ns, truncated to 953.
		{"pow2-20", []ngOpt{{optTsresol, []byte{0x80 | 20}}}, 3<<20 | 1, time.Unix(3, 953)},
		{"pow2-0", []ngOpt{{optTsresol, []byte{0x80}}}, 42, time.Unix(42, 0)},
		{"pow2-63", []ngOpt{{optTsresol, []byte{0x80 | 63}}}, 1 << 62, time.Unix(0, 500_000_000)},
		{"offset", []ngOpt{{optTsoffset, u64(le, 1_000_000_000)}}, 2_000_001, time.Unix(1_000_000_002, 1000)},
		{"offset-then-resol", []ngOpt{{optTsoffset, u64(le, 100)}, {optTsresol, []byte{9}}}, 5, time.Unix(100, 5)},
		{"negative-offset", []ngOpt{{optTsresol, []byte{9}}, {optTsoffset, u64(le, 0xffffffffffffffff)}}, 2_000_000_000, time.Unix(1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := cat(ngSHB(le), ngIDB(le, 1, 0, tc.opts...), ngEPB(le, 0, tc.ts, []byte{1}, 1))
			fr := mustReadAll(t, b)
			if len(fr) != 1 || !fr[0].Time.Equal(tc.want) {
				t.Errorf("time %v, want %v", fr[0].Time, tc.want)
			}
		})
	}
}

func TestPcapngBadTsresol(t *testing.T) {
	for _, v := range []byte{20, 0x7f, 0x80 | 64, 0xff} {
		b := cat(ngSHB(le), ngIDB(le, 1, 0, ngOpt{optTsresol, []byte{v}}), ngEPB(le, 0, 1, []byte{1}, 1))
		_, err := readAll(t, b, 10)
		if re := asReadError(t, err); !errors.Is(err, ErrCorrupt) || re.Frame != 1 || re.Offset != 28 {
			t.Errorf("tsresol %#x: %v", v, err)
		}
	}
}

func TestPcapngSectionsAndByteOrders(t *testing.T) {
	// Section 1 big-endian with an SLL2 interface; section 2 little-endian
	// whose interface 0 is Ethernet: interface numbers restart per section.
	b := cat(
		ngSHB(be),
		ngIDB(be, uint16(layers.LinkTypeLinuxSLL2), 0),
		ngEPB(be, 0, 1_000_000, []byte{1}, 1),
		ngSHB(le),
		ngIDB(le, uint16(layers.LinkTypeEthernet), 0, ngOpt{optTsresol, []byte{9}}),
		ngEPB(le, 0, 2_000_000_000, []byte{2, 2}, 2),
	)
	fr := mustReadAll(t, b)
	if len(fr) != 2 {
		t.Fatalf("%d frames", len(fr))
	}
	if fr[0].LinkType != layers.LinkTypeLinuxSLL2 || fr[0].Time.Unix() != 1 || fr[1].LinkType != layers.LinkTypeEthernet || fr[1].Time.Unix() != 2 || fr[1].Number != 2 {
		t.Errorf("frames %+v", fr)
	}
	// A packet in section 2 that names interface 1 (which existed only
	// in... nowhere) is corrupt.
	b2 := cat(ngSHB(le), ngIDB(le, 1, 0), ngIDB(le, 1, 0), ngSHB(be), ngIDB(be, 1, 0), ngEPB(be, 1, 0, nil, 0))
	_, err := readAll(t, b2, 10)
	if re := asReadError(t, err); re.Frame != 1 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("interface of previous section: %v", err)
	}
}

func TestPcapngSimpleAndObsoleteBlocksAndUnknown(t *testing.T) {
	custom := ngBlock(le, 0x00000BAD, []byte("custom block body"))
	nrb := ngBlock(le, 4, []byte{0, 0, 0, 0})
	isb := ngBlock(le, 5, make([]byte, 12))
	b := cat(
		ngSHB(le),
		custom,
		ngIDB(le, uint16(layers.LinkTypeEthernet), 6),
		nrb,
		ngSPB(le, []byte{1, 2, 3, 4, 5, 6}, 100), // padded to 8; caplen = snaplen 6 (§4.4)
		ngSPB(le, []byte{1, 2, 3}, 3),            // padded to 4 in the block: caplen = origlen
		ngOPB(le, 0, 5_000_000, []byte{7, 7}, 9),
		isb,
	)
	fr := mustReadAll(t, b)
	if len(fr) != 3 {
		t.Fatalf("%d frames, want 3", len(fr))
	}
	if len(fr[0].Data) != 6 || fr[0].OrigLen != 100 || !fr[0].Time.IsZero() {
		t.Errorf("SPB 1: len %d orig %d time %v", len(fr[0].Data), fr[0].OrigLen, fr[0].Time)
	}
	if !bytes.Equal(fr[1].Data, []byte{1, 2, 3}) {
		t.Errorf("SPB 2: data %x", fr[1].Data)
	}
	if !bytes.Equal(fr[2].Data, []byte{7, 7}) || fr[2].OrigLen != 9 || fr[2].Time.Unix() != 5 || fr[2].Number != 3 {
		t.Errorf("OPB: %+v", fr[2])
	}
}

func TestPcapngCorruptBlocks(t *testing.T) {
	head := cat(ngSHB(le), ngIDB(le, 1, 0))
	pkt := ngEPB(le, 0, 0, []byte{1, 2, 3, 4}, 4)
	off := int64(len(head) + len(pkt))
	mk := func(mut func(b []byte)) []byte {
		bad := ngEPB(le, 0, 0, []byte{5, 6, 7, 8}, 4)
		mut(bad)
		return cat(head, pkt, bad, pkt)
	}
	for name, b := range map[string][]byte{
		"length-not-multiple-of-4": mk(func(b []byte) { le.PutUint32(b[4:], 37) }),
		"length-too-small":         mk(func(b []byte) { le.PutUint32(b[4:], 12) }),
		"length-huge":              mk(func(b []byte) { le.PutUint32(b[4:], 0xfffffff0) }),
		"trailer-mismatch":         mk(func(b []byte) { le.PutUint32(b[len(b)-4:], 99) }),
		"caplen-beyond-block":      mk(func(b []byte) { le.PutUint32(b[20:], 5) }),
		"caplen-huge":              mk(func(b []byte) { le.PutUint32(b[20:], 1<<31) }),
		"interface-unknown":        mk(func(b []byte) { le.PutUint32(b[8:], 1) }),
		"bad-byte-order-magic":     cat(head, pkt, []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4}, make([]byte, 16)),
	} {
		t.Run(name, func(t *testing.T) {
			fr, err := readAll(t, b, 10)
			if len(fr) != 1 {
				t.Errorf("%d frames before the damage, want 1", len(fr))
			}
			re := asReadError(t, err)
			if re.Frame != 2 || re.Offset != off {
				t.Errorf("got %v, want frame 2 at offset %d", err, off)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) {
				t.Errorf("%v is neither ErrCorrupt nor ErrTruncated", err)
			}
		})
	}
}

func TestPcapngPacketBeforeInterface(t *testing.T) {
	_, err := readAll(t, cat(ngSHB(le), ngEPB(le, 0, 0, nil, 0)), 10)
	if re := asReadError(t, err); re.Frame != 1 || re.Offset != 28 {
		t.Errorf("got %v", err)
	}
	_, err = readAll(t, cat(ngSHB(le), ngSPB(le, []byte{1}, 1)), 10)
	asReadError(t, err)
}

func TestPcapngBadSectionHeader(t *testing.T) {
	shb := ngSHB(le)
	le.PutUint16(shb[12:], 2) // major version 2
	_, err := NewReader("v2", bytes.NewReader(shb))
	if re := asReadError(t, err); re.Frame != 0 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("got %v", err)
	}
}

// TestPcapngLargeBlock covers a block larger than the read buffer (the
// scratch path): a maximal frame with a long comment option.
func TestPcapngLargeBlock(t *testing.T) {
	data := bytes.Repeat([]byte{0x42}, MaxFrameLen)
	epb := ngEPB(le, 0, 0, data, MaxFrameLen)
	// Insert a 20000-byte opt_comment (code 1) before the trailer.
	comment := make([]byte, 0, 20008)
	comment = le.AppendUint16(comment, 1)
	comment = le.AppendUint16(comment, 20000)
	comment = append(comment, bytes.Repeat([]byte{'c'}, 20000)...)
	comment = append(comment, 0, 0, 0, 0)
	body := cat(epb[8:len(epb)-4], comment)
	big := ngBlock(le, 6, body)
	b := cat(ngSHB(le), ngIDB(le, 1, 0), big, ngEPB(le, 0, 0, []byte{1}, 1))
	if len(big) <= bufSize {
		t.Fatalf("test block of %d bytes does not exceed the buffer", len(big))
	}
	fr := mustReadAll(t, b)
	if len(fr) != 2 || !bytes.Equal(fr[0].Data, data) || len(fr[1].Data) != 1 {
		t.Fatalf("%d frames", len(fr))
	}
	// Cut inside the large block: a truncation error for frame 1.
	_, err := readAll(t, b[:len(b)-200000], 10)
	if re := asReadError(t, err); re.Frame != 1 || !errors.Is(err, ErrTruncated) {
		t.Errorf("got %v", err)
	}
}

func TestPcapngTruncatedEveryOffset(t *testing.T) {
	blocks := [][]byte{
		ngSHB(le),
		ngIDB(le, 1, 0, ngOpt{optTsresol, []byte{9}}),
		ngEPB(le, 0, 1, []byte{1, 2, 3}, 3),
		ngBlock(le, 0x123, []byte{1, 2, 3, 4}),
		ngSPB(le, []byte{4, 5, 6, 7}, 4),
		ngSHB(be),
		ngIDB(be, 1, 0),
		ngEPB(be, 0, 1, []byte{8}, 1),
	}
	isPacket := []bool{false, false, true, false, true, false, false, true}
	full := cat(blocks...)
	for cut := 0; cut <= len(full); cut++ {
		fr, err := readAll(t, full[:cut], 100)
		// Blocks wholly before the cut, and the frames among them.
		pos, whole, frames := 0, 0, 0
		for whole < len(blocks) && pos+len(blocks[whole]) <= cut {
			pos += len(blocks[whole])
			if isPacket[whole] {
				frames++
			}
			whole++
		}
		if cut < len(blocks[0]) {
			if re := asReadError(t, err); re.Frame != 0 {
				t.Errorf("cut %d in the first SHB: %v", cut, err)
			}
			continue
		}
		if len(fr) != frames {
			t.Errorf("cut %d: %d frames, want %d", cut, len(fr), frames)
		}
		if pos == cut {
			if err != io.EOF {
				t.Errorf("cut %d at a block boundary: %v", cut, err)
			}
			continue
		}
		re := asReadError(t, err)
		if re.Frame != int64(frames+1) || re.Offset != int64(pos) || !errors.Is(err, ErrTruncated) {
			t.Errorf("cut %d: %v, want frame %d offset %d truncated", cut, err, frames+1, pos)
		}
	}
}
