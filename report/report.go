package report

import (
	"io"
	"time"

	"finwave/analyzer"
	"finwave/rollup"
)

// Capture describes one analysed capture file, for headers and summaries.
type Capture struct {
	File        string
	Frames      int64            // frames read
	TCPSegments int64            // frames decoded as TCP
	Skipped     map[string]int64 // frames skipped, by reason ("not tcp", "malformed", "truncated", "unsupported link type")
	ReadError   string           // non-empty when the file was damaged: everything before it was analysed
	First, Last time.Time        // capture time span
	Profile     string
	// Flows is the analyzer's count of flows. The summaries count the flows
	// actually given to Renderer.Flow; when Flows is larger the difference
	// is reported (flows the renderer never saw).
	Flows   int64
	Evicted int64 // flows finished early by the --max-flows cap
	// Live is set for a live capture: the kernel's counters, written by
	// the live renderers before the summary. nil for a file.
	Live *Live
	// Filter is the tcpdump filter applied to the frames ("" for none);
	// FilteredOut counts the frames it rejected (read, in Frames, but
	// neither decoded nor skipped).
	Filter      string
	FilteredOut int64
	// Files lists the pieces of a capture set read as one (--merge), in the
	// order given, with the merged frame numbers each holds; nil for one
	// file. SetNotes say how the set departs from a clean sequence.
	Files    []CaptureFile
	SetNotes []string
}

// CaptureFile is one file of a merged capture set: its frames are numbered
// First..Last in the merged capture (interleaved with other files' when the
// files overlap in time); First is 0 when it held no frame.
type CaptureFile struct {
	Name        string
	First, Last int64
	Frames      int64
	FirstTime   time.Time
	LastTime    time.Time
}

// Options select what is reported. The zero value reports only stream 0:
// start from DefaultOptions.
type Options struct {
	All         bool            // report every flow, not only those worth reading, each with its ladder (text: not grouped)
	SummaryOnly bool            // summary tables only
	Stream      int64           // only this tcp.stream (-1: all)
	Only        []analyzer.Kind // only flows with one of these anomalies (empty: no filter)
	Color       bool            // ANSI colour (the CLI decides: terminal and no NO_COLOR)
	// By, when set, prints only these roll-up tables (finwave hosts,
	// --by); Nstat only the predicted counters per host, in nstat's
	// format. Rollup holds the kernel limits the roll-up measures against.
	By     By
	Nstat  bool
	Rollup rollup.Options
	// Width is the text report's line width in columns (the CLI: the
	// terminal's, or --width); 0 = no limit, today's layout byte for byte.
	// With a width, prose wraps at word boundaries, ladder explanations
	// move under their row, and any other line is broken at spaces.
	Width int
	// Time is how ladder times are shown: relative to the flow's first
	// segment (the default), or wall-clock UTC.
	Time TimeFormat
}

// TimeFormat selects the ladder's time column, after tcpdump's -t options.
type TimeFormat uint8

const (
	TimeRelative TimeFormat = iota // seconds since the flow's first segment: "0.000412"
	TimeAbsolute                   // UTC time of day: "15:04:05.000000" (tcpdump's default)
	TimeDate                       // UTC date and time: "2006-01-02 15:04:05.000000" (tcpdump -tttt)
)

// DefaultOptions returns options that report every stream, no colour.
func DefaultOptions() Options { return Options{Stream: -1, Rollup: rollup.DefaultOptions()} }

// Renderer receives finished flows and writes a report per capture.
type Renderer interface {
	// Flow is called as flows finish, in finish order (not stream order).
	// It keeps no reference to t or to any of its slices (Segments,
	// Changes, Anomalies, Frames) after returning, only copies and
	// immutable strings: the caller may recycle t as soon as Flow returns.
	Flow(t *analyzer.Teardown) error
	// Finish ends one capture: it writes everything out and resets the
	// renderer for the next capture.
	Finish(c *Capture) error
}

// NewText returns a renderer of the human report: summary tables, then, by
// default (also with Only), the selected flows in groups of flows alike,
// most severe first, each with the ladder diagram of its exemplar (its
// lowest stream id); with All or Stream, one ladder diagram per selected
// flow in ascending stream order.
func NewText(w io.Writer, o Options) Renderer { return newText(w, o) }

// NewJSON returns a renderer writing one JSON document per capture (SCHEMA.md).
func NewJSON(w io.Writer, o Options) Renderer { return newJSON(w, o, false) }

// NewJSONLines returns a renderer writing one compact JSON object per flow as
// it finishes (finish order, for live mode), then at Finish the live object
// when Capture.Live is set, and one summary object (SCHEMA.md).
func NewJSONLines(w io.Writer, o Options) Renderer { return newJSON(w, o, true) }

// NewJSONFileLines returns the JSON lines renderer for a capture file
// (--jsonl): the flow objects of NewJSONLines, one per line, written at
// Finish in ascending stream order (like the document's "flows", through
// the same spill store: memory does not grow with the number of flows),
// then the summary object.
func NewJSONFileLines(w io.Writer, o Options) Renderer {
	r := newJSON(w, o, true)
	r.sorted = true
	return r
}
