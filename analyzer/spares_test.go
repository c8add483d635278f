package analyzer

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"finwave/flow"
)

// TestPendingSpill checks the pending changes kept in the endpoints and,
// past inlinePend, in a pendSpill against a plain model: each side keeps
// its latest maxPend, oldest first, whichever storage holds them; the
// spill goes back to the spares at release and is reused.
func TestPendingSpill(t *testing.T) {
	cfg := DefaultConfig()
	sp := &spares{}
	rng := rand.New(rand.NewPCG(1, 2))
	for flowNo := range 200 {
		c := &conn{spare: sp}
		for i := range c.ep {
			c.ep[i].side, c.ep[i].since = Side(i), noTime
		}
		var model [2][]int64 // each side's pending frames
		frame := int64(0)
		for range 40 {
			s := Side(rng.IntN(2))
			e := &c.ep[s]
			frame++
			switch op := rng.IntN(10); {
			case op < 6:
				to := CloseWait
				if e.state == CloseWait {
					to = Established
				}
				seg := &flow.Segment{Frame: frame, Time: time.Unix(0, frame)}
				c.tentative(&cfg, e, to, seg, pendKind(frame%4), 0, ruleTimeWaitExpired)
				model[s] = append(model[s], frame)
				if len(model[s]) > maxPend {
					model[s] = model[s][1:]
				}
			case op < 8:
				kind := pendKind(rng.IntN(4))
				c.confirmCause(e, kind, frame)
				model[s] = slices.DeleteFunc(model[s], func(f int64) bool { return pendKind(f%4) == kind })
			default:
				from := frame - int64(rng.IntN(8))
				c.revert(e, from, late)
				for len(model[s]) > 0 && model[s][len(model[s])-1] >= from {
					model[s] = model[s][:len(model[s])-1]
				}
			}
			for i := range c.ep {
				var got []int64
				for _, p := range c.pendings(&c.ep[i]) {
					got = append(got, p.frame)
				}
				if !slices.Equal(got, model[i]) {
					t.Fatalf("flow %d frame %d side %d: pending %v, want %v", flowNo, frame, i, got, model[i])
				}
			}
		}
		spilled := c.pends
		c.release()
		if spilled != nil && (c.pends != nil || sp.pends[len(sp.pends)-1] != spilled) {
			t.Fatalf("flow %d: the spill was not given back", flowNo)
		}
	}
	if len(sp.pends) != 1 {
		t.Errorf("%d spills idle after flows finished one at a time, want 1 reused", len(sp.pends))
	}
}

// TestMain runs the package's tests, then checks that none of them wrote
// through rareOf: every flow without a rareState reads noRare.
func TestMain(m *testing.M) {
	want := noRare
	code := m.Run()
	if code == 0 && noRare != want {
		fmt.Fprintf(os.Stderr, "noRare was written: %+v\n", noRare)
		code = 1
	}
	os.Exit(code)
}
