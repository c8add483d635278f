package analyzer

import (
	"reflect"
	"testing"
	"unsafe"
)

// connSizeMax is the size class conn must fit: tens of thousands are alive
// at once in a busy capture (most of them finished teardowns waiting out
// Config.Grace), so each class up (1,280, 1,408 octets) costs megabytes.
const connSizeMax = 1152

// TestConnSize keeps the per-flow state in its size class: a field added
// to conn or endpoint must find room (a rare one belongs in a side struct
// lent by spares, as tw, rsts and zc are).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > connSizeMax {
		t.Errorf("conn is %d octets, over its %d size class", n, connSizeMax)
	}
}

// TestConnPointersFirst keeps conn's pointers at its start (the garbage
// collector scans a conn up to its last pointer word only): a field with
// a pointer belongs among the first ones.
func TestConnPointersFirst(t *testing.T) {
	ty := reflect.TypeOf(conn{})
	seenPlain := ""
	for i := 0; i < ty.NumField(); i++ {
		f := ty.Field(i)
		switch {
		case !hasPointers(f.Type):
			if seenPlain == "" {
				seenPlain = f.Name
			}
		case seenPlain != "":
			t.Errorf("conn.%s holds a pointer but comes after conn.%s, which holds none", f.Name, seenPlain)
		}
	}
}

// hasPointers reports whether a value of type ty holds a pointer the
// garbage collector must follow.
func hasPointers(ty reflect.Type) bool {
	switch ty.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.String, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return ty.Len() > 0 && hasPointers(ty.Elem())
	case reflect.Struct:
		for i := 0; i < ty.NumField(); i++ {
			if hasPointers(ty.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// TestLabelledSize keeps a recorded segment small and pointer-free: a
// flow holds them from its segments to its finish.
func TestLabelledSize(t *testing.T) {
	if n := unsafe.Sizeof(labelled{}); n > 32 {
		t.Errorf("labelled is %d octets, want at most 32", n)
	}
	if hasPointers(reflect.TypeOf(labelled{})) {
		t.Error("labelled holds a pointer")
	}
}

// TestAnomalySize keeps an anomaly in 64 octets: a flow keeps its
// anomalies until it finishes (a rare kind's facts belong in rareEP, as
// rst-forged's evidence is).
func TestAnomalySize(t *testing.T) {
	if n := unsafe.Sizeof(anomaly{}); n > 64 {
		t.Errorf("anomaly is %d octets, want at most 64", n)
	}
}
