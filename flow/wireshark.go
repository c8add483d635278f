package flow

// Stream ids equal to Wireshark's tcp.stream.
//
// Wireshark (epan/dissectors/packet-tcp.c, dissect_tcp and
// analyze_sequence_numbers; checked against tshark 4.0.17 by
// wireshark_test.go) numbers TCP conversations in order of first
// appearance: any decoded TCP segment whose address/port pair has no
// conversation creates one. It never expires a conversation, so a 4-tuple
// keeps its stream until a segment starts a new one, which happens only
// when a SYN without ACK arrives whose direction already has a base_seq
// (TCP_S_BASE_SEQ_SET) different from the SYN's seq (TCP_A_REUSED_PORTS).
// Consequences, all verified with tshark 4.0: a SYN retransmission keeps
// the stream; so does a SYN with the old ISN after a full close or a RST;
// a SYN-ACK with a new ISN does not split; a SYN from the side that has
// sent nothing yet and was never acknowledged keeps the stream. (Later
// Wireshark releases also split on a SYN after FIN/RST, via the
// conversation completeness flags; finwave follows the 4.0 rule.)
//
// base_seq of a direction is set by every SYN it sends (SYN-ACK
// included) to the SYN's seq; otherwise by its first segment (seq-1) or,
// before that, by the first ACK of the other direction (ack-1). So a SYN
// from the side that so far only received is compared with the ACK its
// peer sent (TestStreamIDsACKBase).
//
// finwave finishes conns (idle, done, evicted) long before the end of a
// capture, to keep memory bounded. To keep ids equal, the table keeps a
// small record of each finished conn's stream (endedStream): its id,
// endpoints and wsState. When the 4-tuple comes back, the same rules decide
// between a resumed conn with the old id (Conn.Resumed) and a new stream.
// The records (finishedStreams) are bounded (TableConfig.MaxFinished,
// FIFO); if one is dropped and its 4-tuple returns without a new-stream
// SYN, finwave hands out a new id where Wireshark continues the old
// stream, and every later id is one higher than Wireshark's. Stats().Resumed counts resumptions.
//
// A new stream is not always a new connection: a SYN injected in the
// window of an established connection (RFC 5961 §4) starts one in
// Wireshark, though the receiver drops it and the connection goes on.
// TableConfig.Continues lets the table's user keep such a segment in its
// conn; the conn still takes the new id (Conn.Streams), and its stream
// state starts afresh as Wireshark's new conversation does, so every id
// stays equal (TestStreamIDsContinuesTshark). A finished conn is
// remembered, and resumed, by its latest id.
//
// Other known divergences (each listed, with its capture, in
// corpus_tshark_test.go's tsharkDiffers):
//
//   - IP fragments. Wireshark reassembles them and sees the TCP segment at
//     the last fragment; a lone first fragment it cannot reassemble still
//     has its TCP header dissected (a stream id, no length). finwave
//     counts fragments (Decoder.Fragments) and skips them, the first one
//     included: its header would give the segment the fragment's length.
//     A stream first seen in such a fragment shifts the later ids.
//   - BIG TCP and GSO super-frames whose length fields are 0 (IPv4 total
//     length, IPv6 payload length without jumbo option, UDP length in a
//     tunnel around them): finwave takes the length from the frame, tshark
//     4.0 does so only for a bare IPv4 total length 0 and otherwise stops
//     (bigtcp-*.pcap of the tcpdump corpus). Such frames occur mid-flow,
//     so ids differ only if one is the first of its conn.
//   - Overlays. Wireshark keys conversations by addresses and ports only;
//     finwave tells apart the same inner 4-tuple in two overlays (VNIs,
//     GRE keys: Table.Track), so a capture holding one 4-tuple in two
//     overlays has one tcp.stream in Wireshark and two conns here, and
//     every later id is one higher (TestOverlayStreamsVersusTshark). Flows
//     seen in one overlay, in none, in both (tcpdump -i any on a node) or
//     with a different VNI per direction keep Wireshark's ids.
//   - VXLAN on UDP 8472 (Linux's port before IANA assigned 4789):
//     finwave decodes it by default, tshark 4.0 only when told
//     (-d udp.port==8472,vxlan); without that, its TCP segments are not
//     segments to tshark.
//   - An MPLS pseudowire whose Ethernet addresses are in no OUI table:
//     Wireshark's heuristic assumes a control word, finwave looks for
//     the EtherType (decap.go, mpls).
//   - TCP inside ICMP errors is not decoded.
//
// Other tunnels Wireshark decodes as finwave does, on the same ports, so
// their ids agree (tunnel_tshark_test.go: a crafted frame of each
// encapsulation). wireshark_test.go, corpus_tshark_test.go,
// tunnel_tshark_test.go and realcapture_test.go compare ids, relative
// seqs and lengths with tshark's, stored in testdata/*.tshark (tshark
// need not be installed; when it is, it must still agree; go test
// -update rewrites them).

