package flow

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"finwave/internal/toolverdict"
)

// TestCorpusMatchesTshark compares, frame by frame, what finwave and tshark
// make of the public captures: the stream id, the relative seq and the
// segment length of every TCP segment must be equal, and both must find
// the same frames to be TCP segments, except in the files of
// tsharkDiffers, where they must not (each says why). tshark's side is
// testdata/corpus.tshark, one section for each file in which finwave found
// TCP segments, removed a tunnel or skipped a fragment when it was made:
// every tunnel capture is there, even those without TCP.
func TestCorpusMatchesTshark(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*"))
	if len(files) == 0 {
		t.Skipf("no captures in %s", corpusDir)
	}
	ours := map[string]map[int64]string{}
	var kept []string
	for _, path := range files {
		o, relevant := ourCorpusViewOf(path)
		if relevant {
			ours[path] = o
			kept = append(kept, path)
		}
	}
	v := loadCorpusVerdicts(t, "testdata/corpus.tshark", kept)
	var compared, differ, segs, tunnelled int
	for _, path := range kept {
		name := filepath.Base(path)
		n, why := compareCorpusView(t, v, path, ours[path])
		reason, listed := tsharkDiffers[name]
		switch {
		case n < 0 && why == "":
			// unreadable by tshark, or stale: compareCorpusView said so
		case n < 0 && !listed:
			t.Errorf("%s: finwave and tshark find different TCP frames (%s), and tsharkDiffers does not say why", name, why)
		case n < 0:
			differ++
			t.Logf("%s: differs as expected (%s): %s", name, reason, why)
		case listed && n > 0:
			t.Errorf("%s: tsharkDiffers says %q, but finwave and tshark agree on all %d segments", name, reason, n)
		default:
			compared++
			segs += n
			if isTunnelCapture(name) && n > 0 {
				tunnelled++
			}
		}
	}
	for name := range tsharkDiffers {
		if _, ok := ours[filepath.Join(corpusDir, name)]; !ok {
			t.Errorf("tsharkDiffers lists %s, which is not a section of the verdict file", name)
		}
	}
	t.Logf("compared %d files (%d segments; %d tunnel captures with TCP), %d differ as tsharkDiffers says", compared, segs, tunnelled, differ)
	if compared < 10 {
		t.Errorf("only %d files compared", compared)
	}
}

// tsharkDiffers lists the public captures in which finwave and tshark
// 4.0.17 do not find the same frames to be TCP segments, and why. Every
// other capture of testdata/corpus.tshark agrees frame by frame.
var tsharkDiffers = map[string]string{
	// A lone first IP fragment (MF set, offset 0, the rest never
	// captured): tshark cannot reassemble it and dissects the TCP header
	// inside as a segment without length; finwave counts it with the
	// other fragments (Decoder.Fragments) and skips it.
	"bgp-bgp_capabilities_print-oobr-1.pcap": "unreassembled first fragment",
	"bgp-bgp_capabilities_print-oobr-2.pcap": "unreassembled first fragment",
	"bgp_pmsi_tunnel-oobr.pcap":              "unreassembled first fragment",
	"rpki-rtr-oobr.pcap":                     "unreassembled first fragment",
	// BIG TCP inside a tunnel: the outer IPv4 total length or IPv6
	// payload length is 0 and so is the UDP length; finwave takes the
	// lengths from the frame (RFC 2675 §4 for UDP), tshark 4.0 stops at
	// "UDP bad length value 0 < 8" (or at the IPv6 payload length 0).
	"bigtcp-ipv4-geneve-ipv4.pcap": "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv4-geneve-ipv6.pcap": "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv4-vxlan-ipv4.pcap":  "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv4-vxlan-ipv6.pcap":  "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv6-geneve-ipv4.pcap": "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv6-geneve-ipv6.pcap": "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv6-vxlan-ipv4.pcap":  "BIG TCP super-frame in a tunnel",
	"bigtcp-ipv6-vxlan-ipv6.pcap":  "BIG TCP super-frame in a tunnel",
	// IPv6 BIG TCP as Linux's tap sees it: payload length 0 and no
	// jumbo option (the kernel strips it). tshark 4.0 takes the payload
	// as empty ("maybe because of TSO") and raises a malformed-packet
	// exception before TCP; finwave takes the frame length (with the
	// option, bigtcp-ipv6-hbh.pcap, both agree).
	"bigtcp-ipv6.pcap": "IPv6 BIG TCP without jumbo option",
}

// isTunnelCapture says whether a public capture is one of the tunnel,
// mirror or offload captures issue 12 names.
func isTunnelCapture(name string) bool {
	for _, p := range []string{"vxlan", "geneve", "erspan", "gre", "gso-", "bigtcp-", "mpls", "pppoe", "nsh", "pptp", "teredo", "ayiya", "gtp", "pbb"} {
		if strings.Contains(name, p) {
			return true
		}
	}
	return false
}

