package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// startProfiles starts the CPU profile named by FINWAVE_CPUPROFILE and
// arranges the heap profile named by FINWAVE_MEMPROFILE (and, with FINWAVE_MEMPROFILE_AFTER=D,
// the live heap D into the run, to FINWAVE_MEMPROFILE.mid); the returned stop
// writes them. A developer aid (README, Performance): environment variables
// rather than flags, so the user-facing flags stay about the analysis.
func startProfiles() (stop func()) {
	cpu := os.Getenv("FINWAVE_CPUPROFILE")
	mem := os.Getenv("FINWAVE_MEMPROFILE")
	var cf *os.File
	if after, err := time.ParseDuration(os.Getenv("FINWAVE_MEMPROFILE_AFTER")); err == nil && mem != "" {
		// The live heap in the middle of a run (the end-of-run profile
		// shows what was allocated, not what was held at the peak).
		time.AfterFunc(after, func() { writeHeap(mem+".mid", "heap") })
	}
	if cpu != "" {
		f, err := os.Create(cpu)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "finwave: cpu profile: %v\n", err)
		} else {
			cf = f
		}
	}
	return func() {
		if cf != nil {
			pprof.StopCPUProfile()
			cf.Close()
		}
		if mem != "" {
			writeHeap(mem, "allocs")
		}
	}
}

// writeHeap writes the named heap profile ("allocs" or "heap") to path
// after a garbage collection.
func writeHeap(path, name string) {
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "finwave: heap profile: %v\n", err)
	}
}
