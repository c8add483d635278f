package flow

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestCorpusMatchesTshark compares, frame by frame, what finwave and tshark
// make of the public captures: for every file where both agree on which
// frames are TCP segments (tshark also decodes TCP in tunnels, ICMP errors
// and reassembled fragments, which finwave does not), the stream id, the
// relative seq and the segment length must be equal.
func TestCorpusMatchesTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs tshark over the corpus")
	}
	needTshark(t)
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*"))
	if len(files) == 0 {
		t.Skipf("no captures in %s", corpusDir)
	}
	// tshark dominates the run time: one per CPU.
	type result struct {
		path         string
		ours, theirs map[int64]string
		err          error
	}
	results := make([]result, len(files))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, path := range files {
		results[i].path = path
		results[i].ours = ourCorpusView(path)
		if len(results[i].ours) == 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i].theirs, results[i].err = tsharkCorpusView(path)
		}()
	}
	wg.Wait()
	var compared, skipped, segs int
	for _, r := range results {
		ours, theirs := r.ours, r.theirs
		if len(ours) == 0 {
			continue
		}
		if r.err != nil || !sameKeys(ours, theirs) {
			skipped++
			continue
		}
		compared++
		for fr, o := range ours {
			segs++
			w := theirs[fr]
			if strings.HasSuffix(w, " ") {
				// No tcp.len: tshark skipped sequence analysis (a lone
				// first IP fragment); only the stream id is comparable.
				w, o = strings.Fields(w)[0], strings.Fields(o)[0]
			}
			if w != o {
				t.Errorf("%s frame %d: tshark %q, finwave %q", filepath.Base(r.path), fr, w, o)
			}
		}
	}
	t.Logf("compared %d files (%d segments), skipped %d where the TCP frame sets differ", compared, segs, skipped)
	if compared < 10 {
		t.Errorf("only %d files compared", compared)
	}
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

func tsharkCorpusView(path string) (map[int64]string, error) {
	cmd := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream",
		"-e", "tcp.seq", "-e", "tcp.len", "-Y", "tcp")
	outb, err := cmd.Output()
	if err != nil && len(outb) == 0 {
		return nil, err
	}
	out := map[int64]string{}
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 || strings.Contains(f[1], ",") {
			return nil, fmt.Errorf("tunnelled tcp")
		}
		var n int64
		fmt.Sscan(f[0], &n)
		out[n] = fmt.Sprintf("%s %s %s", f[1], f[2], f[3])
	}
	return out, nil
}
