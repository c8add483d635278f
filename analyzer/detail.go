package analyzer

import (
	"strconv"
	"time"
)

// para builds detail paragraphs by appending: no fmt, the buffer reused
// across flows (a Teardown's text).
type para struct{ b []byte }

// s appends strings.
func (p *para) s(parts ...string) *para {
	for _, x := range parts {
		p.b = append(p.b, x...)
	}
	return p
}

// n appends a decimal integer (a frame number or a count).
func (p *para) n(v int64) *para {
	p.b = strconv.AppendInt(p.b, v, 10)
	return p
}

// frames appends a list of frame numbers: "3, 7, 12".
func (p *para) frames(fs []int64) *para {
	for i, f := range fs {
		if i > 0 {
			p.b = append(p.b, ", "...)
		}
		p.b = strconv.AppendInt(p.b, f, 10)
	}
	return p
}

// fr appends "frame 12" or "frames 3, 7, 12".
func (p *para) fr(fs []int64) *para {
	if len(fs) == 1 {
		p.b = append(p.b, "frame "...)
	} else {
		p.b = append(p.b, "frames "...)
	}
	return p.frames(fs)
}

// ms appends a duration for people: "850 µs", "200 ms", "61.0 s".
func (p *para) ms(d time.Duration) *para {
	switch {
	case d < time.Millisecond:
		p.b = append(strconv.AppendInt(p.b, d.Microseconds(), 10), " µs"...)
	case d < 10*time.Second:
		p.b = append(strconv.AppendInt(p.b, d.Milliseconds(), 10), " ms"...)
	default:
		p.b = append(strconv.AppendFloat(p.b, d.Seconds(), 'f', 1, 64), " s"...)
	}
	return p
}