// wsState is the per-conn state the stream split depends on.
type wsState struct {
	base    [2]Seq
	baseSet [2]bool
}

// newStream reports whether seg, travelling in dir, starts a new stream on
// the 4-tuple of a conversation in state w.
func (w *wsState) newStream(dir Dir, seg *Segment) bool {
	if !w.baseSet[dir] {
		return false
	}
	return seg.Flags&(SYN|ACK) == SYN && seg.Seq != w.base[dir]
}

// observe folds seg (direction dir) in, after newStream said it belongs.
func (w *wsState) observe(dir Dir, seg *Segment) {
	switch {
	case seg.Flags&SYN != 0:
		// Every SYN (with or without ACK) re-bases its direction.
		w.base[dir], w.baseSet[dir] = seg.Seq, true
	case !w.baseSet[dir]:
		w.base[dir], w.baseSet[dir] = seg.Seq-1, true
	}
	rev := dir.Reverse()
	if seg.Flags&ACK != 0 && !w.baseSet[rev] {
		w.baseSet[rev] = true
		w.base[rev] = seg.Ack - 1
	}
}

// endedStream records the stream of a finished conn, for Wireshark's
// numbering should its 4-tuple come back: 96 octets, no pointers, plus its
// index entry.
type endedStream struct {
	key    mapKey    // canonical
	ovl    [2]uint64 // Conn.ovl
	id     int64
	hash   uint32 // connHash(&key)
	ws     wsState
	aFirst bool // Conn.A was key's first endpoint
	live   bool // in the index; false once dropped or overwritten
}

// finishedStreams is a FIFO ring of endedStreams, found through the
// table's index (entries with endedRef). It grows as conns finish, a chunk
// at a time (no copying: each record is allocated once), up to its
// capacity, then overwrites the oldest. Invariant: slot i is live exactly
// when the index holds endedRef(i).
type finishedStreams struct {
	chunks [][]endedStream // ring slot i is chunks[i/endedChunk][i%endedChunk]
	len    int             // slots in use
	cap    int             // 0: keep none
	head   int             // next slot to overwrite once full
	n      int             // live records
}

// endedChunk is the number of endedStreams allocated at once (96 KiB).
const endedChunk = 1024

func (s *finishedStreams) init(n int) { s.cap = n }

func (s *finishedStreams) at(i int) *endedStream { return &s.chunks[i/endedChunk][i%endedChunk] }

// drop forgets the record in ring slot i, whose index entry is at pos.
func (s *finishedStreams) drop(x *index, pos, i int) {
	s.at(i).live = false
	s.n--
	x.del(pos)
}

// put records es, the ended stream of the conn whose index entry is ref:
// that entry (same key, same hash) becomes the record's. s.cap must be
// > 0. It returns the stream id of the live record dropped for room, -1 if
// none.
func (s *finishedStreams) put(x *index, ref int32, es endedStream) (evicted int64) {
	evicted = -1
	es.live = true
	i := s.len
	if i < s.cap {
		if i%endedChunk == 0 {
			s.chunks = append(s.chunks, make([]endedStream, min(endedChunk, s.cap-i)))
		}
		s.len++
	} else {
		i = s.head
		s.head = (s.head + 1) % s.cap
		if old := s.at(i); old.live {
			// Deleting first: it may move the conn's entry.
			s.n--
			x.del(x.findRef(old.hash, endedRef(i)))
			evicted = old.id
		}
	}
	*s.at(i) = es
	s.n++
	x.ents[x.findRef(es.hash, ref)].ref = endedRef(i)
	return evicted
}

// endpoints returns Conn.A and Conn.B of the finished conn.
func (es *endedStream) endpoints() (a, b Endpoint) {
	first, second := es.key.ends()
	if es.aFirst {
		return first, second
	}
	return second, first
}
