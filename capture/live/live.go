package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	xbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"finwave/capture"
	"finwave/capture/bpf"
)

// AnyInterface captures on every interface, as tcpdump -i any.
const AnyInterface = "any"

// Config describes a live capture. Interface is required.
type Config struct {
	Interface string // interface name, or "any"
	Filter    string // tcpdump expression (pcap-filter(7) subset of capture/bpf), on the outer packet; empty: all TCP and tunnels
	// TunnelPorts are UDP ports carrying tunnels beyond the defaults
	// (TunnelExpr): --vxlan-port, --geneve-port.
	TunnelPorts []uint16
	Snaplen     int   // bytes kept per frame; 0: bpf.DefaultSnaplen
	Count       int64 // stop after this many frames; 0: no limit
	// Tick is the longest Next waits before calling OnTick and looking at
	// the context when no frame arrives; 0: 200ms.
	Tick   time.Duration
	OnTick func(now time.Time)
	// RingBytes is the size of the kernel ring; 0: 8 MiB.
	RingBytes int
}

// Stats are the kernel's counters for the socket (PACKET_STATISTICS),
// accumulated since Open.
type Stats struct {
	Packets      uint64 // packets the filter passed (delivered or dropped)
	Drops        uint64 // packets dropped because the ring was full
	QueueFreezes uint64 // TPACKET_V3: times the ring was frozen full
}

// Source is a live capture. It implements capture.Source; like every
// Source it is not safe for concurrent use, and Frame.Data is valid only
// until the next call to Next.
type Source struct {
	ctx      context.Context
	cfg      Config
	tp       *afpacket.TPacket
	link     layers.LinkType
	name     string // "live:IFACE", the File of read errors
	attached time.Time
	n        int64
	err      error
	closed   bool
}

const (
	blockSize    = 1 << 20 // holds a GRO/TSO super-packet of 64 KiB many times over
	frameSize    = 1 << 12
	blockTimeout = 20 * time.Millisecond // TPACKET_V3 retires a partly filled block after this
)

// Open opens the interface, compiles and attaches the filter and starts
// capturing. ctx ends the capture: Next returns io.EOF once it is done.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Interface == "" {
		return nil, errors.New("live: no interface given")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 200 * time.Millisecond
	}
	if cfg.Snaplen <= 0 {
		cfg.Snaplen = bpf.DefaultSnaplen
	}
	if cfg.RingBytes <= 0 {
		cfg.RingBytes = 8 << 20
	}
	s := &Source{ctx: ctx, cfg: cfg, name: "live:" + cfg.Interface}

	ifname := cfg.Interface
	sock := afpacket.SocketDgram
	s.link = layers.LinkTypeRaw
	loIndex := loopbackIndex()
	dropOutgoingLo := false
	if cfg.Interface == AnyInterface {
		ifname = "" // ifindex 0: every interface
		dropOutgoingLo = loIndex > 0
	} else {
		ifi, err := net.InterfaceByName(cfg.Interface)
		if err != nil {
			return nil, fmt.Errorf("live: interface %q: %w", cfg.Interface, ErrNoInterface)
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, fmt.Errorf("live: interface %q: %w (ip link set %s up)", cfg.Interface, ErrInterfaceDown, cfg.Interface)
		}
		switch arphrd(cfg.Interface, ifi) {
		case unix.ARPHRD_ETHER:
			sock, s.link = afpacket.SocketRaw, layers.LinkTypeEthernet
		case unix.ARPHRD_LOOPBACK:
			sock, s.link = afpacket.SocketRaw, layers.LinkTypeEthernet
			dropOutgoingLo = true
			loIndex = ifi.Index
		}
	}

	prog, err := kernelProgram(baseExpr(cfg.TunnelPorts), cfg.Filter, s.link, cfg.Snaplen, dropOutgoingLo, loIndex)
	if err != nil {
		return nil, err
	}
	blocks := max(cfg.RingBytes/blockSize, 2)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(ifname),
		sock,
		afpacket.TPacketVersion3,
		afpacket.OptFrameSize(frameSize),
		afpacket.OptBlockSize(blockSize),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptBlockTimeout(blockTimeout),
		afpacket.OptPollTimeout(cfg.Tick),
	)
	if err != nil {
		return nil, openError(cfg.Interface, err)
	}
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, fmt.Errorf("live: interface %q: attach filter: %w", cfg.Interface, err)
	}
	s.attached = time.Now()
	s.tp = tp
	return s, nil
}

// TunnelExpr is what the kernel filter lets through besides TCP: the
// packets that may carry TCP inside a tunnel the decoder removes (VXLAN,
// VXLAN-GPE, Geneve, GTP-U, Teredo, AYIYA on their UDP ports; GRE and
// ERSPAN, IP in IP). Link-layer encapsulations (MPLS, PPPoE, PBB) are not
// in it: the filter compiler has no primitive for them.
const TunnelExpr = "(udp and (port 4789 or port 8472 or port 4790 or port 6081 or port 2152 or port 3544 or port 5072)) or " +
	"ip proto 47 or ip proto 4 or ip proto 41 or ip6 proto 47 or ip6 proto 4 or ip6 proto 41"

