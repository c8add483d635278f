package sockets

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"time"

	"finwave/host"
)

// userHZ is the clock-tick rate of /proc/net/tcp's tm->when
// (jiffies_delta_to_clock_t): USER_HZ, 100 on every architecture Go runs
// on Linux with.
const userHZ = 100

// procNet is the fallback source: /proc/thread-self/net/tcp and tcp6 of the
// namespace Open ran in, kept open. A seq_file captures its namespace at
// open and regenerates its text at each read from offset 0 (seq_lseek), so
// reading the kept files after a setns or a privilege drop still dumps
// that namespace.
type procNet struct {
	files []*os.File
	r     *bufio.Reader
}

func openProcNet() (*procNet, error) {
	p := &procNet{r: bufio.NewReaderSize(nil, 1<<16)}
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open("/proc/thread-self/net/" + name)
		if err != nil {
			if name == "tcp6" && os.IsNotExist(err) {
				continue // a kernel without IPv6
			}
			p.close()
			return nil, fmt.Errorf("open /proc/net/%s: %w", name, err)
		}
		p.files = append(p.files, f)
	}
	return p, nil
}

func (p *procNet) close() error {
	for _, f := range p.files {
		f.Close()
	}
	return nil
}

func (p *procNet) dumpAll(out []Socket) ([]Socket, error) {
	out = out[:0]
	for _, f := range p.files {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return out, fmt.Errorf("rewind %s: %w", f.Name(), err)
		}
		p.r.Reset(f)
		var err error
		if out, err = parseProcNet(p.r, out); err != nil {
			return out, fmt.Errorf("%s: %w", f.Name(), err)
		}
	}
	return out, nil
}

// parseProcNet reads the lines of /proc/net/tcp or tcp6 (get_tcp4_sock,
// get_tcp6_sock, get_timewait4_sock…):
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
//
// Addresses are the raw __be32 words printed as host-order hex.
func parseProcNet(r *bufio.Reader, out []Socket) ([]Socket, error) {
	first := true
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 && !first {
			s, perr := parseProcNetLine(line)
			if perr != nil {
				return out, perr
			}
			out = append(out, s)
		}
		first = false
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func parseProcNetLine(line []byte) (Socket, error) {
	var f [10][]byte
	n := 0
	for _, w := range bytes.Fields(line) {
		if n == len(f) {
			break
		}
		f[n] = w
		n++
	}
	if n < len(f) {
		return Socket{}, fmt.Errorf("short line %q", bytes.TrimSpace(line))
	}
	local, err1 := parseHexAddrPort(f[1])
	remote, err2 := parseHexAddrPort(f[2])
	st, err3 := strconv.ParseUint(string(f[3]), 16, 8)
	tx, rx, ok1 := bytes.Cut(f[4], []byte{':'})
	tr, when, ok2 := bytes.Cut(f[5], []byte{':'})
	if err := firstErr(err1, err2, err3); err != nil || !ok1 || !ok2 {
		return Socket{}, fmt.Errorf("bad line %q: %v", bytes.TrimSpace(line), err)
	}
	sendQ, _ := strconv.ParseUint(string(tx), 16, 32)
	recvQ, _ := strconv.ParseUint(string(rx), 16, 32)
	timer, _ := strconv.ParseUint(string(tr), 16, 8)
	ticks, _ := strconv.ParseInt(string(when), 16, 64)
	uid, _ := strconv.ParseUint(string(f[7]), 10, 32)
	inode, _ := strconv.ParseUint(string(f[9]), 10, 64)
	return Socket{
		Tuple:   host.Tuple{Local: local, Remote: remote},
		State:   host.State(st),
		RecvQ:   uint32(recvQ),
		SendQ:   uint32(sendQ),
		Timer:   Timer(timer),
		Expires: time.Duration(ticks) * time.Second / userHZ,
		UID:     uint32(uid),
		Inode:   inode,
	}, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// parseHexAddrPort reads "0100007F:1F90" or the 32-hex-digit IPv6 form:
// each 8-digit word is a raw 32-bit word in host byte order.
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	a, p, ok := bytes.Cut(b, []byte{':'})
	if !ok || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", b)
	}
	port, err := strconv.ParseUint(string(p), 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", b)
	}
	var raw [16]byte
	for i := 0; i < len(a)/8; i++ {
		w, err := strconv.ParseUint(string(a[i*8:i*8+8]), 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad address %q", b)
		}
		binary.NativeEndian.PutUint32(raw[i*4:], uint32(w))
	}
	var addr netip.Addr
	if len(a) == 8 {
		addr = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		addr = netip.AddrFrom16(raw).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
