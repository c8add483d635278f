package conntrack

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	ct "github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"

	"finwave/host"
)

// ErrUnavailable is wrapped by Open's error when conntrack cannot be read
// here: no nf_conntrack in the kernel or namespace, no ctnetlink, or not
// permitted (joining the conntrack groups and dumping need CAP_NET_ADMIN).
var ErrUnavailable = errors.New("conntrack unavailable")

// Config bounds the table. Zero values take the defaults.
type Config struct {
	// MaxEntries is how many live TCP entries are kept (default 65536);
	// entries past it are counted (Stats.Overflow), not kept.
	MaxEntries int
	// MaxDestroyed is how many destroyed entries are remembered, the
	// oldest forgotten first (default 4096; <0 remembers none).
	MaxDestroyed int
	// ReadBuffer is the event socket's receive buffer in bytes (default
	// 16 MiB; the kernel doubles it for its overhead), forced past
	// net.core.rmem_max while Open is privileged
	// (SO_RCVBUFFORCE).
	ReadBuffer int
	// StatsEvery is how often the 'invalid' counter is sampled (default
	// 1s; <0: never, ExplainReset then samples only when called).
	StatsEvery time.Duration
	// Samples is how many samples of the counter are kept (default 600).
	Samples int
}

func (c *Config) defaults() {
	if c.MaxEntries <= 0 {
		c.MaxEntries = 65536
	}
	if c.MaxDestroyed == 0 {
		c.MaxDestroyed = 4096
	}
	if c.ReadBuffer <= 0 {
		c.ReadBuffer = 16 << 20
	}
	if c.StatsEvery == 0 {
		c.StatsEvery = time.Second
	}
	if c.Samples <= 0 {
		c.Samples = 600
	}
}

// Table is the conntrack view of the namespace Open ran in: its TCP
// entries, kept current by conntrack's events, and samples of its
// 'invalid' counter. Its methods are safe for concurrent use.
type Table struct {
	t       *table
	events  *netlink.Conn // subscribed to NEW, UPDATE, DESTROY
	query   *ct.Conn      // dumps (resync): needs CAP_NET_ADMIN when sent
	stat    *os.File      // /proc/net/stat/nf_conntrack of the namespace
	liberal bool          // nf_conntrack_tcp_be_liberal when opened

	// drops reads the event socket's sk_drops (/proc/net/netlink): every
	// event the kernel could not queue. nil when it cannot be found.
	drops       *sockDrops
	drops0      uint64        // at Open
	dropsSeen   atomic.Uint64 // at the last read
	enobufs     atomic.Uint64 // ENOBUFS reports
	undecoded   atomic.Uint64 // messages ti-mo/conntrack could not decode
	resyncs     atomic.Uint64
	resyncErr   atomic.Pointer[error]
	resync      chan struct{}
	gen         uint64 // dump generation, under t.mu
	dropsSynced uint64 // drops when the last good resync began (maintain's)
	noDump      bool   // a dump was refused: EPERM (maintain's)

	inv invSamples

	closed atomic.Bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// Open opens conntrack in the calling thread's network namespace while the
// process is still privileged: it joins the conntrack event groups
// (NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY: binding needs CAP_NET_ADMIN,
// nfnetlink has no NL_CFG_F_NONROOT_RECV; once bound the socket keeps
// receiving after privileges are dropped), dumps the TCP entries, and
// opens /proc/net/stat/nf_conntrack for the 'invalid' counter. The error
// wraps ErrUnavailable when conntrack is not there or not permitted.
func Open(cfg Config) (*Table, error) {
	cfg.defaults()
	// /proc/thread-self, not /proc/self: the caller may have entered the
	// namespace on this thread only (setns).
	stat, err := os.Open("/proc/thread-self/net/stat/nf_conntrack")
	if err != nil {
		return nil, fmt.Errorf("conntrack: no nf_conntrack here: %w: %w", ErrUnavailable, err)
	}
	tb := &Table{
		t:      newTable(cfg.MaxEntries, cfg.MaxDestroyed),
		stat:   stat,
		resync: make(chan struct{}, 1),
		done:   make(chan struct{}),
		inv:    newInvSamples(cfg.Samples),
	}
	// net sysctls are those of the opening task's namespace (current->nsproxy).
	if b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal"); err == nil {
		tb.liberal = strings.TrimSpace(string(b)) != "0"
	}
	fail := func(what string, err error) (*Table, error) {
		tb.closeAll()
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPROTONOSUPPORT) ||
			errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("conntrack: %s: %w", what, err)
	}
	if tb.events, err = netlink.Dial(unix.NETLINK_NETFILTER, nil); err != nil {
		return fail("netlink", err)
	}
	// mdlayher/socket sets SO_RCVBUFFORCE (past net.core.rmem_max) while
	// privileged, SO_RCVBUF otherwise.
	if err := tb.events.SetReadBuffer(cfg.ReadBuffer); err != nil {
		return fail("event buffer", err)
	}
	for _, g := range netfilter.GroupsCT {
		if err := tb.events.JoinGroup(uint32(g)); err != nil {
			return fail("joining the conntrack event groups", err)
		}
	}
	tb.drops = openDrops(tb.events)
	tb.drops0, _ = tb.drops.read()
	tb.dropsSynced = tb.drops0
	if tb.query, err = ct.Dial(nil); err != nil {
		return fail("netlink", err)
	}
	// Subscribed first, then dumped: an entry made meanwhile is in one or
	// the other (see merge for the order of the two).
	if err := tb.dump(); err != nil {
		return fail("dump", err)
	}
	if _, err := tb.sample(time.Now()); err != nil {
		return fail("reading /proc/net/stat/nf_conntrack", err)
	}
	tb.wg.Add(2)
	go tb.listen()
	go tb.maintain(cfg.StatsEvery)
	return tb, nil
}