// baseExpr is the filter every live capture starts from: TCP, and what
// may carry it in a tunnel (with the extra UDP tunnel ports).
func baseExpr(ports []uint16) string {
	var b strings.Builder
	b.WriteString("tcp or ")
	b.WriteString(TunnelExpr)
	for _, p := range ports {
		b.WriteString(" or (udp and port ")
		b.WriteString(strconv.Itoa(int(p)))
		b.WriteString(")")
	}
	return b.String()
}

// kernelProgram is "(base) and (filter)" for the link, behind a prologue
// that drops the outgoing copy of loopback packets when asked. The user's
// filter applies to the outer packet, as tcpdump's does.
func kernelProgram(base, filter string, link layers.LinkType, snaplen int, dropOutgoingLo bool, loIndex int) ([]xbpf.RawInstruction, error) {
	expr := base
	if strings.TrimSpace(filter) != "" {
		expr = "(" + base + ") and (" + filter + ")"
	}
	user, err := bpf.Compile(expr, link, snaplen)
	if err != nil {
		var se *bpf.SyntaxError
		if errors.As(err, &se) && strings.TrimSpace(filter) != "" {
			// Name the user's expression, not the wrapped one.
			if _, err2 := bpf.Compile(filter, link, snaplen); err2 != nil {
				return nil, fmt.Errorf("live: %w", err2)
			}
		}
		return nil, fmt.Errorf("live: %w", err)
	}
	var prog []xbpf.Instruction
	if dropOutgoingLo {
		// linux/if_packet.h PACKET_OUTGOING = 4; libpcap's pcap-linux.c
		// skips outgoing packets on the loopback device the same way.
		prog = append(prog,
			xbpf.LoadExtension{Num: xbpf.ExtType},
			xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 0, SkipFalse: 3},
			xbpf.LoadExtension{Num: xbpf.ExtInterfaceIndex},
			xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: uint32(loIndex), SkipTrue: 0, SkipFalse: 1},
			xbpf.RetConstant{Val: 0},
		)
	}
	prog = append(prog, user...)
	raw, err := xbpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("live: assemble filter: %w", err)
	}
	return raw, nil
}

// openError gives the socket errors a user meets their words.
func openError(iface string, err error) error {
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("live: interface %q: %w", iface, ErrNotPermitted)
	case errors.Is(err, syscall.ENETDOWN):
		return fmt.Errorf("live: interface %q: %w", iface, ErrInterfaceDown)
	case errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return fmt.Errorf("live: interface %q: %w", iface, ErrNoInterface)
	}
	return fmt.Errorf("live: interface %q: open AF_PACKET ring: %w", iface, err)
}

// arphrd returns the interface's hardware type (ARPHRD_*), from sysfs;
// without sysfs an interface with a 6-byte address is taken for Ethernet.
func arphrd(name string, ifi *net.Interface) int {
	if b, err := os.ReadFile("/sys/class/net/" + name + "/type"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		return unix.ARPHRD_LOOPBACK
	}
	if len(ifi.HardwareAddr) == 6 {
		return unix.ARPHRD_ETHER
	}
	return -1
}

// loopbackIndex is the ifindex of the loopback interface, 0 if none.
func loopbackIndex() int {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Index
		}
	}
	return 0
}

// LinkType is the link type of every frame (Ethernet or raw IP).
func (s *Source) LinkType() layers.LinkType { return s.link }

// Next fills f with the next captured frame. It returns io.EOF when the
// context is done or Count frames were returned; any other error is a
// *capture.ReadError and is sticky.
func (s *Source) Next(f *capture.Frame) error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return io.EOF
	}
	done := s.ctx.Done()
	for {
		if s.cfg.Count > 0 && s.n >= s.cfg.Count {
			s.err = io.EOF
			return io.EOF
		}
		select {
		case <-done:
			s.err = io.EOF
			return io.EOF
		default:
		}
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			if err == afpacket.ErrTimeout || errors.Is(err, syscall.EINTR) {
				if s.cfg.OnTick != nil {
					s.cfg.OnTick(time.Now())
				}
				continue
			}
			s.err = &capture.ReadError{File: s.name, Frame: s.n + 1, Err: err}
			return s.err
		}
		if ci.Timestamp.Before(s.attached) {
			continue // queued before the filter was in place
		}
		s.n++
		f.Number = s.n
		f.Time = ci.Timestamp
		f.Data = data
		f.OrigLen = ci.Length
		f.LinkType = s.link
		return nil
	}
}

// Stats reads the kernel's counters. It is safe to call from another
// goroutine while Next runs.
func (s *Source) Stats() (Stats, error) {
	if s.tp == nil {
		return Stats{}, nil
	}
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return Stats{}, fmt.Errorf("live: socket statistics: %w", err)
	}
	return Stats{Packets: uint64(v3.Packets()), Drops: uint64(v3.Drops()), QueueFreezes: uint64(v3.QueueFreezes())}, nil
}

// Close releases the socket and its ring.
func (s *Source) Close() error {
	if !s.closed && s.tp != nil {
		s.tp.Close()
	}
	s.closed = true
	return nil
}
