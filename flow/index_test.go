package flow

import (
	"math/rand/v2"
	"testing"
)

// TestIndexChurn inserts and deletes entries with few distinct hashes
// (long runs, wrapping around the end) and checks after each step that
// every entry is found from its home and that no run has a gap.
func TestIndexChurn(t *testing.T) {
	var x index
	r := rand.New(rand.NewPCG(1, 2))
	live := map[int32]uint32{} // ref -> hash
	next := int32(1)
	for step := range 20_000 {
		if len(live) < 300 && r.IntN(3) > 0 {
			h := uint32(r.IntN(40)) | uint32(r.IntN(2))<<31 | 1020
			x.insert(h, next)
			live[next] = h
			next++
		} else {
			for ref, h := range live {
				x.del(x.findRef(h, ref))
				delete(live, ref)
				break
			}
		}
		if x.n != len(live) {
			t.Fatalf("step %d: n %d, want %d", step, x.n, len(live))
		}
		for ref, h := range live {
			m := x.mask()
			for i := int(h) & m; x.ents[i].ref != ref; i = (i + 1) & m {
				if x.ents[i].ref == 0 {
					t.Fatalf("step %d: ref %d unreachable from its home", step, ref)
				}
			}
		}
	}
}