// dump reads every TCP entry (IPCTNL_MSG_CT_GET with NLM_F_DUMP) and
// merges it: a dumped entry replaces what events said before the dump
// began, and live entries the dump lacks are moved to the destroyed ones
// (their DESTROY was lost). ctnetlink_rcv_msg needs CAP_NET_ADMIN of the
// sender when the request is sent (nfnetlink_rcv_msg, netlink_net_capable).
func (tb *Table) dump() error {
	start := time.Now()
	flows, err := tb.query.Dump(nil)
	if err != nil {
		return err
	}
	tb.t.mu.Lock()
	defer tb.t.mu.Unlock()
	tb.gen++
	for i := range flows {
		if r, ok := fromFlow(&flows[i], start); ok {
			// An event applied since the dump began is newer than the dump.
			if old := tb.t.live[dirKey(r.Orig)]; old != nil && old.Read.After(start) {
				old.gen = tb.gen
				continue
			}
			if g := tb.t.goneIdx[dirKey(r.Orig)]; g != nil && g.Destroyed.After(start) {
				continue
			}
			tb.t.upsert(r, tb.gen)
		}
	}
	if tb.gen > 1 {
		tb.t.sweep(tb.gen, start)
	} else {
		for _, p := range tb.t.live {
			p.gen = tb.gen
		}
	}
	return nil
}

// listen applies conntrack's events until Close. ENOBUFS means the kernel
// dropped events for want of room in the socket's buffer
// (netlink_overrun): a resync (a new dump) is asked for. The kernel
// reports ENOBUFS once per congestion (NETLINK_S_CONGESTED) and drops
// silently while it lasts, so maintain also watches the socket's drop
// counter and resyncs again while it rises.
func (tb *Table) listen() {
	defer tb.wg.Done()
	for {
		msgs, err := tb.events.Receive()
		if tb.closed.Load() {
			return
		}
		if err != nil {
			switch {
			case errors.Is(err, unix.ENOBUFS):
				tb.enobufs.Add(1)
				select {
				case tb.resync <- struct{}{}:
				default:
				}
				continue
			case errors.Is(err, unix.EBADF) || errors.Is(err, os.ErrClosed):
				return
			}
			e := fmt.Errorf("conntrack: events: %w", err)
			tb.resyncErr.Store(&e)
			return
		}
		now := time.Now()
		for _, m := range msgs {
			var ev ct.Event
			if err := ev.Unmarshal(m); err != nil || ev.Flow == nil {
				tb.undecoded.Add(1)
				continue
			}
			r, ok := fromFlow(ev.Flow, now)
			if !ok {
				continue
			}
			tb.t.mu.Lock()
			tb.t.events++
			switch ev.Type {
			case ct.EventNew, ct.EventUpdate:
				tb.t.upsert(r, tb.gen)
			case ct.EventDestroy:
				tb.t.destroy(r, now, false)
			}
			tb.t.mu.Unlock()
		}
	}
}

