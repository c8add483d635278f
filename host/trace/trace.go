package trace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"finwave/host"
)

// ErrUnavailable is wrapped by Open's error when the kernel cannot be
// traced here: no BTF, eBPF not permitted, tracefs absent, or the required
// tracepoint missing. The error's text says which; callers say so once and
// carry on from the wire alone.
var ErrUnavailable = errors.New("kernel tracing unavailable")

// Config says what to trace.
type Config struct {
	// NetNS are the inode numbers of the network namespaces whose sockets
	// are traced (NetNSInode gives one; `stat -L -c %i /proc/PID/ns/net`).
	// Empty traces every namespace of the host.
	NetNS []uint32
	// RingSize is the ring buffer's size in bytes: a power of two and a
	// multiple of the page size. 0 is 1 MiB (about 5000 events).
	RingSize int
	// Latency is how late Read may deliver an event: the programs wake
	// the reader only once a sixteenth of the ring is full, and Read looks
	// every Latency otherwise, which spares the kernel a wakeup per event
	// (see buildProgram). 0 is DefaultLatency; negative wakes the reader
	// for every event, at the kernel's cost.
	Latency time.Duration
}

// DefaultLatency is Config.Latency's default.
const DefaultLatency = 50 * time.Millisecond

// DefaultRingSize is the ring buffer's size when Config.RingSize is 0.
const DefaultRingSize = 1 << 20

// clockRemeasure is how often Read re-measures the offset between the
// BPF clock and the wall clock (the wall clock can be stepped or slewed).
const clockRemeasure = 10 * time.Second

// Tracer is the attached programs and the ring buffer they write to.
// Read, Lost and Close use only descriptors and mappings made by Open.
type Tracer struct {
	events  *ebpf.Map
	lostMap *ebpf.Map
	lostMem *ebpf.Memory
	progs   []*ebpf.Program
	links   []link.Link
	rd      *ringbuf.Reader
	notes   []string
	kinds   []host.EventKind

	dec     decoder
	latency time.Duration // how often Read looks without a wakeup; 0: only on wakeups

	// offset is CLOCK_REALTIME - CLOCK_MONOTONIC in ns; measuredAt the
	// CLOCK_MONOTONIC time it was measured.
	offset     atomic.Int64
	measuredAt atomic.Int64

	readMu sync.Mutex // one Read at a time: the decoder's comm cache is not shared
	closed atomic.Bool
}

// tracepoints are the ones Open attaches. Only inet_sock_set_state is
// required; a missing other one is left out with a note.
var tracepoints = []struct {
	kind        host.EventKind
	group, name string
	required    bool
}{
	{host.StateChange, "sock", "inet_sock_set_state", true},
	{host.SendReset, "tcp", "tcp_send_reset", false},
	{host.ReceiveReset, "tcp", "tcp_receive_reset", false},
	{host.Retransmit, "tcp", "tcp_retransmit_skb", false},
	{host.Drop, "skb", "kfree_skb", false},
}

// NetNSInode is the inode number of the network namespace at path (e.g.
// /proc/self/ns/net, /run/netns/NAME), as Config.NetNS takes it.
func NetNSInode(path string) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("trace: network namespace %s: %w", path, err)
	}
	return uint32(st.Ino), nil
}

