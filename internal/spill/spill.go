package spill

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
)

// DefaultMemLimit is how many bytes of records stay in memory before the
// store moves them to a temporary file (Store.MemLimit 0).
const DefaultMemLimit = 4 << 20

// DefaultRunLen is how many index entries stay in memory (24 octets each,
// 1.5 MiB) before they are sorted and written as one run to the index file
// (Store.RunLen 0).
const DefaultRunLen = 64 << 10

// DefaultMaxRuns is how many runs the index file may hold before they are
// merged into one: 64 Mi records at the default run length (Store.MaxRuns 0).
const DefaultMaxRuns = 1024

// readWindow is how much of the record file Each reads at a time.
const readWindow = 1 << 20

// runBlock is how much of each run a merge cursor reads at a time.
const runBlock = 4 << 10

// readAhead is how many merged entries Each reads ahead of the records, so
// that runs of nearby offsets still share one read.
const readAhead = 4 << 10

// runEntrySize is the size of an index entry in a run on disk: key, offset
// and length, little endian. No arrival number: a run is sorted by (key,
// arrival), and runs are written in arrival order, so the merge breaks ties
// by run.
const runEntrySize = 8 + 8 + 4

// entry locates one record in the store.
type entry struct {
	key int64
	off int64
	n   uint32
	seq uint32 // arrival order within the chunk, breaks ties between equal keys
}

// Store holds records added in any key order and replays them in ascending
// key order, equal keys in the order they were added. The zero value is an
// empty store with the default limits; a Store must not be copied once used,
// nor used by two goroutines at once.
//
// Bytes: [0, len(mem)) are in memory while file is nil, never more than the
// limit (the next record that would pass it moves them to file); once file
// is set every byte lives in the file (mem was written to it first) or in
// the buffers written behind (a write in flight, then wbuf), and size
// counts all of them; Each and Reset wait for the write in flight.
//
// Index: the entries of the last records are in index, at most RunLen of
// them. When index is full it is sorted by (key, arrival) and appended to
// runFile as one run; runs holds where each run starts (runs end where the
// next one starts, the last at runSize). When MaxRuns runs are on disk they
// are merged into one, in a new file. Each merges the runs and index.
//
// Memory is therefore bounded whatever the number of records: the bytes
// limit (4 MiB), the index chunk (RunLen × 24 octets: 1.5 MiB), the write
// buffers (2 × 256 + 64 KiB), and while replaying one block per run (at most
// MaxRuns: 4 MiB), the read-ahead batch (96 KiB) and the window (1 MiB or
// the largest record); about 11 MiB at the defaults. The price past 64 Mi
// records is one rewrite of the index file every 64 Mi records.
type Store struct {
	// Limits, read as records arrive: set them before the first Add. Zero
	// (or less) takes the default; Reset keeps them.
	MemLimit int // bytes kept in memory (DefaultMemLimit)
	RunLen   int // index entries kept in memory (DefaultRunLen)
	MaxRuns  int // runs on disk before they are merged into one (DefaultMaxRuns)

	mem  []byte
	file *os.File
	size int64
	// Writing behind (writeBehind): once file is set, records are
	// appended to wbuf; a full wbuf is written at offset written by a
	// goroutine of its own while Add fills spare, at most one write in
	// flight (inflight, its result on done). [0, written) of the file is
	// written or being written; wbuf holds [written, size).
	wbuf, spare []byte
	written     int64
	inflight    bool
	done        chan error
	index       []entry
	count       int // records stored, in index and in runs

	runFile *os.File
	runW    *bufio.Writer
	runs    []int64 // start of each run in runFile, in arrival order
	runSize int64   // bytes written to runFile

	err error
}

func (s *Store) runCap() int {
	if s.RunLen <= 0 {
		return DefaultRunLen
	}
	return s.RunLen
}

