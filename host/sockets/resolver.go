package sockets

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"finwave/host"
)

// Options tune a Resolver. The zero value is usable.
type Options struct {
	// MinInterval is the least time between two dumps: a Refresh sooner
	// than that after the last one does nothing. 0 means 500ms; negative,
	// no limit.
	MinInterval time.Duration
	// Remember is how many sockets that are gone keep their record (and
	// owner), the oldest gone forgotten first. 0 means 65536.
	Remember int
	// Proc is procfs's mount point; "" means /proc.
	Proc string
	// ProcNet makes the Resolver read /proc/net/tcp{,6} instead of
	// sock_diag netlink (for tests, and hosts where netlink is refused).
	ProcNet bool
}

const (
	defaultMinInterval = 500 * time.Millisecond
	defaultRemember    = 1 << 16
	// scanTries is how many /proc scans look for an inode before it is
	// given up as held by no process we can see: a socket accept() made is
	// in the dump a moment before its descriptor is installed
	// (do_accept then fd_install), so one miss is not final.
	scanTries = 3
	// maxRecent bounds the processes a scan reads before the others.
	maxRecent = 64
)

// Status says how far a socket's owner is known.
type Status uint8

const (
	// Unseen: no dump since the flow appeared has been made yet; Refresh
	// (or Resolve) and ask again.
	Unseen Status = iota
	// Owned: the owner is known (Attribution.Live says whether the socket
	// still exists).
	Owned
	// Unattributed: the kernel dumped the socket but no owner was found;
	// Reason says why.
	Unattributed
	// Gone: a dump made after the flow appeared did not hold the socket
	// and none before did: it closed before it could be attributed (or it
	// is not this namespace's).
	Gone
)

var statusNames = [...]string{"unseen", "owned", "unattributed", "gone"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// Reason says why an Unattributed socket has no owner.
type Reason uint8

const (
	NoReason Reason = iota
	// Closed: the socket had no inode when first dumped: its process had
	// already closed it (a TIME_WAIT sock, an orphan in FIN_WAIT or
	// LAST_ACK; sock_orphan clears sk_socket).
	Closed
	// Unaccepted: the socket has no inode but its process cannot have
	// closed it (ESTABLISHED, CLOSE_WAIT, SYN_RECV): it waits in its
	// listener's accept queue, no process has it yet (inet_csk_accept
	// grafts it to a struct socket).
	Unaccepted
	// Denied: some processes' /proc/PID/fd could not be read (another
	// user's, without CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE) and none of
	// the others held it.
	Denied
	// NoProcess: every process's descriptors were read and none holds it
	// (a process of another pid namespace, or a socket only the kernel
	// holds, such as one still in a listener's accept queue).
	NoProcess
	numReasons
)

var reasonNames = [...]string{"",
	"closed by its process before it could be attributed",
	"not accepted yet: in its listener's accept queue",
	"permission denied reading /proc/PID/fd",
	"no process in this pid namespace holds it"}

var _ [numReasons]string = reasonNames

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "invalid"
}

// Attribution is what the Resolver knows of a tuple's socket.
type Attribution struct {
	Status Status
	Reason Reason // for Unattributed
	// Tuple is the socket's pair as the kernel named it: the one asked,
	// or its Reverse when only that one is a socket of this namespace.
	Tuple host.Tuple
	// Owner is the process holding it (PID, Comm, Cgroup, Container),
	// with the socket's UID and Inode while a process held it (kept
	// through TIME_WAIT, whose sock has neither); for Unattributed only
	// UID and Inode. Runtime and Pod are the container runtime and the pod UID
	// (see Process), Shared how many other processes hold it too: every
	// one for a socket attributed by Open's scan, which reads every
	// process; only among the processes read for a later one, as later
	// scans stop once every new inode has an owner.
	Owner        host.Owner
	Runtime, Pod string
	Shared       int
	// Socket is the kernel's last record of it; Live whether the last
	// dump still held it. FirstSeen and LastSeen are the first and last
	// dumps that held it.
	Socket              Socket
	Live                bool
	FirstSeen, LastSeen time.Time
}

// Known is whether the owner is known.
func (a Attribution) Known() bool { return a.Status == Owned }

