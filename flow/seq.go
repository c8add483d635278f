package flow

// Seq is a TCP sequence number. Sequence space wraps at 2^32, so ordering is
// defined only between numbers less than 2^31 apart (RFC 9293 §3.4, RFC 1982
// serial number arithmetic): a is before b when int32(a-b) < 0. Raw uint32
// comparisons of sequence numbers must not appear outside this type.
type Seq uint32

// Less reports whether s comes strictly before w in sequence space.
func (s Seq) Less(w Seq) bool { return int32(s-w) < 0 }

// LessEq reports whether s comes before w or equals it.
func (s Seq) LessEq(w Seq) bool { return int32(s-w) <= 0 }

// Add returns s advanced by n octets of sequence space (wrapping).
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the distance from w to s, s-w, as a signed number of octets.
func (s Seq) Sub(w Seq) int32 { return int32(s - w) }

// InWindow reports whether s lies in [first, first+size), the test RFC 9293
// §3.10.7.4 applies to an incoming segment's sequence number.
func (s Seq) InWindow(first Seq, size uint32) bool {
	return uint32(s-first) < size
}

// Max returns the later of s and w in sequence space.
func (s Seq) Max(w Seq) Seq {
	if s.Less(w) {
		return w
	}
	return s
}
