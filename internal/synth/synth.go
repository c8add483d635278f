package synth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Ending is how a synthetic connection ends.
type Ending uint8

// Endings, in the order of the rotation.
const (
	FourWay Ending = iota
	ThreeWay
	RSTUnread
	LingerZero
	Refused
	LostFinalACK
	numEndings
)

var endingNames = [...]string{"four-way", "three-way", "rst-unread", "linger-0", "refused", "lost-final-ack"}

func (e Ending) String() string {
	if int(e) < len(endingNames) {
		return endingNames[e]
	}
	return "unknown"
}

// mix is the rotation of endings: mostly orderly closes, as on a busy
// server, with every abnormal ending present.
var mix = [...]Ending{FourWay, FourWay, FourWay, ThreeWay, FourWay, RSTUnread, FourWay, LingerZero, ThreeWay, Refused, FourWay, LostFinalACK}

// Config describes a synthetic capture. The zero value of a field means
// its default.
type Config struct {
	Conns       int           // connections (flows) to write; default 1000
	Concurrency int           // connections open at once, interleaved; default 100
	Payload     int           // bytes of the request and of the reply; default 100
	Flood       bool          // one SYN per flow, nothing else
	Start       time.Time     // time of the first frame; default 2026-01-01 UTC
	Gap         time.Duration // capture time between frames; default 10µs
	Snaplen     int           // bytes of each frame written; default all
	// Rate, when set, is fixed-rate mode: connection i opens (its SYN) at
	// exactly Start + i/Rate, one client (10.1.0.0, port 10000+i) to one
	// service (10.0.0.1:80), every connection four-way with the client
	// closing first (into TIME_WAIT), one connection at a time: its 11
	// frames, Gap apart, must fit between two openings. Conns at most
	// 50,000 (no client port reused). Concurrency is ignored.
	Rate float64
}

// Stats is what Write wrote.
type Stats struct {
	Frames  int64
	Bytes   int64 // frame bytes, without pcap headers
	Endings [numEndings]int64
}

// conn is one connection being written. Frames are produced one at a time
// by step, so that Concurrency of them interleave.
type conn struct {
	idx    int // connection number, decides the 4-tuple and ending
	ending Ending
	step   int
	wait   time.Time // no frame before this capture time (a retransmission timer)
	cseq   uint32    // client's next sequence number
	sseq   uint32    // server's next sequence number
}

// WriteFile writes the capture Write makes to a new file at path.
func WriteFile(path string, cfg Config) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, fmt.Errorf("synth: %w", err)
	}
	st, err := Write(f, cfg)
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("synth: %w", cerr)
	}
	return st, err
}