// String is a short account: "nginx pid 1234", "gone before it could be
// attributed", "unattributed: …".
func (a Attribution) String() string {
	switch a.Status {
	case Owned:
		s := fmt.Sprintf("%s pid %d", a.Owner.Comm, a.Owner.PID)
		if a.Owner.Container != "" {
			s += " container " + shortID(a.Owner.Container)
		}
		if a.Shared > 0 {
			s += fmt.Sprintf(" (+%d processes)", a.Shared)
		}
		return s
	case Unattributed:
		return "unattributed: " + a.Reason.String()
	case Gone:
		return "socket gone before it could be attributed"
	}
	return "not dumped yet"
}

func shortID(id string) string { return id[:min(12, len(id))] }

// owner is an attributed socket's process, shared by the entries of the
// tuples that socket had (its TIME_WAIT successor keeps it).
type owner struct {
	proc   Process
	shared int
	gen    uint64 // the last refresh whose dump held its inode
}

// entry is one socket the Resolver has seen.
type entry struct {
	sock Socket
	// inode and uid are the socket's while its process held it: a
	// TIME_WAIT sock reports neither (inet_twsk_diag_fill).
	inode     uint64
	uid       uint32
	owner     *owner
	reason    Reason
	tries     uint8 // /proc scans that looked for its inode
	gen       uint64
	firstSeen time.Time
	lastSeen  time.Time
}

// Resolver maps tuples of the namespace it was opened in to the processes
// owning their sockets. Its methods may be called from several goroutines.
type Resolver struct {
	mu   sync.Mutex
	opts Options

	diag     *diag
	procNet  *procNet
	fallback string // why /proc/net/tcp is read instead of netlink

	scanner *scanner
	socks   []Socket // the last dump, reused
	gen     uint64
	last    time.Time // when the last dump was made

	live    map[host.Tuple]*entry
	gone    map[host.Tuple]*entry
	goneQ   []host.Tuple // gone tuples, oldest first (a ring of goneHead)
	goneHd  int
	byInode map[uint64]*owner // live attributed inodes
	recent  []int             // the owners the last scan found, read first by the next
	want    map[uint64]*holding

	stats Stats
}

// Stats is what the last refresh did, for diagnostics and benchmarks.
type Stats struct {
	Source    string // "sock_diag" or "/proc/net/tcp"
	Fallback  string // why netlink is not used, "" when it is
	Refreshes int
	Sockets   int // in the last dump
	Gone      int // remembered gone sockets
	// Scanned is whether the last refresh read /proc (it does only for
	// inodes not yet attributed); Procs and FDs what it read, Denied the
	// processes whose fds it could not read.
	Scanned            bool
	Procs, FDs, Denied int
	Took               time.Duration
}

// Open opens a Resolver for the network namespace of the calling thread:
// the sock_diag netlink socket (or, if netlink is refused, /proc/net/tcp
// and tcp6, saying why in Stats().Fallback), then makes a first dump and
// /proc scan while the caller still has its privileges. Call it before
// dropping root.
func Open(opts Options) (*Resolver, error) {
	if opts.MinInterval == 0 {
		opts.MinInterval = defaultMinInterval
	}
	if opts.Remember <= 0 {
		opts.Remember = defaultRemember
	}
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	r := &Resolver{
		opts:    opts,
		scanner: newScanner(opts.Proc),
		live:    make(map[host.Tuple]*entry),
		gone:    make(map[host.Tuple]*entry),
		byInode: make(map[uint64]*owner),
		want:    make(map[uint64]*holding),
	}
	pn, perr := openProcNet()
	if perr == nil {
		r.procNet = pn
	}
	if opts.ProcNet {
		r.fallback = "asked for /proc/net/tcp"
	} else if d, err := openDiag(); err != nil {
		r.fallback = err.Error()
	} else {
		r.diag = d
	}
	if r.diag == nil && r.procNet == nil {
		return nil, fmt.Errorf("sockets: no source: %s; %w", r.fallback, perr)
	}
	if err := r.refresh(time.Now()); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close releases the netlink socket and the /proc/net files.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.diag != nil {
		err = r.diag.close()
		r.diag = nil
	}
	if r.procNet != nil {
		r.procNet.close()
		r.procNet = nil
	}
	return err
}

// Refresh dumps the namespace's sockets and attributes the new ones,
// unless the last dump is younger than Options.MinInterval; it says
// whether it dumped.
func (r *Resolver) Refresh() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.opts.MinInterval > 0 && now.Sub(r.last) < r.opts.MinInterval {
		return false, nil
	}
	return true, r.refresh(now)
}

