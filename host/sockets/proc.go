package sockets

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Process is what /proc says of a process that holds a socket.
type Process struct {
	PID  int
	Comm string // /proc/PID/comm
	// Cgroup is the cgroup v2 path ("0::" line of /proc/PID/cgroup; on a
	// v1-only host the name=systemd line's path).
	Cgroup string
	// Container is the container id recognised in Cgroup, Runtime the
	// runtime that named it ("docker", "containerd", "cri-o", "podman",
	// "kubepods" when only the kubelet's cgroupfs layout says so), Pod the
	// Kubernetes pod UID when the path carries one.
	Container, Runtime, Pod string
}

// holding is what a /proc scan found of one inode: the first process seen
// holding it, and how many others hold it too (a socket shared across a
// fork, or passed over a unix socket).
type holding struct {
	pid    int
	others int
}

// scanStats is what one /proc scan did, and what stopped it seeing some
// processes' descriptors.
type scanStats struct {
	procs, fds int
	// denied counts processes whose fd directory could not be read
	// (EACCES: another user's process without CAP_SYS_PTRACE); deniedPID
	// is the first of them.
	denied    int
	deniedPID int
}

// scanner reads /proc/*/fd, with buffers reused from scan to scan.
type scanner struct {
	root  string // "/proc"
	dbuf  []byte
	lbuf  []byte
	names []string
}

func newScanner(root string) *scanner {
	return &scanner{root: root, dbuf: make([]byte, 16<<10), lbuf: make([]byte, 64)}
}

// scan looks through the descriptors of processes for "socket:[N]" links
// to the inodes of want, as ss -p does (user_ent_hash_build, misc/ss.c),
// and records in want each one's first holder and the count of the others.
// It reads the processes of prefer first (those that owned sockets
// lately: a server accepting connections), then the others in /proc's
// order; unless full, it stops once every inode of want has a holder, so
// that the count of sharers is then only among the processes read. A
// process that vanished meanwhile is skipped.
func (s *scanner) scan(want map[uint64]*holding, prefer []int, full bool) (scanStats, error) {
	var st scanStats
	if len(want) == 0 {
		return st, nil
	}
	found := 0
	read := make(map[int]bool, len(prefer))
	for _, pid := range prefer {
		if !read[pid] {
			read[pid] = true
			found += s.scanPID(pid, want, &st)
			if !full && found == len(want) {
				return st, nil
			}
		}
	}
	d, err := os.Open(s.root)
	if err != nil {
		return st, fmt.Errorf("scan %s: %w", s.root, err)
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(512)
		for _, n := range names {
			if pid, perr := strconv.Atoi(n); perr == nil && pid > 0 && !read[pid] {
				found += s.scanPID(pid, want, &st)
				if !full && found == len(want) {
					return st, nil
				}
			}
		}
		if err != nil {
			break // io.EOF, or a /proc that stopped listing: what was read stands
		}
	}
	return st, nil
}

// scanPID reads the descriptors of pid and returns how many inodes of
// want it found a first holder for.
func (s *scanner) scanPID(pid int, want map[uint64]*holding, st *scanStats) (found int) {
	dir := s.root + "/" + strconv.Itoa(pid) + "/fd"
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			if st.denied == 0 {
				st.deniedPID = pid
			}
			st.denied++
		}
		return 0 // ENOENT: the process exited
	}
	defer unix.Close(fd)
	st.procs++
	for {
		n, err := unix.Getdents(fd, s.dbuf)
		if err != nil || n <= 0 {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				if st.denied == 0 {
					st.deniedPID = pid
				}
				st.denied++
			}
			return found
		}
		_, _, s.names = unix.ParseDirent(s.dbuf[:n], -1, s.names[:0])
		for _, name := range s.names {
			st.fds++
			l, err := unix.Readlinkat(fd, name, s.lbuf)
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				// The directory could be listed (CAP_DAC_READ_SEARCH)
				// but not its links (proc_fd_access_allowed wants
				// CAP_SYS_PTRACE): none of this process's can be.
				if st.denied == 0 {
					st.deniedPID = pid
				}
				st.denied++
				return found
			}
			if err != nil || l < len("socket:[]") {
				continue
			}
			link := s.lbuf[:l]
			rest, ok := bytes.CutPrefix(link, []byte("socket:["))
			if !ok || rest[len(rest)-1] != ']' {
				continue
			}
			ino, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 64)
			if err != nil {
				continue
			}
			if h, ok := want[ino]; ok {
				switch {
				case h.pid == 0:
					h.pid = pid
					found++
				case h.pid != pid:
					h.others++
				}
				// The same process holding it twice (dup) is one holder;
				// a second process counts once per descriptor, as ss
				// lists one entry per descriptor.
			}
		}
	}
}

