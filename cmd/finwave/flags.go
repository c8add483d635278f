package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"finwave/analyzer"
	"finwave/pipeline"
)

// analysisFlags are the flags shared by analysis and check: they build the
// analyzer.Config.
type analysisFlags struct {
	profile     string
	rfc1337     bool
	finTimeout  time.Duration
	stuckAfter  time.Duration
	idleTimeout time.Duration
	maxFlows    int
	vxlanPorts  string // comma list of extra UDP ports decoded as VXLAN
	genevePorts string // likewise Geneve
}

func (a *analysisFlags) register(fs *flag.FlagSet) {
	d := analyzer.DefaultConfig()
	fs.StringVar(&a.profile, "profile", d.Profile.Name, "close machine `profile`: linux or rfc793")
	fs.BoolVar(&a.rfc1337, "rfc1337", d.RFC1337, "model net.ipv4.tcp_rfc1337=1: a RST does not end TIME_WAIT")
	fs.DurationVar(&a.finTimeout, "fin-timeout", d.FinTimeout, "orphaned FIN_WAIT_2 lifetime (net.ipv4.tcp_fin_timeout)")
	fs.DurationVar(&a.stuckAfter, "stuck-after", d.StuckAfter, "CLOSE_WAIT or FIN_WAIT_2 longer than this is reported stuck")
	fs.DurationVar(&a.idleTimeout, "idle-timeout", d.IdleTimeout, "a flow without segments for this long (capture time) is finished")
	fs.IntVar(&a.maxFlows, "max-flows", d.MaxFlows, "cap on open flows; the oldest idle flows are finished early beyond it")
	fs.StringVar(&a.vxlanPorts, "vxlan-port", "", "also decode UDP `ports` (comma list) as VXLAN, besides 4789 and 8472")
	fs.StringVar(&a.genevePorts, "geneve-port", "", "also decode UDP `ports` (comma list) as Geneve, besides 6081")
}

// runner returns the pipeline settings the flags choose (the decoder's
// tunnel ports).
func (a *analysisFlags) runner() (pipeline.Runner, error) {
	var r pipeline.Runner
	var err error
	if r.VXLANPorts, err = parsePorts("vxlan-port", a.vxlanPorts); err != nil {
		return r, err
	}
	if r.GenevePorts, err = parsePorts("geneve-port", a.genevePorts); err != nil {
		return r, err
	}
	return r, nil
}

// parsePorts reads a comma list of UDP ports ("" is none).
func parsePorts(name, list string) ([]uint16, error) {
	if list == "" {
		return nil, nil
	}
	var ports []uint16
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil || n == 0 {
			return nil, usagef("--%s %q: want UDP port numbers (1-65535), comma separated", name, list)
		}
		ports = append(ports, uint16(n))
	}
	return ports, nil
}

// config validates the flags and returns the analyzer configuration.
func (a *analysisFlags) config() (analyzer.Config, error) {
	cfg := analyzer.DefaultConfig()
	p, ok := analyzer.ProfileByName(a.profile)
	if !ok {
		return cfg, usagef("--profile %q: want linux or rfc793", a.profile)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"fin-timeout", a.finTimeout}, {"stuck-after", a.stuckAfter}, {"idle-timeout", a.idleTimeout}} {
		if d.v <= 0 {
			return cfg, usagef("--%s %v: must be positive", d.name, d.v)
		}
	}
	if a.maxFlows <= 0 {
		return cfg, usagef("--max-flows %d: must be positive", a.maxFlows)
	}
	cfg.Profile = p
	cfg.RFC1337 = a.rfc1337
	cfg.FinTimeout = a.finTimeout
	cfg.StuckAfter = a.stuckAfter
	cfg.IdleTimeout = a.idleTimeout
	cfg.MaxFlows = a.maxFlows
	return cfg, nil
}

// newFlagSet returns a flag set that reports errors to run instead of
// printing them or exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses flags anywhere among the arguments (`finwave x.pcap
// --json` works), returning the positional arguments in order. After "--"
// everything is positional; "-" (stdin) is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseKinds parses a comma-separated list of anomaly kinds for flag name;
// any also accepts "any" (every kind).
func parseKinds(flagName, s string, any bool) ([]analyzer.Kind, error) {
	if any && s == "any" {
		return analyzer.Kinds(), nil
	}
	var out []analyzer.Kind
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		k, ok := analyzer.ParseKind(name)
		if !ok {
			valid := kindNames()
			if any {
				valid = "any, " + valid
			}
			return nil, usagef("--%s: unknown anomaly kind %q; valid kinds: %s", flagName, name, valid)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, usagef("--%s: empty list of anomaly kinds", flagName)
	}
	return out, nil
}

func kindNames() string {
	var b strings.Builder
	for i, k := range analyzer.Kinds() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.String())
	}
	return b.String()
}

func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

// looksLikeCapture says whether a flag value looks like a capture file name
// (the flag's value was forgotten: `--fail-on x.pcap`).
func looksLikeCapture(v string) bool {
	v = strings.TrimSuffix(strings.ToLower(v), ".gz")
	for _, ext := range []string{".pcap", ".pcapng", ".cap"} {
		if strings.HasSuffix(v, ext) {
			return true
		}
	}
	return false
}

// flagError rewrites the flag package's parse errors in the GNU style the
// help uses ("--name", "-q" for one-letter flags), and names the fix:
//
//	invalid value "10" for flag -stuck-after: parse error
//	  → --stuck-after 10: not a duration; write a unit: 10s
//	flag provided but not defined: -bogus → unknown flag --bogus
//	flag needs an argument: -w → -w needs a value
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	var val, name string
	if _, e := fmt.Sscanf(msg, "invalid value %q for flag -%s", &val, &name); e == nil {
		name = strings.TrimSuffix(name, ":")
		why := msg[strings.Index(msg, ": ")+2:]
		if f := fs.Lookup(name); f != nil {
			if g, ok := f.Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case int, int64, uint, uint64:
					why = "not a whole number"
				case float64:
					why = "not a number"
				}
				if _, isDur := g.Get().(time.Duration); isDur {
					why = "not a duration (write a number and a unit: 300ms, 10s, 5m)"
					if _, e := strconv.ParseFloat(val, 64); e == nil {
						why = "a duration needs a unit; write " + val + "s"
					}
				}
			}
		}
		return usagef("%s %s: %s", dashed(name), val, why)
	}
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return usagef("unknown flag %s", dashed(rest))
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return usagef("%s needs a value", dashed(rest))
	}
	return usagef("%v", err)
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// conflicts returns a usage error for the first pair of flags given
// together that cannot be (each pair: two names, and why).
func conflicts(set map[string]bool, pairs [][3]string) error {
	for _, p := range pairs {
		if set[p[0]] && set[p[1]] {
			return usagef("%s and %s: %s", dashed(p[0]), dashed(p[1]), p[2])
		}
	}
	return nil
}

// dashed writes a flag name as the help does: -q, --json.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}
