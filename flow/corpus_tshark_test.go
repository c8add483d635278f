package flow

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"finwave/internal/toolverdict"
)

// TestCorpusMatchesTshark compares, frame by frame, what finwave and tshark
// make of the public captures: for every file where both agree on which
// frames are TCP segments (tshark also decodes TCP in tunnels, ICMP errors
// and reassembled fragments, which finwave does not), the stream id, the
// relative seq and the segment length must be equal. tshark's side is
// testdata/corpus.tshark, one section for each file in which finwave found
// TCP segments when it was made.
func TestCorpusMatchesTshark(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*"))
	if len(files) == 0 {
		t.Skipf("no captures in %s", corpusDir)
	}
	ours := map[string]map[int64]string{}
	var withTCP []string
	for _, path := range files {
		if o := ourCorpusView(path); len(o) > 0 {
			ours[path] = o
			withTCP = append(withTCP, path)
		}
	}
	v := loadCorpusVerdicts(t, "testdata/corpus.tshark", withTCP)
	var compared, skipped, segs int
	for _, path := range withTCP {
		switch n := compareCorpusView(t, v, path, ours[path]); {
		case n < 0:
			skipped++
		default:
			compared++
			segs += n
		}
	}
	// A stored file in which finwave now finds no TCP segment is one it
	// no longer decodes.
	for _, s := range v.Sections {
		if _, ok := ours[filepath.Join(corpusDir, s.Name)]; !ok && len(s.Lines) > 0 && !strings.HasPrefix(s.Lines[0], "!") {
			t.Errorf("%s: finwave finds no TCP segment, tshark %d", s.Name, len(s.Lines))
		}
	}
	t.Logf("compared %d files (%d segments), skipped %d where the TCP frame sets differ", compared, segs, skipped)
	if compared < 10 {
		t.Errorf("only %d files compared", compared)
	}
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
// segments compared, -1 when the two do not agree on which frames are TCP
// segments, or tshark could not read the file.
func compareCorpusView(t *testing.T, v *toolverdict.File, path string, ours map[int64]string) int {
	t.Helper()
	name := filepath.Base(path)
	lines, ok := v.Lines(t, name, sumFile(t, path))
	if !ok {
		return -1
	}
	theirs := map[int64]string{}
	for _, l := range lines {
		fr, rest, _ := strings.Cut(l, " ")
		n, err := strconv.ParseInt(fr, 10, 64)
		if err != nil {
			return -1 // "! tunnelled", "! unreadable"
		}
		theirs[n] = rest
	}
	if !sameKeys(ours, theirs) {
		return -1
	}
	for fr, o := range ours {
		w := theirs[fr]
		if strings.HasSuffix(w, " -") {
			// No tcp.len: tshark skipped sequence analysis (a lone
			// first IP fragment); only the stream id is comparable.
			w, o = strings.Fields(w)[0], strings.Fields(o)[0]
		}
		if w != o {
			t.Errorf("%s frame %d: tshark %q, finwave %q", name, fr, w, o)
		}
	}
	return len(ours)
}

func sameKeys(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// ourCorpusView maps frame number to "stream relseq len".
func ourCorpusView(path string) map[int64]string {
	src, link, closeFn, err := openCapture(path)
	if err != nil {
		return nil
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
		if d.Decode(link(ci.InterfaceIndex), data, ci.Length, n, ci.Timestamp, &seg) != nil {
			continue
		}
		c, dir, _ := tab.Track(&seg)
		h := &c.Half[dir]
		h.Observe(&seg, &c.Half[dir.Reverse()])
		out[n] = fmt.Sprintf("%d %d %d", c.ID, h.RelSeq(seg.Seq), seg.Len)
	}
	return out
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
