package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"finwave/analyzer"
	"finwave/internal/spill"
	"finwave/rollup"
)

// schemaVersion is the value of the "finwave" key; bump it on any
// incompatible change of SCHEMA.md.
const schemaVersion = 1

// jsonSummary is the "summary" object.
type jsonSummary struct {
	Flows              int64               `json:"flows"`
	Listed             int64               `json:"listed"`
	Evicted            int64               `json:"evicted"`
	Patterns           map[string]int64    `json:"patterns"`
	Anomalies          map[string]jsonKind `json:"anomalies"`
	Closers            map[string]int64    `json:"closers"`
	TopEndpoints       []jsonEndpoint      `json:"top_endpoints"`
	EndpointsUntracked int64               `json:"endpoints_untracked"`
	Checksums          jsonChecksumSummary `json:"checksums"`
}

type jsonKind struct {
	Flows    int64  `json:"flows"`
	Count    int64  `json:"count"`
	Severity string `json:"severity"`
	Client   int64  `json:"client"`
	Server   int64  `json:"server"`
}

type jsonEndpoint struct {
	Address   string           `json:"address"`
	Role      string           `json:"role"`
	Anomalies int64            `json:"anomalies"`
	Kinds     map[string]int64 `json:"kinds"`
}

// jsonTime formats t as RFC 3339 with nanoseconds in UTC, nil when zero.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// toJSONSummary converts the counters.
func toJSONSummary(s *summary, c *Capture) *jsonSummary {
	js := &jsonSummary{
		Flows: s.flows, Listed: s.listed, Evicted: c.Evicted,
		Patterns:           map[string]int64{},
		Anomalies:          map[string]jsonKind{},
		Closers:            map[string]int64{},
		TopEndpoints:       []jsonEndpoint{},
		EndpointsUntracked: s.untracked,
		Checksums:          toJSONChecksumSummary(&s.csum),
	}
	// Every pattern and closer is present, zero or not; anomaly kinds only
	// when seen.
	for _, p := range analyzer.Patterns() {
		if int(p) < len(s.patterns) {
			js.Patterns[p.String()] = s.patterns[p]
		}
	}
	for c := analyzer.CloserNone; c <= analyzer.CloserBoth; c++ {
		js.Closers[c.String()] = s.closers[c]
	}
	for k := range s.kinds {
		ks := &s.kinds[k]
		if ks.count == 0 {
			continue
		}
		js.Anomalies[analyzer.Kind(k).String()] = jsonKind{Flows: ks.flows, Count: ks.count,
			Severity: ks.maxSeverity().String(), Client: ks.side[0], Server: ks.side[1]}
	}
	for _, e := range s.topEndpointRows() {
		je := jsonEndpoint{Address: e.name, Role: e.ep.role(), Anomalies: e.stat.total, Kinds: map[string]int64{}}
		for k, n := range e.stat.kinds {
			if n > 0 {
				je.Kinds[analyzer.Kind(k).String()] = int64(n)
			}
		}
		js.TopEndpoints = append(js.TopEndpoints, je)
	}
	return js
}

// jsonRenderer writes one JSON document per capture, or JSON lines.
type jsonRenderer struct {
	w     io.Writer
	o     Options
	lines bool
	// sorted (JSON lines of a file) spills the flow lines and writes
	// them at Finish in stream order, like the document.
	sorted bool
	sum    summary
	spill  spill.Store
	// groups gathers the flows worth reading for the document's "groups"
	// (not in JSON lines).
	groups grouper
	buf    bytes.Buffer
	enc    *json.Encoder
	fbuf   []byte // one flow, appendJSONFlow
	roll   *rollup.Rollup
}

func newJSON(w io.Writer, o Options, lines bool) *jsonRenderer {
	r := &jsonRenderer{w: w, o: o, lines: lines}
	r.enc = json.NewEncoder(&r.buf)
	r.enc.SetEscapeHTML(false)
	return r
}

// encode marshals v compactly into r.buf (reset first), without the
// trailing newline json.Encoder adds.
func (r *jsonRenderer) encode(v any) ([]byte, error) {
	r.buf.Reset()
	if err := r.enc.Encode(v); err != nil {
		return nil, fmt.Errorf("report: encode json: %w", err)
	}
	return bytes.TrimSuffix(r.buf.Bytes(), []byte{'\n'}), nil
}

