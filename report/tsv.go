package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/internal/spill"
)

// tsvFields are the columns of NewTSV, in order (SCHEMA.md, "TSV").
const tsvFields = "ts\tuid\tcommunity_id\torig_h\torig_p\tresp_h\tresp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\tresp_pkts\tstream\tpattern\tcloser\tanomalies\tverdict"

const tsvTypes = "time\tstring\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring\tstring\tcount\tcount\tcount\tstring\tstring\tset[string]\tstring"

// tsvRenderer writes a Zeek conn.log-like TSV: the header, then one row
// per listed flow in stream order (spilled, like the JSON document).
type tsvRenderer struct {
	w     io.Writer
	o     Options
	spill spill.Store
	fbuf  []byte
}

// NewTSV returns a renderer writing, per capture, a Zeek conn.log-like
// table: "#" header lines, then one tab-separated row per flow in
// ascending stream order (SCHEMA.md, "TSV"). Memory does not grow with the
// number of flows (rows are spilled, internal/spill).
func NewTSV(w io.Writer, o Options) Renderer { return &tsvRenderer{w: w, o: o} }

func (r *tsvRenderer) Flow(t *analyzer.Teardown) error {
	if !r.o.listed(t) {
		return nil
	}
	r.fbuf = r.fbuf[:0]
	if len(t.Zeek) == 0 {
		r.fbuf = appendTSVRow(r.fbuf, t, nil)
	}
	for i := range t.Zeek {
		if i > 0 {
			r.fbuf = append(r.fbuf, '\n')
		}
		r.fbuf = appendTSVRow(r.fbuf, t, &t.Zeek[i])
	}
	return spillFlow(&r.spill, t.Stream, r.fbuf)
}

func (r *tsvRenderer) Finish(c *Capture) error {
	bw := bufio.NewWriterSize(r.w, 64<<10)
	file := "-"
	if c != nil && c.File != "" {
		file = string(appendTSVText(nil, c.File, false))
	}
	fmt.Fprintf(bw, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#file\t%s\n#fields\t%s\n#types\t%s\n",
		file, tsvFields, tsvTypes)
	var line []byte
	err := replaySpill(&r.spill, func(b []byte) error {
		line = append(append(line[:0], b...), '\n')
		_, err := bw.Write(line)
		return err
	})
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if rerr := resetSpill(&r.spill); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("report: write tsv: %w", err)
	}
	return nil
}

// appendTSVRow appends the row of z, one of t's Zeek connections, without
// the newline; with z nil, the row of the whole flow (its stream-level Zeek
// fields). The finwave columns (stream, pattern, closer, anomalies,
// verdict) are the flow's on every row.
func appendTSVRow(b []byte, t *analyzer.Teardown, z *analyzer.ZeekConn) []byte {
	if z == nil {
		z = &analyzer.ZeekConn{
			FirstTime: t.FirstTime, LastTime: t.LastTime,
			ConnState: t.ZeekConnState, History: t.ZeekHistory,
			OrigIsClient: t.ZeekOrigIsClient, Sent: t.Sent,
		}
	}
	orig, resp := analyzer.Client, analyzer.Server
	oe, re := t.Client, t.Server
	if !z.OrigIsClient && z.ConnState != "" {
		orig, resp = resp, orig
		oe, re = re, oe
	}
	if z.FirstTime.IsZero() {
		b = append(b, '-')
	} else {
		b = strconv.AppendFloat(b, float64(z.FirstTime.UnixNano())/1e9, 'f', 6, 64)
	}
	b = append(b, '\t')
	b = appendUIDAt(b, t, z.FirstTime)
	b = append(b, '\t')
	n := len(b)
	if b = appendCommunityID(b, t); len(b) == n {
		b = append(b, '-')
	}
	b = appendTSVEndpoint(b, oe)
	b = appendTSVEndpoint(b, re)
	b = append(b, "\ttcp\t"...)
	if z.FirstTime.IsZero() || z.LastTime.IsZero() {
		b = append(b, '-')
	} else {
		b = strconv.AppendFloat(b, z.LastTime.Sub(z.FirstTime).Seconds(), 'f', 6, 64)
	}
	b = append(b, '\t')
	b = strconv.AppendUint(b, z.Sent[orig].Bytes, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, z.Sent[resp].Bytes, 10)
	b = appendTSVField(b, z.ConnState)
	b = appendTSVField(b, z.History)
	b = append(b, '\t')
	b = strconv.AppendUint(b, z.Sent[orig].Packets, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, z.Sent[resp].Packets, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, t.Stream, 10)
	b = appendTSVField(b, t.Pattern.String())
	b = appendTSVField(b, t.Closer.String())
	b = append(b, '\t')
	if len(t.Anomalies) == 0 {
		b = append(b, '-')
	}
	for i := range t.Anomalies {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTSVText(b, t.Anomalies[i].Kind.String(), true)
	}
	return appendTSVField(b, t.Verdict)
}

// appendTSVEndpoint appends a tab, the address, a tab and the port; "-"
// for an invalid address.
func appendTSVEndpoint(b []byte, e flow.Endpoint) []byte {
	b = append(b, '\t')
	if !e.Addr.IsValid() {
		b = append(b, '-')
	} else {
		n := len(b)
		b = e.Addr.AppendTo(b)
		if bytes.ContainsFunc(b[n:], func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
			b = appendTSVText(b[:n], e.Addr.String(), false) // a zone needing escapes
		}
	}
	b = append(b, '\t')
	return strconv.AppendUint(b, uint64(e.Port), 10)
}

// appendTSVField appends a tab and s, "-" when s is empty.
func appendTSVField(b []byte, s string) []byte {
	b = append(b, '\t')
	if s == "" {
		return append(b, '-')
	}
	return appendTSVText(b, s, false)
}

// appendTSVText appends s with the bytes that would break a row or a set
// (control characters, backslash, and the comma in a set when set)
// escaped as \xNN, as Zeek does.
func appendTSVText(b []byte, s string, set bool) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' || (set && c == ',') {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}
