package analyzer

import (
	"testing"
	"unsafe"
)

// connSizeMax is the size class conn must fit: tens of thousands are alive
// at once in a busy capture (most of them finished teardowns waiting out
// Config.Grace), so each class up (1,792, 2,048 octets) costs megabytes.
const connSizeMax = 1536

// TestConnSize keeps the per-flow state in its size class: a field added
// to conn or endpoint must find room (a rare one belongs in a side struct
// lent by spares, as tw, rsts and zc are).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > connSizeMax {
		t.Errorf("conn is %d octets, over its %d size class", n, connSizeMax)
	}
}
