package parquetout

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

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

// table is one Parquet file being written. Flows, segments and anomalies
// are staged in a batch and written by the encoder; the roll-ups are
// staged in rows (reused) and written by flush.
type table[T any] struct {
	name   string
	f      *os.File
	w      *parquet.GenericWriter[T]
	rows   []T
	staged int // estimated size of the staged rows' values
	bytes  int // estimated size of the open row group's values
}

// noBounds are the columns whose pages carry no statistics (min/max,
// null count): prose and random identifiers, which no query narrows by
// range, and enumerations, whose every page holds most of their values
// anyway (a reader filters them by their dictionary). Computing bounds
// compares every value. The columns a query narrows by range keep theirs:
// capture, host, key, addresses, ports, streams, frames, times, counts.
var noBounds = [][]string{
	{"detail"}, {"explain"}, {"zeek_uid"}, {"community_id"}, {"zeek_history"}, {"verdict"},
	{"changes", "list", "element", "reason"}, {"changes", "list", "element", "side"},
	{"changes", "list", "element", "from"}, {"changes", "list", "element", "to"},
	{"from"}, {"flags"}, {"label"}, {"roles"}, {"pattern"}, {"closer"}, {"finish"}, {"profile"},
	{"client_state"}, {"server_state"}, {"zeek_conn_state"}, {"vantage_at"},
	{"vantage_evidence", "list", "element"}, {"anomaly_kinds", "list", "element"},
	{"counters", "list", "element"}, {"kind"}, {"endpoint"}, {"severity"},
}

func openTable[T any](dir, name string) (*table[T], error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	opts := []parquet.WriterOption{
		parquet.Compression(&zstdCodec{}),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.PageBufferSize(PageBytes),
		parquet.CreatedBy("finwave", "", ""),
	}
	for _, p := range noBounds {
		opts = append(opts, parquet.SkipPageBounds(p...), parquet.SkipPageStatistics(p...))
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	return &table[T]{name: name, f: f, w: w}, nil
}

// write hands rows (of about size bytes of values) to the Parquet writer
// and ends the row group once it holds RowGroupBytes. The writer copies
// every value: rows may be reused when write returns.
func (t *table[T]) write(rows []T, size int) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := t.w.Write(rows); err != nil {
		return fmt.Errorf("parquet: %s: %w", t.name, err)
	}
	t.bytes += size
	if t.bytes >= RowGroupBytes {
		t.bytes = 0
		if err := t.w.Flush(); err != nil {
			return fmt.Errorf("parquet: %s: %w", t.name, err)
		}
	}
	return nil
}

// flush writes the rows staged in t.rows (the roll-ups').
func (t *table[T]) flush() error {
	err := t.write(t.rows, t.staged)
	clear(t.rows)
	t.rows = t.rows[:0]
	t.staged = 0
	return err
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
//
// Flow stages each flow's rows in a batch; every BatchFlows flows the
// batch is written. With more than one CPU (GOMAXPROCS > 1) batches are
// encoded and compressed on a goroutine of their own, the encoder, while
// the next batch fills: two batches take turns, so at most two are in
// memory. Only the encoder touches the flows, segments and anomalies
// tables; only the caller's goroutine the roll-up tables.
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

	b       *batch // the batch being filled
	pending int    // flows staged in b

	// The encoder (nil work: batches are written in Flow): work takes
	// filled batches, free gives them back written and reset; done is
	// closed when the encoder has written the last one. encErr is its
	// first error, returned by the next Flow, Finish or Close.
	work, free chan *batch
	done       chan struct{}
	mu         sync.Mutex
	encErr     error
}

// batch is the staged rows of up to BatchFlows flows and the values they
// point to.
type batch struct {
	flows                          []FlowRow
	segments                       []SegmentRow
	anomalies                      []AnomalyRow
	flowBytes, segBytes, anomBytes int // estimated size of their values
	mem                            arena
	changes                        []ChangeRow
}

