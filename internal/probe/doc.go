// Package probe holds what finwave's open-addressing hash tables share:
// linear probing over a power-of-two array, and deletion by backward shift
// (no deletion markers, so lookups of absent keys stay short however many
// entries come and go). The tables themselves (flow's index of conns,
// analyzer's TIME_WAIT records) keep their own entry types.
package probe
