package trace

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"finwave/host"
)

// The record each program writes to the ring buffer. Fixed size, so that
// bpf_ringbuf_reserve takes a constant (kernel/bpf/ringbuf.c requires one).
const (
	recKind   = 0                     // u32 host.EventKind
	recNetNS  = 4                     // u32 the namespace inode that passed the filter (0: no filter)
	recTime   = 8                     // u64 bpf_ktime_get_ns (CLOCK_MONOTONIC)
	recPID    = 16                    // u64 bpf_get_current_pid_tgid: tgid<<32 | tid
	recComm   = 24                    // [16]byte bpf_get_current_comm
	recRaw    = 40                    // the tracepoint record as tracefs describes it
	rawMax    = 96                    // room for it (tcp_send_reset's is 88 bytes on 6.18)
	recNetHdr = recRaw + rawMax       // kfree_skb: the first netHdrLen bytes of the IP header
	netHdrLen = 40                    // an IPv6 header; IPv4's fixed part is 20
	recPorts  = recNetHdr + netHdrLen // kfree_skb: the TCP source and destination ports
	recSize   = recPorts + 8
)

// Stack slots of the programs (offsets from R10, the frame pointer).
const (
	stScratch = -8  // one pointer or integer read with bpf_probe_read_kernel
	stInum    = -16 // the namespace inode that passed the filter
	stNetHdr  = -64 // kfree_skb: netHdrLen bytes of the IP header
)

// progSpec says what one program reads from its tracepoint's record.
type progSpec struct {
	kind    host.EventKind
	rawSize int // bytes of the record to copy (format.Size)

	// tcpProto: the ctx offset of a u16 protocol field that must be
	// IPPROTO_TCP (inet_sock_set_state also fires for SCTP and MPTCP).
	tcpProto int
	// ethProto: the ctx offset of kfree_skb's u16 protocol, the host-order
	// ethertype (TP_fast_assign: ntohs(skb->protocol)): IPv4 or IPv6 only.
	ethProto int
	// skb: the ctx offset of the sk_buff pointer whose IP header the
	// program reads to keep only TCP segments (kfree_skb); -1 none.
	skb int

	// nsFrom lists where the namespace is found, tried in order: a socket
	// pointer in the record (ctx offset, kind nsSock) or an sk_buff
	// pointer whose dev is followed (nsSkbDev). The first non-NULL wins.
	nsFrom []nsSource
}

type nsSourceKind uint8

const (
	nsSock nsSourceKind = iota
	nsSkbDev
)

type nsSource struct {
	kind nsSourceKind
	off  int // ctx offset of the pointer
}

// builder appends instructions and attaches pending labels to the next one.
type builder struct {
	insns asm.Instructions
	label string
}

func (b *builder) emit(ins ...asm.Instruction) {
	for _, in := range ins {
		if b.label != "" {
			in = in.WithSymbol(b.label)
			b.label = ""
		}
		b.insns = append(b.insns, in)
	}
}

func (b *builder) mark(label string) {
	if b.label != "" {
		// two labels on one place: a no-op jump keeps both.
		b.emit(asm.Ja.Label(label))
	}
	b.label = label
}

// probeRead emits bpf_probe_read_kernel(R10+dstOff, size, src+srcOff)
// where src is a register holding a kernel pointer (it is clobbered).
func (b *builder) probeReadStack(dstOff int32, size int32, src asm.Register, srcOff int32) {
	if srcOff != 0 {
		b.emit(asm.Add.Imm(src, srcOff))
	}
	b.emit(
		asm.Mov.Reg(asm.R3, src),
		asm.Mov.Reg(asm.R1, asm.RFP),
		asm.Add.Imm(asm.R1, dstOff),
		asm.Mov.Imm(asm.R2, size),
		asm.FnProbeReadKernel.Call(),
	)
}