// dump reads every socket, from netlink or, once netlink has failed,
// from /proc/net/tcp{,6}.
func (r *Resolver) dump() error {
	var err error
	if r.diag != nil {
		if r.socks, err = r.diag.dumpAll(r.socks); err == nil {
			return nil
		}
		if r.procNet == nil {
			return fmt.Errorf("sockets: %w", err)
		}
		r.diag.close()
		r.diag = nil
		r.fallback = err.Error()
	}
	if r.procNet == nil {
		return errors.New("sockets: resolver closed")
	}
	if r.socks, err = r.procNet.dumpAll(r.socks); err != nil {
		return fmt.Errorf("sockets: %w", err)
	}
	return nil
}

func (r *Resolver) refresh(now time.Time) error {
	if err := r.dump(); err != nil {
		return err
	}
	r.gen++
	r.last = now
	clear(r.want)
	for i := range r.socks {
		s := &r.socks[i]
		e := r.live[s.Tuple]
		if e == nil {
			if e = r.gone[s.Tuple]; e != nil {
				// The tuple is back: a new connection reusing it. The
				// gone record's slot in goneQ is skipped at eviction.
				delete(r.gone, s.Tuple)
				e = nil
			}
		}
		if e != nil && s.Inode != 0 && s.Inode != e.sock.Inode {
			e = nil // a new socket on the same tuple
		}
		if e == nil {
			e = &entry{firstSeen: now}
		}
		if s.Inode == 0 && e.owner == nil && (e.reason == NoReason || e.reason == Unaccepted) {
			e.reason = inodeless(s.State)
		}
		// An entry whose socket went on to TIME_WAIT (inode 0 from then on,
		// inet_twsk_diag_fill) keeps the owner it had.
		e.sock = *s
		if s.Inode != 0 {
			e.inode, e.uid = s.Inode, s.UID
		}
		e.gen = r.gen
		e.lastSeen = now
		r.live[s.Tuple] = e
		if e.owner == nil && s.Inode != 0 {
			if o := r.byInode[s.Inode]; o != nil {
				e.owner = o
			} else if e.tries < scanTries {
				r.want[s.Inode] = &holding{}
			}
		}
	}
	r.stats.Scanned = len(r.want) > 0
	var st scanStats
	if len(r.want) > 0 {
		var err error
		// The first scan (Open's) reads every process, so that the
		// sharers of the sockets that exist at start are counted whole;
		// later ones read the latest owners first and stop once every new
		// inode is found.
		full := r.stats.Refreshes == 0
		if st, err = r.scanner.scan(r.want, r.recent, full); err != nil {
			return fmt.Errorf("sockets: %w", err)
		}
		procs := make(map[int]Process)
		for ino, h := range r.want {
			if h.pid == 0 {
				continue
			}
			p, ok := procs[h.pid]
			if !ok {
				p = r.scanner.process(h.pid)
				procs[h.pid] = p
			}
			r.byInode[ino] = &owner{proc: p, shared: h.others}
		}
		// The owners found this time are read first next time.
		if len(procs) > 0 {
			r.recent = r.recent[:0]
		}
		for pid := range procs {
			if len(r.recent) == maxRecent {
				break
			}
			r.recent = append(r.recent, pid)
		}
	}
	// One pass over what is live: attribute what the scan found, move
	// what the dump no longer holds to gone, and forget the inodes of
	// sockets that are no longer live.
	liveInodes := 0
	for t, e := range r.live {
		if e.gen != r.gen {
			delete(r.live, t)
			r.remember(t, e)
			continue
		}
		ino := e.sock.Inode
		if ino == 0 {
			continue
		}
		liveInodes++
		if e.owner == nil {
			if o := r.byInode[ino]; o != nil {
				e.owner, e.reason = o, NoReason
			}
		}
		if e.owner != nil {
			e.owner.gen = r.gen
			continue
		}
		if _, looked := r.want[ino]; looked {
			e.tries++
			if st.denied > 0 {
				e.reason = Denied
			} else {
				e.reason = NoProcess
			}
		}
	}
	if len(r.byInode) > liveInodes {
		for ino, o := range r.byInode {
			if o.gen != r.gen {
				delete(r.byInode, ino)
			}
		}
	}
	r.stats.Refreshes++
	r.stats.Sockets = len(r.socks)
	r.stats.Gone = len(r.gone)
	r.stats.Procs, r.stats.FDs, r.stats.Denied = st.procs, st.fds, st.denied
	r.stats.Took = time.Since(now)
	return nil
}

