package htmlreport

import (
	"math/rand/v2"
	"slices"
	"testing"

	"finwave/analyzer"
)

// TestPick: past the cap, errors come first, then warnings, each worth
// reading first, then the lowest streams; the same rows whatever the
// order they were added in, listed in stream order.
func TestPick(t *testing.T) {
	var rows []row
	for s := range int64(10_000) {
		rw := row{stream: s}
		switch {
		case s%1000 == 7:
			rw.sev = analyzer.Error
		case s%100 == 3:
			rw.sev, rw.worth = analyzer.Warning, true
		case s%10 == 1:
			rw.worth = true
		}
		rows = append(rows, rw)
	}
	var want []int64
	for s := range int64(10_000) {
		if s%1000 == 7 || s%100 == 3 {
			want = append(want, s) // 10 errors, 100 warnings
		}
	}
	for s := int64(1); len(want) < 150; s += 10 {
		if s%100 != 3 && s%1000 != 7 {
			want = append(want, s) // 40 more worth reading, the lowest
		}
	}
	slices.Sort(want)
	for round := range 3 {
		var st rowStore
		order := rand.New(rand.NewPCG(uint64(round), 1)).Perm(len(rows))
		for _, i := range order {
			st.add(rows[i])
		}
		if st.len() != len(rows) {
			t.Fatalf("len %d, want %d", st.len(), len(rows))
		}
		var got []int64
		for _, rw := range st.pick(150) {
			got = append(got, rw.stream)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: picked %v\nwant %v", round, got, want)
		}
		if n := len(st.pick(20_000)); n != len(rows) {
			t.Errorf("under the cap: %d rows, want all %d", n, len(rows))
		}
	}
}
