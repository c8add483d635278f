package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// measurement is one timed child process.
type measurement struct {
	name    string
	wall    time.Duration
	cpu     time.Duration // user + system CPU time of the child
	rssKiB  int64         // peak resident set (getrusage ru_maxrss of the child)
	skipped string
}

// cmdRun measures, on one file and in one run, the bare decode loop,
// finwave -j 1 -q (the analysis without a report), finwave -j 1 and -j N
// (text summary and --json), -j 1 and -j N -q --parquet (the Parquet
// tables alone, to compare with --json), tcptrace and tshark when
// installed. Every command writes to /dev/null; each runs -n times and the
// fastest run is kept (peak memory of that run).
func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fwbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jobs := fs.Int("j", runtime.NumCPU(), "workers for the finwave -j N runs")
	bin := fs.String("finwave", "", "finwave binary to measure (default: go build ./cmd/finwave)")
	reps := fs.Int("n", 3, "runs per command; the fastest is reported")
	slow := fs.Bool("tshark-filter", false, "also time tshark with a FIN/RST display filter (slow)")
	noTools := fs.Bool("no-tools", false, "skip tcptrace and tshark")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: fwbench run [-j N] [-n R] [-finwave BIN] FILE")
	}
	file := fs.Arg(0)
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	if *bin == "" {
		dir, err := os.MkdirTemp("", "fwbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "finwave")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/finwave")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/finwave (run fwbench from the repository root): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	j := fmt.Sprint(*jobs)
	// --parquet writes into a directory of its own, rewritten by each run.
	pq, err := os.MkdirTemp("", "fwbench-parquet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(pq)
	cmds := []struct {
		name string
		argv []string
		tool bool
	}{
		{"bare gopacket loop", []string{self, "bare", file}, false},
		{"finwave -j 1 -q", []string{*bin, "-j", "1", "-q", file}, false},
		{"finwave -j 1", []string{*bin, "-j", "1", file}, false},
		{"finwave -j 1 --json", []string{*bin, "-j", "1", "--json", file}, false},
		{"finwave -j " + j, []string{*bin, "-j", j, file}, false},
		{"finwave -j " + j + " --json", []string{*bin, "-j", j, "--json", file}, false},
		{"finwave -j 1 -q --parquet", []string{*bin, "-j", "1", "-q", "--parquet", pq, file}, false},
		{"finwave -j " + j + " -q --parquet", []string{*bin, "-j", j, "-q", "--parquet", pq, file}, false},
		{"tcptrace -n", []string{"tcptrace", "-n", file}, true},
		{"tshark -q -z conv,tcp", []string{"tshark", "-n", "-q", "-z", "conv,tcp", "-r", file}, true},
	}
	if *slow {
		cmds = append(cmds, struct {
			name string
			argv []string
			tool bool
		}{"tshark -Y fin||rst", []string{"tshark", "-n", "-r", file, "-Y", "tcp.flags.fin==1 || tcp.flags.reset==1"}, true})
	}
	fmt.Fprintf(stdout, "file %s: %.1f MiB · %d CPUs · %s/%s · %s\n", file, float64(fi.Size())/(1<<20), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, cpuModel())
	var ms []measurement
	for _, c := range cmds {
		m := measurement{name: c.name}
		if c.tool && *noTools {
			continue
		}
		if _, err := exec.LookPath(c.argv[0]); err != nil {
			m.skipped = "not installed"
			ms = append(ms, m)
			continue
		}
		for i := 0; i < max(*reps, 1); i++ {
			if c.tool && i > 0 && m.wall > 10*time.Second {
				break // one run of a slow tool is enough
			}
			w, cpu, rss, err := timeChild(c.argv)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if m.wall == 0 || w < m.wall {
				m.wall, m.cpu, m.rssKiB = w, cpu, rss
			}
		}
		ms = append(ms, m)
	}
	report(stdout, ms)
	return nil
}

// timeChild runs argv with stdout to /dev/null and returns its wall time,
// CPU time and peak RSS.
func timeChild(argv []string) (wall, cpu time.Duration, rssKiB int64, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, 0, 0, err
	}
	defer devnull.Close()
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = devnull, &errb
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		// finwave exits 1 for findings only with --fail-on; any failure
		// here is real.
		return 0, 0, 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssKiB = ru.Maxrss // KiB on Linux
	}
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return wall, cpu, rssKiB, nil
}

func report(w io.Writer, ms []measurement) {
	var bare, fw1 measurement
	for _, m := range ms {
		switch m.name {
		case "bare gopacket loop":
			bare = m
		case "finwave -j 1":
			fw1 = m
		}
	}
	// Ratios of wall time; CPU time is printed too because wall time on a
	// shared machine includes waiting for a core.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "command\twall s\tCPU s\t× bare loop\t× finwave -j 1\tpeak RSS MiB\t")
	for _, m := range ms {
		if m.skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\n", m.name, m.skipped)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t%s\t%.0f\t\n", m.name, m.wall.Seconds(), m.cpu.Seconds(),
			ratio(m.wall, bare.wall), ratio(m.wall, fw1.wall), float64(m.rssKiB)/1024)
	}
	tw.Flush()
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a.Seconds()/b.Seconds())
}

// cpuModel names the processor from /proc/cpuinfo (Linux), for the record.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown cpu"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown cpu"
}
