package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"finwave/analyzer"
	"finwave/host"
	"finwave/host/conntrack"
	"finwave/host/sockets"
	"finwave/host/trace"
	"finwave/hostview"
	"finwave/report"
)

// kernelPart is one part of the kernel's own view that finwave live reads
// beside the wire (--kernel).
type kernelPart uint8

const (
	partCounters  kernelPart = 1 << iota // nstat counters at start and end, beside the prediction
	partProcesses                        // the process owning each local socket (sock_diag, /proc/*/fd)
	partTrace                            // the kernel's tracepoints (eBPF): state changes, resets, drops
	partConntrack                        // netfilter conntrack entries: state, timeout, NAT
	allParts      = partCounters | partProcesses | partTrace | partConntrack
)

var kernelPartNames = []struct {
	name string
	part kernelPart
}{
	{"counters", partCounters},
	{"processes", partProcesses},
	{"trace", partTrace},
	{"conntrack", partConntrack},
}

// parseKernelParts reads --kernel: auto (every part this host allows,
// saying once which it does not), off (the wire alone), or a comma list of
// parts, each of which must work.
func parseKernelParts(s string) (parts kernelPart, required bool, err error) {
	switch strings.TrimSpace(s) {
	case "auto", "":
		return allParts, false, nil
	case "off", "none":
		return 0, false, nil
	}
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		found := false
		for _, p := range kernelPartNames {
			if p.name == w {
				parts |= p.part
				found = true
			}
		}
		if !found {
			var names []string
			for _, p := range kernelPartNames {
				names = append(names, p.name)
			}
			return 0, false, usagef("live: --kernel %q: unknown part %q (want auto, off, or a comma list of %s)", s, w, strings.Join(names, ", "))
		}
	}
	return parts, true, nil
}

// kernelView is what finwave live reads of the kernel of the host it runs
// on: opened (openKernelView) before root is dropped, fed every reported
// flow (flow) and read at the end (finish).
type kernelView struct {
	locals   *hostview.Locals
	counters *hostview.Counters
	// countersErr: why the counters could not be compared ("" when
	// they were, or were not asked for).
	countersErr string
	resolver    *sockets.Resolver
	tracer      *trace.Tracer
	conntrack   *conntrack.Table
	journal     *hostview.Journal
	traceErr    error // the tracer's Read, when it failed
	idle        time.Duration
	// kernel is what the analyzer asks as flows finish (nil when no part
	// gives it anything: counters alone do not).
	kernel *hostview.Kernel
	stop   context.CancelFunc
	kicked chan struct{}
	wg     sync.WaitGroup
}

// openKernelView opens the parts asked for. A part that cannot work is an
// error when it was named (required), else a note on info, once.
// idle is the analysis's idle timeout: traced events of a socket whose flow
// was never reported are forgotten that long after.
func openKernelView(parts kernelPart, required bool, idle time.Duration, info io.Writer) (*kernelView, error) {
	k := &kernelView{kicked: make(chan struct{}, 1), idle: idle}
	if parts == 0 {
		return k, nil
	}
	unavailable := func(part string, err error) error {
		if required {
			return fmt.Errorf("live: --kernel %s: %w", part, err)
		}
		fmt.Fprintf(info, "finwave: %s unavailable, going on without: %v\n", part, err)
		return nil
	}
	locals, err := hostview.ReadLocals()
	if err != nil {
		if err := unavailable("local addresses", err); err != nil {
			return nil, err
		}
	}
	k.locals = locals
	if parts&partProcesses != 0 {
		if k.resolver, err = sockets.Open(sockets.Options{}); err != nil {
			if err := unavailable("process attribution", err); err != nil {
				return nil, err
			}
		}
	}
	if parts&partTrace != 0 {
		// Only this namespace's sockets: the tracepoints are the host's.
		ns, err := trace.NetNSInode("/proc/self/ns/net")
		if err == nil {
			k.tracer, err = trace.Open(trace.Config{NetNS: []uint32{ns}})
		}
		if err != nil {
			if err := unavailable("kernel trace (eBPF)", err); err != nil {
				return nil, err
			}
		} else {
			k.journal = hostview.NewJournal(time.Now(), 0)
			for _, n := range k.tracer.Notes() {
				fmt.Fprintf(info, "finwave: kernel trace: %s\n", n)
			}
		}
	}
	if parts&partConntrack != 0 {
		// Subscribed while root: events keep coming after the drop.
		if k.conntrack, err = conntrack.Open(conntrack.Config{}); err != nil {
			if err := unavailable("conntrack", err); err != nil {
				return nil, err
			}
		}
	}
	if parts&partCounters != 0 {
		if k.counters, err = hostview.StartCounters("/proc/net", locals); err != nil {
			k.countersErr = err.Error()
			if err := unavailable("counters", err); err != nil {
				return nil, err
			}
		}
	}
	kern := &hostview.Kernel{Locals: k.locals}
	if k.resolver != nil {
		kern.Owners = resolverOwners{k.resolver}
	}
	kern.Journal = k.journal // nil without the trace
	if k.conntrack != nil {
		kern.Conntrack = tableConntrack{k.conntrack}
	}
	if kern.Owners != nil || kern.Journal != nil || kern.Conntrack != nil {
		k.kernel = kern
	}
	return k, nil
}