func (r *jsonRenderer) Flow(t *analyzer.Teardown) error {
	r.sum.add(t)
	if !r.lines {
		r.groups.count(t)
		if r.o.groupListed(t) {
			r.groups.add(t)
		}
		r.roll = addRollup(r.roll, &r.o, t)
	}
	if !r.o.listed(t) {
		return nil
	}
	r.sum.listed++
	if r.lines && !r.sorted {
		r.fbuf = append(appendJSONFlow(r.fbuf[:0], t, "flow"), '\n')
		return r.write(r.fbuf)
	}
	// Spilled with the bytes that join it to the previous flow in the
	// output, so that Finish writes spans of the store as they are
	// (spill.Store.Spans): a line with its newline, a document flow after
	// the comma, newline and indent that end the previous one (the first
	// flow's comma and newline are skipped).
	if r.lines {
		r.fbuf = append(appendJSONFlow(r.fbuf[:0], t, "flow"), '\n')
		return spillFlow(&r.spill, t.Stream, r.fbuf)
	}
	r.fbuf = appendJSONFlow(append(r.fbuf[:0], flowSep...), t, "")
	return spillFlow(&r.spill, t.Stream, r.fbuf)
}

// flowSep precedes every flow of the document in the spill; the first
// flow's is written without its first two bytes (",\n").
const flowSep = ",\n    "

func (r *jsonRenderer) write(b []byte) error {
	if _, err := r.w.Write(b); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// captureFields are the capture's keys of the document and of the summary
// line, in output order.
func captureFields(c *Capture) []struct {
	k string
	v any
} {
	var readErr *string
	if c.ReadError != "" {
		readErr = &c.ReadError
	}
	skipped := c.Skipped
	if skipped == nil {
		skipped = map[string]int64{}
	}
	var dur float64
	if !c.First.IsZero() && !c.Last.IsZero() {
		dur = c.Last.Sub(c.First).Seconds()
	}
	fields := []struct {
		k string
		v any
	}{
		{"finwave", schemaVersion},
		{"file", c.File},
		{"profile", c.Profile},
		{"frames", c.Frames},
		{"tcp_segments", c.TCPSegments},
		{"skipped", skipped},
		{"read_error", readErr},
		{"first_time", jsonTime(c.First)},
		{"last_time", jsonTime(c.Last)},
		{"duration", dur},
	}
	if c.Filter != "" {
		// Only with a filter, so documents without one keep their keys.
		fields = append(fields, []struct {
			k string
			v any
		}{{"filter", c.Filter}, {"filtered_out", c.FilteredOut}}...)
	}
	if c.Files != nil {
		// Only for a merged set (--merge), so one file's document keeps its keys.
		type jsonFile struct {
			Name       string `json:"name"`
			FirstFrame int64  `json:"first_frame"`
			LastFrame  int64  `json:"last_frame"`
			Frames     int64  `json:"frames"`
			FirstTime  any    `json:"first_time"`
			LastTime   any    `json:"last_time"`
		}
		files := make([]jsonFile, len(c.Files))
		for i, f := range c.Files {
			files[i] = jsonFile{f.Name, f.First, f.Last, f.Frames, jsonTime(f.FirstTime), jsonTime(f.LastTime)}
		}
		notes := c.SetNotes
		if notes == nil {
			notes = []string{}
		}
		fields = append(fields, []struct {
			k string
			v any
		}{{"files", files}, {"set_notes", notes}}...)
	}
	return fields
}

func (r *jsonRenderer) Finish(c *Capture) error {
	if c == nil {
		c = &Capture{}
	}
	// Buffered: the flows go out in 64 KiB writes, not one write each.
	w := r.w
	bw := bufio.NewWriterSize(w, 64<<10)
	r.w = bw
	err := r.finish(c)
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("report: write json: %w", ferr)
	}
	r.w = w
	if rerr := resetSpill(&r.spill); err == nil {
		err = rerr
	}
	r.sum = summary{}
	r.groups.reset()
	if r.roll != nil {
		r.roll.Reset()
	}
	return err
}

