package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"finwave/internal/synth"
)

// cmdSynth writes a synthetic capture (no root needed).
func cmdSynth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fwbench synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg synth.Config
	out := fs.String("o", "synth.pcap", "output `file`")
	fs.IntVar(&cfg.Conns, "conns", 200000, "connections to write")
	fs.IntVar(&cfg.Concurrency, "concurrency", 200, "connections open at once")
	fs.IntVar(&cfg.Payload, "payload", 100, "request and reply size in bytes (at most 1400)")
	fs.BoolVar(&cfg.Flood, "flood", false, "one SYN per flow, nothing else")
	fs.DurationVar(&cfg.Gap, "gap", 10*time.Microsecond, "capture time between frames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	st, err := synth.Write(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d connections, %.1f MiB of frames\n", *out, st.Frames, cfg.Conns, float64(st.Bytes)/(1<<20))
	return nil
}
