package flow

// mapKey is a Key packed without pointers, the key of the table's maps:
// 40 octets hashed and compared as plain memory (Key holds two netip.Addr,
// 64 octets with pointers), and maps whose keys and values hold no
// pointers (the tombstone index) are not scanned by the garbage collector.
//
// IPv4 addresses are stored IPv4-mapped, with v4 set, so 10.0.0.1 and
// ::ffff:10.0.0.1 stay distinct as they are in Key. Zones are not kept:
// the decoder never sets one (addresses come from packet bytes).
type mapKey struct {
	src, dst     [16]byte
	sport, dport uint16
	v4           bool
}

func packKey(k Key) mapKey {
	return mapKey{
		src: k.Src.Addr.As16(), dst: k.Dst.Addr.As16(),
		sport: k.Src.Port, dport: k.Dst.Port,
		v4: k.Src.Addr.Is4(),
	}
}
