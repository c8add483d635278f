// Command fwbench makes benchmark captures and measures finwave against a
// bare gopacket decode loop, tcptrace and tshark on the same file.
//
//	fwbench synth  -o FILE [-conns N -concurrency C -payload B -flood]
//	fwbench kernel -o FILE [-conns N -concurrency C]   (root: netns + tcpdump)
//	fwbench run    [-j N] [-finwave BIN] FILE           (the measurement)
//	fwbench bare   FILE                                 (the bare decode loop alone)
//
// See README.md, section Performance.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: fwbench synth|kernel|run|bare ... (see fwbench -h)")
		return 2
	}
	var err error
	switch args[0] {
	case "synth":
		err = cmdSynth(args[1:], stdout, stderr)
	case "kernel":
		err = cmdKernel(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(args[1:], stdout, stderr)
	case "kernel-worker": // internal: runs inside kernel's namespace
		err = kernelWorker(args[1:], stdout)
	case "bare":
		err = cmdBare(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, "fwbench synth|kernel|run|bare; each takes -h")
		return 0
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errSkip) {
		fmt.Fprintf(stderr, "fwbench: %v\n", err)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "fwbench: %v\n", err)
		return 1
	}
	return 0
}

// errSkip ends a mode that cannot run here (not root) without failing.
var errSkip = errors.New("skipped")