// start begins the background work of the open parts: the socket table
// is dumped again (rate limited by the resolver) when kick says packets
// came, so that new sockets are attributed while they live; an idle host
// is not scanned.
func (k *kernelView) start() {
	ctx, cancel := context.WithCancel(context.Background())
	k.stop = cancel
	if k.tracer != nil {
		k.wg.Add(2)
		go func() {
			defer k.wg.Done()
			if err := k.tracer.Read(ctx, k.journal.Add); err != nil {
				k.traceErr = err
			}
		}()
		go func() {
			// Events of sockets whose flows were never reported (outside
			// the filter, another interface) are forgotten once no flow
			// could still claim them.
			defer k.wg.Done()
			tk := time.NewTicker(10 * time.Second)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-tk.C:
					k.journal.Sweep(now.Add(-k.idle - time.Minute))
				}
			}
		}()
	}
	if k.resolver != nil {
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			tk := time.NewTicker(refreshEvery)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-k.kicked:
					k.resolver.Refresh()
					select { // at most one dump per refreshEvery
					case <-ctx.Done():
						return
					case <-tk.C:
					}
				}
			}
		}()
	}
}

// kick says packets came (called from the capture loop): never blocks.
func (k *kernelView) kick() {
	select {
	case k.kicked <- struct{}{}:
	default:
	}
}

// tableConntrack adapts the conntrack table to hostview.Conntrack.
type tableConntrack struct{ t *conntrack.Table }

func (c tableConntrack) Entry(src, dst netip.AddrPort) (host.Entry, bool) {
	return c.t.Lookup(src, dst)
}

// ExplainReset names a RST only when conntrack's state explains it: the
// Kubernetes failure (a segment found INVALID, not de-NATed, answered by
// a stack with no such socket).
func (c tableConntrack) ExplainReset(src, dst netip.AddrPort, at time.Time) string {
	if v, ok := c.t.ExplainReset(src, dst, at); ok && v.Invalid {
		return v.Text
	}
	return ""
}

// refreshEvery is how often the socket table is dumped while packets come.
const refreshEvery = 500 * time.Millisecond

// resolverOwners adapts the socket resolver to hostview.Owners.
type resolverOwners struct{ r *sockets.Resolver }

// Owner never dumps (it runs in the analysis, per flow): the background
// refresh keeps the table current while packets come.
func (o resolverOwners) Owner(t host.Tuple, first, last time.Time) (host.Owner, bool, string) {
	a := o.r.Cached(t, first)
	switch {
	case a.Known():
		return a.Owner, true, ""
	case a.Status == sockets.Gone:
		return host.Owner{}, false, "the socket was gone before it could be attributed"
	case a.Status == sockets.Unattributed:
		return host.Owner{}, false, "owner unknown: " + a.Reason.String()
	}
	return host.Owner{}, false, "owner unknown: the socket table was not read since the flow began"
}

// owner is the process holding local socket local ↔ remote, for a notice
// about a socket still open: the socket table is read again if it has not
// been since the socket appeared (rate limited by the resolver).
func (k *kernelView) owner(local, remote netip.AddrPort, since time.Time) (host.Owner, bool) {
	if k == nil || k.resolver == nil || !k.locals.Has(local.Addr()) {
		return host.Owner{}, false
	}
	a, err := k.resolver.Resolve(host.Tuple{Local: local, Remote: remote}.Unmap(), since)
	return a.Owner, err == nil && a.Known()
}

// flow takes what the kernel view needs of a reported flow, before the
// renderer sees it.
func (k *kernelView) flow(t *analyzer.Teardown) {
	if k != nil && k.counters != nil {
		k.counters.Add(t)
	}
}

// finish fills the live report's kernel parts once the capture stopped.
func (k *kernelView) finish(ctx hostview.Context, l *report.Live) {
	if k.tracer != nil {
		tr := &report.Trace{Lost: k.tracer.Lost(), Overflow: uint64(k.journal.Overflow()), Notes: k.tracer.Notes()}
		if k.traceErr != nil {
			tr.Error = k.traceErr.Error()
		}
		l.Trace = tr
	}
	if k.conntrack != nil {
		st := k.conntrack.Stats()
		ci := &report.Conntrack{Live: st.Live, Lost: st.Lost, Resyncs: st.Resyncs}
		if st.Err != nil {
			ci.Error = st.Err.Error()
		}
		l.Conntrack = ci
	}
	if k.resolver != nil {
		// The sockets still held in the states a leak leaves, by owner.
		k.resolver.Refresh()
		for _, c := range k.resolver.Summary(host.CloseWait, host.FinWait2) {
			l.Held = append(l.Held, report.Held{State: c.State.String(), Sockets: c.Sockets, Owner: c.Owner,
				Runtime: c.Runtime, RecvQ: c.RecvQ, Text: c.String()})
		}
	}
	switch {
	case k.counters != nil:
		cmp, err := k.counters.Compare(ctx)
		if err != nil {
			l.CountersError = err.Error()
		}
		l.Counters = cmp
	case k.countersErr != "":
		l.CountersError = k.countersErr
	}
}

// capabilities are those the open parts need after root is dropped.
func (k *kernelView) capabilities() []capability {
	var c []capability
	if k.resolver != nil {
		// Another user's /proc/PID/fd: listing it is a DAC check, reading
		// its links a ptrace access check (proc_fd_access_allowed).
		c = append(c,
			capability{unix.CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "list other users' /proc/PID/fd"},
			capability{unix.CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "read their socket links"})
	}
	return c
}

// close stops the background work and releases what openKernelView
// opened.
func (k *kernelView) close() {
	if k.stop != nil {
		k.stop()
	}
	if k.tracer != nil {
		k.tracer.Close() // ends Read
	}
	k.wg.Wait()
	if k.resolver != nil {
		k.resolver.Close()
	}
	if k.conntrack != nil {
		k.conntrack.Close()
	}
}
