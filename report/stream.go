package report

import (
	"bytes"
	"fmt"
	"io"

	"finwave/analyzer"
	"finwave/rollup"
)

// NewStreamText returns a text renderer for live capture: each selected
// flow's report is written as soon as Flow is called (finish order, the
// order teardowns complete), and Finish writes the live counters (when
// Capture.Live is set) and the summary tables only, as the flows are
// already out. Selection is NewText's: without All, Stream or Only, only
// flows worth reading are printed; the summary counts every flow.
func NewStreamText(w io.Writer, o Options) Renderer {
	r := &streamText{w: w, o: o}
	r.lad.cols, r.lad.time = o.Width, o.Time
	return r
}

type streamText struct {
	w    io.Writer
	o    Options
	sum  summary
	buf  []byte
	fit  []byte // fitLines' scratch (Options.Width)
	lad  ladderScratch
	roll *rollup.Rollup
}

func (r *streamText) Flow(t *analyzer.Teardown) error {
	r.sum.add(t)
	r.roll = addRollup(r.roll, &r.o, t)
	if !r.o.textListed(t) {
		return nil
	}
	r.sum.listed++
	r.buf = appendFlowText(r.buf[:0], t, r.o.Color, &r.lad)
	r.buf = append(r.buf, '\n')
	if r.o.Width > 0 {
		r.fit = fitLines(r.fit[:0], r.buf, r.o.Width)
		r.buf, r.fit = r.fit, r.buf
	}
	if _, err := r.w.Write(r.buf); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

func (r *streamText) Finish(c *Capture) error {
	if c == nil {
		c = &Capture{}
	}
	o := r.o
	o.SummaryOnly = true // the flows were written as they finished
	var b bytes.Buffer
	if c.Live != nil {
		appendLiveText(&b, c.Live)
	}
	appendSummary(&b, c, &r.sum, r.roll, &o)
	if r.roll != nil {
		r.roll.Reset()
	}
	if r.sum.listed > 0 {
		fmt.Fprintf(&b, "\n %s reported above, each as it finished\n", plural(r.sum.listed, "flow", "flows"))
	}
	r.sum = summary{}
	out := b.Bytes()
	if r.o.Width > 0 {
		r.fit = fitLines(r.fit[:0], out, r.o.Width)
		out = r.fit
	}
	if _, err := r.w.Write(out); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}
