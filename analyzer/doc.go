// Package analyzer runs a mirrored pair of TCP close state machines per
// connection, one per endpoint, over what each side sent and received, and
// turns them into a Teardown: labelled segments, the state changes they
// caused, final states and anomalies.
//
// A segment drives two machines: the sender's (what it sent is certain: the
// capture saw it leave or pass) and the receiver's (what it received is only
// likely: the capture point may sit before a loss). The receiver's change is
// therefore recorded as tentative, and confirmed when the receiver's own later
// segment acknowledges the cause, or undone when the sender's retransmission
// proves it never arrived. Where the capture was taken on the receiver's
// own host (vantage.go infers it per flow at finish), the capture saw the
// cause arrive there: that host's tentative changes are confirmed.
//
// Where Linux departs from RFC 793/9293 the rule reads one field of the
// Profile (profile.go), so the two profiles can be compared in one place.
// Every state change goes through conn.setState (machine.go), which
// records it; reports are built from that record. endpoint.enter is the
// only writer of an endpoint's state and its start: setState for a change,
// revert to take one back.
//
// Words live in two tables. rules.go: one entry per rule id (the RFC 9293
// section, the Linux function, the words of the change it makes and of the
// segment it labels, per profile); the machines pass rule ids, never text.
// kinds.go: one record per anomaly kind (name, severity, summary, what to
// check, nstat counters, detail writer). Adding a kind is a constant, its
// record, its detector and its detail writer: docs/adding-a-kind.md.
//
// Memory: the per-flow state (conn) and the finished flow's Teardown are
// reused: conns from a free list, Teardowns through Recycle, which the
// caller of the emit callback invokes once it has rendered a Teardown. A
// connection from SYN to recycled Teardown then allocates nothing
// (TestRecycle_allocsPerFlow). TIME_WAIT records (timewaits.go) are kept
// for one TIME_WAIT period in a pointer-free ring.
//
// Checksums (checksum.go): a segment with a wrong checksum from a side
// whose first segment was right was dropped by its receiver's kernel: it
// moves the sender's machine only (anomaly bad-checksum). Checksums left
// to the device (offload) and segments larger than the MSS (TSO/GSO/GRO)
// are not errors: Teardown.Offload counts them per side, evidence of where
// the capture was taken.
//
// Segments that are not what they seem: a SYN in the window of a
// synchronized connection stays in its flow (rfc5961.go: the flow table's
// Continues hook), and a reuse of the 4-tuple the peer's TIME_WAIT
// rejects is followed through its ACK, the RST from SYN_SENT and the SYN
// sent again (twreject.go). A segment whose ACK is too old for its
// receiver (RFC 5961 §5.2, blind data) is discarded with its data, and the
// receiver's next pure ACK is its challenge ACK (blind.go).
//
// Rules cite the Linux function they model: tcp_close, tcp_close_state,
// tcp_send_fin, tcp_fin, tcp_rcv_state_process, tcp_timewait_state_process,
// tcp_send_active_reset, tcp_validate_incoming.
package analyzer
