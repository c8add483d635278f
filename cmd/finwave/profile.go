package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile named by FINWAVE_CPUPROFILE and
// arranges the heap profile named by FINWAVE_MEMPROFILE; the returned stop
// writes them. A developer aid (README, Performance): environment variables
// rather than flags, so the user-facing flags stay about the analysis.
func startProfiles() (stop func()) {
	cpu := os.Getenv("FINWAVE_CPUPROFILE")
	mem := os.Getenv("FINWAVE_MEMPROFILE")
	var cf *os.File
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
			runtime.GC()
			f, err := os.Create(mem)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "finwave: heap profile: %v\n", err)
			}
		}
	}
}