// buildProgram assembles the program of one tracepoint.
//
// Registers: R6 the ctx (the raw record), R7 the ring buffer slot, R8 and R9
// kfree_skb's IP and TCP header pointers. R0-R5 are clobbered by helpers.
func buildProgram(p progSpec, k kernelOffsets, netns []uint32, wakeAt int32, events, lost *ebpf.Map) asm.Instructions {
	b := &builder{}
	b.emit(asm.Mov.Reg(asm.R6, asm.R1))

	if p.tcpProto >= 0 {
		// IPPROTO_TCP (include/uapi/linux/in.h)
		b.emit(
			asm.LoadMem(asm.R0, asm.R6, int16(p.tcpProto), asm.Half),
			asm.JNE.Imm(asm.R0, 6, "exit"),
		)
	}
	if p.ethProto >= 0 {
		// ETH_P_IP, ETH_P_IPV6 (include/uapi/linux/if_ether.h)
		b.emit(
			asm.LoadMem(asm.R0, asm.R6, int16(p.ethProto), asm.Half),
			asm.JEq.Imm(asm.R0, 0x0800, "ip"),
			asm.JNE.Imm(asm.R0, 0x86dd, "exit"),
		)
		b.mark("ip")
	}
	if p.skb >= 0 {
		// The IP header is at skb->head + skb->network_header
		// (include/linux/skbuff.h, skb_network_header).
		b.emit(
			asm.LoadMem(asm.R7, asm.R6, int16(p.skb), asm.DWord),
			asm.JEq.Imm(asm.R7, 0, "exit"),
			asm.Mov.Reg(asm.R8, asm.R7),
		)
		b.probeReadStack(stScratch, 8, asm.R8, int32(k.skbHead))
		b.emit(asm.LoadMem(asm.R8, asm.RFP, stScratch, asm.DWord))
		b.emit(asm.Mov.Reg(asm.R9, asm.R7))
		b.probeReadStack(stScratch, 2, asm.R9, int32(k.skbNetHdr))
		b.emit(
			asm.LoadMem(asm.R0, asm.RFP, stScratch, asm.Half),
			asm.Add.Reg(asm.R8, asm.R0),
			asm.Mov.Reg(asm.R9, asm.R8),
		)
		b.probeReadStack(stNetHdr, netHdrLen, asm.R9, 0)
		b.emit(
			asm.JNE.Imm(asm.R0, 0, "exit"),
			asm.LoadMem(asm.R0, asm.RFP, stNetHdr, asm.Byte),
			asm.RSh.Imm(asm.R0, 4),
			asm.JEq.Imm(asm.R0, 4, "v4"),
			asm.JNE.Imm(asm.R0, 6, "exit"),
			// IPv6: nexthdr (offset 6) must be TCP; the TCP header follows
			// the fixed 40 bytes (extension headers are not followed).
			asm.LoadMem(asm.R0, asm.RFP, stNetHdr+6, asm.Byte),
			asm.JNE.Imm(asm.R0, 6, "exit"),
			asm.Mov.Reg(asm.R9, asm.R8),
			asm.Add.Imm(asm.R9, 40),
			asm.Ja.Label("l4"),
		)
		b.mark("v4")
		// IPv4: protocol (offset 9) must be TCP; the TCP header is ihl*4
		// bytes after the IP header's start (RFC 791).
		b.emit(
			asm.LoadMem(asm.R0, asm.RFP, stNetHdr+9, asm.Byte),
			asm.JNE.Imm(asm.R0, 6, "exit"),
			asm.LoadMem(asm.R9, asm.RFP, stNetHdr, asm.Byte),
			asm.And.Imm(asm.R9, 15),
			asm.LSh.Imm(asm.R9, 2),
			asm.Add.Reg(asm.R9, asm.R8),
		)
		b.mark("l4")
	}

	if len(netns) > 0 {
		for i, src := range p.nsFrom {
			next := "ns_src" + string(rune('0'+i+1))
			b.emit(
				asm.LoadMem(asm.R3, asm.R6, int16(src.off), asm.DWord),
				asm.JEq.Imm(asm.R3, 0, next),
			)
			switch src.kind {
			case nsSock:
				// sock_net(sk): sk->__sk_common.skc_net.net
				b.probeReadStack(stScratch, 8, asm.R3, int32(k.skNet))
			case nsSkbDev:
				// dev_net(skb->dev): skb->dev->nd_net.net
				b.probeReadStack(stScratch, 8, asm.R3, int32(k.skbDev))
				b.emit(
					asm.LoadMem(asm.R3, asm.RFP, stScratch, asm.DWord),
					asm.JEq.Imm(asm.R3, 0, next),
				)
				b.probeReadStack(stScratch, 8, asm.R3, int32(k.devNet))
			}
			b.emit(asm.Ja.Label("have_net"))
			b.mark(next)
		}
		b.emit(asm.Ja.Label("exit"))
		b.mark("have_net")
		b.emit(
			asm.LoadMem(asm.R3, asm.RFP, stScratch, asm.DWord),
			asm.JEq.Imm(asm.R3, 0, "exit"),
		)
		b.probeReadStack(stScratch, 4, asm.R3, int32(k.netInum))
		b.emit(asm.LoadMem(asm.R0, asm.RFP, stScratch, asm.Word))
		for _, ino := range netns {
			b.emit(asm.JEq.Imm32(asm.R0, int32(ino), "ns_ok"))
		}
		b.emit(asm.Ja.Label("exit"))
		b.mark("ns_ok")
		b.emit(asm.StoreMem(asm.RFP, stInum, asm.R0, asm.Word))
	}

	b.emit(
		asm.LoadMapPtr(asm.R1, events.FD()),
		asm.Mov.Imm(asm.R2, recSize),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnRingbufReserve.Call(),
		asm.JEq.Imm(asm.R0, 0, "lost"),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.StoreImm(asm.R7, recKind, int64(p.kind), asm.Word),
	)
	if len(netns) > 0 {
		b.emit(
			asm.LoadMem(asm.R0, asm.RFP, stInum, asm.Word),
			asm.StoreMem(asm.R7, recNetNS, asm.R0, asm.Word),
		)
	} else {
		b.emit(asm.StoreImm(asm.R7, recNetNS, 0, asm.Word))
	}
	b.emit(
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.R7, recTime, asm.R0, asm.DWord),
		asm.FnGetCurrentPidTgid.Call(),
		asm.StoreMem(asm.R7, recPID, asm.R0, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R7),
		asm.Add.Imm(asm.R1, recComm),
		asm.Mov.Imm(asm.R2, 16),
		asm.FnGetCurrentComm.Call(),
		asm.Mov.Reg(asm.R1, asm.R7),
		asm.Add.Imm(asm.R1, recRaw),
		asm.Mov.Imm(asm.R2, int32(p.rawSize)),
		asm.Mov.Reg(asm.R3, asm.R6),
		asm.FnProbeReadKernel.Call(),
	)
	if p.skb >= 0 {
		b.emit(
			asm.Mov.Reg(asm.R1, asm.R7),
			asm.Add.Imm(asm.R1, recNetHdr),
			asm.Mov.Imm(asm.R2, netHdrLen),
			asm.Mov.Reg(asm.R3, asm.R8),
			asm.FnProbeReadKernel.Call(),
			asm.Mov.Reg(asm.R1, asm.R7),
			asm.Add.Imm(asm.R1, recPorts),
			asm.Mov.Imm(asm.R2, 4),
			asm.Mov.Reg(asm.R3, asm.R9),
			asm.FnProbeReadKernel.Call(),
		)
	}
	// Waking the reader costs more than the rest of the program (an
	// irq_work per record: kernel/bpf/ringbuf.c, bpf_ringbuf_commit; about
	// 3 µs in a VM against 0.13 µs). With wakeAt > 0 the programs submit
	// without a wakeup (BPF_RB_NO_WAKEUP) until wakeAt bytes wait, then
	// force one (BPF_RB_FORCE_WAKEUP); Read looks on its own every
	// Config.Latency. wakeAt 0 keeps the kernel's adaptive wakeup.
	if wakeAt > 0 {
		b.emit(
			asm.LoadMapPtr(asm.R1, events.FD()),
			asm.Mov.Imm(asm.R2, 0), // BPF_RB_AVAIL_DATA
			asm.FnRingbufQuery.Call(),
			asm.Mov.Imm(asm.R2, 1), // BPF_RB_NO_WAKEUP
			asm.JLT.Imm(asm.R0, wakeAt, "submit"),
			asm.Mov.Imm(asm.R2, 2), // BPF_RB_FORCE_WAKEUP
		)
	} else {
		b.emit(asm.Mov.Imm(asm.R2, 0))
	}
	b.mark("submit")
	b.emit(
		asm.Mov.Reg(asm.R1, asm.R7),
		asm.FnRingbufSubmit.Call(),
		asm.Ja.Label("exit"),
	)
	// The ring buffer was full: count the event lost (an atomic add on the
	// one-element array map that Lost reads through its memory mapping).
	b.mark("lost")
	b.emit(
		asm.LoadMapValue(asm.R1, lost.FD(), 0),
		asm.Mov.Imm(asm.R2, 1),
		asm.StoreXAdd(asm.R1, asm.R2, asm.DWord),
	)
	b.mark("exit")
	b.emit(
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	)
	return b.insns
}