// Add stores a copy of b under key. A record of 4 GiB or more is refused
// alone; a failure to write a temporary file is sticky: every later Add and
// Each returns it, until Reset.
func (s *Store) Add(key int64, b []byte) error {
	if s.err != nil {
		return s.err
	}
	if len(b) > int(^uint32(0)) {
		return fmt.Errorf("spill: record with key %d: %d bytes, the limit is %d", key, len(b), ^uint32(0))
	}
	if len(s.index) == cap(s.index) {
		// Grown by hand, so the chunk never holds more than runCap entries.
		c := min(max(2*cap(s.index), 256), s.runCap())
		s.index = append(make([]entry, 0, c), s.index...)
	}
	s.index = append(s.index, entry{key: key, off: s.size, n: uint32(len(b)), seq: uint32(len(s.index))})
	s.count++
	s.size += int64(len(b))
	if len(s.index) >= s.runCap() {
		if s.err = s.writeRun(); s.err != nil {
			return s.err
		}
	}
	if s.file == nil {
		limit := s.MemLimit
		if limit <= 0 {
			limit = DefaultMemLimit
		}
		if need := len(s.mem) + len(b); need <= limit {
			if need > cap(s.mem) {
				// Grown by hand up to limit: append's doubling would
				// reach twice the limit (and leave the old array behind).
				s.mem = append(make([]byte, 0, min(max(2*cap(s.mem), need, 64<<10), limit)), s.mem...)
			}
			s.mem = append(s.mem, b...)
			return nil
		}
		f, err := tempFile()
		if err != nil {
			s.err = fmt.Errorf("spill: records to temporary file: %w", err)
			return s.err
		}
		s.file = f
		s.wbuf = make([]byte, 0, writeBuf)
		s.spare = make([]byte, 0, writeBuf)
		s.done = make(chan error, 1)
		// The memory's records go first, then b (counted in size).
		if _, err := f.WriteAt(s.mem, 0); err != nil {
			s.err = fmt.Errorf("spill: write: %w", err)
			return s.err
		}
		s.written = int64(len(s.mem))
		s.mem = nil
	}
	if len(s.wbuf)+len(b) > cap(s.wbuf) {
		if s.err = s.writeBehind(); s.err != nil {
			return s.err
		}
	}
	if len(b) > cap(s.wbuf) {
		// Larger than the buffer: written at once, past what is in
		// flight (writeBehind left wbuf empty and at most its own write
		// in flight, at lower offsets: WriteAt at disjoint offsets).
		if _, err := s.file.WriteAt(b, s.written); err != nil {
			s.err = fmt.Errorf("spill: write: %w", err)
			return s.err
		}
		s.written += int64(len(b))
		return nil
	}
	s.wbuf = append(s.wbuf, b...)
	return nil
}

// writeBuf is the size of each of the two buffers of records written
// behind (Store.writeBehind).
const writeBuf = 256 << 10

// writeBehind waits for the write in flight, then hands wbuf to a new one
// and makes spare the buffer to fill: the system call (the copy into the
// page cache) runs on another core while the caller renders the next
// records. The goroutine touches nothing of s but the buffer it was given,
// and ends with its write: nothing outlives it, even a store dropped
// without Reset.
func (s *Store) writeBehind() error {
	if err := s.wait(); err != nil {
		return err
	}
	if len(s.wbuf) == 0 {
		return nil
	}
	buf, off, f, done := s.wbuf, s.written, s.file, s.done
	s.written += int64(len(buf))
	s.inflight = true
	go func() {
		_, err := f.WriteAt(buf, off)
		done <- err
	}()
	s.wbuf, s.spare = s.spare[:0], buf
	return nil
}

// wait waits for the write in flight, if any, and returns its error.
func (s *Store) wait() error {
	if !s.inflight {
		return nil
	}
	s.inflight = false
	if err := <-s.done; err != nil {
		return fmt.Errorf("spill: write: %w", err)
	}
	return nil
}

// flush writes everything added so far to the file and waits for it.
func (s *Store) flush() error {
	if err := s.writeBehind(); err != nil {
		return err
	}
	return s.wait()
}

// tempFile creates a temporary file, unlinked at once where the OS allows
// it: nothing to clean up later.
func tempFile() (*os.File, error) {
	f, err := os.CreateTemp("", "finwave-spill-*")
	if err != nil {
		return nil, err
	}
	_ = os.Remove(f.Name())
	return f, nil
}