// Open loads the programs, attaches them to the tracepoints and opens the
// ring buffer. It needs root (or CAP_BPF and CAP_PERFMON, and tracefs);
// nothing after it does. When the kernel cannot be traced its error wraps
// ErrUnavailable.
func Open(cfg Config) (*Tracer, error) {
	ringSize := cfg.RingSize
	if ringSize == 0 {
		ringSize = DefaultRingSize
	}
	if ringSize <= 0 || ringSize&(ringSize-1) != 0 || ringSize%os.Getpagesize() != 0 {
		return nil, fmt.Errorf("trace: ring size %d is not a power of two multiple of the page size", ringSize)
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, fmt.Errorf("trace: no kernel BTF (/sys/kernel/btf/vmlinux): %w: %w", ErrUnavailable, err)
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("trace: kernel BTF: %w: %w", ErrUnavailable, err)
	}
	k, nsErr, skbErr := loadKernelOffsets(spec)
	if nsErr != nil && len(cfg.NetNS) > 0 {
		return nil, fmt.Errorf("trace: no namespace filter on this kernel: %w: %w", ErrUnavailable, nsErr)
	}
	if !tracefsPresent() {
		// `ip netns exec` gives the process a sysfs of its own, without
		// tracefs: mounted again, in this mount namespace only (which is
		// the host's own otherwise, where tracefs is normally mounted).
		mountTracefs()
	}
	if !tracefsPresent() {
		if _, err := os.Stat(tracefsRoots[0] + "/events"); errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("trace: tracefs not readable (not permitted: root, or CAP_BPF and CAP_PERFMON with read access to %s): %w", tracefsRoots[0], ErrUnavailable)
		}
		return nil, fmt.Errorf("trace: tracefs absent (none of %v has events/): %w", tracefsRoots, ErrUnavailable)
	}

	t := &Tracer{latency: cfg.Latency}
	wakeAt := int32(ringSize / 16)
	switch {
	case cfg.Latency == 0:
		t.latency = DefaultLatency
	case cfg.Latency < 0:
		t.latency, wakeAt = 0, 0
	}
	t.events, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fw_events", Type: ebpf.RingBuf, MaxEntries: uint32(ringSize)})
	if err != nil {
		return nil, unavailable("create the ring buffer", err)
	}
	t.lostMap, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fw_lost", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: unix.BPF_F_MMAPABLE})
	if err != nil {
		t.Close()
		return nil, unavailable("create the lost-event counter", err)
	}
	if t.lostMem, err = t.lostMap.Memory(); err != nil {
		t.Close()
		return nil, unavailable("map the lost-event counter", err)
	}

	for _, tp := range tracepoints {
		if tp.kind == host.Drop && skbErr != nil {
			t.notes = append(t.notes, fmt.Sprintf("trace: %s:%s left out: %v", tp.group, tp.name, skbErr))
			continue
		}
		if err := t.attach(tp.kind, tp.group, tp.name, k, spec, cfg.NetNS, wakeAt); err != nil {
			if tp.required {
				t.Close()
				return nil, err
			}
			t.notes = append(t.notes, err.Error())
		}
	}
	if t.rd, err = ringbuf.NewReader(t.events); err != nil {
		t.Close()
		return nil, fmt.Errorf("trace: ring buffer reader: %w", err)
	}
	t.measureClock()
	return t, nil
}

