// Package bpf compiles tcpdump filter expressions (pcap-filter(7)) to
// classic BPF in pure Go, so `finwave live -f EXPR` can attach the filter in
// the kernel (SO_ATTACH_FILTER) without libpcap and without cgo.
//
// Only the subset users type when chasing TCP teardowns is supported; an
// expression outside it is rejected with a *SyntaxError naming the word,
// never compiled to something that filters differently:
//
//   - protocols: ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, and
//     [ip|ip6] proto N|NAME;
//   - [ip|ip6|arp|rarp] [src|dst|src or dst|src and dst] host ADDR (IPv4 or
//     IPv6 literal; host names are not resolved);
//   - [..] net CIDR, net ADDR mask MASK, net A[.B[.C]] (classful by the
//     number of parts, as libpcap's __pcap_atoin);
//   - [tcp|udp|sctp] [src|dst|..] port N and portrange N-M (numbers or a
//     few well-known service names);
//   - tcp[OFF] and tcp[OFF:SIZE] (OFF a number or tcpflags) with an
//     optional "& MASK" compared with =, ==, !=, <, <=, >, >= to a number
//     or to tcp-fin|tcp-syn|tcp-rst|tcp-push|tcp-ack|tcp-urg combinations;
//   - not / !, and / &&, or / ||, parentheses; and/or have equal
//     precedence and associate to the left (pcap-filter(7)); a bare value
//     after and/or inherits the qualifiers of the previous primitive
//     ("port 80 or 443").
//
// The generated code follows libpcap 1.10's gencode.c semantics, which the
// tests check against libpcap's verdicts on a set of packets (stored in
// testdata/libpcap_verdicts.txt, and asked of tcpdump where it is
// installed; -update rewrites the file): IPv4 port tests skip
// non-first fragments (ldh [ip+6]; jset #0x1fff), IPv6 port tests read the
// ports right after the fixed header (no extension-header walk), "tcp" on
// IPv6 also accepts one fragment header (next header 44), "host"/"net" on
// an IPv4 address also match ARP and RARP sender and target addresses, and
// tcp[...] applies to IPv4 only. Link types: Ethernet (DLT_EN10MB), raw IP
// (LINKTYPE_RAW, where the version nibble tells IPv4 from IPv6), Linux
// cooked SLL and SLL2.
//
// Programs accept a packet by returning the snap length and reject it by
// returning 0. Conditional jumps of classic BPF reach at most 255
// instructions ahead: an expression too long for that is rejected.
package bpf
