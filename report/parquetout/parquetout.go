// Package parquetout writes the analysis as Apache Parquet tables
// (report/SCHEMA.md, "Parquet"): flows.parquet, one row per flow, and
// anomalies.parquet, one row per anomaly, each row carrying the stable
// flow key <capture>/<stream>/<first_time_ns> (issue 18, item 4).
//
// Memory is bounded: rows are copied out of the Teardown in Flow (it is
// recycled as soon as Flow returns, report.Renderer), buffered by the
// writer and flushed as a row group every RowGroupRows rows, so a
// capture is never held whole. Columns are zstd compressed.
package parquetout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"finwave/analyzer"
	"finwave/report"
)

// RowGroupRows is how many rows are buffered before a row group is
// flushed: the bound on the writer's memory.
const RowGroupRows = 64 * 1024

// FlowRow is one row of flows.parquet. Durations are float64 seconds
// where the JSON has seconds (duration) and int64 nanoseconds elsewhere
// (the _ns columns).
type FlowRow struct {
	Capture         string    `parquet:"capture"`
	Key             string    `parquet:"key"`
	Stream          int64     `parquet:"stream"`
	ClientAddr      string    `parquet:"client_addr"`
	ClientPort      int32     `parquet:"client_port"`
	ServerAddr      string    `parquet:"server_addr"`
	ServerPort      int32     `parquet:"server_port"`
	Roles           string    `parquet:"roles"`
	FirstFrame      int64     `parquet:"first_frame"`
	LastFrame       int64     `parquet:"last_frame"`
	FirstTime       time.Time `parquet:"first_time,timestamp(nanosecond)"`
	LastTime        time.Time `parquet:"last_time,timestamp(nanosecond)"`
	Duration        float64   `parquet:"duration"`
	Pattern         string    `parquet:"pattern"`
	Closer          string    `parquet:"closer"`
	Verdict         string    `parquet:"verdict"`
	ZeekConnState   string    `parquet:"zeek_conn_state"`
	ZeekHistory     string    `parquet:"zeek_history"`
	Segments        int64     `parquet:"segments"`
	SegmentsOmitted int64     `parquet:"segments_omitted"`
	Anomalies       int64     `parquet:"anomalies"`
	IdleBeforeClose int64     `parquet:"idle_before_close_ns"`
	ReuseIdle       int64     `parquet:"reuse_idle_ns"`
	Continued       bool      `parquet:"continued"`
	Profile         string    `parquet:"profile"`
}

// AnomalyRow is one row of anomalies.parquet.
type AnomalyRow struct {
	Capture  string  `parquet:"capture"`
	Key      string  `parquet:"key"`
	Stream   int64   `parquet:"stream"`
	Kind     string  `parquet:"kind"`
	Endpoint string  `parquet:"endpoint"`
	Severity string  `parquet:"severity"`
	Frames   []int64 `parquet:"frames,list"`
	DSACK    int64   `parquet:"dsack"`
	Detail   string  `parquet:"detail"`
}

// Writer is a report.Renderer writing the Parquet tables into a
// directory; Close ends the files.
type Writer struct {
	capture   string
	files     []*os.File
	flows     *parquet.GenericWriter[FlowRow]
	anomalies *parquet.GenericWriter[AnomalyRow]
	row       [1]FlowRow
	arows     []AnomalyRow
	closed    bool
}

// New creates dir (if needed) and its flows.parquet and anomalies.parquet.
func New(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	w := &Writer{}
	open := func(name string) (*os.File, error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("parquet: %w", err)
		}
		w.files = append(w.files, f)
		return f, nil
	}
	opts := []parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(RowGroupRows)}
	f, err := open("flows.parquet")
	if err != nil {
		return nil, err
	}
	w.flows = parquet.NewGenericWriter[FlowRow](f, opts...)
	if f, err = open("anomalies.parquet"); err != nil {
		w.closeFiles()
		return nil, err
	}
	w.anomalies = parquet.NewGenericWriter[AnomalyRow](f, opts...)
	return w, nil
}

// SetCapture names the capture the following flows come from (their
// capture column and key prefix).
func (w *Writer) SetCapture(name string) { w.capture = name }

// Key is the stable flow key <capture>/<stream>/<first_time_ns>.
func Key(capture string, t *analyzer.Teardown) string {
	var ns int64
	if !t.FirstTime.IsZero() {
		ns = t.FirstTime.UnixNano()
	}
	return capture + "/" + strconv.FormatInt(t.Stream, 10) + "/" + strconv.FormatInt(ns, 10)
}

// Flow copies t into a flows row and its anomalies rows: strings are
// cloned since some share the Teardown's memory (analyzer.Teardown).
func (w *Writer) Flow(t *analyzer.Teardown) error {
	key := Key(w.capture, t)
	var dur float64
	if !t.FirstTime.IsZero() && !t.LastTime.IsZero() {
		dur = t.LastTime.Sub(t.FirstTime).Seconds()
	}
	w.row[0] = FlowRow{
		Capture: w.capture, Key: key, Stream: t.Stream,
		ClientAddr: t.Client.Addr.String(), ClientPort: int32(t.Client.Port),
		ServerAddr: t.Server.Addr.String(), ServerPort: int32(t.Server.Port),
		Roles: t.Roles.String(), FirstFrame: t.FirstFrame, LastFrame: t.LastFrame,
		FirstTime: t.FirstTime.UTC(), LastTime: t.LastTime.UTC(), Duration: dur,
		Pattern: t.Pattern.String(), Closer: t.Closer.String(),
		Verdict: t.Verdict, ZeekConnState: t.ZeekConnState, ZeekHistory: t.ZeekHistory,
		Segments: int64(len(t.Segments)), SegmentsOmitted: int64(t.SegmentsOmitted),
		Anomalies:       int64(len(t.Anomalies)),
		IdleBeforeClose: int64(t.IdleBeforeClose), ReuseIdle: int64(t.ReuseIdle),
		Continued: t.Continued, Profile: t.Profile,
	}
	// The writer copies the values into its column buffers in Write, so
	// strings sharing the Teardown's memory are not kept past Flow.
	if _, err := w.flows.Write(w.row[:]); err != nil {
		return fmt.Errorf("parquet: flows: %w", err)
	}
	if len(t.Anomalies) == 0 {
		return nil
	}
	w.arows = w.arows[:0]
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		w.arows = append(w.arows, AnomalyRow{
			Capture: w.capture, Key: key, Stream: t.Stream,
			Kind: a.Kind.String(), Endpoint: a.Endpoint.String(), Severity: a.Severity.String(),
			Frames: a.Frames, DSACK: a.DSACK, Detail: a.Detail,
		})
	}
	if _, err := w.anomalies.Write(w.arows); err != nil {
		return fmt.Errorf("parquet: anomalies: %w", err)
	}
	clear(w.arows)
	return nil
}

// Finish ends one capture; the rows stay buffered for the next row group.
func (w *Writer) Finish(*report.Capture) error { return nil }

// Close flushes the last row groups and writes the files' footers.
// A second Close does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := errors.Join(w.flows.Close(), w.anomalies.Close())
	return errors.Join(err, w.closeFiles())
}

func (w *Writer) closeFiles() error {
	var errs []error
	for _, f := range w.files {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("parquet: %w", err))
		}
	}
	return errors.Join(errs...)
}
