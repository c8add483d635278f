// Package hostview puts the kernel's own view of this host (package host
// and its parts, internal/kstat) beside what the close machines made of
// the wire, for finwave live running on a host that owns the sockets it
// sees:
//
//   - Locals is the set of this namespace's addresses: an endpoint whose
//     address is local is one of this host's sockets.
//   - Counters adds up the nstat counters finwave predicted for the local
//     endpoints of every reported flow (Teardown.Counters) and compares
//     them with the kernel's own counters, read when the capture started
//     and when it stopped: where they agree, and where they differ, the
//     likely reason.
//
// It sits between the analyzer and the renderers, as rollup does: it reads
// teardowns and host facts, and the report renders what it finds.
package hostview
