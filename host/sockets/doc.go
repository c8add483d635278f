// Package sockets tells which process owns (or owned) each TCP socket of
// this host's network namespace, as `ss -tanpe` does: a dump of the
// namespace's TCP sockets over sock_diag netlink (NETLINK_SOCK_DIAG,
// SOCK_DIAG_BY_FAMILY with an inet_diag_req_v2 for AF_INET and AF_INET6,
// net/ipv4/inet_diag.c), or /proc/net/tcp{,6} when netlink is refused,
// joined by socket inode to the processes whose /proc/PID/fd holds a
// "socket:[INODE]" link.
//
// A Resolver is opened once, before privileges are dropped (Open makes the
// netlink socket and keeps /proc/net/tcp{,6} open, all in the namespace of
// the calling thread); later Refresh, Lookup, Resolve and Summary calls use
// only what it holds. A socket dump works unprivileged (inet_diag checks no
// capability for its own namespace), and so do /proc/PID/comm and cgroup;
// but reading another user's /proc/PID/fd needs two capabilities:
// CAP_DAC_READ_SEARCH to list the directory (mode 0500, owned by the
// process's user: proc_fd_permission, generic_permission) and
// CAP_SYS_PTRACE to read its links (proc_pid_get_link,
// proc_fd_access_allowed: ptrace_may_access with PTRACE_MODE_READ_FSCREDS).
// Without them those sockets stay unattributed with the reason
// "permission denied reading /proc/PID/fd"; sockets attributed before the
// drop keep their owner.
//
// Invariants: lookups are map reads; a refresh is rate-limited
// (Options.MinInterval) and scans /proc only when the dump holds an inode
// not yet attributed, stopping once all are found; what is kept is
// proportional to the namespace's live sockets plus at most
// Options.Remember sockets that are gone, whose owner is remembered so that
// a flow reported after its socket closed still gets it.
package sockets