// Write writes a pcap (Ethernet, microsecond timestamps) of cfg to w.
func Write(w io.Writer, cfg Config) (Stats, error) {
	var st Stats
	if cfg.Conns <= 0 {
		cfg.Conns = 1000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 100
	}
	if cfg.Payload < 0 {
		return st, errors.New("synth: negative payload")
	}
	if cfg.Payload == 0 {
		cfg.Payload = 100
	}
	if cfg.Payload > 1400 {
		return st, fmt.Errorf("synth: payload %d: at most 1400 bytes (one segment)", cfg.Payload)
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Gap <= 0 {
		cfg.Gap = 10 * time.Microsecond
	}
	if cfg.Rate > 0 {
		if cfg.Conns > 50000 {
			return st, fmt.Errorf("synth: rate mode: %d connections, at most 50000", cfg.Conns)
		}
		if time.Duration(float64(time.Second)/cfg.Rate) < rateFrames*cfg.Gap {
			return st, fmt.Errorf("synth: rate %g/s: a connection's %d frames %v apart do not fit between openings", cfg.Rate, rateFrames, cfg.Gap)
		}
		cfg.Concurrency = 1
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriter(bw)
	snap := uint32(65535)
	if err := pw.WriteFileHeader(snap, layers.LinkTypeEthernet); err != nil {
		return st, fmt.Errorf("synth: write header: %w", err)
	}
	g := gen{cfg: cfg, pw: pw, st: &st, now: cfg.Start, buf: make([]byte, 0, 1600)}
	var err error
	if cfg.Flood {
		err = g.flood()
	} else {
		err = g.conns()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return st, fmt.Errorf("synth: %w", err)
	}
	return st, nil
}

type gen struct {
	cfg Config
	pw  *pcapgo.Writer
	st  *Stats
	now time.Time
	buf []byte
	ci  gopacket.CaptureInfo
}

func (g *gen) flood() error {
	for i := 0; i < g.cfg.Conns; i++ {
		c := conn{idx: i, cseq: isn(i, 0)}
		if err := g.emit(&c, true, syn, c.cseq, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// conns round-robins over Concurrency slots, one frame per slot per turn;
// a slot whose connection ended starts the next one.
func (g *gen) conns() error {
	slots := make([]conn, min(g.cfg.Concurrency, g.cfg.Conns))
	next := 0
	for i := range slots {
		slots[i] = g.newConn(next)
		next++
	}
	live := len(slots)
	for live > 0 {
		wrote := false
		var soonest time.Time
		for i := range slots {
			c := &slots[i]
			if c.idx < 0 {
				continue
			}
			if g.now.Before(c.wait) {
				if soonest.IsZero() || c.wait.Before(soonest) {
					soonest = c.wait
				}
				continue
			}
			wrote = true
			more, err := g.frame(c)
			if err != nil {
				return err
			}
			if more {
				continue
			}
			g.st.Endings[c.ending]++
			if next < g.cfg.Conns {
				*c = g.newConn(next)
				next++
			} else {
				c.idx = -1
				live--
			}
		}
		if !wrote && !soonest.IsZero() {
			g.now = soonest // every open connection waits on a timer
		}
	}
	return nil
}

// rateFrames is the frames of a four-way connection (handshake, request,
// reply, close).
const rateFrames = 11

func (g *gen) newConn(i int) conn {
	c := conn{idx: i, ending: mix[i%len(mix)], cseq: isn(i, 0), sseq: isn(i, 1)}
	if g.cfg.Rate > 0 {
		c.ending = FourWay
		at := g.cfg.Start.Add(time.Duration(float64(i) * float64(time.Second) / g.cfg.Rate))
		if g.now.Before(at) {
			g.now = at
		}
	}
	return c
}

// isn is a deterministic, well spread initial sequence number.
func isn(i, side int) uint32 {
	x := uint32(i)*2654435761 + uint32(side)*0x9e3779b9
	return x ^ x>>13
}

// rtoMin is Linux TCP_RTO_MIN: the earliest a lost segment is sent again.
const rtoMin = 200 * time.Millisecond

// TCP flag bits as on the wire.
const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	psh = 0x08
	ack = 0x10
)

// frame writes the next frame of c and reports whether c has more.
func (g *gen) frame(c *conn) (bool, error) {
	p := uint32(g.cfg.Payload)
	s := c.step
	c.step++
	var seq uint32
	// Common opening: handshake, request, ACK, reply, ACK (steps 0-6).
	switch {
	case s == 0:
		seq = c.cseq
		c.cseq++
		return true, g.emit(c, true, syn, seq, 0, 0)
	case s == 1 && c.ending == Refused:
		return false, g.emit(c, false, rst|ack, 0, c.cseq, 0)
	case s == 1:
		seq = c.sseq
		c.sseq++
		return true, g.emit(c, false, syn|ack, seq, c.cseq, 0)
	case s == 2:
		return true, g.emit(c, true, ack, c.cseq, c.sseq, 0)
	case s == 3:
		seq = c.cseq
		c.cseq += p
		return true, g.emit(c, true, psh|ack, seq, c.sseq, p)
	case s == 4 && c.ending == RSTUnread:
		// The server closes without reading the request: RST carrying
		// its snd.nxt, acknowledging what it did receive.
		return false, g.emit(c, false, rst|ack, c.sseq, c.cseq, 0)
	case s == 4:
		return true, g.emit(c, false, ack, c.sseq, c.cseq, 0)
	case s == 5:
		seq = c.sseq
		c.sseq += p
		return true, g.emit(c, false, psh|ack, seq, c.cseq, p)
	case s == 6:
		return true, g.emit(c, true, ack, c.cseq, c.sseq, 0)
	}
	// Endings (steps 7 on).
	t := s - 7
	switch c.ending {
	case LingerZero:
		return false, g.emit(c, true, rst|ack, c.cseq, c.sseq, 0)
	case ThreeWay:
		switch t {
		case 0:
			seq = c.cseq
			c.cseq++
			return true, g.emit(c, true, fin|ack, seq, c.sseq, 0)
		case 1:
			seq = c.sseq
			c.sseq++
			return true, g.emit(c, false, fin|ack, seq, c.cseq, 0)
		default:
			return false, g.emit(c, true, ack, c.cseq, c.sseq, 0)
		}
	case FourWay, LostFinalACK:
		switch t {
		case 0:
			seq = c.cseq
			c.cseq++
			return true, g.emit(c, true, fin|ack, seq, c.sseq, 0)
		case 1:
			return true, g.emit(c, false, ack, c.sseq, c.cseq, 0)
		case 2:
			seq = c.sseq
			c.sseq++
			return true, g.emit(c, false, fin|ack, seq, c.cseq, 0)
		case 3:
			// The final ACK; for LostFinalACK it is lost after the
			// capture point (taken at the client), so the capture
			// shows it and, one RTO later (TCP_RTO_MIN, 200 ms), the
			// server's FIN retransmission.
			c.wait = g.now.Add(rtoMin)
			return c.ending == LostFinalACK, g.emit(c, true, ack, c.cseq, c.sseq, 0)
		case 4:
			// tcp_retransmit_timer: the server retransmits its FIN.
			return true, g.emit(c, false, fin|ack, c.sseq-1, c.cseq, 0)
		default:
			// TIME_WAIT re-ACK (tcp_timewait_state_process, TCP_TW_ACK).
			return false, g.emit(c, true, ack, c.cseq, c.sseq, 0)
		}
	}
	return false, nil
}

// addrs returns client and server IPv4 addresses and ports of connection i.
func addrs(i int) (cip, sip [4]byte, cport, sport uint16) {
	hi := i / 50000
	cip = [4]byte{10, byte(1 + hi>>16), byte(hi >> 8), byte(hi)}
	sip = [4]byte{10, 0, 0, 1}
	return cip, sip, uint16(10000 + i%50000), 80
}

// emit writes one Ethernet/IPv4/TCP frame of connection c.
func (g *gen) emit(c *conn, fromClient bool, flags uint8, seq, ackn, n uint32) error {
	cip, sip, cport, sport := addrs(c.idx)
	src, dst, sp, dp := cip, sip, cport, sport
	if !fromClient {
		src, dst, sp, dp = sip, cip, sport, cport
	}
	opt := 0
	if flags&syn != 0 {
		opt = 4 // MSS
	}
	tcpLen := 20 + opt
	total := 20 + tcpLen + int(n)
	b := g.buf[:14+total]
	// Ethernet: locally administered MACs, one per side.
	copy(b[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(b[6:12], []byte{2, 0, 0, 0, 0, 1})
	if !fromClient {
		b[5], b[11] = 1, 2
	}
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14 : 14+20]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], uint16(g.st.Frames))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8], ip[9] = 64, 6
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
	tcp := b[34 : 34+tcpLen+int(n)]
	binary.BigEndian.PutUint16(tcp[0:], sp)
	binary.BigEndian.PutUint16(tcp[2:], dp)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ackn)
	tcp[12] = byte(tcpLen/4) << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
	if opt > 0 {
		tcp[20], tcp[21] = 2, 4
		binary.BigEndian.PutUint16(tcp[22:], 1460)
	}
	pl := tcp[tcpLen:]
	for i := range pl {
		pl[i] = byte('a' + i%26)
	}
	// Pseudo-header (RFC 9293 §3.1).
	ps := sum(src[:], 0)
	ps = sum(dst[:], ps) + 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum(tcp, ps)))

	g.ci.Timestamp = g.now
	g.ci.Length = len(b)
	g.ci.CaptureLength = len(b)
	if g.cfg.Snaplen > 0 && len(b) > g.cfg.Snaplen {
		b = b[:g.cfg.Snaplen]
		g.ci.CaptureLength = len(b)
	}
	g.now = g.now.Add(g.cfg.Gap)
	g.st.Frames++
	g.st.Bytes += int64(len(b))
	return g.pw.WritePacket(g.ci, b)
}

// sum adds b as 16-bit big-endian words to s (RFC 1071).
func sum(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
