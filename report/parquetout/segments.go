package parquetout

import (
	"time"

	"finwave/analyzer"
	"finwave/report"
)

// SegmentRow is one row of segments.parquet: a labelled segment of a flow
// (the JSON flow's "segments"), with the state changes it caused.
type SegmentRow struct {
	Capture   string      `parquet:"capture,dict"`
	Host      string      `parquet:"host,optional,dict"`
	Key       string      `parquet:"key"`
	Stream    int64       `parquet:"stream,delta"`
	Frame     int64       `parquet:"frame,delta"`
	Time      *float64    `parquet:"time,optional"`
	Timestamp *time.Time  `parquet:"timestamp,optional,timestamp(nanosecond)"`
	From      string      `parquet:"from,dict"`
	Flags     string      `parquet:"flags,dict"`
	Seq       int64       `parquet:"seq,delta"`
	Ack       int64       `parquet:"ack,delta"`
	Len       int64       `parquet:"len,delta"`
	Label     string      `parquet:"label,dict"`
	Changes   []ChangeRow `parquet:"changes,list"`
	Explain   string      `parquet:"explain,dict"`
}

// ChangeRow is one state change of a segment (the JSON's "changes").
type ChangeRow struct {
	Side           string `parquet:"side,dict"`
	From           string `parquet:"from,dict"`
	To             string `parquet:"to,dict"`
	Tentative      bool   `parquet:"tentative"`
	ConfirmedFrame int64  `parquet:"confirmed_frame,delta"`
	Undone         bool   `parquet:"undone"`
	Reason         string `parquet:"reason,dict"`
}

// segmentRows stages the rows of t's segments and returns their size
// (RowGroupBytes); the values they point to are in the arena.
func (w *Writer) segmentRows(t *analyzer.Teardown, key string) int {
	m := &w.b.mem
	size := 0
	for i := range t.Segments {
		s := &t.Segments[i]
		r := SegmentRow{
			Capture: w.capture, Host: w.host, Key: key, Stream: t.Stream,
			Frame: s.Frame, Timestamp: m.time(s.Time), From: s.From.String(),
			Flags: report.FlagsString(s.Flags),
			Seq:   int64(s.Seq), Ack: int64(s.Ack), Len: int64(s.Len),
			Label: s.Label.String(), Explain: m.str(s.Explain),
		}
		if !s.Time.IsZero() && !t.FirstTime.IsZero() {
			r.Time = m.float(s.Time.Sub(t.FirstTime).Seconds())
		}
		if len(s.Changes) > 0 {
			n := len(w.b.changes)
			for j := range s.Changes {
				c := &s.Changes[j]
				w.b.changes = append(w.b.changes, ChangeRow{Side: c.Side.String(), From: c.From.String(), To: c.To.String(),
					Tentative: c.Tentative, ConfirmedFrame: c.Confirmed, Undone: c.Undone, Reason: m.str(c.Reason)})
				size += 40 + len(c.Reason)
			}
			r.Changes = w.b.changes[n:len(w.b.changes):len(w.b.changes)]
		}
		w.b.segments = append(w.b.segments, r)
		size += 12*8 + len(key) + len(s.Explain)
	}
	return size
}