// unavailable wraps a loading error; refusals (EPERM, EACCES) also wrap
// ErrUnavailable.
func unavailable(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("trace: %s: not permitted (needs root or CAP_BPF and CAP_PERFMON): %w: %w", what, ErrUnavailable, err)
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("trace: %s: not supported by this kernel: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("trace: %s: %w", what, err)
}

// mountTracefs mounts tracefs at its usual place (root only); a failure
// leaves tracefsPresent to say it is absent.
func mountTracefs() {
	if _, err := os.Stat(tracefsRoots[0]); err == nil {
		unix.Mount("nodev", tracefsRoots[0], "tracefs", 0, "")
	}
}

func tracefsPresent() bool {
	for _, root := range tracefsRoots {
		if _, err := os.Stat(root + "/events"); err == nil {
			return true
		}
	}
	return false
}

// attach builds, loads and attaches the program of one tracepoint.
func (t *Tracer) attach(kind host.EventKind, group, name string, k kernelOffsets, spec *btf.Spec, netns []uint32, wakeAt int32) error {
	tp := group + ":" + name
	f, err := readFormat(group, name)
	if err != nil {
		return fmt.Errorf("trace: tracepoint %s missing: %w: %w", tp, ErrUnavailable, err)
	}
	p, err := t.dec.setLayout(kind, f, spec)
	if err != nil {
		return fmt.Errorf("trace: tracepoint %s: %w: %w", tp, ErrUnavailable, err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "fw_" + strings.ReplaceAll(kind.String(), "-", "_"), // fw_send_reset: BPF names are [A-Za-z0-9_.], 15 at most
		Type:         ebpf.TracePoint,
		License:      "GPL",
		Instructions: buildProgram(p, k, netns, wakeAt, t.events, t.lostMap),
	})
	if err != nil {
		return unavailable("load the program for "+tp, err)
	}
	l, err := link.Tracepoint(group, name, prog, nil)
	if err != nil {
		prog.Close()
		return unavailable("attach to "+tp, err)
	}
	t.progs = append(t.progs, prog)
	t.links = append(t.links, l)
	t.kinds = append(t.kinds, kind)
	return nil
}

// Notes says which optional tracepoints were left out and why.
func (t *Tracer) Notes() []string { return t.notes }

// Kinds are the kinds of event the attached programs report.
func (t *Tracer) Kinds() []host.EventKind { return t.kinds }

// Lost is the number of events the programs could not write because the
// ring buffer was full. It reads the counter's memory mapping: no system
// call, no privilege.
func (t *Tracer) Lost() uint64 {
	var b [8]byte
	if _, err := t.lostMem.ReadAt(b[:], 0); err != nil {
		return 0
	}
	return nativeUint64(b[:])
}

// Read calls fn with each event until ctx is done or the Tracer is closed
// (both return nil). The Event's strings are shared, not copied: Comm is
// interned. Only one Read may run at a time.
func (t *Tracer) Read(ctx context.Context, fn func(host.Event)) error {
	if !t.readMu.TryLock() {
		return errors.New("trace: Read already running")
	}
	defer t.readMu.Unlock()
	stop := context.AfterFunc(ctx, func() { t.rd.Flush() })
	defer stop()
	var rec ringbuf.Record
	var ev host.Event
	if t.latency > 0 {
		t.rd.SetDeadline(time.Now().Add(t.latency))
	}
	for {
		if err := t.rd.ReadInto(&rec); err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				// What was submitted without a wakeup has been read.
				if ctx.Err() != nil {
					return nil
				}
				t.rd.SetDeadline(time.Now().Add(t.latency))
				continue
			case errors.Is(err, ringbuf.ErrFlushed):
				if ctx.Err() != nil {
					return nil
				}
				continue
			case errors.Is(err, os.ErrClosed), errors.Is(err, ringbuf.ErrClosed):
				return nil
			}
			return fmt.Errorf("trace: read: %w", err)
		}
		if !t.dec.decode(rec.RawSample, &ev) {
			continue
		}
		ev.Time = t.wallTime(ev.Time)
		fn(ev)
	}
}

// Close detaches the programs and frees the ring buffer. Read returns.
func (t *Tracer) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, l := range t.links {
		errs = append(errs, l.Close())
	}
	for _, p := range t.progs {
		errs = append(errs, p.Close())
	}
	if t.rd != nil {
		errs = append(errs, t.rd.Close())
	}
	if t.events != nil {
		errs = append(errs, t.events.Close())
	}
	if t.lostMap != nil {
		errs = append(errs, t.lostMap.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("trace: close: %w", err)
	}
	return nil
}

// measureClock measures CLOCK_REALTIME - CLOCK_MONOTONIC (bpf_ktime_get_ns
// is CLOCK_MONOTONIC: kernel/bpf/helpers.c, ktime_get_mono_fast_ns),
// taking the narrowest of a few realtime/monotonic/realtime brackets.
func (t *Tracer) measureClock() {
	best, bestWidth, mono := int64(0), int64(-1), int64(0)
	for range 5 {
		var r1, m, r2 unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &r1)
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
		unix.ClockGettime(unix.CLOCK_REALTIME, &r2)
		w := r2.Nano() - r1.Nano()
		if bestWidth < 0 || w < bestWidth {
			bestWidth, mono = w, m.Nano()
			best = r1.Nano() + w/2 - m.Nano()
		}
	}
	t.offset.Store(best)
	t.measuredAt.Store(mono)
}

// wallTime converts a BPF timestamp (carried in ev.Time as ns since the
// zero time.Unix(0, 0)) to the wall clock, re-measuring the offset when it
// is older than clockRemeasure.
func (t *Tracer) wallTime(raw time.Time) time.Time {
	mono := raw.UnixNano()
	if mono-t.measuredAt.Load() > int64(clockRemeasure) {
		t.measureClock()
	}
	return time.Unix(0, mono+t.offset.Load())
}
