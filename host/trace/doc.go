// Package trace attaches eBPF programs to the kernel's own TCP tracepoints
// and reports what they trace as host.Event values: every state change of a
// TCP socket (sock:inet_sock_set_state), the resets the kernel sends and
// receives (tcp:tcp_send_reset with its sk_rst_reason, tcp:tcp_receive_reset),
// retransmissions (tcp:tcp_retransmit_skb) and dropped TCP segments with
// their skb_drop_reason (skb:kfree_skb).
//
// The programs are written with cilium/ebpf's asm package and built at Open
// against the running kernel: no clang, no generated object files, and the
// default build stays CGO_ENABLED=0. Nothing is compiled ahead of time, so
// nothing hard-codes a kernel's layouts:
//
//   - the tracepoint records are read as tracefs describes them
//     (events/<group>/<name>/format): the programs copy the raw record into
//     the ring buffer and user space decodes it with the format's offsets;
//   - the few kernel structure offsets the programs follow (a socket's or a
//     device's network namespace, an sk_buff's headers) come from the
//     kernel's BTF (/sys/kernel/btf/vmlinux) through cilium/ebpf/btf, the
//     same information a CO-RE relocation would use;
//   - reason numbers are named from the format's __print_symbolic list,
//     with the BTF enums sk_rst_reason and skb_drop_reason for any gap.
//
// Filtering happens in the kernel: inet_sock_set_state only for
// IPPROTO_TCP, kfree_skb only for IPv4/IPv6 packets carrying TCP, and, when
// Config.NetNS is set, only sockets and devices of those network namespaces
// (tracepoints fire for every namespace of the host).
//
// Open needs what loading and attaching need (root, or CAP_BPF with
// CAP_PERFMON, and read access to tracefs). Everything after Open works on
// descriptors and memory mappings Open made: Read, Lost and Close need no
// privilege, so the process may drop root right after Open.
//
// What the kernel traces, which is not always what a close machine says:
//
//   - No inet_sock_set_state ever enters TIME_WAIT. tcp_time_wait
//     (net/ipv4/tcp_minisocks.c) replaces the full socket by an
//     inet_timewait_sock and tcp_done traces the full socket's last change
//     as →CLOSE: FIN_WAIT2→CLOSE (or FIN_WAIT1/CLOSING→CLOSE) is where the
//     mirrored machine says TIME_WAIT, and ss shows TIME-WAIT. An orphaned
//     socket (closed by close(2)) is handed over already in FIN_WAIT2
//     (tcp_rcv_state_process), so its FIN_WAIT1→FIN_WAIT2 and
//     FIN_WAIT2→CLOSE come together when the ACK of its FIN arrives; ss
//     then shows the timewait sock as FIN-WAIT-2, later TIME-WAIT.
//   - connect(2) traces CLOSE→SYN_SENT before the local port is chosen:
//     that event's Tuple.Local has port 0.
//   - A server's LISTEN→SYN_RECV and SYN_RECV→ESTABLISHED are traced with
//     the new connection's tuple (the request socket, then the child).
//   - SO_LINGER 0 close sends its RST from tcp_disconnect after setting
//     TCP_CLOSE: the SendReset's state is CLOSE, its reason TCP_STATE
//     (6.18), and ESTABLISHED→CLOSE comes first.
//   - tcp_receive_reset carries no state: a ReceiveReset's New is 0.
//   - A Drop's Tuple is read from the dropped segment's headers, from its
//     receiver's view (Local its destination), also for a segment dropped
//     on its way out (netfilter OUTPUT, qdisc), where Local is the peer.
//     A SYN refused by a full accept queue is not a kfree_skb (it is
//     consumed) though TcpExtListenOverflows counts it.
//   - PID and Comm are whatever task was current: the owner for a system
//     call's change, often another process or a kernel thread in softirq.
//
// Events reach Read at most Config.Latency late: waking the reader for
// each event costs the kernel more than the program itself (see
// buildProgram), so the programs wake it only when a sixteenth of the
// ring buffer waits.
//
// The programs declare the GPL licence because they call
// bpf_probe_read_kernel, a GPL-only helper (kernel/trace/bpf_trace.c).
package trace
