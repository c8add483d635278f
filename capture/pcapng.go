package capture

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// pcapng (draft-ietf-opsawg-pcapng §3-4): a sequence of blocks, each
//
//	type u32 | total length u32 | body | total length u32
//
// with the total length a multiple of 4 and at least 12. A Section Header
// Block (SHB) starts a section, fixes its byte order and resets the
// interface list; Interface Description Blocks (IDB) number interfaces from
// 0 within the section; packet blocks refer to them.
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 0x00000001
	blockOPB = 0x00000002 // obsolete Packet Block (§ Appendix A)
	blockSPB = 0x00000003
	blockEPB = 0x00000006

	byteOrderMagic = 0x1a2b3c4d

	// maxBlockLen bounds one block, as Wireshark's MAX_BLOCK_SIZE (16 MiB)
	// does; memory is still allocated only as bytes arrive (stream.take).
	maxBlockLen = 16 << 20
	// maxInterfaces bounds the interfaces of one section, so that a file
	// made only of IDBs cannot grow the table without limit.
	maxInterfaces = 1 << 16
)

// Option codes (§3.5, §4.2).
const (
	optEnd      = 0
	optTsresol  = 9
	optTsoffset = 14
)

type ngInterface struct {
	linkType layers.LinkType
	snaplen  uint32
	clock    tsClock
}

type pcapngReader struct {
	base
	bo     binary.ByteOrder
	ifaces []ngInterface // of the current section
}

func newPcapng(b base) (*pcapngReader, error) {
	r := &pcapngReader{base: b, bo: binary.BigEndian}
	h, got, err := r.s.take(8)
	if err == nil {
		err = r.section(0, h)
	} else {
		err = r.fail(0, short("section header block", got, 12, err))
	}
	if err != nil {
		err.(*ReadError).Frame = 0
		return nil, err
	}
	return r, nil
}

// checkLen validates a block's total length.
func (r *pcapngReader) checkLen(start int64, what string, total, minLen uint32) error {
	switch {
	case total%4 != 0:
		return r.fail(start, fmt.Errorf("%w %s block: total length %d is not a multiple of 4", ErrCorrupt, what, total))
	case total < minLen:
		return r.fail(start, fmt.Errorf("%w %s block: total length %d, minimum %d", ErrCorrupt, what, total, minLen))
	case total > maxBlockLen:
		return r.fail(start, fmt.Errorf("%w %s block: total length %d exceeds the maximum %d", ErrCorrupt, what, total, maxBlockLen))
	}
	return nil
}

// checkTrailer compares the trailing copy of the total length, the last 4
// bytes of body, with the leading one.
func (r *pcapngReader) checkTrailer(start int64, total uint32, body []byte) error {
	if t := r.bo.Uint32(body[len(body)-4:]); t != total {
		return r.fail(start, fmt.Errorf("%w block: trailing total length %d differs from leading %d", ErrCorrupt, t, total))
	}
	return nil
}

// Next implements Source.
func (r *pcapngReader) Next(f *Frame) error {
	if r.err != nil {
		return r.err
	}
	for {
		start := r.s.off
		h, got, err := r.s.take(8)
		if err != nil {
			if got == 0 && err == io.EOF {
				r.err = io.EOF
				return io.EOF
			}
			return r.fail(start, short("block header", got, 8, err))
		}
		if binary.BigEndian.Uint32(h) == blockSHB {
			if err := r.section(start, h); err != nil {
				return err
			}
			continue
		}
		typ := r.bo.Uint32(h[0:])
		total := r.bo.Uint32(h[4:])
		switch typ {
		case blockEPB, blockOPB, blockSPB:
			return r.packet(f, start, typ, total)
		case blockIDB:
			if err := r.iface(start, total); err != nil {
				return err
			}
		default:
			if err := r.checkLen(start, "unknown", total, 12); err != nil {
				return err
			}
			if n, err := r.s.skip(int64(total) - 12); err != nil {
				return r.fail(start, short(fmt.Sprintf("block of type %#x", typ), 8+int(n), int(total), err))
			}
			t, got, err := r.s.take(4)
			if err != nil {
				return r.fail(start, short(fmt.Sprintf("block of type %#x", typ), int(total)-4+got, int(total), err))
			}
			if err := r.checkTrailer(start, total, t); err != nil {
				return err
			}
		}
	}
}

