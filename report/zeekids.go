package report

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"
	"time"

	"finwave/analyzer"
	"finwave/internal/communityid"
)

// appendCommunityID appends the flow's Community ID v1 (seed 0, TCP, the
// inner 4-tuple of a tunnelled flow); nothing when the endpoints are not
// of one address family (the zero Teardown).
func appendCommunityID(b []byte, t *analyzer.Teardown) []byte {
	return communityid.Append(b, 0, communityid.TCP,
		netip.AddrPortFrom(t.Client.Addr, t.Client.Port), netip.AddrPortFrom(t.Server.Addr, t.Server.Port))
}

// appendUID appends a Zeek-like connection uid: "C" and the base62 of 96
// bits of the SHA-1 of the stream id, the client's and the server's
// address and port and the first segment's time (nanoseconds). It is
// deterministic, unlike Zeek's random uids: the same capture gives the same
// uids, and two flows differ in at least one of the hashed fields.
func appendUID(b []byte, t *analyzer.Teardown) []byte {
	return appendUIDAt(b, t, t.FirstTime)
}

// appendUIDAt is appendUID with first in place of the flow's first time:
// the uid of the Zeek connection of t beginning then (t.Zeek). The first
// Zeek connection of a flow has the flow's uid.
func appendUIDAt(b []byte, t *analyzer.Teardown, first time.Time) []byte {
	var buf [8 + 2*(16+2) + 8]byte
	binary.BigEndian.PutUint64(buf[0:], uint64(t.Stream))
	n := 8
	for _, e := range [...]struct {
		a netip.Addr
		p uint16
	}{{t.Client.Addr, t.Client.Port}, {t.Server.Addr, t.Server.Port}} {
		a16 := e.a.As16()
		if !e.a.IsValid() {
			a16 = [16]byte{}
		}
		n += copy(buf[n:], a16[:])
		binary.BigEndian.PutUint16(buf[n:], e.p)
		n += 2
	}
	var ns int64
	if !first.IsZero() {
		ns = first.UnixNano()
	}
	binary.BigEndian.PutUint64(buf[n:], uint64(ns))
	sum := sha1.Sum(buf[:])
	b = append(b, 'C')
	b = appendBase62(b, binary.BigEndian.Uint64(sum[0:8]))
	return appendBase62(b, uint64(binary.BigEndian.Uint32(sum[8:12])))
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendBase62 appends v in base 62, least significant digit first, as
// Zeek's uitoa_n does for its uids.
func appendBase62(b []byte, v uint64) []byte {
	for {
		b = append(b, base62Digits[v%62])
		v /= 62
		if v == 0 {
			return b
		}
	}
}

// AppendZeekUID appends the flow's uid, the JSON's zeek_uid (appendUID).
func AppendZeekUID(b []byte, t *analyzer.Teardown) []byte { return appendUID(b, t) }

// AppendCommunityID appends the flow's Community ID v1, the JSON's
// community_id; nothing when it has none (appendCommunityID).
func AppendCommunityID(b []byte, t *analyzer.Teardown) []byte { return appendCommunityID(b, t) }
