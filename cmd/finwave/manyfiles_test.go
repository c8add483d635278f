package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"finwave/internal/synth"
)

// manyFilesGrowth bounds the peak RSS of one process analysing the same
// capture four times over that of analysing it once. The flows of a
// finished capture are garbage; a process that kept the collector's goal
// of the first capture peaked 1.5-1.8x higher from the second file on.
const manyFilesGrowth = 1.35

// TestManyFiles_memoryOfOne: `finwave -q a.pcap b.pcap c.pcap d.pcap` needs
// the memory of one capture, not of one more per file: four copies of a
// capture peak within manyFilesGrowth of one.
func TestManyFiles_memoryOfOne(t *testing.T) {
	if testing.Short() {
		t.Skip("four analyses of a 60 k-connection capture: skipped under -short")
	}
	bin := buildFinwave(t)
	path := filepath.Join(t.TempDir(), "one.pcap")
	// 60 k connections, 200 at a time, over about 6 s of capture time:
	// longer than the grace, so flows are held and let go as in a real
	// capture.
	if _, err := synth.WriteFile(path, synth.Config{Conns: 60_000, Concurrency: 200}); err != nil {
		t.Fatal(err)
	}
	peak := func(files ...string) int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-j", "1", "-q"}, files...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("finwave %v: %v\n%s", files, err, out)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			t.Skip("no rusage on this platform")
		}
		return ru.Maxrss << 10 // Linux: kilobytes
	}
	// The lower of two runs each: a busy machine delays collections.
	one := min(peak(path), peak(path))
	four := min(peak(path, path, path, path), peak(path, path, path, path))
	g := float64(four) / float64(one)
	t.Logf("peak RSS: one capture %d MiB, the same four times %d MiB (%.2fx)", one>>20, four>>20, g)
	if g > manyFilesGrowth {
		t.Errorf("four captures in one process peaked %.2fx one (%d against %d MiB), want at most %.2fx", g, four>>20, one>>20, manyFilesGrowth)
	}
}
