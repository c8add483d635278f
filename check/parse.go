package check

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// ParseError is a problem at one line of an expectation file.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// Option is one `option NAME VALUE` line, validated at parse time.
type Option struct {
	Line  int
	Name  string
	Value string
	apply func(*analyzer.Config)
}

// Expect is a parsed expectation file.
type Expect struct {
	File    string
	Options []Option
	Rules   []Rule
}

// NeedFrames reports whether the file has `frame` rules, which need the
// label of every segment to be collected.
func (e *Expect) NeedFrames() bool {
	for i := range e.Rules {
		if e.Rules[i].kind == ruleFrameLabel {
			return true
		}
	}
	return false
}

// Apply sets the file's options on cfg, in file order. Options in the file
// override the command line: the expectations were written for them.
func (e *Expect) Apply(cfg *analyzer.Config) {
	for i := range e.Options {
		e.Options[i].apply(cfg)
	}
}

// ParseFile reads and parses the expectation file at path.
func ParseFile(path string) (*Expect, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("expectation: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// maxErrors bounds the parse errors reported for one file.
const maxErrors = 20

// Parse reads an expectation file. name is used in errors and Rule.File.
// Every bad line is reported (up to 20), each as a *ParseError, joined.
func Parse(name string, r io.Reader) (*Expect, error) {
	e := &Expect{File: name}
	var errs []error
	seen := map[string]int{} // option name -> line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		var err error
		if fields[0] == "option" {
			var o Option
			o, err = parseOption(fields)
			if err == nil {
				if prev, dup := seen[o.Name]; dup {
					err = fmt.Errorf("option %s given twice (first at line %d)", o.Name, prev)
				} else {
					seen[o.Name] = line
					o.Line = line
					e.Options = append(e.Options, o)
				}
			}
		} else {
			var rule Rule
			rule, err = parseRule(fields)
			if err == nil {
				rule.File, rule.Line, rule.Text = name, line, strings.Join(fields, " ")
				e.Rules = append(e.Rules, rule)
			}
		}
		if err != nil {
			errs = append(errs, &ParseError{File: name, Line: line, Err: err})
			if len(errs) == maxErrors {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &ParseError{File: name, Line: line + 1, Err: err})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(e.Rules) == 0 {
		// "0 of 0 rules held" would pass a check that checks nothing.
		return nil, fmt.Errorf("%s: no rules: an expectation file needs at least one rule (docs/expect-format.md)", name)
	}
	return e, nil
}

func parseOption(f []string) (Option, error) {
	if len(f) != 3 {
		return Option{}, errors.New("want: option NAME VALUE (profile, rfc1337, fin-timeout, stuck-after, idle-timeout, max-flows)")
	}
	o := Option{Name: f[1], Value: f[2]}
	v := f[2]
	switch o.Name {
	case "profile":
		p, ok := analyzer.ProfileByName(v)
		if !ok {
			return o, fmt.Errorf("unknown profile %q (want linux or rfc793)", v)
		}
		o.apply = func(c *analyzer.Config) { c.Profile = p }
	case "rfc1337":
		var on bool
		switch v {
		case "on", "true", "1":
			on = true
		case "off", "false", "0":
		default:
			return o, fmt.Errorf("option rfc1337: want on or off, found %q", v)
		}
		o.apply = func(c *analyzer.Config) { c.RFC1337 = on }
	case "fin-timeout", "stuck-after", "idle-timeout":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("option %s: want a positive Go duration such as 3s or 1m30s, found %q", o.Name, v)
		}
		switch o.Name {
		case "fin-timeout":
			o.apply = func(c *analyzer.Config) { c.FinTimeout = d }
		case "stuck-after":
			o.apply = func(c *analyzer.Config) { c.StuckAfter = d }
		default:
			o.apply = func(c *analyzer.Config) { c.IdleTimeout = d }
		}
	case "max-flows":
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("option max-flows: want a positive integer, found %q", v)
		}
		o.apply = func(c *analyzer.Config) { c.MaxFlows = n }
	default:
		return o, fmt.Errorf("unknown option %q (want profile, rfc1337, fin-timeout, stuck-after, idle-timeout or max-flows)", o.Name)
	}
	return o, nil
}

func parseRule(f []string) (Rule, error) {
	var r Rule
	switch f[0] {
	case "flows":
		if len(f) != 3 {
			return r, errors.New("want: flows OP N")
		}
		r.kind = ruleFlows
		return r, parseOpNum(&r, f[1], f[2])
	case "anomaly":
		if len(f) != 4 {
			return r, errors.New("want: anomaly KIND OP N")
		}
		r.kind = ruleAnomaly
		k, err := parseKind(f[1])
		if err != nil {
			return r, err
		}
		r.kinds = []analyzer.Kind{k}
		return r, parseOpNum(&r, f[2], f[3])
	case "flow":
		return parseFlowRule(f)
	case "frame":
		if len(f) != 5 || f[2] != "label" {
			return r, errors.New("want: frame N label OP LABEL")
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n < 1 {
			return r, fmt.Errorf("frame number must be a positive integer (frames count from 1, as in Wireshark), found %q", f[1])
		}
		r.kind, r.frame = ruleFrameLabel, n
		if r.op, err = parseEqOp(f[3], "label"); err != nil {
			return r, err
		}
		l, ok := parseLabel(f[4])
		if !ok {
			return r, fmt.Errorf("unknown label %q (want none or one of: %s)", f[4], strings.Join(names(analyzer.Labels()), ", "))
		}
		r.value = labelString(l)
		return r, nil
	}
	return r, fmt.Errorf("unknown rule %q (want option, flows, anomaly, flow or frame)", f[0])
}

func parseFlowRule(f []string) (Rule, error) {
	var r Rule
	if len(f) < 4 {
		return r, errors.New("want: flow SELECTOR FIELD OP VALUE, flow SELECTOR has|lacks KIND or flow SELECTOR anomaly KIND OP N")
	}
	sel, err := parseSelector(f[1])
	if err != nil {
		return r, err
	}
	r.sel = sel
	switch f[2] {
	case "has", "lacks":
		if len(f) != 4 {
			return r, fmt.Errorf("want: flow SELECTOR %s KIND", f[2])
		}
		r.kind = ruleFlowHas
		if f[2] == "lacks" {
			r.kind = ruleFlowLacks
		}
		// KIND|KIND...: has at least one of them / lacks every one. For
		// causes the wire cannot tell apart (rst-unread-data|rst-linger-zero).
		for _, name := range strings.Split(f[3], "|") {
			k, err := parseKind(name)
			if err != nil {
				return r, err
			}
			r.kinds = append(r.kinds, k)
		}
		return r, nil
	case "anomaly":
		if len(f) != 6 {
			return r, errors.New("want: flow SELECTOR anomaly KIND OP N")
		}
		r.kind = ruleFlowCount
		k, err := parseKind(f[3])
		if err != nil {
			return r, err
		}
		r.kinds = []analyzer.Kind{k}
		return r, parseOpNum(&r, f[4], f[5])
	case "anomalies":
		if len(f) != 5 {
			return r, errors.New("want: flow SELECTOR anomalies OP KIND,KIND... (or none)")
		}
		r.kind = ruleFlowSet
		if r.op, err = parseEqOp(f[3], "anomalies"); err != nil {
			return r, err
		}
		r.kinds = []analyzer.Kind{}
		if f[4] != "none" {
			for _, name := range strings.Split(f[4], ",") {
				k, err := parseKind(name)
				if err != nil {
					return r, err
				}
				if !slices.Contains(r.kinds, k) {
					r.kinds = append(r.kinds, k)
				}
			}
			slices.Sort(r.kinds)
		}
		r.value = kindSetString(r.kinds)
		return r, nil
	}
	fld, ok := parseField(f[2])
	if !ok {
		return r, fmt.Errorf("unknown flow property %q (want %s, anomalies, anomaly, has or lacks)", f[2], strings.Join(fieldNames[:], ", "))
	}
	if fld == FieldTunnel && len(f) == 6 {
		// "tunnel = vxlan 42": the type and the identifier.
		f = append(f[:4:4], f[4]+" "+f[5])
	}
	if len(f) != 5 {
		return r, fmt.Errorf("want: flow SELECTOR %s OP VALUE", f[2])
	}
	r.kind, r.field = ruleFlowField, fld
	if r.op, err = parseEqOp(f[3], f[2]); err != nil {
		return r, err
	}
	r.value, err = canonicalValue(fld, f[4])
	return r, err
}

func parseSelector(s string) (Selector, error) {
	var sel Selector
	if s == "*" {
		sel.kind = selAll
		return sel, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return sel, fmt.Errorf("stream number must not be negative, found %d", n)
		}
		sel.kind, sel.stream = selStream, n
		return sel, nil
	}
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return sel, fmt.Errorf("bad flow selector %q (want a stream number, *, client=IP:PORT, server=IP:PORT or client-port=N)", s)
	}
	switch name {
	case "client", "server":
		ap, err := netip.ParseAddrPort(val)
		if err != nil {
			return sel, fmt.Errorf("selector %s: want IP:PORT ([v6]:PORT for IPv6), found %q", name, val)
		}
		sel.kind, sel.addr = selClient, netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
		if name == "server" {
			sel.kind = selServer
		}
		return sel, nil
	case "client-port":
		p, err := strconv.ParseUint(val, 10, 16)
		if err != nil {
			return sel, fmt.Errorf("selector client-port: want a port number 0-65535, found %q", val)
		}
		sel.kind, sel.port = selClientPort, uint16(p)
		return sel, nil
	}
	return sel, fmt.Errorf("bad flow selector %q (want a stream number, *, client=IP:PORT, server=IP:PORT or client-port=N)", s)
}

