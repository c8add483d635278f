package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"finwave/analyzer"
)

const helpHead = `finwave explains how TCP connections end.

It reads packet captures (pcap, pcapng, gzip of either, or stdin), follows
every TCP connection, runs a close state machine for each endpoint (Linux or
RFC 793 behaviour), labels the FIN/ACK/RST segments of each teardown and
reports what went wrong: TIME_WAIT assassination, RST on close with unread
data, SO_LINGER 0 aborts, lost final ACKs, stuck CLOSE_WAIT, ...

Usage:
  finwave [flags] CAPTURE...          analyse each capture (its own report)
  finwave [flags] CAPTURE... EXPRESSION   only the frames a tcpdump filter accepts (or -f EXPR)
  finwave hosts [flags] CAPTURE...    per host, service and client→service pair (finwave hosts --help)
  finwave check [flags] CAPTURE...    check captures against .expect files
  finwave live -i IFACE [flags] [FILTER]   sniff an interface, report flows as they end (root)
  finwave help [kinds|check|hosts|live]   this text; anomaly kinds and labels; a subcommand
  finwave version                     finwave's version, its Go version and the Linux it models

Examples:
  finwave trace.pcap                          what happened, summary, hosts, then the flows worth
                                              reading in groups (one exemplar ladder each)
  finwave --stream 3 trace.pcapng             every segment of tcp.stream 3
  finwave trace.pcap 'tcp port 8080'          only the frames of port 8080, as tcpdump -r would
  finwave -w resets.pcap --only rst-linger-zero trace.pcap   those flows' packets, for Wireshark
  finwave hosts --nstat trace.pcap            each host's predicted nstat counters
  tcpdump -i eth0 -w - 'tcp port 443' | finwave -      analyse from stdin
  finwave --json trace.pcap.gz | jq '.flows[] | select(.anomalies != [])'
  finwave -q --fail-on rst-unread-data,lost-final-ack trace.pcap   CI gate (exit 1 if found)
  finwave check fixtures/*.pcap*              compare with the kernel's truth
  sudo finwave live -i eth0 'tcp port 443'    who is resetting our connections, live

Flags (may come before or after the captures; -- ends them):
`

const helpTail = `
Exit status:
  0  success: no --fail-on anomaly found (check: every rule held)
  1  a --fail-on anomaly was found (check: a rule failed)
  2  usage error, or a capture that could not be opened or read to its end.
     A capture damaged part way is still reported up to the damage; the
     error names file, frame and byte offset on stderr. 2 wins over 1.

Colour is used only when stdout is a terminal and NO_COLOR is not set; a
progress line is drawn only when stderr is a terminal. SIGINT/SIGTERM stop
reading and report what was read.

Run 'finwave help kinds' for the anomaly kinds and segment labels.
`

// writeHelp prints the main help, with flags and the kind list.
func writeHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString(helpHead)
	b.WriteString(flagHelp)
	b.WriteString(filterHelp)
	b.WriteString(writeFlaggedHelp)
	b.WriteString("\nAnomaly kinds (for --only and --fail-on):\n")
	writeKinds(&b)
	b.WriteString(helpTail)
	io.WriteString(w, b.String())
}

// flagHelp is written by hand: grouped and ordered for reading, unlike
// flag.PrintDefaults. TestFlagListsAgree keeps it complete.
const flagHelp = `  Analysis:
    --profile linux|rfc793   close machine behaviour (default linux)
    --rfc1337                model net.ipv4.tcp_rfc1337=1: a RST does not end TIME_WAIT
    --fin-timeout D          orphaned FIN_WAIT_2 lifetime, tcp_fin_timeout (default 1m0s)
    --stuck-after D          CLOSE_WAIT/FIN_WAIT_2 longer than D is stuck (default 5s)
    --idle-timeout D         finish a flow idle this long, capture time (default 5m0s)
    --max-flows N            cap on open flows; oldest idle finished early (default 250000)
    --vxlan-port PORTS       also decode these UDP ports as VXLAN (default 4789, 8472)
    --geneve-port PORTS      also decode these UDP ports as Geneve (default 6081)
    --merge                  read the FILEs (or a directory, or a quoted glob) as one capture, merged
                             by time as mergecap does: flows continue across rotated files
    -j N                     goroutines for one capture (default: CPUs; 1: one goroutine);
                             the output is the same whatever N
    -f EXPR                  tcpdump filter on the captures' frames (or EXPRESSION after them)
  Output:
    --json                   one JSON document per capture (report/SCHEMA.md)
    --jsonl                  one JSON object per flow (stream order), then the summary: for jq -c on any size
    --tsv                    Zeek conn.log-like TSV: uid, community_id, conn_state, history, ... per flow
    --html FILE              also write the report as one self-contained HTML page (overview, hosts,
                             groups, flows table, ladders): opens offline in any browser
    --parquet DIR            also write the analysis as Parquet tables into DIR: flows, segments,
                             anomalies, hosts, services, pairs (zstd; schema in report/SCHEMA.md);
                             with -q, the Parquet tables only
    --capture-host NAME      the host column of the Parquet tables: the machine the capture was
                             taken on, so that many machines' tables can be queried as one
    --all                    list every flow with its ladder, not groups of those worth reading
    --summary                summary tables only
    --stream N               only tcp.stream N (Wireshark's numbering), every segment of it
    --only KINDS             only flows with one of these anomalies (comma list)
    -w FILE                  write the packets of the reported flows as pcap (one capture, not stdin)
    --no-color               no colour even on a terminal (same as --color never)
    --color WHEN             auto (terminal and no NO_COLOR), always (e.g. for less -R), never
    --width N                fit the text report to N columns (0: no limit); default: the
                             terminal's width (COLUMNS, else the tty's), no limit into a pipe
    --time FORMAT            ladder times: relative (default, s since the flow began),
                             absolute (UTC 15:04:05.000000), date (UTC, as tcpdump -tttt)
    -q, --quiet              no report: errors and exit status only
  Hosts and services (also 'finwave hosts'):
    --by host,service,pair   only these roll-up tables, every entry
    --nstat                  only each host's predicted nstat counters, in nstat's format
    --port-range LO-HI       clients' ip_local_port_range, for port exhaustion (default 32768-60999)
    --max-tw-buckets N       hosts' tcp_max_tw_buckets (default 262144)
  CI:
    --fail-on LIST           exit 1 when a flow matches one of LIST (comma list), and
                             name on stderr the flows and kinds that did:
                               an anomaly kind (rst-unread-data, ...),
                               a close pattern (reset, refused, ...: finwave help kinds),
                               a severity: info, warning or error, meaning any
                               anomaly of that severity or above,
                               any: every anomaly, info ones too (= info)
                             A capture with no TCP flow to analyse (no frames, no
                             TCP, an unsupported link type) fails too, saying why
    --allow-empty            with --fail-on: a capture with no TCP flow passes
`