// section reads a Section Header Block (§4.1) starting at offset start, of
// which the first 8 bytes, h, were already taken. The byte-order magic that
// follows decides how to read the length.
func (r *pcapngReader) section(start int64, h []byte) error {
	var lenBytes [4]byte
	copy(lenBytes[:], h[4:8])
	m, got, err := r.s.take(4)
	if err != nil {
		return r.fail(start, short("section header block", 8+got, 12, err))
	}
	switch binary.BigEndian.Uint32(m) {
	case byteOrderMagic:
		r.bo = binary.BigEndian
	case 0x4d3c2b1a:
		r.bo = binary.LittleEndian
	default:
		return r.fail(start, fmt.Errorf("%w section header block: byte-order magic % x, want 1a2b3c4d in either order", ErrCorrupt, m))
	}
	total := r.bo.Uint32(lenBytes[:])
	if err := r.checkLen(start, "section header", total, 28); err != nil {
		return err
	}
	body, got, err := r.s.take(int(total) - 12)
	if err != nil {
		return r.fail(start, short("section header block", 12+got, int(total), err))
	}
	if err := r.checkTrailer(start, total, body); err != nil {
		return err
	}
	if major := r.bo.Uint16(body[0:]); major != 1 {
		return r.fail(start, fmt.Errorf("%w section header block: major version %d, want 1", ErrCorrupt, major))
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// iface reads an Interface Description Block (§4.2): link type u16,
// reserved u16, snaplen u32, options.
func (r *pcapngReader) iface(start int64, total uint32) error {
	if err := r.checkLen(start, "interface description", total, 20); err != nil {
		return err
	}
	body, got, err := r.s.take(int(total) - 8)
	if err != nil {
		return r.fail(start, short("interface description block", 8+got, int(total), err))
	}
	if err := r.checkTrailer(start, total, body); err != nil {
		return err
	}
	if len(r.ifaces) >= maxInterfaces {
		return r.fail(start, fmt.Errorf("%w interface description block: more than %d interfaces in one section", ErrCorrupt, maxInterfaces))
	}
	ifc := ngInterface{
		linkType: layers.LinkType(r.bo.Uint16(body[0:])),
		snaplen:  r.bo.Uint32(body[4:]),
		clock:    tsClock{div: 1e6, mul: 1e3}, // default: microseconds
	}
	// Options (§3.5): code u16, length u16, value padded to 32 bits. A
	// malformed option list ends option parsing; the defaults stay.
	opts := body[8 : len(body)-4]
	for len(opts) >= 4 {
		code := r.bo.Uint16(opts[0:])
		n := int(r.bo.Uint16(opts[2:]))
		if code == optEnd || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == optTsresol && n == 1:
			c, ok := newTsClock(v[0])
			if !ok {
				return r.fail(start, fmt.Errorf("%w interface description block: if_tsresol %#x is not representable", ErrCorrupt, v[0]))
			}
			c.offset = ifc.clock.offset
			ifc.clock = c
		case code == optTsoffset && n == 8:
			ifc.clock.offset = int64(r.bo.Uint64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// packet reads an Enhanced (§4.3), Simple (§4.4) or obsolete (Appendix A)
// Packet Block into f.
func (r *pcapngReader) packet(f *Frame, start int64, typ, total uint32) error {
	fixed := uint32(20) // EPB and OPB: interface, ts high, ts low, caplen, origlen
	what := "enhanced packet"
	if typ == blockSPB {
		fixed, what = 4, "simple packet"
	} else if typ == blockOPB {
		what = "packet"
	}
	if err := r.checkLen(start, what, total, 12+fixed); err != nil {
		return err
	}
	body, got, err := r.s.take(int(total) - 8)
	if err != nil {
		return r.fail(start, short(what+" block", 8+got, int(total), err))
	}
	if err := r.checkTrailer(start, total, body); err != nil {
		return err
	}
	room := uint32(len(body)) - 4 - fixed // bytes available for data and options
	var ifid, caplen, origlen uint32
	var ts uint64
	switch typ {
	case blockSPB:
		// The captured length is implicit: the original length, cut to
		// interface 0's snaplen and to the block (§4.4).
		origlen = r.bo.Uint32(body[0:])
		caplen = min(origlen, room)
		if len(r.ifaces) > 0 && r.ifaces[0].snaplen != 0 {
			caplen = min(caplen, r.ifaces[0].snaplen)
		}
	case blockOPB:
		ifid = uint32(r.bo.Uint16(body[0:]))
		ts = uint64(r.bo.Uint32(body[4:]))<<32 | uint64(r.bo.Uint32(body[8:]))
		caplen = r.bo.Uint32(body[12:])
		origlen = r.bo.Uint32(body[16:])
	default:
		ifid = r.bo.Uint32(body[0:])
		ts = uint64(r.bo.Uint32(body[4:]))<<32 | uint64(r.bo.Uint32(body[8:]))
		caplen = r.bo.Uint32(body[12:])
		origlen = r.bo.Uint32(body[16:])
	}
	if caplen > MaxFrameLen {
		return r.fail(start, fmt.Errorf("%w %s block: captured length %d exceeds the maximum %d", ErrCorrupt, what, caplen, MaxFrameLen))
	}
	if caplen > room {
		return r.fail(start, fmt.Errorf("%w %s block: captured length %d does not fit in block of total length %d", ErrCorrupt, what, caplen, total))
	}
	if int(ifid) >= len(r.ifaces) {
		return r.fail(start, fmt.Errorf("%w %s block: interface %d not described (section has %d)", ErrCorrupt, what, ifid, len(r.ifaces)))
	}
	ifc := &r.ifaces[ifid]
	r.frame++
	f.Number = r.frame
	if typ == blockSPB {
		f.Time = zeroTime
	} else {
		f.Time = ifc.clock.time(ts)
	}
	f.Data = body[fixed : fixed+caplen]
	f.OrigLen = int(origlen)
	f.LinkType = ifc.linkType
	return nil
}