func parseOpNum(r *Rule, op, num string) error {
	o, ok := parseOp(op)
	if !ok {
		return fmt.Errorf("expected an operator (=, !=, <, <=, >, >=), found %q", op)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("expected a count (non-negative integer), found %q", num)
	}
	r.op, r.num = o, n
	return nil
}

func parseEqOp(op, what string) (Op, error) {
	o, ok := parseOp(op)
	if !ok {
		return 0, fmt.Errorf("expected = or !=, found %q", op)
	}
	if o != OpEq && o != OpNe {
		return 0, fmt.Errorf("%s compares with = or != only, found %q", what, op)
	}
	return o, nil
}

func parseKind(s string) (analyzer.Kind, error) {
	k, ok := analyzer.ParseKind(s)
	if !ok {
		names := make([]string, 0, len(analyzer.Kinds()))
		for _, k := range analyzer.Kinds() {
			names = append(names, k.String())
		}
		return 0, fmt.Errorf("unknown anomaly kind %q (want one of: %s)", s, strings.Join(names, ", "))
	}
	return k, nil
}

func parseField(s string) (Field, bool) {
	s = strings.ReplaceAll(s, "-", "_")
	for i, n := range fieldNames {
		if n == s {
			return Field(i), true
		}
	}
	return 0, false
}

