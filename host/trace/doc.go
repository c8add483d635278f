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
// The programs declare the GPL licence because they call
// bpf_probe_read_kernel, a GPL-only helper (kernel/trace/bpf_trace.c).
package trace