// loadCorpusVerdicts loads file, tshark's "frame stream relseq len" of
// each TCP segment of each capture of paths, a section named after the
// capture's base name (see toolverdict.Load).
func loadCorpusVerdicts(t *testing.T, file string, paths []string) *toolverdict.File {
	t.Helper()
	return toolverdict.Load(t, file, "tshark", func(bool) *toolverdict.File {
		f := &toolverdict.File{About: []string{
			"tshark's frame.number tcp.stream tcp.seq (relative) tcp.len of each frame with TCP (-Y tcp), - for an empty field;",
			"\"! tunnelled\": a frame with two TCP layers; \"! unreadable\": tshark printed nothing and failed.",
			"One section per public capture in which finwave finds TCP segments, removes a tunnel or skips an IP fragment.",
		}}
		f.Sections = make([]toolverdict.Section, len(paths))
		toolverdict.Parallel(len(paths), func(i int) {
			f.Sections[i] = toolverdict.Section{Name: filepath.Base(paths[i]), Hash: sumFile(t, paths[i]), Lines: tsharkCorpusLines(paths[i])}
		})
		return f
	})
}

func sumFile(t *testing.T, path string) string {
	h, err := toolverdict.SumFile(path)
	if err != nil {
		t.Error(err)
	}
	return h
}

// compareCorpusView compares ours, finwave's view of the capture at path
// (ourCorpusView), with tshark's stored one, and returns the number of
// segments compared, or -1 and why when the two do not agree on which
// frames are TCP segments ("" when tshark could not read the file or the
// stored verdict is stale, which fails t).
func compareCorpusView(t *testing.T, v *toolverdict.File, path string, ours map[int64]string) (int, string) {
	t.Helper()
	name := filepath.Base(path)
	lines, ok := v.Lines(t, name, sumFile(t, path))
	if !ok {
		return -1, ""
	}
	theirs := map[int64]string{}
	for _, l := range lines {
		fr, rest, _ := strings.Cut(l, " ")
		n, err := strconv.ParseInt(fr, 10, 64)
		if err != nil {
			return -1, "" // "! tunnelled", "! unreadable"
		}
		theirs[n] = rest
	}
	if why := frameSetDiff(ours, theirs); why != "" {
		return -1, why
	}
	for fr, o := range ours {
		if w := theirs[fr]; w != o {
			t.Errorf("%s frame %d: tshark %q, finwave %q", name, fr, w, o)
		}
	}
	return len(ours), ""
}

// frameSetDiff describes how the frames of ours and theirs differ, "" if
// they are the same.
func frameSetDiff(ours, theirs map[int64]string) string {
	var onlyOurs, onlyTheirs []int64
	for k := range ours {
		if _, ok := theirs[k]; !ok {
			onlyOurs = append(onlyOurs, k)
		}
	}
	for k := range theirs {
		if _, ok := ours[k]; !ok {
			onlyTheirs = append(onlyTheirs, k)
		}
	}
	if len(onlyOurs) == 0 && len(onlyTheirs) == 0 {
		return ""
	}
	slices.Sort(onlyOurs)
	slices.Sort(onlyTheirs)
	cut := func(s []int64) []int64 { return s[:min(len(s), 5)] }
	return fmt.Sprintf("%d frames TCP to finwave only %v, %d to tshark only %v", len(onlyOurs), cut(onlyOurs), len(onlyTheirs), cut(onlyTheirs))
}

// ourCorpusView maps frame number to "stream relseq len".
func ourCorpusView(path string) map[int64]string {
	o, _ := ourCorpusViewOf(path)
	return o
}

// ourCorpusViewOf is ourCorpusView, and says whether the capture matters
// to the decoder: it holds TCP segments, tunnels or IP fragments.
func ourCorpusViewOf(path string) (view map[int64]string, relevant bool) {
	src, link, closeFn, err := openCapture(path)
	if err != nil {
		return nil, false
	}
	defer closeFn()
	d := NewDecoder()
	tab := NewTable(TableConfig{})
	out := map[int64]string{}
	var seg Segment
	for n := int64(1); ; n++ {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			break
		}
		err = d.Decode(link(ci.InterfaceIndex), data, ci.Length, n, ci.Timestamp, &seg)
		if seg.Tunnel.Type != NoTunnel {
			relevant = true
		}
		if err != nil {
			continue
		}
		c, dir, _ := tab.Track(&seg)
		h := &c.Half[dir]
		h.Observe(&seg, &c.Half[dir.Reverse()])
		out[n] = fmt.Sprintf("%d %d %d", c.ID, h.RelSeq(seg.Seq), seg.Len)
	}
	return out, relevant || len(out) > 0 || d.Fragments > 0
}

// tsharkCorpusLines runs tshark on the capture at path and returns the
// lines of its section of a corpus verdict file.
func tsharkCorpusLines(path string) []string {
	cmd := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream",
		"-e", "tcp.seq", "-e", "tcp.len", "-Y", "tcp")
	outb, err := cmd.Output()
	if err != nil && len(outb) == 0 {
		return []string{"! unreadable"}
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 || strings.Contains(f[1], ",") {
			return []string{"! tunnelled"}
		}
		for i := range f {
			if f[i] == "" {
				f[i] = "-"
			}
		}
		out = append(out, strings.Join(f[:4], " "))
	}
	return out
}