// remember keeps a gone socket's record, forgetting the oldest gone ones
// past Options.Remember.
func (r *Resolver) remember(t host.Tuple, e *entry) {
	r.gone[t] = e
	r.goneQ = append(r.goneQ, t)
	for len(r.gone) > r.opts.Remember && r.goneHd < len(r.goneQ) {
		old := r.goneQ[r.goneHd]
		r.goneHd++
		if g := r.gone[old]; g != nil && g.gen < r.gen {
			delete(r.gone, old)
		}
	}
	// Compact the queue once its dead head is half of it.
	if r.goneHd > 1024 && r.goneHd*2 > len(r.goneQ) {
		r.goneQ = append(r.goneQ[:0], r.goneQ[r.goneHd:]...)
		r.goneHd = 0
	}
}

// Lookup says what is known of tuple t's socket (t as the local kernel
// names it; its Reverse is tried too) from the dumps made so far. It never
// dumps: a tuple no dump held is Unseen.
func (r *Resolver) Lookup(t host.Tuple) Attribution {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookup(t.Unmap())
}

func (r *Resolver) lookup(t host.Tuple) Attribution {
	for _, k := range [2]host.Tuple{t, t.Reverse()} {
		if e := r.live[k]; e != nil {
			return e.attribution(k, true)
		}
	}
	for _, k := range [2]host.Tuple{t, t.Reverse()} {
		if e := r.gone[k]; e != nil {
			return e.attribution(k, false)
		}
	}
	return Attribution{Status: Unseen, Tuple: t}
}

// Resolve is Lookup for a flow first seen at since: a tuple no dump has
// held yet makes it Refresh (rate-limited) when the last dump is older
// than since; a tuple that a dump made after since did not hold, and no
// earlier one did, is Gone.
func (r *Resolver) Resolve(t host.Tuple, since time.Time) (Attribution, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t = t.Unmap()
	a := r.lookup(t)
	if a.Status != Unseen {
		return a, nil
	}
	if !r.last.After(since) {
		now := time.Now()
		if r.opts.MinInterval > 0 && now.Sub(r.last) < r.opts.MinInterval {
			return a, nil // too soon to dump again: ask later
		}
		if err := r.refresh(now); err != nil {
			return a, err
		}
		if a = r.lookup(t); a.Status != Unseen {
			return a, nil
		}
	}
	if r.last.After(since) {
		a.Status = Gone
	}
	return a, nil
}

// Cached is Resolve without a dump: what the dumps made so far say of t, a
// flow first seen at since (Gone when one made after since did not hold
// it). It never blocks on the kernel: for a caller on a hot path, with
// Refresh called elsewhere.
func (r *Resolver) Cached(t host.Tuple, since time.Time) Attribution {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.lookup(t.Unmap())
	if a.Status == Unseen && r.last.After(since) {
		a.Status = Gone
	}
	return a
}

// inodeless is why a socket dumped without an inode has no owner: its
// process closed it (sock_orphan, or a TIME_WAIT sock), or none has
// accepted it yet.
func inodeless(s host.State) Reason {
	switch s {
	case host.Established, host.CloseWait, host.SynRecv, host.NewSynRecv:
		return Unaccepted
	}
	return Closed
}

func (e *entry) attribution(t host.Tuple, live bool) Attribution {
	a := Attribution{
		Tuple:     t,
		Socket:    e.sock,
		Live:      live,
		FirstSeen: e.firstSeen,
		LastSeen:  e.lastSeen,
		Owner:     host.Owner{UID: e.uid, Inode: e.inode},
	}
	if e.owner == nil {
		a.Status, a.Reason = Unattributed, e.reason
		return a
	}
	p := e.owner.proc
	a.Status = Owned
	a.Owner.PID, a.Owner.Comm, a.Owner.Cgroup, a.Owner.Container = p.PID, p.Comm, p.Cgroup, p.Container
	a.Runtime, a.Pod, a.Shared = p.Runtime, p.Pod, e.owner.shared
	return a
}

// Stats says what the last refresh did.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Fallback = r.fallback
	s.Source = "sock_diag"
	if r.diag == nil {
		s.Source = "/proc/net/tcp"
	}
	return s
}

// Sockets calls f for every socket of the last dump with what is known of
// its owner.
func (r *Resolver) Sockets(f func(Attribution)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, e := range r.live {
		f(e.attribution(t, true))
	}
}
