package sockets

import (
	"cmp"
	"fmt"
	"slices"

	"finwave/host"
)

// Count is how many live sockets one owner holds in one state, with their
// queued bytes: a CLOSE_WAIT leak is many CLOSE_WAIT sockets of one
// process, often with unread bytes in RecvQ.
type Count struct {
	// Owner is the process (Inode and UID zero); PID 0 gathers the
	// sockets without a known owner.
	Owner        host.Owner
	Runtime, Pod string
	State        host.State
	Sockets      int
	RecvQ, SendQ uint64 // sums of the sockets' Recv-Q and Send-Q
}

// String reads "240 CLOSE_WAIT sockets held by nginx, pid 1234".
func (c Count) String() string {
	s := fmt.Sprintf("%d %s socket", c.Sockets, c.State)
	if c.Sockets != 1 {
		s += "s"
	}
	if c.Owner.PID == 0 {
		return s + " without a known owner"
	}
	s += fmt.Sprintf(" held by %s, pid %d", c.Owner.Comm, c.Owner.PID)
	if c.Owner.Container != "" {
		s += fmt.Sprintf(" (%s container %s)", c.Runtime, shortID(c.Owner.Container))
	}
	return s
}

type countKey struct {
	pid   int
	state host.State
}

// Summary counts the live sockets of the last dump per (owner, state),
// most sockets first; states lists the states to count (none: all).
func (r *Resolver) Summary(states ...host.State) []Count {
	r.mu.Lock()
	defer r.mu.Unlock()
	idx := make(map[countKey]int)
	var out []Count
	for _, e := range r.live {
		if len(states) > 0 && !slices.Contains(states, e.sock.State) {
			continue
		}
		k := countKey{state: e.sock.State}
		if e.owner != nil {
			k.pid = e.owner.proc.PID
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			c := Count{State: k.state}
			if e.owner != nil {
				p := e.owner.proc
				c.Owner = host.Owner{PID: p.PID, Comm: p.Comm, Cgroup: p.Cgroup, Container: p.Container}
				c.Runtime, c.Pod = p.Runtime, p.Pod
			}
			out = append(out, c)
		}
		out[i].Sockets++
		out[i].RecvQ += uint64(e.sock.RecvQ)
		out[i].SendQ += uint64(e.sock.SendQ)
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Sockets, a.Sockets), cmp.Compare(a.Owner.PID, b.Owner.PID), cmp.Compare(a.State, b.State))
	})
	return out
}
