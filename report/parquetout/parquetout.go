package parquetout

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/report"
	"finwave/rollup"
)

// Bounds on what a table holds in memory before it writes a row group:
// RowGroupRows rows, or RowGroupBytes of values (strings counted by their
// length, every other column as 8 bytes), whichever comes first. The
// values are copied into the writer's column buffers (compressed page by
// page, PageBytes each) and leave memory at the flush.
const (
	RowGroupRows  = 64 * 1024
	RowGroupBytes = 4 << 20
	PageBytes     = 64 << 10
)

// Tables are the files written into the directory, in the order Close
// ends them.
var Tables = []string{"flows.parquet", "segments.parquet", "anomalies.parquet", "hosts.parquet", "services.parquet", "pairs.parquet"}

// table is one Parquet file being written: its rows are staged in rows
// (reused) and handed to the writer in batches.
type table[T any] struct {
	name   string
	f      *os.File
	w      *parquet.GenericWriter[T]
	rows   []T
	staged int // estimated size of the staged rows' values
	bytes  int // estimated size of the open row group's values
}

func openTable[T any](dir, name string) (*table[T], error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	w := parquet.NewGenericWriter[T](f,
		parquet.Compression(&zstdCodec{}),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.PageBufferSize(PageBytes),
		parquet.CreatedBy("finwave", "", ""),
	)
	return &table[T]{name: name, f: f, w: w}, nil
}

// flush writes the staged rows and ends the row group once it holds
// RowGroupBytes.
func (t *table[T]) flush() error {
	if len(t.rows) == 0 {
		return nil
	}
	if _, err := t.w.Write(t.rows); err != nil {
		return fmt.Errorf("parquet: %s: %w", t.name, err)
	}
	clear(t.rows) // drop references to the arena
	t.rows = t.rows[:0]
	t.bytes += t.staged
	t.staged = 0
	if t.bytes >= RowGroupBytes {
		t.bytes = 0
		if err := t.w.Flush(); err != nil {
			return fmt.Errorf("parquet: %s: %w", t.name, err)
		}
	}
	return nil
}

// close ends the file: the last row group and the footer.
func (t *table[T]) close() error {
	if t == nil {
		return nil
	}
	err := t.w.Close()
	if err != nil {
		err = fmt.Errorf("parquet: %s: %w", t.name, err)
	}
	if cerr := t.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("parquet: %w", cerr)
	}
	return err
}

// Writer is a report.Renderer writing the Parquet tables into a
// directory; Close ends the files.
type Writer struct {
	capture, host string
	flows         *table[FlowRow]
	segments      *table[SegmentRow]
	anomalies     *table[AnomalyRow]
	hosts         *table[HostRow]
	services      *table[ServiceRow]
	pairs         *table[PairRow]
	roll          *rollup.Rollup
	rollOpts      rollup.Options
	closed        bool

	// The flows staged since the last batch was written and the values
	// their rows point to.
	pending int
	mem     arena
	changes []ChangeRow
}

// New creates dir (if needed) and the tables in it (Tables); the host
// and service roll-ups are made with o (report.Options.Rollup).
func New(dir string, o rollup.Options) (w *Writer, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	w = &Writer{rollOpts: o}
	defer func() {
		if err != nil {
			w.closed = true
			w.closeAll()
		}
	}()
	if w.flows, err = openTable[FlowRow](dir, Tables[0]); err != nil {
		return nil, err
	}
	if w.segments, err = openTable[SegmentRow](dir, Tables[1]); err != nil {
		return nil, err
	}
	if w.anomalies, err = openTable[AnomalyRow](dir, Tables[2]); err != nil {
		return nil, err
	}
	if w.hosts, err = openTable[HostRow](dir, Tables[3]); err != nil {
		return nil, err
	}
	if w.services, err = openTable[ServiceRow](dir, Tables[4]); err != nil {
		return nil, err
	}
	if w.pairs, err = openTable[PairRow](dir, Tables[5]); err != nil {
		return nil, err
	}
	return w, nil
}

// SetCapture names the capture the following flows come from (their
// capture column and key prefix).
func (w *Writer) SetCapture(name string) { w.capture = name }

