package main

// liveFlagHelp is the flag part of `finwave live --help`, written by hand
// like flagHelp (help.go): grouped and ordered for reading. TestLiveFlagListsAgree
// keeps it, the flags live registers and README's live table in step.
const liveFlagHelp = `  Capture:
    -i, --interface IFACE    capture on IFACE (any: every interface)
    -f EXPR                  tcpdump filter, compiled to BPF and attached in the kernel
                             (or give it as the arguments after the flags)
    -w FILE                  also write the analysed packets to FILE (pcap, ns timestamps)
    -c N                     stop after N packets (1 or more)
    --duration D             stop after D (e.g. 30s, 5m; positive)
    -Z USER                  once the socket and the -w file are open, run as USER
                             (default nobody when started as root; -Z root keeps root);
                             with --kernel processes it keeps CAP_DAC_READ_SEARCH and
                             CAP_SYS_PTRACE, to read other users' /proc/PID/fd
  Kernel view (the host's own sockets, beside the wire):
    --kernel auto|off|LIST   auto (default): every part this host allows, saying once
                             which it does not; off: the wire alone; LIST: these parts,
                             each required (comma list):
                               processes  the process holding each local socket
                               counters   nstat counters at start and end, beside
                                          finwave's prediction
                               trace      the kernel's own state changes, resets and
                                          drops (eBPF), with its reasons
                               conntrack  conntrack entries and NAT; INVALID resets
  Analysis:
    --profile linux|rfc793   close machine behaviour (default linux)
    --rfc1337                model net.ipv4.tcp_rfc1337=1: a RST does not end TIME_WAIT
    --fin-timeout D          orphaned FIN_WAIT_2 lifetime, tcp_fin_timeout (default 1m0s)
    --stuck-after D          CLOSE_WAIT/FIN_WAIT_2 longer than D is stuck (default 5s);
                             live says so when D passes, while the flow is still open
    --idle-timeout D         finish a flow idle this long, capture time (default 5m0s)
    --max-flows N            cap on open flows; oldest idle finished early (default 250000)
    --vxlan-port PORTS       also decode these UDP ports as VXLAN (default 4789, 8472)
    --geneve-port PORTS      also decode these UDP ports as Geneve (default 6081)
  Output:
    --json                   one JSON object per flow as it finishes, then the live
                             counters and the summary, one object each (report/SCHEMA.md)
    --html FILE              also write the report as one self-contained HTML page when
                             the capture stops (SIGINT included)
    --all                    report every flow, not only those worth reading (text)
    --only KINDS             only flows with one of these anomalies (comma list)
    --summary                no per-flow reports: the summary tables at the end only
    --no-color               no colour even on a terminal (same as --color never)
    --color WHEN             auto (terminal and no NO_COLOR), always, never
    --width N                fit the text to N columns (0: no limit; default: the terminal's)
    --time FORMAT            ladder times: relative (default), absolute or date (UTC)
    --status auto|always|never
                             periodic status line on stderr (auto: when a terminal)
    -q, --quiet              no report, no status: errors and exit status only
  CI:
    --fail-on LIST           as for files (finwave --help): exit 1 at the end when a
                             flow matched LIST, naming the flows on stderr; a capture
                             that saw no TCP flow fails too
    --allow-empty            with --fail-on: a capture with no TCP flow passes
`
