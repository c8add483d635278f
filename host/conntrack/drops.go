package conntrack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// sockDrops reads one netlink socket's drop counter from
// /proc/net/netlink (netlink_seq_show: sk_drops in the Drops column), the
// file opened in the socket's namespace and kept open so that it is read
// after privileges are dropped. netlink_overrun counts every event it
// could not queue there, while ENOBUFS is reported once per congestion.
type sockDrops struct {
	f     *os.File
	inode []byte // the socket's inode, as the Inode column prints it
}

// openDrops finds c's line by its inode; nil if it cannot.
func openDrops(c *netlink.Conn) *sockDrops {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil || serr != nil {
		return nil
	}
	f, err := os.Open("/proc/thread-self/net/netlink")
	if err != nil {
		return nil
	}
	d := &sockDrops{f: f, inode: strconv.AppendUint(nil, st.Ino, 10)}
	if _, err := d.read(); err != nil {
		f.Close()
		return nil
	}
	return d
}

var errNoSocket = errors.New("socket not in /proc/net/netlink")

// read returns the socket's Drops. It reads into a buffer of its own
// (maintain and Lost call it concurrently; a read a second is cheap).
func (d *sockDrops) read() (uint64, error) {
	if d == nil {
		return 0, errNoSocket
	}
	buf := make([]byte, 64<<10)
	n, err := d.f.ReadAt(buf, 0)
	for err == nil && n == len(buf) {
		buf = make([]byte, 2*len(buf))
		n, err = d.f.ReadAt(buf, 0)
	}
	// sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
	for _, l := range bytes.Split(buf[:n], []byte("\n")) {
		fs := bytes.Fields(l)
		if len(fs) >= 10 && bytes.Equal(fs[9], d.inode) {
			v, err := strconv.ParseUint(string(fs[8]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("conntrack: /proc/net/netlink: %w", err)
			}
			return v, nil
		}
	}
	return 0, errNoSocket
}