// zeekStates are Zeek's conn_state values (base/protocols/conn/main.zeek).
var zeekStates = []string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

// canonicalValue validates v for field f and returns it as the analyzer
// spells it, so evaluation compares strings.
func canonicalValue(f Field, v string) (string, error) {
	bad := func(want []string) error {
		return fmt.Errorf("%s: unknown value %q (want one of: %s)", f, v, strings.Join(want, ", "))
	}
	switch f {
	case FieldCloser:
		return enumValue(v, int(analyzer.CloserBoth)+1, func(i int) string { return analyzer.Closer(i).String() }, bad)
	case FieldPattern:
		if p, ok := analyzer.ParsePattern(v); ok {
			return p.String(), nil
		}
		return "", bad(names(analyzer.Patterns()))
	case FieldClientState, FieldServerState:
		if st, ok := analyzer.ParseState(v); ok {
			return st.String(), nil
		}
		return "", bad(names(analyzer.States()))
	case FieldZeekConnState:
		if slices.Contains(zeekStates, v) {
			return v, nil
		}
		return "", bad(zeekStates)
	case FieldRoles:
		return enumValue(v, int(analyzer.RolesInferred)+1, func(i int) string { return analyzer.Roles(i).String() }, bad)
	case FieldFinish:
		return enumValue(v, int(flow.FinishEnd)+1, func(i int) string { return flow.Finish(i).String() }, bad)
	case FieldTunnel:
		typ, id, hasID := strings.Cut(v, " ")
		if typ == "none" && !hasID {
			return v, nil
		}
		for _, t := range flow.TunnelTypes() {
			if t.String() != typ {
				continue
			}
			if !hasID {
				return typ, nil
			}
			n, err := strconv.ParseUint(id, 10, 32)
			if err != nil {
				return "", fmt.Errorf("tunnel: %q: want TYPE or TYPE ID, the ID a decimal number (VNI, GRE key, ...)", v)
			}
			return typ + " " + strconv.FormatUint(n, 10), nil
		}
		return "", bad(append([]string{"none"}, names(flow.TunnelTypes())...))
	case FieldDSACKFrame:
		if v == "none" {
			return v, nil
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return strconv.FormatInt(n, 10), nil
		}
		return "", fmt.Errorf("dsack_frame: %q: want a frame number or none", v)
	case FieldVantage:
		// One vantage point or alternatives (a|b): the wire may not
		// settle it, the truth narrows it.
		for _, a := range strings.Split(v, "|") {
			if _, ok := analyzer.ParseVantagePoint(a); !ok {
				return "", bad(names(analyzer.VantagePoints()))
			}
		}
		return v, nil
	default: // FieldProfile
		if p, ok := analyzer.ProfileByName(v); ok {
			return p.Name, nil
		}
		return "", bad([]string{"linux", "rfc793"})
	}
}

func enumValue(v string, n int, name func(int) string, bad func([]string) error) (string, error) {
	all := make([]string, n)
	for i := range n {
		all[i] = name(i)
		if all[i] == v {
			return v, nil
		}
	}
	return "", bad(all)
}

// names spells the members of an enumeration (analyzer.Patterns(),
// analyzer.States(), ...), for error messages.
func names[E fmt.Stringer](members []E) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.String()
	}
	return out
}

// labelString is the label as JSON spells it, "none" for an unlabelled
// segment (JSON's empty string).
func labelString(l analyzer.Label) string {
	if l == analyzer.NoLabel {
		return "none"
	}
	return l.String()
}

func parseLabel(s string) (analyzer.Label, bool) {
	if s == "none" {
		return analyzer.NoLabel, true
	}
	return analyzer.ParseLabel(s)
}

func kindSetString(ks []analyzer.Kind) string {
	if len(ks) == 0 {
		return "none"
	}
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.String()
	}
	return strings.Join(names, ",")
}
