package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refSum is RFC 1071's reference loop: 16-bit words, end-around carry.
func refSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s>>16 + s&0xFFFF
	}
	return uint16(s)
}

// randomBytes fills b from r.
func randomBytes(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// TestOnesSumMatchesReference checks the unrolled onesSum against RFC
// 1071's loop on every length up to 200 octets, random, all-0xFF and
// all-zero contents, and pseudoSumRaw against pseudoSum.
func TestOnesSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 200; n++ {
		for _, fill := range []int{-1, 0, 0xFF} {
			b := make([]byte, n)
			if fill < 0 {
				randomBytes(r, b)
			} else {
				for i := range b {
					b[i] = byte(fill)
				}
			}
			got, want := fold(onesSum(0, b)), refSum(b)
			if got != want && !(got == 0xFFFF && want == 0 && fill != 0) {
				t.Fatalf("len %d fill %d: onesSum folds to %#04x, reference %#04x", n, fill, got, want)
			}
		}
	}
	for i := 0; i < 1000; i++ {
		var h [40]byte
		randomBytes(r, h[:])
		n := int(r.Uint32() % 70000)
		v4 := fold(pseudoSumRaw(h[12:20], n)) == fold(pseudoSum(netip.AddrFrom4([4]byte(h[12:16])), netip.AddrFrom4([4]byte(h[16:20])), n))
		v6 := fold(pseudoSumRaw(h[8:40], n)) == fold(pseudoSum(netip.AddrFrom16([16]byte(h[8:24])), netip.AddrFrom16([16]byte(h[24:40])), n))
		if !v4 || !v6 {
			t.Fatalf("pseudoSumRaw differs from pseudoSum: v4 %v v6 %v", v4, v6)
		}
	}
}

// TestIPv4HeaderOKShortcut checks ipv4HeaderOK's 20-octet path against
// onesSum on random headers, half of them with a right checksum.
func TestIPv4HeaderOKShortcut(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10000; i++ {
		var h [20]byte
		randomBytes(r, h[:])
		if i%2 == 0 {
			h[10], h[11] = 0, 0
			c := ^fold(onesSum(0, h[:]))
			h[10], h[11] = byte(c>>8), byte(c)
		}
		if got, want := ipv4HeaderOK(h[:]), fold(onesSum(0, h[:])) == 0xFFFF; got != want {
			t.Fatalf("% x: ipv4HeaderOK %v, onesSum says %v", h, got, want)
		}
	}
}
