package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// teeFrames are frames a writer must keep exactly: nanoseconds, a frame cut
// by a snaplen (OrigLen larger), an empty one, the last second pcap holds.
func teeFrames() []Frame {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	return []Frame{
		{Time: t0, Data: []byte("0123456789abcdef"), OrigLen: 16},
		{Time: t0.Add(1500 * time.Microsecond), Data: bytes.Repeat([]byte{0xa5}, 128), OrigLen: 1514},
		{Time: t0.Add(time.Second + 1), Data: []byte{}, OrigLen: 60},
		{Time: time.Unix(1<<32-1, 999999999), Data: []byte{1, 2, 3}, OrigLen: 3},
	}
}

// sameFrames compares frames read back with the frames written: numbered
// 1, 2, ... in order, with the file's link type.
func sameFrames(t *testing.T, got, want []Frame, lt layers.LinkType) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read back %d frames, wrote %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Number != int64(i+1) || !g.Time.Equal(w.Time) || !bytes.Equal(g.Data, w.Data) || g.OrigLen != w.OrigLen || g.LinkType != lt {
			t.Errorf("frame %d read back as %+v, written %+v (link type %v)", i+1, g, w, lt)
		}
	}
}

// TestPcapWriterRoundTrip: what PcapWriter writes, the reader gives back.
func TestPcapWriterRoundTrip(t *testing.T) {
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2} {
		var buf bytes.Buffer
		w, err := NewPcapWriter(&buf, "rt.pcap", lt, 262144)
		if err != nil {
			t.Fatal(err)
		}
		want := teeFrames()
		for i := range want {
			if err := w.WriteFrame(&want[i]); err != nil {
				t.Fatal(err)
			}
		}
		if w.Frames() != int64(len(want)) {
			t.Errorf("Frames() = %d, want %d", w.Frames(), len(want))
		}
		sameFrames(t, mustReadAll(t, buf.Bytes()), want, lt)
	}
}

// TestPcapWriterAsPcapgo: the bytes are those of gopacket's pcapgo
// nanosecond writer, an independent implementation, for the same frames.
func TestPcapWriterAsPcapgo(t *testing.T) {
	var ours, theirs bytes.Buffer
	w, err := NewPcapWriter(&ours, "a.pcap", layers.LinkTypeLinuxSLL, 65535)
	if err != nil {
		t.Fatal(err)
	}
	pw := pcapgo.NewWriterNanos(&theirs)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeLinuxSLL); err != nil {
		t.Fatal(err)
	}
	for _, f := range teeFrames() {
		if err := w.WriteFrame(&f); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.OrigLen}
		if err := pw.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(ours.Bytes(), theirs.Bytes()) {
		t.Errorf("PcapWriter wrote\n%x\npcapgo\n%x", ours.Bytes(), theirs.Bytes())
	}
}

