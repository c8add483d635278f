package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"finwave/report"
	"finwave/rollup"
)

// rollupFlags are the flags of the per-host and per-service roll-up:
// which tables (finwave hosts, --by), the predicted counters (--nstat),
// and the kernel limits the figures are measured against.
type rollupFlags struct {
	by        string
	nstat     bool
	portRange string
	maxTW     int
}

func (f *rollupFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.by, "by", "", "print only the roll-up `TABLES`: host, service, pair (comma list; finwave hosts: all)")
	fs.BoolVar(&f.nstat, "nstat", false, "print each host's predicted nstat counters in nstat's format, alone")
	fs.StringVar(&f.portRange, "port-range", "32768-60999", "the clients' net.ipv4.ip_local_port_range `LO-HI`, for port exhaustion")
	fs.IntVar(&f.maxTW, "max-tw-buckets", 262144, "the hosts' net.ipv4.tcp_max_tw_buckets `N`")
}

// apply sets the report options; hosts is `finwave hosts`.
func (f *rollupFlags) apply(o *report.Options, hosts bool) error {
	ro := rollup.DefaultOptions()
	lo, hi, ok := strings.Cut(f.portRange, "-")
	l, lerr := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	h, herr := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if !ok || lerr != nil || herr != nil || l == 0 || l > h {
		return usagef("--port-range %q: want LO-HI, two ports with LO ≤ HI, as in /proc/sys/net/ipv4/ip_local_port_range (e.g. 32768-60999)", f.portRange)
	}
	ro.PortRange = [2]uint16{uint16(l), uint16(h)}
	if f.maxTW < 1 {
		return usagef("--max-tw-buckets %d: want 1 or more (net.ipv4.tcp_max_tw_buckets)", f.maxTW)
	}
	ro.MaxTWBuckets = f.maxTW
	o.Rollup = ro
	if f.by != "" {
		by, err := report.ParseBy(f.by)
		if err != nil {
			return usagef("--by %v", err)
		}
		o.By = by
	} else if hosts {
		o.By = report.ByAll
	}
	o.Nstat = f.nstat
	if o.By != 0 || o.Nstat {
		// The roll-up alone: JSON lists no flow (nor group) either.
		o.SummaryOnly = true
	}
	if f.nstat && f.by != "" {
		return usagef("--nstat and --by: pick one (--nstat prints the counters alone)")
	}
	return nil
}

const hostsHelp = `Usage: finwave hosts [flags] CAPTURE...

Rolls the connections of each capture up per host (IP address), per service
(server IP:port) and per client → service pair, and prints those tables
alone:
  host     connections, how they ended, who closed first, anomalies, the
           time its sockets spent in TIME_WAIT, CLOSE_WAIT and FIN_WAIT_2,
           their populations over the capture (a sparkline, the peak and
           when), and the nstat counters its kernel should have moved
  service  the same from the server's side, its idle timeout (how long it
           lets a connection idle before closing it), how long its clients
           reuse idle connections, the keep-alive race risk, and the sockets
           it leaves in CLOSE_WAIT
  pair     connection rate, ports held (open or TIME_WAIT), and when the
           client runs out of ephemeral ports at this rate

Flags:
    --by host,service,pair   which tables (default: all three)
    --nstat                  each host's predicted counters in nstat's own
                             format (#kernel, name, value, rate), to hold
                             next to 'nstat -az' on that host; a counter the
                             capture cannot settle prints its lower bound
                             and the range in a comment
    --port-range LO-HI       the clients' ip_local_port_range (default 32768-60999)
    --max-tw-buckets N       the hosts' tcp_max_tw_buckets (default 262144)
    --json                   the same as JSON (hosts, services, pairs; SCHEMA.md)
  and every analysis flag of 'finwave --help' (--profile, --fin-timeout, ...).

Examples:
  finwave hosts trace.pcap
  finwave hosts --by service trace.pcap
  finwave hosts --nstat trace.pcap > predicted.nstat
`

func writeHostsHelp(w interface{ Write([]byte) (int, error) }) { fmt.Fprint(w, hostsHelp) }
