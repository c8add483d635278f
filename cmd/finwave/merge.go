package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"finwave/capture"
	"finwave/report"
)

// mergeGap is the silence between consecutive files of a set that is
// reported as a gap (a piece may be missing): rotation by size (tcpdump -C)
// or time (-G) leaves only the usual spacing of packets between pieces.
const mergeGap = time.Minute

// expandSet turns --merge arguments into the files of the set: a directory
// stands for its regular files (sorted by name; the merge orders them by
// time anyway), a pattern that names no file is expanded as a glob (quoted
// globs, e.g. 'cap-*.pcap'). The set's name is the single argument when one
// was given, else the first file and a count.
func expandSet(args []string) (files []string, name string, err error) {
	for _, a := range args {
		if a == "-" {
			return nil, "", usagef("--merge reads files: stdin (-) cannot be part of a set")
		}
		fi, err := os.Stat(a)
		switch {
		case err == nil && fi.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, "", fmt.Errorf("merge: %w", err)
			}
			n := len(files)
			for _, e := range ents {
				if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
					files = append(files, filepath.Join(a, e.Name()))
				}
			}
			if len(files) == n {
				return nil, "", fmt.Errorf("merge: directory %s holds no file", a)
			}
		case err != nil && strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil || len(m) == 0 {
				return nil, "", fmt.Errorf("merge: pattern %s matches no file", a)
			}
			sort.Strings(m)
			files = append(files, m...)
		default:
			files = append(files, a) // a missing file is named when opened
		}
	}
	switch {
	case len(files) == 0:
		return nil, "", usagef("--merge: no capture file given")
	case len(args) == 1:
		name = args[0]
	default:
		name = fmt.Sprintf("%s+%d", files[0], len(files)-1)
	}
	return files, name, nil
}

// setSummary adds the pieces of a merged set to the report's capture and
// says on w how the set departs from a clean sequence.
// The pieces are listed in the merged capture's order (by first frame; a
// file with no frame last), whatever the order of the arguments.
func setSummary(c *report.Capture, m *capture.Merged, w io.Writer) {
	pcs := append([]capture.Piece(nil), m.Pieces()...)
	sort.SliceStable(pcs, func(i, j int) bool {
		a, b := pcs[i].First, pcs[j].First
		return a != 0 && (b == 0 || a < b)
	})
	for _, p := range pcs {
		c.Files = append(c.Files, report.CaptureFile{Name: p.Name, First: p.First, Last: p.Last,
			Frames: p.Frames, FirstTime: p.FirstTime, LastTime: p.LastTime})
	}
	c.SetNotes = m.Notes(mergeGap)
	for _, n := range c.SetNotes {
		fmt.Fprintf(w, "finwave: %s: %s\n", c.File, n)
	}
}
