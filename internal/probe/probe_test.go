package probe

import "testing"

type ent struct{ h, v uint32 }

func (e ent) Home() uint32 { return e.h }
func (e ent) Empty() bool  { return e.v == 0 }

// find probes from k's home for value v.
func find(ents []ent, h, v uint32) bool {
	m := len(ents) - 1
	for i := int(h) & m; !ents[i].Empty(); i = (i + 1) & m {
		if ents[i].v == v {
			return true
		}
	}
	return false
}

// After deleting from a run that wraps around the end of the array,
// every remaining entry is still found from its home.
func TestDelete_keepsRunsReachable(t *testing.T) {
	ents := make([]ent, 8)
	put := func(h, v uint32) {
		i := int(h) & 7
		for !ents[i].Empty() {
			i = (i + 1) & 7
		}
		ents[i] = ent{h, v}
	}
	// Homes 6, 6, 7, 6, 1: the run 6,7,0,1 wraps, and 1's home is taken.
	for v, h := range []uint32{6, 6, 7, 6, 1} {
		put(h, uint32(v+1))
	}
	Delete(ents, 6) // the first entry of the run
	for v, h := range []uint32{6, 6, 7, 6, 1} {
		if v == 0 {
			if find(ents, h, 1) {
				t.Error("the deleted entry is still found")
			}
			continue
		}
		if !find(ents, h, uint32(v+1)) {
			t.Errorf("entry %d (home %d) lost after the delete: %v", v+1, h, ents)
		}
	}
}