// process reads the comm and cgroup of pid; a field it cannot read is
// left empty (the process may have exited since its fds were read).
func (s *scanner) process(pid int) Process {
	p := Process{PID: pid}
	base := s.root + "/" + strconv.Itoa(pid) + "/"
	if b, err := os.ReadFile(base + "comm"); err == nil {
		p.Comm = strings.TrimSuffix(string(b), "\n")
	}
	if b, err := os.ReadFile(base + "cgroup"); err == nil {
		p.Cgroup = cgroupPath(string(b))
		p.Runtime, p.Container, p.Pod = containerOf(p.Cgroup)
	}
	return p
}

// cgroupPath picks the process's cgroup from /proc/PID/cgroup
// (proc_cgroup_show, kernel/cgroup/cgroup.c): the v2 "0::PATH" line, or on
// a v1-only host the name=systemd hierarchy's path.
func cgroupPath(text string) string {
	var v1 string
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrl, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && ctrl == "" {
			return path
		}
		if ctrl == "name=systemd" {
			v1 = path
		}
	}
	return v1
}

// containerOf recognises a container id in a cgroup path, from the
// innermost component out:
//
//	…/docker-<64hex>.scope                 docker, systemd cgroup driver
//	/docker/<64hex>                        docker, cgroupfs driver
//	…/cri-containerd-<hex>.scope           containerd (CRI)
//	…/crio-<hex>.scope                     CRI-O (not crio-conmon-…)
//	…/libpod-<hex>.scope                   podman (not libpod-conmon-…)
//	/kubepods/<qos>/pod<uid>/<64hex>       kubelet cgroupfs layout
//
// and a pod UID in kubepods-…-pod<uid>.slice (systemd: "-" written "_")
// or kubepods/…/pod<uid>.
func containerOf(path string) (runtime, id, pod string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	kube := false
	for _, c := range parts {
		if strings.HasPrefix(c, "kubepods") {
			kube = true
		}
		if !kube {
			continue
		}
		if u, ok := strings.CutPrefix(c, "pod"); ok && isUID(u) {
			pod = u
		} else if j := strings.LastIndex(c, "-pod"); j >= 0 && strings.HasSuffix(c, ".slice") {
			if u := strings.ReplaceAll(c[j+4:len(c)-len(".slice")], "_", "-"); isUID(u) {
				pod = u
			}
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		c := parts[i]
		for _, pre := range []struct{ prefix, runtime string }{
			{"docker-", "docker"}, {"cri-containerd-", "containerd"}, {"crio-", "cri-o"}, {"libpod-", "podman"},
		} {
			if h, ok := strings.CutPrefix(c, pre.prefix); ok {
				if h, ok := strings.CutSuffix(h, ".scope"); ok && isHexID(h) {
					return pre.runtime, h, pod
				}
			}
		}
		if isHexID(c) && len(c) == 64 && i > 0 {
			switch {
			case parts[i-1] == "docker":
				return "docker", c, pod
			case kube:
				return "kubepods", c, pod
			}
		}
	}
	return "", "", pod
}

// isHexID: a container id, at least 12 lowercase hex digits.
func isHexID(s string) bool {
	if len(s) < 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isUID: a pod UID, 8-4-4-4-12 hex digits.
func isUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
