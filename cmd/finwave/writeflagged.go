package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/pipeline"
	"finwave/report"
)

// writeFlags is -w FILE of `finwave [flags] FILE`: the packets of the
// reported flows written to a pcap, by a second pass over the capture.
type writeFlags struct {
	path string
}

func (w *writeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.path, "w", "", "write the packets of the reported flows (every flow; with --only or --stream, those) to `FILE` (pcap)")
}

// check refuses what -w cannot do: more than one capture (one output) and
// stdin, which cannot be read a second time.
func (w *writeFlags) check(files []string) error {
	if w.path == "" {
		return nil
	}
	if len(files) != 1 {
		return usagef("-w %s: give one capture (got %d); the output holds one capture's flows", w.path, len(files))
	}
	if files[0] == "-" {
		return usagef("-w %s: cannot write flows from stdin (finwave reads the capture twice): save it to a file first", w.path)
	}
	// Writing over the capture would truncate it while it is read.
	if in, err := os.Stat(files[0]); err == nil {
		if out, err := os.Stat(w.path); err == nil && os.SameFile(in, out) {
			return usagef("-w %s: is the capture itself", w.path)
		}
	}
	return nil
}

// tuple is a connection's two endpoints in a canonical order.
type tuple struct{ a, b flow.Endpoint }

func tupleOf(x, y flow.Endpoint) tuple {
	if c := x.Addr.Compare(y.Addr); c > 0 || c == 0 && x.Port > y.Port {
		x, y = y, x
	}
	return tuple{x, y}
}

// frameRange is the first and last frame of a selected flow.
type frameRange struct{ first, last int64 }

// selection records the flows -w writes: by 4-tuple, the frame ranges of
// the selected flows (a 4-tuple may be reused by later connections, each
// its own flow and range). It is a report.Renderer wrapper, so it sees
// each flow as it is rendered, before it is recycled.
type selection struct {
	report.Renderer
	stream int64           // --stream (-1: any)
	only   []analyzer.Kind // --only (empty: any)
	flows  map[tuple][]frameRange
	n      int
}

func newSelection(r report.Renderer, stream int64, only []analyzer.Kind) *selection {
	return &selection{Renderer: r, stream: stream, only: only, flows: map[tuple][]frameRange{}}
}

// Flow records t when it is selected, then renders it.
func (s *selection) Flow(t *analyzer.Teardown) error {
	if s.selected(t) {
		k := tupleOf(t.Client, t.Server)
		s.flows[k] = append(s.flows[k], frameRange{t.FirstFrame, t.LastFrame})
		s.n++
	}
	return s.Renderer.Flow(t)
}

func (s *selection) selected(t *analyzer.Teardown) bool {
	if s.stream >= 0 && !t.HasStream(s.stream) {
		return false
	}
	if len(s.only) == 0 {
		return true
	}
	for _, k := range s.only {
		if t.HasAnomaly(k) {
			return true
		}
	}
	return false
}

// wants reports whether the segment of frame n belongs to a selected flow.
func (s *selection) wants(seg *flow.Segment) bool {
	for _, r := range s.flows[tupleOf(seg.Src, seg.Dst)] {
		if seg.Frame >= r.first && seg.Frame <= r.last {
			return true
		}
	}
	return false
}

// writeSelected reads path again and writes to out the frames of the
// selected flows: the TCP segments (after the filter, if any) whose
// 4-tuple is a selected flow's and whose frame number is within its
// first and last frame. Frames of two flows on the same inner 4-tuple in
// different overlays (VXLAN VNIs) at the same time are not told apart.
// The output is pcap with the input's link type (one: a capture mixing
// link types is refused) and snap length (pcap input; else 262144).
func writeSelected(ctx context.Context, path, out string, runner pipeline.Runner, sel *selection) (int64, error) {
	src, err := capture.Open(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	snaplen := uint32(capture.MaxFrameLen)
	if s, ok := src.(interface{ Snaplen() uint32 }); ok && s.Snaplen() > 0 {
		snaplen = s.Snaplen()
	}
	var (
		fr  capture.Frame
		seg flow.Segment
		dec = &flow.Decoder{VXLANPorts: runner.VXLANPorts, GenevePorts: runner.GenevePorts}
		f   *os.File
		bw  *bufio.Writer
		pw  *capture.PcapWriter
		lt  layers.LinkType
	)
	create := func(l layers.LinkType) error {
		var err error
		if f, err = os.Create(out); err != nil {
			return err
		}
		lt = l
		bw = bufio.NewWriterSize(f, 64<<10)
		pw, err = capture.NewPcapWriter(bw, out, l, snaplen)
		return err
	}
	fail := func(err error) (int64, error) {
		if f != nil {
			f.Close()
		}
		return 0, fmt.Errorf("-w %s: %w", out, err)
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return fail(ctx.Err())
		}
		if err := src.Next(&fr); err != nil {
			if !errors.Is(err, io.EOF) {
				return fail(err)
			}
			break
		}
		if runner.Filter != nil {
			if ok, err := runner.Filter.Match(fr.LinkType, fr.Data); err != nil || !ok {
				continue
			}
		}
		if dec.Decode(fr.LinkType, fr.Data, fr.OrigLen, fr.Number, fr.Time, &seg) != nil || !sel.wants(&seg) {
			continue
		}
		if pw == nil {
			if err := create(fr.LinkType); err != nil {
				return fail(err)
			}
		} else if fr.LinkType != lt {
			return fail(fmt.Errorf("frame %d: link type %v after %v: a pcap holds one link type", fr.Number, fr.LinkType, lt))
		}
		if err := pw.WriteFrame(&fr); err != nil {
			return fail(err)
		}
	}
	if pw == nil {
		// No frame selected: an empty pcap, still readable by tcpdump
		// and tshark.
		if err := create(layers.LinkTypeEthernet); err != nil {
			return fail(err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("-w %s: %w", out, err)
	}
	return pw.Frames(), nil
}

// writeFlagged is -w after the analysis: the second pass, and a line on
// stderr saying what was written.
func writeFlagged(ctx context.Context, path, out string, runner pipeline.Runner, sel *selection, e *env) error {
	n, err := writeSelected(ctx, path, out, runner, sel)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "finwave: -w: wrote %d frames of %d flows to %s\n", n, sel.n, out)
	return nil
}

// writeFlaggedHelp is the part of `finwave --help` about -w.
const writeFlaggedHelp = `
Write: -w FILE writes the packets of the reported flows (every flow; with
--only or --stream, those) to FILE as pcap, reading the capture a second
time: one capture, not stdin. finwave FILE on the output finds those flows.
`
