package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// defaultLiveUser is the user `finwave live` runs as once its socket and
// output files are open, when started as root without -Z (tcpdump's -Z
// default is its build's user; ours is the one every Linux has).
const defaultLiveUser = "nobody"

// liveUser is -Z's default: defaultLiveUser, except in this package's
// tests, which run finwave live inside the test process and must keep it
// root (a test binary that dropped to nobody fails every later test).
var liveUser = defaultLiveUser

// dropPrivileges makes the process run as the user name (its uid, gid and
// supplementary groups), as tcpdump -Z does: finwave live parses packets
// anyone on the network can send, and needs root (CAP_NET_RAW) only to
// open the capture socket. On Linux, Go applies the switch to every thread
// (syscall.Setuid since Go 1.16), and a switch away from uid 0 clears the
// effective, permitted and ambient capabilities (capabilities(7)). A
// process not running as root is left alone; name "root" keeps root.
// It returns the user switched to, "" when nothing changed.
func dropPrivileges(name string) (string, error) {
	if os.Geteuid() != 0 || name == "root" {
		return "", nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("live: -Z %s: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("live: -Z %s: uid %q gid %q are not numbers", name, u.Uid, u.Gid)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil && n != gid {
				groups = append(groups, n)
			}
		}
	}
	// Groups first, then the gid, then the uid: after Setuid nothing else
	// may be changed.
	if err := syscall.Setgroups(groups); err != nil {
		return "", fmt.Errorf("live: -Z %s: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("live: -Z %s: setgid %d: %w", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("live: -Z %s: setuid %d: %w", name, uid, err)
	}
	return name, nil
}
