package conntrack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// InvalidWindow is how far before a RST ExplainReset looks for a rise of
// conntrack's 'invalid' counter: the segment conntrack found INVALID came
// at most about a round trip before the RST that answered it.
const InvalidWindow = time.Second

// invSamples is a bounded ring of samples of the namespace's 'invalid'
// counter, in time order.
type invSamples struct {
	mu   sync.Mutex
	ring []invSample
	next int
	full bool
	buf  []byte
}

type invSample struct {
	t time.Time
	v uint64
}

func newInvSamples(n int) invSamples {
	return invSamples{ring: make([]invSample, n), buf: make([]byte, 16<<10)}
}

func (s *invSamples) add(x invSample) {
	s.ring[s.next] = x
	s.next++
	if s.next == len(s.ring) {
		s.next, s.full = 0, true
	}
}

// each calls f on the samples oldest first until f returns false.
func (s *invSamples) each(f func(invSample) bool) {
	n := s.next
	if s.full {
		n = len(s.ring)
	}
	start := 0
	if s.full {
		start = s.next
	}
	for i := 0; i < n; i++ {
		if !f(s.ring[(start+i)%len(s.ring)]) {
			return
		}
	}
}

// sample reads the 'invalid' counter, summed over the CPUs, and keeps it.
func (tb *Table) sample(now time.Time) (uint64, error) {
	s := &tb.inv
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := readInvalid(tb.stat, &s.buf)
	if err != nil {
		return 0, err
	}
	s.add(invSample{now, v})
	return v, nil
}

// Invalid reads conntrack's 'invalid' counter of the namespace now: the
// packets nf_conntrack_in found INVALID (NF_CT_STAT_INC(net, invalid)),
// the sum of /proc/net/stat/nf_conntrack's per-CPU column, what
// `conntrack -S` prints as invalid=.
func (tb *Table) Invalid() (uint64, error) { return tb.sample(time.Now()) }

// readInvalid parses /proc/net/stat/nf_conntrack (ct_cpu_seq_show in
// net/netfilter/nf_conntrack_standalone.c): a header naming the columns,
// then a line per possible CPU of hexadecimal counters.
func readInvalid(f io.ReaderAt, buf *[]byte) (uint64, error) {
	n, err := f.ReadAt(*buf, 0)
	for err == nil && n == len(*buf) { // more CPUs than room: grow
		*buf = make([]byte, 2*len(*buf))
		n, err = f.ReadAt(*buf, 0)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("conntrack: stat: %w", err)
	}
	return parseInvalid((*buf)[:n])
}

func parseInvalid(b []byte) (uint64, error) {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	col := -1
	for i, name := range bytes.Fields(lines[0]) {
		if string(name) == "invalid" {
			col = i
		}
	}
	if col < 0 {
		return 0, fmt.Errorf("conntrack: stat: no 'invalid' column in %q", lines[0])
	}
	var sum uint64
	for _, l := range lines[1:] {
		fs := bytes.Fields(l)
		if col >= len(fs) {
			return 0, fmt.Errorf("conntrack: stat: short line %q", l)
		}
		v, err := strconv.ParseUint(string(fs[col]), 16, 32)
		if err != nil {
			return 0, fmt.Errorf("conntrack: stat: %w", err)
		}
		sum += v
	}
	return sum, nil
}

// invalidAround says how much the 'invalid' counter rose between the last
// sample at least InvalidWindow before at (else the first sample) and the
// first sample at or after at, sampling now if there is none yet.
func (tb *Table) invalidAround(at time.Time) (rise uint64, from, to time.Time, ok bool) {
	var before, after invSample
	tb.inv.mu.Lock()
	tb.inv.each(func(x invSample) bool {
		if before.t.IsZero() || !x.t.After(at.Add(-InvalidWindow)) {
			before = x
		}
		if !x.t.Before(at) {
			after = x
			return false
		}
		return true
	})
	tb.inv.mu.Unlock()
	if after.t.IsZero() {
		now := time.Now()
		if now.Before(at) {
			return 0, time.Time{}, time.Time{}, false
		}
		v, err := tb.sample(now)
		if err != nil {
			return 0, time.Time{}, time.Time{}, false
		}
		after = invSample{now, v}
	}
	if before.t.IsZero() || before.t.After(at) {
		return 0, time.Time{}, time.Time{}, false
	}
	if after.v > before.v {
		rise = after.v - before.v
	}
	return rise, before.t, after.t, true
}

// Verdict is ExplainReset's reading of a RST seen on the wire.
type Verdict struct {
	// Found is the NAT'd flow's entry and which of its pairs the RST had.
	Found
	// Untranslated: the RST carried the entry's translated pair in the
	// original direction (Pair ReplyReversed: client → backend, or the
	// masquerading host's address → backend). That is what the backend
	// side of the NAT carries; on any other side it is a stack answering
	// a segment that was not de-NATed, which happens when conntrack found
	// the segment INVALID (nf_conntrack_tcp_packet returns -NF_ACCEPT:
	// the packet goes on untracked, so nf_nat_ipv4_fn finds no ct and
	// translates nothing) and the stack that got it had no such socket.
	Untranslated bool
	// InvalidRise is how much conntrack's 'invalid' counter rose between
	// From and To, an interval around the RST (Counted: it was sampled).
	InvalidRise uint64
	From, To    time.Time
	Counted     bool
	// Invalid names the Kubernetes failure: Untranslated and the counter
	// rose. Liberal is nf_conntrack_tcp_be_liberal when opened (with 1,
	// out-of-window segments are not INVALID).
	Invalid bool
	Liberal bool
	// Text is one line for a report.
	Text string
}

// ExplainReset reads a RST seen on the wire, src → dst at time at, against
// the NAT'd flows: ok is false when no entry with NAT (live or
// remembered) has that pair. Call it when the RST is seen (live), so that
// the counter samples around at exist.
func (tb *Table) ExplainReset(src, dst netip.AddrPort, at time.Time) (Verdict, bool) {
	f, ok := tb.Find(src, dst)
	if !ok || !(f.SNAT || f.DNAT) {
		return Verdict{}, false
	}
	v := Verdict{Found: f, Liberal: tb.liberal}
	v.Untranslated = f.Pair == ReplyReversed
	v.InvalidRise, v.From, v.To, v.Counted = tb.invalidAround(at)
	v.Invalid = v.Untranslated && v.InvalidRise > 0
	flow := f.Orig.Src.String() + " → " + f.Orig.Dst.String() + " (NAT'd to " + f.Reply.Src.String() + ")"
	switch {
	case v.Invalid:
		v.Text = fmt.Sprintf("RST from the host for a segment conntrack found INVALID: the segment was not de-NATed "+
			"(nf_conntrack_tcp_be_liberal=%d), so a stack answered the un-translated pair %s → %s of %s; "+
			"conntrack's 'invalid' counter rose by %d", b2i(v.Liberal), src, dst, flow, v.InvalidRise)
	case v.Untranslated:
		v.Text = "RST on the translated pair of " + flow + ": normal on the backend side of the NAT; " +
			"elsewhere a segment not de-NATed, but conntrack's 'invalid' counter did not rise"
	default:
		v.Text = "RST of " + flow + ", conntrack state " + f.State
	}
	return v, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