// sortIndex sorts the in-memory chunk by (key, arrival).
func (s *Store) sortIndex() {
	slices.SortFunc(s.index, func(a, b entry) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// writeRun sorts the in-memory chunk and appends it to the index file as a
// run, then merges the runs if there are MaxRuns of them.
func (s *Store) writeRun() error {
	if s.runFile == nil {
		f, err := tempFile()
		if err != nil {
			return fmt.Errorf("spill: index to temporary file: %w", err)
		}
		s.runFile = f
		s.runW = bufio.NewWriterSize(f, 64<<10)
	}
	s.sortIndex()
	s.runs = append(s.runs, s.runSize)
	for _, e := range s.index {
		if err := writeRunEntry(s.runW, e); err != nil {
			return fmt.Errorf("spill: index write: %w", err)
		}
	}
	s.runSize += int64(len(s.index)) * runEntrySize
	s.index = s.index[:0]
	maxRuns := s.MaxRuns
	if maxRuns <= 0 {
		maxRuns = DefaultMaxRuns
	}
	if len(s.runs) >= max(maxRuns, 2) {
		return s.mergeRuns()
	}
	return nil
}

func writeRunEntry(w *bufio.Writer, e entry) error {
	if w.Available() < runEntrySize {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	// Encoded in the writer's buffer: no copy, no allocation.
	b := w.AvailableBuffer()
	b = binary.LittleEndian.AppendUint64(b, uint64(e.key))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.off))
	b = binary.LittleEndian.AppendUint32(b, e.n)
	_, err := w.Write(b)
	return err
}

// mergeRuns merges every run into one, written to a new index file that
// replaces the old one.
func (s *Store) mergeRuns() error {
	m, err := s.merger(false)
	if err != nil {
		return err
	}
	f, err := tempFile()
	if err != nil {
		return fmt.Errorf("spill: index to temporary file: %w", err)
	}
	w := s.runW
	w.Reset(f)
	for {
		e, ok, err := m.next()
		if err != nil {
			_ = f.Close()
			return err
		}
		if !ok {
			break
		}
		if err := writeRunEntry(w, e); err != nil {
			_ = f.Close()
			return fmt.Errorf("spill: index write: %w", err)
		}
	}
	old := s.runFile
	s.runFile = f
	s.runs = append(s.runs[:0], 0)
	if err := old.Close(); err != nil {
		return fmt.Errorf("spill: close index: %w", err)
	}
	return nil
}

// runCursor reads one sorted run: from the index file in runBlock reads,
// or the in-memory chunk (mem).
type runCursor struct {
	run      int    // arrival rank of the run: breaks ties between equal keys
	pos, end int64  // part of the run not read yet from the index file
	buf      []byte // one block of whole entries
	unread   []byte // entries of buf not returned yet
	onDisk   bool
	mem      []entry
	e        entry // current entry
}

// advance moves c to its next entry, reporting false at the end of the run.
func (c *runCursor) advance(f *os.File) (bool, error) {
	if !c.onDisk {
		if len(c.mem) == 0 {
			return false, nil
		}
		c.e, c.mem = c.mem[0], c.mem[1:]
		return true, nil
	}
	if len(c.unread) == 0 {
		if c.pos >= c.end {
			return false, nil
		}
		n := min(int64(len(c.buf)), c.end-c.pos)
		c.unread = c.buf[:n]
		if _, err := f.ReadAt(c.unread, c.pos); err != nil {
			return false, fmt.Errorf("spill: index read: %w", err)
		}
		c.pos += n
	}
	b := c.unread
	c.e = entry{
		key: int64(binary.LittleEndian.Uint64(b[0:])),
		off: int64(binary.LittleEndian.Uint64(b[8:])),
		n:   binary.LittleEndian.Uint32(b[16:]),
	}
	c.unread = b[runEntrySize:]
	return true, nil
}

// runMerger yields the entries of several sorted runs in (key, run)
// order: a binary min-heap of run cursors (container/heap: pointers only,
// nothing allocated per entry).
type runMerger struct {
	f *os.File
	h []*runCursor
}

// merger returns a merge of the runs on disk and, with mem, the in-memory
// chunk (sorted first) as the last run.
func (s *Store) merger(mem bool) (*runMerger, error) {
	if s.runW != nil {
		if err := s.runW.Flush(); err != nil {
			return nil, fmt.Errorf("spill: index flush: %w", err)
		}
	}
	// Blocks hold whole entries.
	const block = runBlock / runEntrySize * runEntrySize
	m := &runMerger{f: s.runFile, h: make([]*runCursor, 0, len(s.runs)+1)}
	cs := make([]runCursor, len(s.runs), len(s.runs)+1)
	buf := make([]byte, len(s.runs)*block)
	for i, start := range s.runs {
		end := s.runSize
		if i+1 < len(s.runs) {
			end = s.runs[i+1]
		}
		cs[i] = runCursor{run: i, pos: start, end: end, buf: buf[i*block : (i+1)*block], onDisk: true}
	}
	if mem {
		s.sortIndex()
		cs = append(cs, runCursor{run: len(s.runs), mem: s.index})
	}
	for i := range cs {
		c := &cs[i]
		ok, err := c.advance(m.f)
		if err != nil {
			return nil, err
		}
		if ok {
			m.h = append(m.h, c)
		}
	}
	heap.Init(m)
	return m, nil
}

// heap.Interface: the smallest key first, ties by run.

func (m *runMerger) Len() int { return len(m.h) }

func (m *runMerger) Less(i, j int) bool {
	a, b := m.h[i], m.h[j]
	if a.e.key != b.e.key {
		return a.e.key < b.e.key
	}
	return a.run < b.run
}

func (m *runMerger) Swap(i, j int) { m.h[i], m.h[j] = m.h[j], m.h[i] }

func (m *runMerger) Push(x any) { m.h = append(m.h, x.(*runCursor)) }

func (m *runMerger) Pop() any {
	c := m.h[len(m.h)-1]
	m.h = m.h[:len(m.h)-1]
	return c
}

// next returns the smallest entry left, or false when every run is done.
func (m *runMerger) next() (entry, bool, error) {
	if len(m.h) == 0 {
		return entry{}, false, nil
	}
	c := m.h[0]
	e := c.e
	ok, err := c.advance(m.f)
	if err != nil {
		return e, false, err
	}
	if ok {
		heap.Fix(m, 0)
	} else {
		heap.Pop(m)
	}
	return e, true, nil
}

// Len returns the number of records stored since the last Reset.
func (s *Store) Len() int { return s.count }

// Stats describes where a store keeps its records.
type Stats struct {
	Records int   // stored since the last Reset (Len)
	Bytes   int64 // their total size
	InFile  bool  // the records moved to the temporary file (more than MemLimit bytes)
	Runs    int   // sorted runs of the index on disk, fewer than MaxRuns
}

// Stats returns where the records are now.
func (s *Store) Stats() Stats {
	return Stats{Records: s.count, Bytes: s.size, InFile: s.file != nil, Runs: len(s.runs)}
}

// Each calls fn with every record in ascending key order, equal keys in the
// order they were added, and stops at the first error fn returns (returning
// it). The slice given to fn is valid only during the call. Each does not
// empty the store: Reset does.
func (s *Store) Each(fn func(key int64, b []byte) error) error {
	return s.each(fn, nil)
}

// Spans is Each for a caller that only copies the records out, one after
// the other: fn gets the records in Each's order, concatenated, several at
// a time where they lie next to one another in the store (added one after
// the other, as records that arrive nearly in key order often are), up to
// readWindow bytes or a whole record. So the caller writes one span per
// call, not one record, without a copy of its own. The slice is valid only
// during the call; the first error of fn is returned as is.
func (s *Store) Spans(fn func(b []byte) error) error {
	return s.each(nil, fn)
}

// each replays the records to fn, one by one, or when fn is nil to span,
// joined (Spans).
func (s *Store) each(fn func(key int64, b []byte) error, span func(b []byte) error) error {
	if s.err != nil {
		return s.err
	}
	if s.file != nil {
		if err := s.flush(); err != nil {
			s.err = err
			return err
		}
	}
	var rd window
	if len(s.runs) == 0 {
		// The whole index is in memory: one batch.
		s.sortIndex()
		return s.emit(s.index, &rd, fn, span)
	}
	m, err := s.merger(true)
	if err != nil {
		return err
	}
	batch := make([]entry, 0, readAhead)
	for {
		batch = batch[:0]
		for len(batch) < cap(batch) {
			e, ok, err := m.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			batch = append(batch, e)
		}
		if len(batch) == 0 {
			return nil
		}
		if err := s.emit(batch, &rd, fn, span); err != nil {
			return err
		}
	}
}

// window is the part of the record file last read.
type window struct {
	win    []byte
	winOff int64
	valid  bool
}

// emit calls fn with the rendering of each entry of batch, in order, or
// when fn is nil, span with runs of them (Spans).
func (s *Store) emit(batch []entry, rd *window, fn func(key int64, b []byte) error, span func(b []byte) error) error {
	if span != nil {
		return s.emitSpans(batch, rd, span)
	}
	if s.file == nil {
		for _, e := range batch {
			if err := fn(e.key, s.mem[e.off:e.off+int64(e.n)]); err != nil {
				return err
			}
		}
		return nil
	}
	for i, e := range batch {
		end := e.off + int64(e.n)
		if !rd.holds(e.off, end) {
			if err := s.load(batch, i, rd); err != nil {
				return err
			}
		}
		if err := fn(e.key, rd.win[e.off-rd.winOff:end-rd.winOff]); err != nil {
			return err
		}
	}
	return nil
}

// holds reports whether the window holds the bytes [off, end) of the file.
func (rd *window) holds(off, end int64) bool {
	return rd.valid && off >= rd.winOff && end <= rd.winOff+int64(len(rd.win))
}

// load reads into the window the record of batch[i] and the following
// ones that lie close after it in the file. Records often arrive in nearly
// key order, so consecutive entries are often adjacent in the file: one
// read covers the run of following entries (up to the end of the batch)
// that lie within readWindow bytes after this one (one system call per
// run, not per record); a scattered entry is read alone.
func (s *Store) load(batch []entry, i int, rd *window) error {
	e := batch[i]
	end := e.off + int64(e.n)
	hi := end
	for k := i + 1; k < len(batch); k++ {
		f := batch[k]
		fe := f.off + int64(f.n)
		if f.off < e.off || fe-e.off > readWindow {
			break
		}
		hi = max(hi, fe)
	}
	n := hi - e.off
	if int64(cap(rd.win)) < n {
		rd.win = make([]byte, n)
	}
	rd.win = rd.win[:n]
	if _, err := s.file.ReadAt(rd.win, e.off); err != nil && err != io.EOF {
		return fmt.Errorf("spill: read: %w", err)
	}
	rd.winOff, rd.valid = e.off, true
	return nil
}

// emitSpans calls span with the records of batch, in order, joining each
// record to the previous one when it starts where that one ends, in memory
// or in the window last read (one span never crosses a window reload).
func (s *Store) emitSpans(batch []entry, rd *window, span func(b []byte) error) error {
	// The pending span is [lo, hi) of the records' offsets, not passed on
	// yet; lo == hi when there is none.
	var lo, hi int64
	flush := func() error {
		if lo == hi {
			return nil
		}
		var b []byte
		if s.file == nil {
			b = s.mem[lo:hi]
		} else {
			b = rd.win[lo-rd.winOff : hi-rd.winOff]
		}
		lo = hi
		return span(b)
	}
	if s.file == nil {
		for _, e := range batch {
			if e.off != hi || hi-lo >= readWindow {
				if err := flush(); err != nil {
					return err
				}
				lo, hi = e.off, e.off
			}
			hi += int64(e.n)
		}
		return flush()
	}
	for i, e := range batch {
		end := e.off + int64(e.n)
		if !rd.holds(e.off, end) {
			// The pending span lies in the window about to be replaced.
			if err := flush(); err != nil {
				return err
			}
			if err := s.load(batch, i, rd); err != nil {
				return err
			}
		}
		if e.off != hi || hi-lo >= readWindow {
			if err := flush(); err != nil {
				return err
			}
			lo, hi = e.off, e.off
		}
		hi = end
	}
	return flush()
}

// Reset empties the store and frees everything, closing the temporary
// files; the limits are kept. The store is then ready for new records,
// also after an error.
func (s *Store) Reset() error {
	err := s.wait()
	if s.file != nil {
		if cerr := s.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("spill: close: %w", cerr)
		}
	}
	if s.runFile != nil {
		if cerr := s.runFile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("spill: close index: %w", cerr)
		}
	}
	*s = Store{MemLimit: s.MemLimit, RunLen: s.RunLen, MaxRuns: s.MaxRuns}
	return err
}
