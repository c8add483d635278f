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
// Entries are found by either tuple a segment may carry on the wire
// (Lookup, Find): the original direction as sent, the reply as sent, or
// either reversed, so the client side and the backend side of a NAT find
// the same entry. Memory is bounded: at most Config.MaxEntries live
// entries and Config.MaxDestroyed destroyed ones, a fixed ring of counter
// samples.
package conntrack