// SetHost names the host the captures were taken on: every table's host
// column ("" leaves it empty).
func (w *Writer) SetHost(name string) { w.host = name }

// Key is the stable flow key <capture>/<stream>/<first_time_ns>, the
// first time as Unix nanoseconds (0 when unknown).
func Key(capture string, t *analyzer.Teardown) string {
	return string(appendKey(nil, capture, t))
}

func appendKey(b []byte, capture string, t *analyzer.Teardown) []byte {
	var ns int64
	if !t.FirstTime.IsZero() {
		ns = t.FirstTime.UnixNano()
	}
	b = append(append(b, capture...), '/')
	b = append(strconv.AppendInt(b, t.Stream, 10), '/')
	return strconv.AppendInt(b, ns, 10)
}

// BatchFlows is how many flows are staged before their rows are handed
// to the Parquet writer together (a Write per flow costs as much again).
const BatchFlows = 256

// Flow stages t's rows for flows, segments and anomalies and adds it to
// the roll-ups. Every value of the Teardown (recycled when Flow returns)
// the rows need is copied into the writer's arena.
func (w *Writer) Flow(t *analyzer.Teardown) error {
	if w.roll == nil {
		w.roll = rollup.New(w.rollOpts)
	}
	w.roll.Add(t)
	n := len(w.mem.b)
	w.mem.b = appendKey(w.mem.b, w.capture, t)
	key := w.mem.since(n)
	w.flows.rows = append(w.flows.rows, FlowRow{})
	w.flows.staged += w.flowRow(&w.flows.rows[len(w.flows.rows)-1], t, key)
	w.segments.staged += w.segmentRows(t, key)
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		w.anomalies.rows = append(w.anomalies.rows, AnomalyRow{
			Capture: w.capture, Host: w.host, Key: key, Stream: t.Stream,
			Kind: a.Kind.String(), Endpoint: a.Endpoint.String(),
			Address:  w.endpoint(t.Endpoint(a.Endpoint)),
			Severity: a.Severity.String(), Frames: w.mem.ints(a.Frames), DSACK: a.DSACK,
			Counters: a.Counters, Detail: w.mem.str(a.Detail),
		})
		w.anomalies.staged += 64 + len(key) + len(a.Detail) + 8*len(a.Frames)
	}
	if w.pending++; w.pending >= BatchFlows {
		return w.flushBatch()
	}
	return nil
}

// flushBatch hands the staged rows to the Parquet writer.
func (w *Writer) flushBatch() error {
	w.pending = 0
	err := errors.Join(w.flows.flush(), w.segments.flush(), w.anomalies.flush())
	w.mem.reset()
	clear(w.changes)
	w.changes = w.changes[:0]
	return err
}

// endpoint is e as "addr:port" in the arena.
func (w *Writer) endpoint(e flow.Endpoint) string {
	n := len(w.mem.b)
	w.mem.b = netip.AddrPortFrom(e.Addr, e.Port).AppendTo(w.mem.b)
	return w.mem.since(n)
}

// addr is a as text in the arena.
func (w *Writer) addr(a netip.Addr) string {
	n := len(w.mem.b)
	w.mem.b = a.AppendTo(w.mem.b)
	return w.mem.since(n)
}

// Finish ends one capture: its host, service and pair roll-ups are
// written; flows stay buffered for the next row group.
func (w *Writer) Finish(c *report.Capture) error {
	if err := w.flushBatch(); err != nil {
		return err
	}
	var res *rollup.Result
	if w.roll == nil {
		res = rollup.New(w.rollOpts).Result(c.First, c.Last)
	} else {
		res = w.roll.Result(c.First, c.Last)
		w.roll.Reset()
	}
	return w.writeRollup(res)
}

// Close flushes the last row groups and writes the files' footers.
// A second Close does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return errors.Join(w.flushBatch(), w.closeAll())
}

func (w *Writer) closeAll() error {
	return errors.Join(w.flows.close(), w.segments.close(), w.anomalies.close(),
		w.hosts.close(), w.services.close(), w.pairs.close())
}
