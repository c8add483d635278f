package rollup

import "slices"

// portSet is the set of client ports a pair used: a short sorted list,
// then a 65,536-bit set (8 KiB) once the list is full.
type portSet struct {
	n     int64
	small []uint16
	bits  *[1024]uint64
}

const smallPorts = 32

// add adds p and reports whether it was new.
func (s *portSet) add(p uint16) bool {
	if s.bits != nil {
		w, b := p/64, uint64(1)<<(p%64)
		if s.bits[w]&b != 0 {
			return false
		}
		s.bits[w] |= b
		s.n++
		return true
	}
	i, found := slices.BinarySearch(s.small, p)
	if found {
		return false
	}
	s.n++
	if len(s.small) < smallPorts {
		s.small = slices.Insert(s.small, i, p)
		return true
	}
	s.bits = new([1024]uint64)
	for _, q := range append(s.small, p) {
		s.bits[q/64] |= 1 << (q % 64)
	}
	s.small = nil
	return true
}
