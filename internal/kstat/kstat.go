package kstat

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Counters maps nstat's counter names to their values.
type Counters map[string]int64

// Files are the files a Snapshot reads, under /proc/net (or /proc/<pid>/net).
var Files = []string{"snmp", "netstat", "snmp6"}

// Snapshot reads the counters of the network namespace that dir (a
// /proc/net directory: "/proc/net" for the caller's own, or
// "/proc/<pid>/net") belongs to. A file that does not exist (snmp6
// without IPv6) is skipped; any other error is returned.
func Snapshot(dir string) (Counters, error) {
	c := Counters{}
	for _, name := range Files {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kstat: %w", err)
		}
		if name == "snmp6" {
			err = ReadFlat(f, c)
		} else {
			err = ReadPaired(f, c)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("kstat: %s: %w", path, err)
		}
	}
	return c, nil
}

// ReadPaired adds the counters of a /proc/net/snmp or /proc/net/netstat
// file to c: lines come in pairs, "Prefix: Name1 Name2 …" then
// "Prefix: v1 v2 …", and nstat names each counter Prefix+Name.
func ReadPaired(r io.Reader, c Counters) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		head := strings.Fields(sc.Text())
		if len(head) == 0 {
			continue
		}
		if !sc.Scan() {
			return fmt.Errorf("line %d: %q has no line of values after it", line, head[0])
		}
		line++
		vals := strings.Fields(sc.Text())
		prefix := strings.TrimSuffix(head[0], ":")
		if len(vals) == 0 || vals[0] != head[0] || prefix == head[0] {
			return fmt.Errorf("line %d: values for %q expected, got %.40q", line, head[0], sc.Text())
		}
		if len(vals) != len(head) {
			return fmt.Errorf("line %d: %s has %d names and %d values", line, prefix, len(head)-1, len(vals)-1)
		}
		for i := 1; i < len(head); i++ {
			v, err := strconv.ParseInt(vals[i], 10, 64)
			if err != nil {
				return fmt.Errorf("line %d: %s%s: %w", line, prefix, head[i], err)
			}
			c[prefix+head[i]] = v
		}
	}
	return sc.Err()
}

// ReadFlat adds the counters of a /proc/net/snmp6 file to c: one
// "Name value" per line.
func ReadFlat(r io.Reader, c Counters) error {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return fmt.Errorf("line %d: want a name and a value, got %.40q", line, sc.Text())
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", line, f[0], err)
		}
		c[f[0]] = v
	}
	return sc.Err()
}

// Delta returns after − before for every counter of after (a counter
// missing from before counts from 0), leaving out those that did not
// change.
func Delta(before, after Counters) Counters {
	d := Counters{}
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// Names returns c's names, sorted.
func (c Counters) Names() []string {
	n := make([]string, 0, len(c))
	for k := range c {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// ParseNstat reads the text nstat(8) prints ("#kernel" then "Name value
// rate" lines) into counters; lines that are not a name and a number are
// skipped.
func ParseNstat(out string) Counters {
	c := Counters{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			c[f[0]] = v
		}
	}
	return c
}