// TestPcapWriterRefuses: a frame pcap cannot hold is refused with the
// file, the frame and the reason; nothing is written and the writer goes
// on. The zero time is written as the epoch.
func TestPcapWriterRefuses(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf, "r.pcap", layers.LinkTypeEthernet, 262144)
	if err != nil {
		t.Fatal(err)
	}
	ok := Frame{Time: time.Unix(1, 0), Data: []byte{1}, OrigLen: 1}
	if err := w.WriteFrame(&ok); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    Frame
		want string
	}{
		{Frame{Time: time.Unix(-1, 0), Data: []byte{1}, OrigLen: 1}, "outside pcap's range"},
		{Frame{Time: time.Unix(1<<32, 0), Data: []byte{1}, OrigLen: 1}, "outside pcap's range"},
		{Frame{Time: time.Unix(1, 0), Data: make([]byte, MaxFrameLen+1), OrigLen: MaxFrameLen + 1}, "more than the maximum 262144"},
		{Frame{Time: time.Unix(1, 0), Data: []byte{1, 2}, OrigLen: 1}, "2 bytes captured of 1 on the wire"},
	} {
		n := buf.Len()
		err := w.WriteFrame(&c.f)
		if err == nil || !strings.HasPrefix(err.Error(), "capture r.pcap: write frame 2: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteFrame(%v, %d/%d bytes) = %v, want capture r.pcap: write frame 2: ...%s", c.f.Time, len(c.f.Data), c.f.OrigLen, err, c.want)
		}
		if buf.Len() != n {
			t.Errorf("a refused frame wrote %d bytes", buf.Len()-n)
		}
	}
	zero := Frame{Data: []byte{2}, OrigLen: 1500}
	if err := w.WriteFrame(&zero); err != nil {
		t.Fatalf("after refusals: %v", err)
	}
	zero.Time = time.Unix(0, 0)
	sameFrames(t, mustReadAll(t, buf.Bytes()), []Frame{ok, zero}, layers.LinkTypeEthernet)
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct {
	n   int
	err error
}

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// TestPcapWriterWriteError: a failed write names the file and the frame,
// wraps the cause, and is returned again by every later write.
func TestPcapWriterWriteError(t *testing.T) {
	disk := errors.New("disk on fire")
	if _, err := NewPcapWriter(&failAfter{n: 10, err: disk}, "h.pcap", layers.LinkTypeEthernet, 0); !errors.Is(err, disk) || !strings.HasPrefix(err.Error(), "capture h.pcap: write file header: ") {
		t.Errorf("header: %v", err)
	}
	w, err := NewPcapWriter(&failAfter{n: pcapFileHeaderLen + 2*(pcapRecordHeaderLen+16) + 5, err: disk}, "w.pcap", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := teeFrames()[0]
	for range 2 {
		if err := w.WriteFrame(&f); err != nil {
			t.Fatal(err)
		}
	}
	err = w.WriteFrame(&f)
	if !errors.Is(err, disk) || err.Error() != "capture w.pcap: write frame 3: disk on fire" {
		t.Fatalf("third frame: %v", err)
	}
	if err2 := w.WriteFrame(&f); err2 != err || w.Frames() != 2 {
		t.Errorf("after a failed write: %v, %d frames; want the same error, 2 frames", err2, w.Frames())
	}
}

// TestPcapWriterAllocs: writing a frame allocates nothing.
func TestPcapWriterAllocs(t *testing.T) {
	w, err := NewPcapWriter(io.Discard, "d.pcap", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := teeFrames()[1]
	if n := testing.AllocsPerRun(1000, func() { _ = w.WriteFrame(&f) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// teeSource is a Source over a pcap file built from frames.
func teeSource(t *testing.T, frames []Frame) Source {
	t.Helper()
	var recs []rec
	for _, f := range frames {
		recs = append(recs, rec{sec: uint32(f.Time.Unix()), frac: uint32(f.Time.Nanosecond()), data: f.Data, orig: uint32(f.OrigLen)})
	}
	src, err := NewReader("in.pcap", bytes.NewReader(pcapFile(binary.BigEndian, true, 65535, uint32(layers.LinkTypeLinuxSLL2), recs...)))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestTee: every frame is handed on as the source gave it, and the file,
// read back by Open, holds the same frames with the same numbers.
func TestTee(t *testing.T) {
	frames := teeFrames()
	src := teeSource(t, frames)
	path := filepath.Join(t.TempDir(), "tee.pcap")
	tee, err := CreateTee(src, path, layers.LinkTypeLinuxSLL2, 262144)
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(tee, 100)
	if err != io.EOF {
		t.Fatalf("tee ended with %v, want io.EOF", err)
	}
	sameFrames(t, got, frames, layers.LinkTypeLinuxSLL2)
	if err := tee.Close(); err != nil {
		t.Fatal(err)
	}
	if tee.Frames() != int64(len(frames)) {
		t.Errorf("Frames() = %d, want %d", tee.Frames(), len(frames))
	}
	// The source is not closed by the tee: it still answers (sticky EOF).
	var f Frame
	if err := src.Next(&f); err != io.EOF {
		t.Errorf("source after the tee's Close: %v, want io.EOF", err)
	}
	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	read, err := drain(back, 100)
	if err != io.EOF {
		t.Fatalf("reading %s back: %v", path, err)
	}
	sameFrames(t, read, got, layers.LinkTypeLinuxSLL2)
}

// TestTeeErrors: a file that cannot be created is an error naming it,
// wrapping the cause; a file that cannot be written does not stop the
// frames, and Close reports why (no space left on /dev/full), again when
// called again.
func TestTeeErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "t.pcap")
	if _, err := CreateTee(teeSource(t, nil), missing, layers.LinkTypeEthernet, 0); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "capture "+missing+": ") {
		t.Errorf("CreateTee in a missing directory: %v", err)
	}

	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	var frames []Frame
	for i := range 100 { // 100 KiB: more than the tee's buffer, so writes fail during Next
		frames = append(frames, Frame{Time: time.Unix(int64(i), 0), Data: bytes.Repeat([]byte{byte(i)}, 1024), OrigLen: 1024})
	}
	tee, err := CreateTee(teeSource(t, frames), "/dev/full", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(tee, 1000)
	if err != io.EOF || len(got) != len(frames) {
		t.Fatalf("tee on /dev/full handed on %d frames then %v, want all %d then io.EOF", len(got), err, len(frames))
	}
	err = tee.Close()
	if !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "capture /dev/full: write frame ") {
		t.Errorf("Close = %v, want capture /dev/full: write frame N: ... ENOSPC", err)
	}
	if err2 := tee.Close(); err2 != err {
		t.Errorf("second Close = %v, want %v", err2, err)
	}
}
