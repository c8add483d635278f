package capture

import (
	"math/bits"
	"time"
)

// zeroTime is the Time of frames that carry no timestamp.
var zeroTime time.Time

// pow10 holds 10^0 .. 10^19, all that fits in a uint64.
var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// tsClock converts a pcapng interface's 64-bit timestamps to time.Time,
// following if_tsresol and if_tsoffset (draft-ietf-opsawg-pcapng §4.2): a
// unit of 10^-e seconds when the most significant bit of if_tsresol is 0,
// 2^-e seconds when it is 1; seconds of offset are added to every timestamp.
// The conversion is exact (integer arithmetic, 128-bit for powers of 2).
type tsClock struct {
	pow2   bool
	shift  uint   // pow2: e
	div    uint64 // power of 10: units per second, 10^e
	mul    uint64 // power of 10, e <= 9: nanoseconds per unit; 0 when e > 9
	offset int64  // if_tsoffset, seconds
}

// newTsClock decodes an if_tsresol value. Resolutions whose units per
// second do not fit in 64 bits (10^20 and up, 2^64 and up) are refused.
func newTsClock(v byte) (tsClock, bool) {
	e := uint(v & 0x7f)
	if v&0x80 != 0 {
		if e > 63 {
			return tsClock{}, false
		}
		return tsClock{pow2: true, shift: e}, true
	}
	if e >= uint(len(pow10)) {
		return tsClock{}, false
	}
	c := tsClock{div: pow10[e]}
	if e <= 9 {
		c.mul = pow10[9-e]
	}
	return c, true
}

// time converts a timestamp in units of the clock.
func (c *tsClock) time(ts uint64) time.Time {
	var sec, nsec uint64
	if c.pow2 {
		sec = ts >> c.shift
		frac := ts & (1<<c.shift - 1)
		// nsec = frac * 1e9 / 2^shift, with a 128-bit product.
		hi, lo := bits.Mul64(frac, 1e9)
		if c.shift == 0 {
			nsec = 0
		} else {
			nsec = lo>>c.shift | hi<<(64-c.shift)
		}
	} else {
		sec, nsec = ts/c.div, ts%c.div
		if c.mul != 0 {
			nsec *= c.mul
		} else {
			nsec /= c.div / 1e9
		}
	}
	return time.Unix(int64(sec)+c.offset, int64(nsec))
}
