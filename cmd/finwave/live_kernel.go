package main

import (
	"fmt"
	"io"
	"strings"

	"finwave/analyzer"
	"finwave/hostview"
	"finwave/report"
)

// kernelPart is one part of the kernel's own view that finwave live reads
// beside the wire (--kernel).
type kernelPart uint8

const (
	partCounters kernelPart = 1 << iota // nstat counters at start and end, beside the prediction
	allParts                = partCounters
)

var kernelPartNames = []struct {
	name string
	part kernelPart
}{
	{"counters", partCounters},
}

// parseKernelParts reads --kernel: auto (every part this host allows,
// saying once which it does not), off (the wire alone), or a comma list of
// parts, each of which must work.
func parseKernelParts(s string) (parts kernelPart, required bool, err error) {
	switch strings.TrimSpace(s) {
	case "auto", "":
		return allParts, false, nil
	case "off", "none":
		return 0, false, nil
	}
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		found := false
		for _, p := range kernelPartNames {
			if p.name == w {
				parts |= p.part
				found = true
			}
		}
		if !found {
			var names []string
			for _, p := range kernelPartNames {
				names = append(names, p.name)
			}
			return 0, false, usagef("live: --kernel %q: unknown part %q (want auto, off, or a comma list of %s)", s, w, strings.Join(names, ", "))
		}
	}
	return parts, true, nil
}

// kernelView is what finwave live reads of the kernel of the host it runs
// on: opened (openKernelView) before root is dropped, fed every reported
// flow (flow) and read at the end (finish).
type kernelView struct {
	parts    kernelPart
	locals   *hostview.Locals
	counters *hostview.Counters
	// countersErr: why the counters could not be compared ("" when
	// they were, or were not asked for).
	countersErr string
}

// openKernelView opens the parts asked for. A part that cannot work is an
// error when it was named (required), else a note on info, once.
func openKernelView(parts kernelPart, required bool, info io.Writer) (*kernelView, error) {
	k := &kernelView{parts: parts}
	if parts == 0 {
		return k, nil
	}
	unavailable := func(part string, err error) error {
		if required {
			return fmt.Errorf("live: --kernel %s: %w", part, err)
		}
		fmt.Fprintf(info, "finwave: %s unavailable, going on without: %v\n", part, err)
		return nil
	}
	locals, err := hostview.ReadLocals()
	if err != nil {
		if err := unavailable("local addresses", err); err != nil {
			return nil, err
		}
	}
	k.locals = locals
	if parts&partCounters != 0 {
		if k.counters, err = hostview.StartCounters("/proc/net", locals); err != nil {
			k.countersErr = err.Error()
			if err := unavailable("counters", err); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// flow takes what the kernel view needs of a reported flow, before the
// renderer sees it.
func (k *kernelView) flow(t *analyzer.Teardown) {
	if k != nil && k.counters != nil {
		k.counters.Add(t)
	}
}

// finish fills the live report's kernel parts once the capture stopped.
func (k *kernelView) finish(ctx hostview.Context, l *report.Live) {
	switch {
	case k.counters != nil:
		cmp, err := k.counters.Compare(ctx)
		if err != nil {
			l.CountersError = err.Error()
		}
		l.Counters = cmp
	case k.countersErr != "":
		l.CountersError = k.countersErr
	}
}

// capabilities are those the open parts need after root is dropped.
func (k *kernelView) capabilities() []capability {
	return nil
}

// close releases what openKernelView opened.
func (k *kernelView) close() {}
