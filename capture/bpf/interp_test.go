package bpf

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
	xbpf "golang.org/x/net/bpf"
)

// TestInterpMatchesVM: the interpreter returns what x/net/bpf's VM
// returns, for every expression of commonExprs on every frame of
// testPackets (also cut short, so that loads fall outside) and each link
// type compared with libpcap.
func TestInterpMatchesVM(t *testing.T) {
	n := 0
	for _, lt := range append(compareLinks, layers.LinkTypeLinuxSLL) {
		frames := testPackets(t, lt)
		for _, expr := range commonExprs {
			prog, err := Compile(expr, lt, 0)
			if err != nil {
				t.Fatalf("%v %q: %v", lt, expr, err)
			}
			fast, err := translate(prog)
			if err != nil {
				t.Fatalf("%v %q: translate: %v", lt, expr, err)
			}
			vm, err := xbpf.NewVM(prog)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range frames {
				for _, cut := range []int{len(f), len(f) / 2, 20, 0} {
					if cut > len(f) {
						continue
					}
					want, _ := vm.Run(f[:cut])
					if got := run(fast, f[:cut]); int(got) != want {
						t.Errorf("%v %q frame %d cut to %d: interpreter %d, VM %d", lt, expr, i+1, cut, got, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d comparisons", n)
}

// TestTranslateRefuses: an instruction the interpreter does not know, or a
// jump out of the program, is refused (the Matcher then uses the VM).
func TestTranslateRefuses(t *testing.T) {
	for _, prog := range [][]xbpf.Instruction{
		{xbpf.LoadConstant{Val: 1}, xbpf.RetA{}},
		{xbpf.Jump{Skip: 5}, xbpf.RetConstant{Val: 1}},
		{xbpf.JumpIf{Cond: xbpf.JumpEqual, SkipTrue: 3}, xbpf.RetConstant{Val: 1}},
		{xbpf.LoadAbsolute{Off: 0, Size: 3}, xbpf.RetConstant{Val: 1}},
		{xbpf.LoadAbsolute{Off: 0, Size: 1}},
	} {
		if _, err := translate(prog); err == nil {
			t.Errorf("translate(%v): no error", prog)
		}
	}
}

func benchProg(b *testing.B) ([]xbpf.Instruction, []byte) {
	prog, err := Compile("tcp and (port 80 or port 443 or portrange 8000-9000) and not host 10.9.9.9", layers.LinkTypeEthernet, 0)
	if err != nil {
		b.Fatal(err)
	}
	return prog, testPackets(b, layers.LinkTypeEthernet)[0]
}

// BenchmarkInterp and BenchmarkVM compare the interpreter with x/net/bpf's
// VM on the same program and frame.
func BenchmarkInterp(b *testing.B) {
	prog, f := benchProg(b)
	fast, err := translate(prog)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(fast, f)
	}
}

func BenchmarkVM(b *testing.B) {
	prog, f := benchProg(b)
	vm, err := xbpf.NewVM(prog)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		vm.Run(f)
	}
}
