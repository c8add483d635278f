package bpf

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// verdictsFile holds libpcap's verdicts on the frames of testPackets, so
// that TestMatchesLibpcap checks the compiler against libpcap on machines
// without tcpdump. `go test ./capture/bpf -run TestMatchesLibpcap -update`
// rewrites it from tcpdump.
const verdictsFile = "testdata/libpcap_verdicts.txt"

// verdicts is the content of verdictsFile: per link type the digest of the
// frames the verdicts are about, and per link type and expression the
// 0-based indexes of the frames libpcap accepts.
//
// The file is text, one line a fact, in the order the test asks (link
// types, then commonExprs), so -update rewrites it byte for byte when
// nothing changed:
//
//	# comment
//	frames<TAB>LINK<TAB>COUNT<TAB>SHA256
//	LINK<TAB>ACCEPTED<TAB>EXPR
//
// ACCEPTED lists 1-based frame numbers (the numbers tcpdump and the test's
// messages use) with runs as ranges, "2-4,9", or "-" for none. EXPR comes
// last as it holds spaces; no expression holds a tab or a newline.
type verdicts struct {
	frames map[string]string // link → "COUNT SHA256"
	accept map[verdictKey]map[int]bool
	order  []verdictKey // accept's keys as added: the file's line order
	links  []string     // frames' keys as added
}

type verdictKey struct{ link, expr string }

func newVerdicts() *verdicts {
	return &verdicts{frames: map[string]string{}, accept: map[verdictKey]map[int]bool{}}
}

func (v *verdicts) setFrames(link string, frames [][]byte) {
	if _, ok := v.frames[link]; !ok {
		v.links = append(v.links, link)
	}
	v.frames[link] = framesDigest(frames)
}

func (v *verdicts) set(k verdictKey, accepted map[int]bool) {
	if _, ok := v.accept[k]; !ok {
		v.order = append(v.order, k)
	}
	v.accept[k] = accepted
}

// framesDigest names a frame set by its count and the SHA-256 of the
// frames, each preceded by its length (so frame boundaries count too).
func framesDigest(frames [][]byte) string {
	h := sha256.New()
	for _, f := range frames {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		h.Write(f)
	}
	return fmt.Sprintf("%d %x", len(frames), h.Sum(nil))
}

// formatFrames writes a set of 0-based indexes as 1-based numbers and
// ranges in increasing order: {0,1,2,8} → "1-3,9"; the empty set → "-".
func formatFrames(set map[int]bool) string {
	idx := make([]int, 0, len(set))
	for i, ok := range set {
		if ok {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return "-"
	}
	sort.Ints(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(idx[i] + 1))
		if j > i {
			fmt.Fprintf(&b, "-%d", idx[j]+1)
		}
		i = j + 1
	}
	return b.String()
}

// parseFrames is the inverse of formatFrames.
func parseFrames(s string) (map[int]bool, error) {
	set := map[int]bool{}
	if s == "-" {
		return set, nil
	}
	for _, r := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(r, "-")
		lo, err := strconv.Atoi(a)
		if err != nil || lo < 1 {
			return nil, fmt.Errorf("frame list %q: bad frame number %q", s, a)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(b); err != nil || hi < lo {
				return nil, fmt.Errorf("frame list %q: bad range %q", s, r)
			}
		}
		for i := lo; i <= hi; i++ {
			set[i-1] = true
		}
	}
	return set, nil
}

// encode writes v in the file format; header lines become comments.
func (v *verdicts) encode(header ...string) []byte {
	var b bytes.Buffer
	for _, h := range header {
		fmt.Fprintf(&b, "# %s\n", h)
	}
	for _, l := range v.links {
		n, sum, _ := strings.Cut(v.frames[l], " ")
		fmt.Fprintf(&b, "frames\t%s\t%s\t%s\n", l, n, sum)
	}
	for _, k := range v.order {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", k.link, formatFrames(v.accept[k]), k.expr)
	}
	return b.Bytes()
}

// readVerdicts parses the file at path; a line it cannot read, or a fact
// stated twice, is an error naming the line.
func readVerdicts(path string) (*verdicts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("libpcap verdicts: %w", err)
	}
	v := newVerdicts()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		switch {
		case len(f) == 4 && f[0] == "frames":
			if _, dup := v.frames[f[1]]; dup {
				return nil, fmt.Errorf("%s:%d: frames of %s stated twice", path, n, f[1])
			}
			v.links = append(v.links, f[1])
			v.frames[f[1]] = f[2] + " " + f[3]
		case len(f) == 3:
			k := verdictKey{link: f[0], expr: f[2]}
			if _, dup := v.accept[k]; dup {
				return nil, fmt.Errorf("%s:%d: %s %q stated twice", path, n, k.link, k.expr)
			}
			set, err := parseFrames(f[1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			v.set(k, set)
		default:
			return nil, fmt.Errorf("%s:%d: want \"LINK<TAB>FRAMES<TAB>EXPR\" or \"frames<TAB>LINK<TAB>COUNT<TAB>SHA256\", got %q", path, n, line)
		}
	}
	return v, sc.Err()
}

// TestFrameList: the frame lists of verdictsFile read back as written, and
// a list that is not one is an error rather than a smaller set.
func TestFrameList(t *testing.T) {
	for _, c := range []struct {
		set  []int
		text string
	}{
		{nil, "-"},
		{[]int{0}, "1"},
		{[]int{0, 1, 2, 8}, "1-3,9"},
		{[]int{4, 6, 7, 9, 10, 11, 12}, "5,7-8,10-13"},
	} {
		set := map[int]bool{}
		for _, i := range c.set {
			set[i] = true
		}
		if got := formatFrames(set); got != c.text {
			t.Errorf("formatFrames(%v) = %q, want %q", c.set, got, c.text)
		}
		back, err := parseFrames(c.text)
		if err != nil || formatFrames(back) != c.text || len(back) != len(c.set) {
			t.Errorf("parseFrames(%q) = %v, %v; want %v", c.text, back, err, c.set)
		}
	}
	for _, bad := range []string{"", "0", "3-1", "1,,2", "a", "1-", "-2"} {
		if set, err := parseFrames(bad); err == nil {
			t.Errorf("parseFrames(%q) = %v, want an error", bad, set)
		}
	}
}