func (b *batch) reset() {
	clear(b.flows) // drop references to the arena
	clear(b.segments)
	clear(b.anomalies)
	clear(b.changes)
	b.flows, b.segments, b.anomalies, b.changes = b.flows[:0], b.segments[:0], b.anomalies[:0], b.changes[:0]
	b.flowBytes, b.segBytes, b.anomBytes = 0, 0, 0
	b.mem.reset()
}

// New creates dir (if needed) and the tables in it (Tables); the host
// and service roll-ups are made with o (report.Options.Rollup).
func New(dir string, o rollup.Options) (w *Writer, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	w = &Writer{rollOpts: o, b: &batch{}}
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
	if runtime.GOMAXPROCS(0) > 1 {
		w.work, w.free, w.done = make(chan *batch, 1), make(chan *batch, 1), make(chan struct{})
		w.free <- &batch{}
		go w.encode()
	}
	return w, nil
}

// encode is the encoder's loop: it writes each batch it is given and
// hands it back reset.
func (w *Writer) encode() {
	defer close(w.done)
	for b := range w.work {
		if err := w.writeBatch(b); err != nil {
			w.mu.Lock()
			if w.encErr == nil {
				w.encErr = err
			}
			w.mu.Unlock()
		}
		w.free <- b
	}
}

// writeBatch writes b's rows into their tables and resets b.
func (w *Writer) writeBatch(b *batch) error {
	err := errors.Join(w.flows.write(b.flows, b.flowBytes), w.segments.write(b.segments, b.segBytes),
		w.anomalies.write(b.anomalies, b.anomBytes))
	b.reset()
	return err
}

// encoderErr is the encoder's first error.
func (w *Writer) encoderErr() error {
	if w.work == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.encErr
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
	b := w.b
	n := len(b.mem.b)
	b.mem.b = appendKey(b.mem.b, w.capture, t)
	key := b.mem.since(n)
	b.flows = append(b.flows, FlowRow{})
	b.flowBytes += w.flowRow(&b.flows[len(b.flows)-1], t, key)
	b.segBytes += w.segmentRows(t, key)
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		b.anomalies = append(b.anomalies, AnomalyRow{
			Capture: w.capture, Host: w.host, Key: key, Stream: t.Stream,
			Kind: a.Kind.String(), Endpoint: a.Endpoint.String(),
			Address:  w.endpoint(t.Endpoint(a.Endpoint)),
			Severity: a.Severity.String(), Frames: b.mem.ints(a.Frames), DSACK: a.DSACK,
			Counters: a.Counters, Detail: b.mem.str(a.Detail),
		})
		b.anomBytes += 64 + len(key) + len(a.Detail) + 8*len(a.Frames)
	}
	if w.pending++; w.pending >= BatchFlows {
		return w.flushBatch()
	}
	return nil
}

// flushBatch hands the staged batch to the encoder and takes the other
// one (waiting for the encoder to be done with it), or writes it here
// without an encoder.
func (w *Writer) flushBatch() error {
	w.pending = 0
	if w.work == nil {
		return w.writeBatch(w.b)
	}
	w.work <- w.b
	w.b = <-w.free
	return w.encoderErr()
}

// endpoint is e as "addr:port" in the arena.
func (w *Writer) endpoint(e flow.Endpoint) string {
	m := &w.b.mem
	n := len(m.b)
	m.b = netip.AddrPortFrom(e.Addr, e.Port).AppendTo(m.b)
	return m.since(n)
}

// addr is a as text in the arena.
func (w *Writer) addr(a netip.Addr) string {
	m := &w.b.mem
	n := len(m.b)
	m.b = a.AppendTo(m.b)
	return m.since(n)
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
	err := w.flushBatch()
	if w.work != nil {
		close(w.work)
		<-w.done
		err = errors.Join(err, w.encoderErr())
	}
	return errors.Join(err, w.closeAll())
}

func (w *Writer) closeAll() error {
	return errors.Join(w.flows.close(), w.segments.close(), w.anomalies.close(),
		w.hosts.close(), w.services.close(), w.pairs.close())
}
