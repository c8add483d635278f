package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// corpusDir holds tcpdump's test captures (many malformed on purpose).
const corpusDir = "../../shared/captures/tcpdump-tests"

// corpusFrameCap bounds the frames read from one file, so that reading
// terminates even if a reader looped.
const corpusFrameCap = 1_000_000

func corpusFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Skipf("public capture corpus not available (%v); it lives at %s relative to capture/", err, corpusDir)
	}
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(corpusDir, e.Name()))
		}
	}
	return files
}

// readFile reads a whole file and returns the number of frames before the
// end and the final error.
func readFile(path string) (int, error) {
	src, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	var f Frame
	n := 0
	for ; n < corpusFrameCap; n++ {
		if err := src.Next(&f); err != nil {
			return n, err
		}
		if len(f.Data) > MaxFrameLen || f.Number != int64(n+1) {
			return n, errors.New("frame invariant broken")
		}
	}
	return n, errors.New("frame cap reached")
}

// TestCorpus reads every file of the corpus to the end: no panic, reading
// terminates, and every error is a *ReadError (open errors included, since
// all files exist).
func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	var clean, damaged, refused int
	for _, p := range files {
		n, err := readFile(p)
		var re *ReadError
		switch {
		case err == io.EOF:
			clean++
		case errors.As(err, &re):
			if re.File != p {
				t.Errorf("%s: error names file %q", p, re.File)
			}
			if re.Frame == 0 {
				refused++
			} else {
				damaged++
				if re.Frame != int64(n+1) {
					t.Errorf("%s: error for frame %d after %d frames", p, re.Frame, n)
				}
			}
		default:
			t.Errorf("%s: after %d frames: %v (%T), want io.EOF or *ReadError", p, n, err, err)
		}
	}
	t.Logf("%d files: %d read to a clean end, %d damaged, %d refused at the file header", len(files), clean, damaged, refused)
}

// tsharkSample are corpus files cross-checked against tshark by default;
// set CAPTURE_TSHARK_ALL=1 to check every file (about 10 minutes).
var tsharkSample = []string{
	"tcp-handshake-nano.pcap", "timestamp_invalid_micro.pcap", "timestamp_invalid_nano.pcap",
	"time_2106_overflow.pcapng", "time_2107.pcapng", "empty.pcapng",
	"OSPFv2_Capture_FINAL.pcapng", "isis_sr.pcapng", "vsock-1.pcapng", "of13_ericsson.pcapng",
	"atm-oam-loopback-print-overrun.pcap", "atm-heapoverflow.pcap",
	"dsa.pcap", "juniper_es_oobr.pcap", // link types tshark refuses: tcpdump counts
}

