// Package kstat reads the network namespace's SNMP and extended TCP/IP
// counters the way nstat(8) names them: /proc/net/snmp ("Tcp: ActiveOpens"
// → TcpActiveOpens), /proc/net/netstat ("TcpExt: TW" → TcpExtTW) and
// /proc/net/snmp6 (already named, Ip6InReceives). Live mode takes a
// snapshot at start and end and sets their difference beside the counters
// finwave predicts from the wire (issue 16).
//
// Invariants: names are exactly nstat's (TestNamesAsNstat compares with
// nstat -az in a fresh namespace); a counter is an int64 (Tcp: MaxConn is
// -1); a malformed file is an error naming the file and line, never a
// silently shorter set.
package kstat
