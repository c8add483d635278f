package trace

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// kernelOffsets are the byte offsets, in the running kernel, of the
// structure members the programs follow with bpf_probe_read_kernel. They are
// read from the kernel's BTF at Open, which is what a CO-RE relocation of
// the same access would resolve to.
type kernelOffsets struct {
	skNet     uint32 // struct sock: __sk_common.skc_net.net (include/net/sock.h, possible_net_t)
	netInum   uint32 // struct net: ns.inum (include/linux/ns_common.h), the namespace's inode
	skbHead   uint32 // struct sk_buff: head
	skbNetHdr uint32 // struct sk_buff: network_header (u16, from head)
	skbDev    uint32 // struct sk_buff: dev
	devNet    uint32 // struct net_device: nd_net.net
}

// loadKernelOffsets resolves kernelOffsets from the kernel's BTF. nsErr
// is why the namespace offsets are missing (a kernel without
// CONFIG_NET_NS has no possible_net_t.net), skbErr why the sk_buff ones
// are: the first matters only to a namespace filter, the second only to
// kfree_skb.
func loadKernelOffsets(spec *btf.Spec) (k kernelOffsets, nsErr, skbErr error) {
	resolve := func(rs []offsetRef) error {
		for _, r := range rs {
			off, err := memberOffset(spec, r.typ, r.path)
			if err != nil {
				return err
			}
			*r.dst = off
		}
		return nil
	}
	nsErr = resolve([]offsetRef{
		{&k.skNet, "sock", "__sk_common.skc_net.net"},
		{&k.netInum, "net", "ns.inum"},
		{&k.skbDev, "sk_buff", "dev"},
		{&k.devNet, "net_device", "nd_net.net"},
	})
	skbErr = resolve([]offsetRef{
		{&k.skbHead, "sk_buff", "head"},
		{&k.skbNetHdr, "sk_buff", "network_header"},
	})
	return k, nsErr, skbErr
}

type offsetRef struct {
	dst       *uint32
	typ, path string
}

// memberOffset is the byte offset of the member at dotted path in struct
// typ, looking through anonymous structs and unions the way C does (an
// sk_buff's dev sits in an anonymous union inside an anonymous struct).
func memberOffset(spec *btf.Spec, typ, path string) (uint32, error) {
	var s *btf.Struct
	if err := spec.TypeByName(typ, &s); err != nil {
		return 0, fmt.Errorf("btf: struct %s: %w", typ, err)
	}
	var t btf.Type = s
	var off uint32
	for _, name := range strings.Split(path, ".") {
		m, o, ok := findMember(t, name)
		if !ok {
			return 0, fmt.Errorf("btf: struct %s has no member %s", typ, path)
		}
		if m.BitfieldSize != 0 {
			return 0, fmt.Errorf("btf: %s.%s is a bitfield", typ, path)
		}
		off += o
		t = m.Type
	}
	return off, nil
}

// findMember finds member name of composite type t, descending into
// anonymous members; the offset returned is from the start of t.
func findMember(t btf.Type, name string) (btf.Member, uint32, bool) {
	var members []btf.Member
	switch c := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		members = c.Members
	case *btf.Union:
		members = c.Members
	default:
		return btf.Member{}, 0, false
	}
	for _, m := range members {
		if m.Name == name {
			return m, m.Offset.Bytes(), true
		}
	}
	for _, m := range members {
		if m.Name != "" {
			continue
		}
		if inner, o, ok := findMember(m.Type, name); ok {
			return inner, m.Offset.Bytes() + o, true
		}
	}
	return btf.Member{}, 0, false
}

// btfEnumNames returns the names of enum typ's values with prefix removed
// (skb_drop_reason's SKB_DROP_REASON_TCP_CSUM is "TCP_CSUM"), nil when the
// kernel's BTF has no such enum.
func btfEnumNames(spec *btf.Spec, typ, prefix string) map[uint32]string {
	var e *btf.Enum
	if err := spec.TypeByName(typ, &e); err != nil {
		return nil
	}
	out := make(map[uint32]string, len(e.Values))
	for _, v := range e.Values {
		out[uint32(v.Value)] = strings.TrimPrefix(v.Name, prefix)
	}
	return out
}
