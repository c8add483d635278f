package flow

import (
	"net/netip"
	"testing"
)

// TestChecksumPartial: a segment whose checksum field holds its
// pseudo-header's sum (left for the NIC, CHECKSUM_PARTIAL) is told from a
// right checksum and from any other wrong one, over IPv4 and IPv6.
func TestChecksumPartial(t *testing.T) {
	for _, a := range [][2]string{{"10.77.0.1", "10.77.0.2"}, {"fd77::1", "fd77::2"}} {
		src, dst := netip.MustParseAddr(a[0]), netip.MustParseAddr(a[1])
		b := make([]byte, 32)
		b[12] = 5 << 4
		b[13] = byte(ACK | FIN)
		copy(b[20:], "payload of 12")
		p := fold(pseudoSum(src, dst, len(b)))
		b[16], b[17] = byte(p>>8), byte(p)
		if tcpChecksumOK(src, dst, b) || !tcpChecksumPartial(src, dst, b) {
			t.Fatalf("%s: pseudo-header sum in the field: ok %v partial %v, want false true", a[0], tcpChecksumOK(src, dst, b), tcpChecksumPartial(src, dst, b))
		}
		b[16], b[17] = 0, 0
		c := ^fold(onesSum(pseudoSum(src, dst, len(b)), b))
		b[16], b[17] = byte(c>>8), byte(c)
		if !tcpChecksumOK(src, dst, b) || tcpChecksumPartial(src, dst, b) {
			t.Fatalf("%s: right checksum: ok %v partial %v, want true false", a[0], tcpChecksumOK(src, dst, b), tcpChecksumPartial(src, dst, b))
		}
		b[17] ^= 0x10
		if tcpChecksumOK(src, dst, b) || tcpChecksumPartial(src, dst, b) {
			t.Fatalf("%s: corrupted checksum taken for right or partial", a[0])
		}
	}
}