// maintain samples the invalid counter and resyncs after lost events:
// when listen saw ENOBUFS, and at each tick while the socket's drop
// counter has risen since the last resync began (events dropped during a
// dump are caught by the next one).
func (tb *Table) maintain(every time.Duration) {
	defer tb.wg.Done()
	sampling := every > 0
	if !sampling {
		every = time.Second
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-tb.done:
			return
		case now := <-tk.C:
			if sampling {
				tb.sample(now)
			}
			if d, err := tb.drops.read(); err == nil {
				tb.dropsSeen.Store(d)
				if d > tb.dropsSynced {
					tb.resyncNow(d)
				}
			}
		case <-tb.resync:
			d, _ := tb.drops.read()
			tb.resyncNow(d)
		}
	}
}

// resyncNow dumps; drops is the drop counter read before the dump began.
// A dump refused for want of CAP_NET_ADMIN (privileges dropped) is not
// tried again: Stats.Err says so and the table goes on from events.
func (tb *Table) resyncNow(drops uint64) {
	if tb.noDump {
		return
	}
	if err := tb.dump(); err != nil {
		e := fmt.Errorf("conntrack: resync after lost events: %w", err)
		tb.resyncErr.Store(&e)
		tb.noDump = errors.Is(err, unix.EPERM)
		return
	}
	tb.resyncs.Add(1)
	tb.dropsSynced = max(tb.dropsSynced, drops)
}

// Lookup finds the entry of the flow a segment src → dst belongs to,
// whether the pair is the entry's original direction, its reply, or
// either reversed, so both sides of a NAT find it; a live entry first,
// else the newest destroyed one remembered.
func (tb *Table) Lookup(src, dst netip.AddrPort) (host.Entry, bool) {
	f, ok := tb.Find(src, dst)
	return f.Entry, ok
}

// Find is Lookup with which pair matched and when the entry was read or
// destroyed.
func (tb *Table) Find(src, dst netip.AddrPort) (Found, bool) {
	tb.t.mu.Lock()
	defer tb.t.mu.Unlock()
	return tb.t.find(src, dst)
}

// Stats are the table's counters.
type Stats struct {
	Live, Destroyed int    // entries held
	Events          uint64 // events applied
	// Lost is how many events the kernel dropped for want of room in the
	// socket's buffer (its sk_drops since Open); ENOBUFS how many times it
	// said so (once per congestion). Undecoded: messages not decoded.
	Lost, ENOBUFS, Undecoded uint64
	Resyncs                  uint64 // dumps done after lost events
	Overflow                 uint64 // entries not kept: MaxEntries reached
	// Err is why events stopped or a resync failed (e.g. EPERM: a dump
	// after privileges were dropped without CAP_NET_ADMIN), nil if none.
	Err error
}

// Stats returns the table's counters.
func (tb *Table) Stats() Stats {
	tb.t.mu.Lock()
	s := Stats{Live: tb.t.nlive, Destroyed: len(tb.t.gone), Events: tb.t.events, Overflow: tb.t.overflow}
	tb.t.mu.Unlock()
	s.Lost = tb.Lost()
	s.ENOBUFS = tb.enobufs.Load()
	s.Undecoded = tb.undecoded.Load()
	s.Resyncs = tb.resyncs.Load()
	if e := tb.resyncErr.Load(); e != nil {
		s.Err = *e
	}
	return s
}

// Lost is how many events the kernel dropped (as last read, at most a
// tick ago), or, when the socket's drop counter cannot be read, how many
// times it reported ENOBUFS.
func (tb *Table) Lost() uint64 {
	if tb.drops == nil {
		return tb.enobufs.Load()
	}
	if d, err := tb.drops.read(); err == nil {
		tb.dropsSeen.Store(d)
	}
	return tb.dropsSeen.Load() - tb.drops0
}

// Close stops the table and closes its sockets.
func (tb *Table) Close() error {
	if tb.closed.Swap(true) {
		return nil
	}
	close(tb.done)
	err := tb.closeAll()
	tb.wg.Wait()
	return err
}

func (tb *Table) closeAll() error {
	var errs []error
	if tb.events != nil {
		errs = append(errs, tb.events.Close())
	}
	if tb.query != nil {
		errs = append(errs, tb.query.Close())
	}
	if tb.stat != nil {
		errs = append(errs, tb.stat.Close())
	}
	if tb.drops != nil {
		errs = append(errs, tb.drops.f.Close())
	}
	return errors.Join(errs...)
}
