package hostview

import (
	"fmt"
	"strings"

	"finwave/analyzer"
	"finwave/internal/kstat"
)

// Counters compares the kernel's counters with finwave's predictions over
// one capture: the namespace's counters when it started (Start), the sum
// of the predicted increments (Teardown.Counters) of every local endpoint
// of the flows reported since (Add), and the counters again when it
// stopped (Compare). A host at both ends of a flow (loopback) counted both
// sides, as nstat does.
type Counters struct {
	dir       string // the /proc/net directory read
	locals    *Locals
	before    kstat.Counters
	predicted analyzer.CounterSet
	flows     int64 // flows with at least one local endpoint
	foreign   int64 // flows with none
}

// StartCounters reads the counters of the namespace that dir (/proc/net,
// or /proc/PID/net) belongs to. /proc/net/snmp and netstat are readable
// by every user: Compare works after root is dropped.
func StartCounters(dir string, locals *Locals) (*Counters, error) {
	before, err := kstat.Snapshot(dir)
	if err != nil {
		return nil, fmt.Errorf("hostview: kernel counters: %w", err)
	}
	return &Counters{dir: dir, locals: locals, before: before}, nil
}

// Add counts the predicted increments of t's local endpoints. It keeps
// nothing of t (the caller may recycle it).
func (c *Counters) Add(t *analyzer.Teardown) {
	local := false
	for _, s := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
		if c.locals.Has(t.Endpoint(s).Addr) {
			c.predicted.Add(&t.Counters[s])
			local = true
		}
	}
	if local {
		c.flows++
	} else {
		c.foreign++
	}
}

// Context is what the capture was, for the reasons of a difference.
type Context struct {
	Interface   string // "any" for every interface
	Filter      string // the user's capture filter, "" for none
	KernelDrops uint64 // packets the capture socket dropped
}

// Row is one counter: the kernel's increment over the capture beside the
// predicted bound.
type Row struct {
	Name      string
	Kernel    int64
	Predicted analyzer.Bound
	// Agree: Kernel within Predicted. Reason, when it is not, is the
	// likely cause of the difference.
	Agree  bool
	Reason string
}

// Comparison is the kernel's counters beside the predicted ones.
type Comparison struct {
	Rows []Row // every predicted counter, in analyzer.CounterList order
	// Flows reported with a local endpoint; Foreign those with none (a
	// capture of traffic passing through: not counted by this kernel).
	Flows, Foreign int64
	Differ         int // rows that do not agree
}

// Compare reads the counters again and compares their increments with the
// predictions.
func (c *Counters) Compare(ctx Context) (*Comparison, error) {
	after, err := kstat.Snapshot(c.dir)
	if err != nil {
		return nil, fmt.Errorf("hostview: kernel counters: %w", err)
	}
	return c.compare(kstat.Delta(c.before, after), ctx), nil
}

// compare builds the rows from the kernel's increments d.
func (c *Counters) compare(d kstat.Counters, ctx Context) *Comparison {
	cmp := &Comparison{Flows: c.flows, Foreign: c.foreign}
	for _, k := range analyzer.CounterList() {
		r := Row{Name: k.String(), Kernel: d[k.String()], Predicted: c.predicted[k]}
		switch {
		case r.Kernel > int64(r.Predicted.Max):
			r.Reason = moreReason(r, ctx)
		case r.Kernel < int64(r.Predicted.Min):
			r.Reason = fewerReason(r)
		default:
			r.Agree = true
		}
		if !r.Agree {
			cmp.Differ++
		}
		cmp.Rows = append(cmp.Rows, r)
	}
	return cmp
}

// moreReason is why the kernel counted more than finwave saw: what the
// capture did not show it, most likely first.
func moreReason(r Row, ctx Context) string {
	var why []string
	if ctx.KernelDrops > 0 {
		why = append(why, fmt.Sprintf("the capture dropped %d packets (ring full)", ctx.KernelDrops))
	}
	if strings.TrimSpace(ctx.Filter) != "" {
		why = append(why, fmt.Sprintf("traffic the capture filter %q left out", ctx.Filter))
	}
	if ctx.Interface != "" && ctx.Interface != "any" {
		why = append(why, fmt.Sprintf("connections on interfaces other than %s", ctx.Interface))
	}
	if len(why) == 0 {
		why = append(why, "events the tap cannot see (segments a firewall dropped before it, a socket's own timer that fired after its flow was reported)")
	}
	return fmt.Sprintf("the kernel counted %d more than the capture shows: %s",
		r.Kernel-int64(r.Predicted.Max), strings.Join(why, "; or "))
}

// fewerReason is why the kernel counted less than finwave predicted.
func fewerReason(r Row) string {
	return fmt.Sprintf("the kernel counted %d fewer than the capture shows: segments lost or dropped after the tap (an INPUT firewall rule, a bad checksum) never reached the socket, or the flows' sockets live in another network namespace",
		int64(r.Predicted.Min)-r.Kernel)
}