// appendRollup appends the hosts, services and pairs keys (SCHEMA.md).
func (r *jsonRenderer) appendRollup(out *[]byte, c *Capture) error {
	res := rollupResult(r.roll, &r.o, c)
	r.buf.Reset()
	ind := json.NewEncoder(&r.buf)
	ind.SetEscapeHTML(false)
	ind.SetIndent("  ", "  ")
	j := toJSONRollup(res)
	for _, f := range []struct {
		k string
		v any
	}{{"hosts", j.Hosts}, {"services", j.Services}, {"pairs", j.Pairs}} {
		r.buf.Reset()
		if err := ind.Encode(f.v); err != nil {
			return fmt.Errorf("report: encode json %s: %w", f.k, err)
		}
		*out = append(*out, ",\n  \""+f.k+"\": "...)
		*out = append(*out, bytes.TrimSuffix(r.buf.Bytes(), []byte{'\n'})...)
	}
	return nil
}

func (r *jsonRenderer) finish(c *Capture) error {
	var out []byte
	if r.lines {
		var spillErr error
		if r.sorted {
			var werr error
			spillErr = replaySpans(&r.spill, func(b []byte) error {
				werr = r.write(b) // whole lines
				return werr
			})
			if werr != nil {
				return werr
			}
		}
		if err := r.finishLines(out, c); err != nil {
			return err
		}
		return spillErr
	}
	return r.finishDocument(c)
}

// finishLines writes the live object (if any) and the summary line.
func (r *jsonRenderer) finishLines(out []byte, c *Capture) error {
	if c.Live != nil {
		var err error
		if out, err = appendLiveJSON(out, c); err != nil {
			return err
		}
	}
	out = append(out, `{"type":"summary"`...)
	for _, f := range captureFields(c) {
		b, err := r.encode(f.v)
		if err != nil {
			return err
		}
		out = append(out, `,"`+f.k+`":`...)
		out = append(out, b...)
	}
	b, err := r.encode(toJSONSummary(&r.sum, c))
	if err != nil {
		return err
	}
	out = append(out, `,"summary":`...)
	out = append(out, b...)
	out = append(out, "}\n"...)
	return r.write(out)
}

// finishDocument writes the JSON document.
func (r *jsonRenderer) finishDocument(c *Capture) error {
	var out []byte
	var spillErr error
	out = append(out, "{\n"...)
	for _, f := range captureFields(c) {
		b, err := r.encode(f.v)
		if err != nil {
			return err
		}
		out = append(out, `  "`+f.k+`": `...)
		out = append(out, b...)
		out = append(out, ",\n"...)
	}
	if r.spill.Len() == 0 {
		out = append(out, "  \"flows\": [],\n"...)
		if err := r.write(out); err != nil {
			return err
		}
	} else {
		out = append(out, "  \"flows\": [\n"...)
		if err := r.write(out); err != nil {
			return err
		}
		first := true
		var werr error
		spillErr = replaySpans(&r.spill, func(b []byte) error {
			if first {
				first = false
				b = b[len(",\n"):] // the first flow: its indent only
			}
			werr = r.write(b)
			return werr
		})
		if werr != nil {
			return werr
		}
		// A spill that cannot be read back loses flows, not the document:
		// close it anyway and report the error after.
		if err := r.write([]byte("\n  ],\n")); err != nil {
			return err
		}
	}
	gs := r.groups.groups()
	out = append(out[:0], "  \"groups\": ["...)
	for i, g := range gs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, "\n    "...)
		out = appendJSONGroup(out, g, &r.groups)
	}
	if len(gs) > 0 {
		out = append(out, "\n  "...)
	}
	out = append(out, "],\n"...)
	if err := r.write(out); err != nil {
		return err
	}
	r.buf.Reset()
	ind := json.NewEncoder(&r.buf)
	ind.SetEscapeHTML(false)
	ind.SetIndent("  ", "  ")
	if err := ind.Encode(toJSONSummary(&r.sum, c)); err != nil {
		return fmt.Errorf("report: encode json summary: %w", err)
	}
	out = append(out[:0], "  \"summary\": "...)
	out = append(out, bytes.TrimSuffix(r.buf.Bytes(), []byte{'\n'})...)
	if err := r.appendRollup(&out, c); err != nil {
		return err
	}
	out = append(out, "\n}\n"...)
	if err := r.write(out); err != nil {
		return err
	}
	return spillErr
}
