package probe

// Entry is a table entry: Home is its hash (its home position is
// Home() & mask), Empty reports a free slot (the zero value must be empty).
type Entry interface {
	Home() uint32
	Empty() bool
}

// Delete empties slot i of ents (length a power of two), moving later
// entries of its run back so that every entry stays reachable from its
// home without crossing an empty slot.
func Delete[E Entry](ents []E, i int) {
	m := len(ents) - 1
	for j := i; ; {
		j = (j + 1) & m
		e := ents[j]
		if e.Empty() {
			break
		}
		// e may fill the hole at i if i lies in [home(e), j).
		if (j-int(e.Home()))&m >= (j-i)&m {
			ents[i] = e
			i = j
		}
	}
	var zero E
	ents[i] = zero
}
