package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/internal/toolverdict"
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

// tsharkSample are the corpus files on which an installed tshark is run
// again, to check testdata/corpus.tshark.gz; set CAPTURE_TSHARK_ALL=1 to
// check every file (about 10 minutes).
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

// refused is the verdict line of a file whose link type tshark refuses
// ("network type N unknown or unsupported").
const refused = "! refused"

// tsharkLines runs tshark on a file and returns one line a frame:
// frame.time_epoch as printed, frame.cap_len and frame.len.
func tsharkLines(path string) []string {
	cmd := exec.Command("tshark", "-n", "-r", path, "-T", "fields",
		"-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // damaged files exit non-zero after the good frames
	if bytes.Contains(stderr.Bytes(), []byte("unknown or unsupported")) {
		return []string{refused}
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if fields := strings.Split(line, "\t"); len(fields) == 3 {
			lines = append(lines, strings.Join(fields, " "))
		}
	}
	return lines
}

// parseFrames turns tsharkLines' lines back into frames.
func parseFrames(lines []string) []frameInfo {
	var frames []frameInfo
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		var fi frameInfo
		secs, frac, _ := strings.Cut(fields[0], ".")
		fi.sec, _ = strconv.ParseInt(secs, 10, 64)
		fi.nsec, _ = strconv.ParseInt(frac, 10, 64)
		if strings.HasPrefix(secs, "-") {
			fi.sec = -1 // tshark prints some invalid timestamps as negative: not compared
		}
		fi.caplen, _ = strconv.Atoi(fields[1])
		fi.length, _ = strconv.Atoi(fields[2])
		frames = append(frames, fi)
	}
	return frames
}

// tcpdumpLines returns libpcap's verdict on a file: its frame count
// (tcpdump --count), or "! unreadable".
func tcpdumpLines(path string) []string {
	out, err := exec.Command("tcpdump", "--count", "-r", path).Output()
	f := bytes.Fields(out)
	if err != nil || len(f) < 2 {
		return []string{"! unreadable"}
	}
	if _, err := strconv.Atoi(string(f[len(f)-2])); err != nil {
		return []string{"! unreadable"}
	}
	return []string{string(f[len(f)-2])}
}

// corpusVerdicts makes the sections of a verdict file: lines(path) for
// each of paths, named by base name.
func corpusVerdicts(t *testing.T, paths []string, lines func(string) []string, about ...string) *toolverdict.File {
	f := &toolverdict.File{About: about, Sections: make([]toolverdict.Section, len(paths))}
	toolverdict.Parallel(len(paths), func(i int) {
		h, err := toolverdict.SumFile(paths[i])
		if err != nil {
			t.Error(err)
		}
		f.Sections[i] = toolverdict.Section{Name: filepath.Base(paths[i]), Hash: h, Lines: lines(paths[i])}
	})
	return f
}