// hasBogusFraction reports whether a classic pcap file has a record whose
// fractional timestamp is a second or more (tcpdump tests invalid
// timestamps so). There is no truth to compare with: we carry the excess
// into the seconds (time.Unix); tshark overflows (usec 2^31 shows as
// .000000000). Counts and lengths are still compared.
func hasBogusFraction(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 24 {
		return false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	limit := uint32(1e6)
	switch binary.BigEndian.Uint32(b) {
	case magicPcapMicro:
		bo = binary.BigEndian
	case magicPcapNano:
		bo, limit = binary.BigEndian, 1e9
	case magicPcapNanoLE:
		limit = 1e9
	case magicPcapMicroLE:
	default:
		return false
	}
	for off := 24; off+16 <= len(b); off += 16 + int(bo.Uint32(b[off+8:])) {
		if bo.Uint32(b[off+4:]) >= limit {
			return true
		}
	}
	return false
}

// frameInfo is what the references report for one frame.
type frameInfo struct {
	sec, nsec      int64 // nsec as printed, possibly >= 1e9 (tshark does not normalise)
	caplen, length int
}

// tsharkFrames runs tshark on a file. ok is false when tshark refuses the
// file's link type ("network type N unknown or unsupported").
func tsharkFrames(t *testing.T, tshark, path string) (frames []frameInfo, ok bool) {
	cmd := exec.Command(tshark, "-n", "-r", path, "-T", "fields",
		"-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // damaged files exit non-zero after the good frames
	if bytes.Contains(stderr.Bytes(), []byte("unknown or unsupported")) {
		return nil, false
	}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		fields := bytes.Split(line, []byte("\t"))
		if len(fields) != 3 {
			continue
		}
		var fi frameInfo
		secs, frac, _ := bytes.Cut(fields[0], []byte("."))
		fi.sec, _ = strconv.ParseInt(string(secs), 10, 64)
		fi.nsec, _ = strconv.ParseInt(string(frac), 10, 64)
		if len(secs) > 0 && secs[0] == '-' {
			fi.sec = -1 // tshark prints some invalid timestamps as negative: not compared
		}
		fi.caplen, _ = strconv.Atoi(string(fields[1]))
		fi.length, _ = strconv.Atoi(string(fields[2]))
		frames = append(frames, fi)
	}
	return frames, true
}

// tcpdumpCount returns libpcap's frame count (tcpdump --count).
func tcpdumpCount(path string) (int, bool) {
	out, err := exec.Command("tcpdump", "--count", "-r", path).Output()
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(out)
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(string(f[len(f)-2]))
	return n, err == nil
}

// TestCorpusMatchesTshark compares the frames read before the end (or the
// damage) with tshark: count, capture time, captured and original length.
// For link types tshark refuses, the count is compared with tcpdump's.
func TestCorpusMatchesTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark: skipped in -short mode")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	files := corpusFiles(t)
	if os.Getenv("CAPTURE_TSHARK_ALL") == "" {
		var sample []string
		for _, name := range tsharkSample {
			p := filepath.Join(corpusDir, name)
			if _, err := os.Stat(p); err == nil {
				sample = append(sample, p)
			}
		}
		files = sample
	}
	compared, byTcpdump := 0, 0
	for _, p := range files {
		name := filepath.Base(p)
		ours, readErr := readFrames(p)
		want, ok := tsharkFrames(t, tshark, p)
		if !ok {
			n, ok := tcpdumpCount(p)
			if !ok {
				continue
			}
			byTcpdump++
			if len(ours) != n {
				t.Errorf("%s: we read %d frames (then %v), tcpdump %d", name, len(ours), readErr, n)
			}
			continue
		}
		compared++
		bogus := hasBogusFraction(p)
		if len(ours) != len(want) {
			t.Errorf("%s: we read %d frames (then %v), tshark %d", name, len(ours), readErr, len(want))
			continue
		}
		for i, w := range want {
			o := ours[i]
			// Wireshark strips a pseudo-header (e.g. SunATM's 4 bytes)
			// from both lengths for some link types: a difference
			// common to both lengths is that, not a disagreement.
			if d := o.caplen - w.caplen; d < 0 || o.length-w.length != d {
				t.Errorf("%s frame %d: lengths %d/%d, tshark %d/%d", name, i+1, o.caplen, o.length, w.caplen, w.length)
			}
			if w.sec >= 0 && !bogus && !time.Unix(o.sec, o.nsec).Equal(time.Unix(w.sec, w.nsec)) {
				t.Errorf("%s frame %d: time %d.%09d, tshark %d.%09d", name, i+1, o.sec, o.nsec, w.sec, w.nsec)
			}
		}
	}
	t.Logf("%d files compared with tshark, %d counted by tcpdump", compared, byTcpdump)
}

// readFrames reads a file like readFile, keeping each frame's facts.
func readFrames(path string) ([]frameInfo, error) {
	src, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var out []frameInfo
	var f Frame
	for len(out) < corpusFrameCap {
		if err := src.Next(&f); err != nil {
			return out, err
		}
		out = append(out, frameInfo{sec: f.Time.Unix(), nsec: int64(f.Time.Nanosecond()), caplen: len(f.Data), length: f.OrigLen})
	}
	return out, errors.New("frame cap reached")
}

// TestDamagedMatchesTshark cuts real captures (pcap and pcapng, plain and
// gzip'd) at several offsets and compares the frames read before the
// damage with tshark's.
func TestDamagedMatchesTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark: skipped in -short mode")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	corpusFiles(t)
	dir := t.TempDir()
	for _, name := range []string{"tcp-handshake-nano.pcap", "OSPFv2_Capture_FINAL.pcapng", "isis_sr.pcapng"} {
		full, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Skipf("corpus file missing: %v", err)
		}
		for _, frac := range []int{3, 5, 7, 11, 13} {
			cut := len(full) * frac / 17
			for _, zip := range []bool{false, true} {
				b := full[:cut]
				if zip {
					b = gz(t, b)
				}
				p := filepath.Join(dir, "cut")
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				want, _ := tsharkFrames(t, tshark, p)
				ours, err := readFrames(p)
				if len(ours) != len(want) {
					t.Errorf("%s cut at %d (gzip %v): we read %d frames, tshark %d", name, cut, zip, len(ours), len(want))
				}
				if err == io.EOF {
					t.Errorf("%s cut at %d (gzip %v): clean EOF", name, cut, zip)
				}
			}
		}
	}
}
