// Package conntrack is netfilter conntrack's view of the TCP flows of the
// host finwave live runs on: each flow's entry (its original and reply
// tuples, so its NAT translation, conntrack's TCP state and timeout), kept
// current by conntrack's NEW, UPDATE and DESTROY events over ctnetlink,
// and a reading of a RST against it: a RST that answered a segment
// conntrack found INVALID, and so did not de-NAT (the Kubernetes failure:
// an out-of-window reply reaches a stack with its un-translated address
// and is answered by a RST that kills the real connection).
//
// Open does what needs privilege (joining the event groups, the first
// dump); the Table it returns keeps receiving events after root is
// dropped. A dump to resync after lost events needs CAP_NET_ADMIN when it
// is sent (nfnetlink_rcv_msg checks the sender); without it the table
// says so in Stats.Err and goes on from events.
//
// Lost events: the kernel drops events its socket buffer has no room for
// (netlink_overrun), reports ENOBUFS once per congestion and then drops
// silently until the queue empties (NETLINK_S_CONGESTED). The table counts
// every dropped event from the socket's sk_drops (/proc/net/netlink, the
// Drops column) and resyncs by a dump at each tick while that rises.
//
// Entries are found by either tuple a segment may carry on the wire
// (Lookup, Find): the original direction as sent, the reply as sent, or
// either reversed, so the client side and the backend side of a NAT find
// the same entry. Memory is bounded: at most Config.MaxEntries live
// entries (about 450 bytes each with both index keys) and
// Config.MaxDestroyed destroyed ones (about 440 bytes), a fixed ring of
// counter samples; the event socket's buffer (Config.ReadBuffer) is the
// kernel's.
//
// INVALID: conntrack keeps no state for a segment it finds INVALID
// (nf_conntrack_tcp_packet returns -NF_ACCEPT, nf_conntrack_in counts it
// in the per-CPU 'invalid' statistic and lets it go on untracked), so NAT
// does not translate it. ExplainReset names a RST that carries a NAT'd
// flow's translated pair in the original direction while that counter
// rose: a stack answered a segment that was not de-NATed.
package conntrack
