package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// defaultLiveUser is the user `finwave live` runs as once its socket and
// output files are open, when started as root without -Z (tcpdump's -Z
// default is its build's user; ours is the one every Linux has).
const defaultLiveUser = "nobody"

// liveUser is -Z's default: defaultLiveUser, except in this package's
// tests, which run finwave live inside the test process and must keep it
// root (a test binary that dropped to nobody fails every later test).
var liveUser = defaultLiveUser

// capability is a Linux capability (capabilities(7)) the process may keep
// after it drops root, with why it is kept.
type capability struct {
	bit  uint
	name string
	why  string
}

// errKeepCaps: the capabilities could not be kept across the drop; the
// process then drops every one.
var errKeepCaps = errors.New("capabilities can be kept only in a CGO_ENABLED=0 build (syscall.AllThreadsSyscall)")

// dropPrivileges makes the process run as the user name (its uid, gid and
// supplementary groups), as tcpdump -Z does: finwave live parses packets
// anyone on the network can send, and needs root (CAP_NET_RAW) only to
// open the capture socket. On Linux, Go applies the switch to every thread
// (syscall.Setuid since Go 1.16), and a switch away from uid 0 clears the
// effective, permitted and ambient capabilities (capabilities(7)) — but
// for those in keep: the kernel view's handles, opened as root, may need
// a capability for the calls made on them later (process attribution
// reads other users' /proc/PID/fd: CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH).
// Those are kept permitted and effective, nothing else (no ambient or
// inheritable capability: nothing finwave runs inherits them). A process
// not running as root is left alone; name "root" keeps root.
// It returns the user switched to, "" when nothing changed, and the
// capabilities kept (and a note when they could not be).
func dropPrivileges(name string, keep []capability) (runAs string, kept []capability, note string, err error) {
	if os.Geteuid() != 0 || name == "root" {
		return "", nil, "", nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", nil, "", fmt.Errorf("live: -Z %s: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return "", nil, "", fmt.Errorf("live: -Z %s: uid %q gid %q are not numbers", name, u.Uid, u.Gid)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil && n != gid {
				groups = append(groups, n)
			}
		}
	}
	if len(keep) > 0 && uid != 0 {
		// PR_SET_KEEPCAPS is a per-thread flag: every thread must have it
		// when Setuid switches them all.
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); e != 0 {
			if e == syscall.ENOTSUP {
				note = errKeepCaps.Error()
			} else {
				note = fmt.Sprintf("prctl(PR_SET_KEEPCAPS): %v", e)
			}
			keep = nil
		}
	}
	// Groups first, then the gid, then the uid: after Setuid nothing else
	// may be changed.
	if err := syscall.Setgroups(groups); err != nil {
		return "", nil, "", fmt.Errorf("live: -Z %s: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", nil, "", fmt.Errorf("live: -Z %s: setgid %d: %w", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", nil, "", fmt.Errorf("live: -Z %s: setuid %d: %w", name, uid, err)
	}
	if len(keep) > 0 && uid != 0 {
		if err := setCaps(keep); err != nil {
			note = err.Error()
			setCaps(nil) // nothing kept rather than more than asked
			keep = nil
		}
		syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0, 0)
	}
	return name, keep, note, nil
}

// setCaps makes caps the permitted and effective set of every thread
// (capset(2) acts on one thread; Go's threads each need it).
func setCaps(caps []capability) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for _, c := range caps {
		data[c.bit/32].Permitted |= 1 << (c.bit % 32)
		data[c.bit/32].Effective |= 1 << (c.bit % 32)
	}
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %v", e)
	}
	return nil
}

// capNames lists caps for the listening line: "CAP_SYS_PTRACE (why)".
func capNames(caps []capability) string {
	var s []string
	for _, c := range caps {
		s = append(s, c.name+" ("+c.why+")")
	}
	return strings.Join(s, ", ")
}