func writeKinds(b *strings.Builder) {
	for _, k := range analyzer.Kinds() {
		fmt.Fprintf(b, "  %-28s %s\n", k.String(), k.Describe())
	}
}

func writeKindsHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString("Anomaly kinds (JSON \"kind\"; --only, --fail-on, check rules):\n")
	for _, k := range analyzer.Kinds() {
		fmt.Fprintf(&b, "  %-28s %s\n", k.String(), k.Describe())
		fmt.Fprintf(&b, "  %-28s %s · check: %s\n", "", k.Severity(), k.Check())
		if cs := k.Counters(); len(cs) > 0 {
			fmt.Fprintf(&b, "  %-28s nstat (Linux %s): %s\n", "", analyzer.LinuxVersion, strings.Join(cs, ", "))
		}
	}
	b.WriteString("\nSegment labels (JSON \"label\"; check frame rules):\n")
	for _, l := range analyzer.Labels() {
		fmt.Fprintf(&b, "  %-28s %s\n", l.String(), l.Meaning())
	}
	b.WriteString("\nTeardown patterns (JSON \"pattern\"; check pattern rules):\n")
	for _, p := range analyzer.Patterns() {
		fmt.Fprintf(&b, "  %-28s %s\n", p.String(), p.Meaning())
	}
	io.WriteString(w, b.String())
}

const checkHelp = `Usage: finwave check [--expect FILE] [-q] [analysis flags] CAPTURE...
       finwave check --write-expect [--force] [--expect FILE] [analysis flags] CAPTURE...

Analyses each capture and checks it against its expectation file: the
capture's name without .gz/.pcap/.pcapng/.cap, plus .expect (or --expect FILE
for every capture). Option lines in the file (profile, rfc1337, fin-timeout,
stuck-after, ...) override the analysis flags. The format is described in
docs/expect-format.md.

Prints each rule as ok or FAIL with file:line and, for failures, what was
found. Exit status: 0 every rule held, 1 a rule failed, 2 a capture or
expectation file could not be read or parsed.

--write-expect analyses each capture and writes its expectation file instead
(beside it, or --expect FILE; a capture from stdin "-" needs --expect): the
flow count, anomaly totals and per stream the pattern, closer, final states
and anomalies, plus option lines for non-default analysis flags. The rules
state what finwave saw, not what is true: verify each against the endpoints
(ss, nstat, application logs) before committing. An existing file is not
replaced unless --force is given.

Example:
  finwave check fixtures/*.pcap*
  finwave check --expect my.expect --profile rfc793 trace.pcap
  finwave check --write-expect trace.pcap     # writes trace.expect
`

func writeCheckHelp(w io.Writer) { io.WriteString(w, checkHelp) }

// writeVersion prints the module version (from the build), the Go version
// and the Linux version whose behaviour and counters the analyzer models.
func writeVersion(w io.Writer) {
	fmt.Fprintf(w, "finwave %s %s (models Linux %s)\n", moduleVersion(), runtime.Version(), analyzer.LinuxVersion)
}

// cmdHelp is `finwave help [kinds|check|hosts|live]`.
func cmdHelp(args []string, e *env) error {
	switch {
	case len(args) == 0:
		writeHelp(e.stdout)
	case args[0] == "kinds" || args[0] == "labels":
		writeKindsHelp(e.stdout)
	case args[0] == "check":
		writeCheckHelp(e.stdout)
	case args[0] == "hosts":
		writeHostsHelp(e.stdout)
	case args[0] == "live":
		writeLiveHelp(e.stdout)
	default:
		return usagef("help: unknown topic %q (want kinds, check, hosts or live)", args[0])
	}
	return nil
}
