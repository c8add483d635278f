package flow

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestPackEndIPv4 checks packEnd's IPv4 shortcut against the As16 words.
func TestPackEndIPv4(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1000; i++ {
		var a [4]byte
		randomBytes(r, a[:])
		e := Endpoint{netip.AddrFrom4(a), uint16(r.Uint32())}
		b := e.Addr.As16()
		want := packedEnd{
			w0:   binary.LittleEndian.Uint64(b[:8]),
			w1:   binary.LittleEndian.Uint64(b[8:]),
			rest: uint32(family(e.Addr))<<16 | uint32(e.Port),
		}
		if got := packEnd(&e); got != want {
			t.Fatalf("%v: packEnd %+v, want %+v", e, got, want)
		}
	}
}