// TestCorpusMatchesTshark compares the frames read before the end (or the
// damage) with tshark's, stored in testdata/corpus.tshark.gz for every
// file: count, capture time, captured and original length. For link
// types tshark refuses, the count is compared with libpcap's
// (testdata/corpus.tcpdump).
func TestCorpusMatchesTshark(t *testing.T) {
	files := corpusFiles(t)
	tshark := toolverdict.Load(t, "testdata/corpus.tshark.gz", "tshark", func(all bool) *toolverdict.File {
		check := files
		if !all && os.Getenv("CAPTURE_TSHARK_ALL") == "" {
			check = nil
			for _, name := range tsharkSample {
				if p := filepath.Join(corpusDir, name); slices.Contains(files, p) {
					check = append(check, p)
				}
			}
		}
		return corpusVerdicts(t, check, tsharkLines,
			"tshark's frame.time_epoch frame.cap_len frame.len of each frame of each file of the tcpdump test corpus,",
			"or \""+refused+"\" when tshark refuses the file's link type.")
	})
	var refusedFiles []string
	for _, p := range files {
		if s := tshark.Section(filepath.Base(p)); s != nil && slices.Equal(s.Lines, []string{refused}) {
			refusedFiles = append(refusedFiles, p)
		}
	}
	libpcap := toolverdict.Load(t, "testdata/corpus.tcpdump", "tcpdump", func(bool) *toolverdict.File {
		return corpusVerdicts(t, refusedFiles, tcpdumpLines,
			"libpcap's frame count (tcpdump --count) of each file of the tcpdump test corpus whose link type tshark refuses.")
	})
	compared, byTcpdump := 0, 0
	for _, p := range files {
		name := filepath.Base(p)
		h, err := toolverdict.SumFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines, ok := tshark.Lines(t, name, h)
		if !ok {
			continue
		}
		ours, readErr := readFrames(p)
		if slices.Equal(lines, []string{refused}) {
			lines, ok := libpcap.Lines(t, name, h)
			n, err := 0, error(nil)
			if ok {
				n, err = strconv.Atoi(lines[0])
			}
			if !ok || err != nil {
				continue // libpcap cannot read it either
			}
			byTcpdump++
			if len(ours) != n {
				t.Errorf("%s: we read %d frames (then %v), tcpdump %d", name, len(ours), readErr, n)
			}
			continue
		}
		compared++
		want := parseFrames(lines)
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
	if compared < len(files)/2 {
		t.Errorf("only %d of %d files compared with tshark", compared, len(files))
	}
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
// gzip'd) at several offsets and compares the number of frames read before
// the damage with tshark's, stored in testdata/damaged.tshark.
func TestDamagedMatchesTshark(t *testing.T) {
	corpusFiles(t)
	type cut struct {
		name string // section name: file, offset, gzip'd or not
		data []byte // what tshark and we read
		hash string // Sum of the cut before gzip: Go's compressor may change, the content does not
	}
	var cuts []cut
	for _, name := range []string{"tcp-handshake-nano.pcap", "OSPFv2_Capture_FINAL.pcapng", "isis_sr.pcapng"} {
		full, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Skipf("corpus file missing: %v", err)
		}
		for _, frac := range []int{3, 5, 7, 11, 13} {
			at := len(full) * frac / 17
			for _, zip := range []bool{false, true} {
				c := cut{name: fmt.Sprintf("%s cut at %d", name, at), data: full[:at], hash: toolverdict.Sum(full[:at])}
				if zip {
					c.name += ", gzip"
					c.data = gz(t, c.data)
				}
				cuts = append(cuts, c)
			}
		}
	}
	dir := t.TempDir()
	write := func(i int) string { // called by parallel goroutines: t.Error only
		p := filepath.Join(dir, fmt.Sprint("cut", i))
		if err := os.WriteFile(p, cuts[i].data, 0o644); err != nil {
			t.Error(err)
		}
		return p
	}
	v := toolverdict.Load(t, "testdata/damaged.tshark", "tshark", func(bool) *toolverdict.File {
		f := &toolverdict.File{
			About:    []string{"the number of frames tshark reads from tcpdump test corpus files cut short (and gzip'd)."},
			Sections: make([]toolverdict.Section, len(cuts)),
		}
		toolverdict.Parallel(len(cuts), func(i int) {
			n := len(parseFrames(tsharkLines(write(i))))
			f.Sections[i] = toolverdict.Section{Name: cuts[i].name, Hash: cuts[i].hash, Lines: []string{strconv.Itoa(n)}}
		})
		return f
	})
	for i, c := range cuts {
		lines, ok := v.Lines(t, c.name, c.hash)
		if !ok {
			continue
		}
		ours, err := readFrames(write(i))
		if want := lines[0]; strconv.Itoa(len(ours)) != want {
			t.Errorf("%s: we read %d frames, tshark %s", c.name, len(ours), want)
		}
		if err == io.EOF {
			t.Errorf("%s: clean EOF", c.name)
		}
	}
}
