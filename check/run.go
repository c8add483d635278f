package check

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
)

// captureExts are removed from a capture's name, innermost last, to find its
// expectation file.
var captureExts = []string{".gz", ".pcapng", ".pcap", ".cap"}

// ExpectPath returns the expectation file that belongs beside a capture:
// its name without capture extensions, plus ".expect"
// (fixtures/a.pcap.gz → fixtures/a.expect).
func ExpectPath(capturePath string) string {
	p := capturePath
	for _, ext := range captureExts {
		p = strings.TrimSuffix(p, ext)
	}
	return p + ".expect"
}

// labelSegments is the per-flow segment cap used when frame rules need the
// label of every segment.
const labelSegments = 1 << 16

// Outcome is the check of one capture.
type Outcome struct {
	Capture string
	Expect  *Expect
	Flows   int
	Stats   pipeline.Stats
	Results []Result
}

// Failed counts the rules that did not hold.
func (o *Outcome) Failed() int {
	n := 0
	for i := range o.Results {
		if !o.Results[i].OK {
			n++
		}
	}
	return n
}

// Run analyses the capture at path with base plus the options of e, and
// judges e's rules. A capture that cannot be opened returns a nil Outcome.
// A capture damaged part way returns the Outcome of what was read and the
// read error: the caller reports both and treats the check as not passed.
func Run(ctx context.Context, path string, e *Expect, base analyzer.Config) (*Outcome, error) {
	return RunWith(ctx, path, e, base, pipeline.Runner{})
}

// RunWith is Run with the pipeline settings of runner (the decoder's
// tunnel ports).
func RunWith(ctx context.Context, path string, e *Expect, base analyzer.Config, runner pipeline.Runner) (*Outcome, error) {
	cfg := base
	e.Apply(&cfg)
	frames := e.NeedFrames()
	if frames && cfg.MaxSegments < labelSegments {
		cfg.MaxSegments = labelSegments
	}
	src, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	facts := NewFacts(frames)
	a := analyzer.New(cfg, facts.Add)
	o := &Outcome{Capture: path, Expect: e}
	runErr := runner.Run(ctx, src, a, &o.Stats)
	a.Close()
	o.Flows = len(facts.Flows)
	o.Results = Evaluate(e, facts)
	if runErr != nil {
		return o, runErr
	}
	return o, nil
}

// Write prints the outcome: a header, then every rule with ok or FAIL, its
// position and text, and for failures what was found.
func (o *Outcome) Write(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s: %s, %s, %d of %d rules held\n", o.Capture, filepath.Base(o.Expect.File),
		plural(int64(o.Flows), "flow", "flows"), len(o.Results)-o.Failed(), len(o.Results))
	for i := range o.Results {
		r := &o.Results[i]
		verdict := "ok  "
		if !r.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(b, "  %s %s: %s", verdict, r.Rule.Pos(), r.Rule.Text)
		if !r.OK {
			fmt.Fprintf(b, "\n         found: %s", r.Found)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
