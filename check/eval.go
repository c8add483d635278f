package check

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Result is the verdict on one rule.
type Result struct {
	Rule  *Rule
	OK    bool
	Found string // what the analysis showed, for the report
}

// Evaluate judges every rule of e against facts, in file order.
func Evaluate(e *Expect, facts *Facts) []Result {
	facts.sort()
	out := make([]Result, len(e.Rules))
	for i := range e.Rules {
		r := &e.Rules[i]
		ok, found := evalRule(r, facts)
		out[i] = Result{Rule: r, OK: ok, Found: found}
	}
	return out
}

func evalRule(r *Rule, facts *Facts) (bool, string) {
	switch r.kind {
	case ruleFlows:
		n := int64(len(facts.Flows))
		return r.op.ints(n, r.num), plural(n, "flow", "flows")
	case ruleAnomaly:
		var n int64
		for i := range facts.Flows {
			n += int64(facts.Flows[i].count(r.kinds[0]))
		}
		return r.op.ints(n, r.num), fmt.Sprintf("%d %s", n, r.kinds[0])
	case ruleFrameLabel:
		if facts.Labels == nil {
			return false, "labels were not collected"
		}
		l, ok := facts.Labels[r.frame]
		if !ok {
			return false, fmt.Sprintf("frame %d is not a segment of any reported flow", r.frame)
		}
		got := labelString(l)
		return (got == r.value) == (r.op == OpEq), "label " + got
	}
	return evalFlowRule(r, facts)
}

// maxShown bounds the flows listed in one finding.
const maxShown = 5

func evalFlowRule(r *Rule, facts *Facts) (bool, string) {
	var matched, failed int
	var shown []string
	all := true
	for i := range facts.Flows {
		f := &facts.Flows[i]
		if !r.sel.matches(f) {
			continue
		}
		matched++
		ok, found := evalFlow(r, f)
		if ok {
			continue
		}
		all = false
		failed++
		if len(shown) < maxShown {
			if r.sel.kind != selStream {
				found = "stream " + strconv.FormatInt(f.Stream, 10) + ": " + found
			}
			shown = append(shown, found)
		}
	}
	if matched == 0 {
		if r.sel.kind == selAll {
			return false, "no flows in the capture"
		}
		return false, "no flow matches " + r.sel.String()
	}
	if all {
		if matched == 1 {
			return true, ""
		}
		return true, fmt.Sprintf("all %d matching flows", matched)
	}
	msg := strings.Join(shown, "; ")
	if failed > len(shown) {
		msg += fmt.Sprintf("; and %d more", failed-len(shown))
	}
	if matched > 1 {
		msg = fmt.Sprintf("%d of %d flows: %s", failed, matched, msg)
	}
	return false, msg
}

// evalFlow judges a flow rule on one flow; found describes the flow's value.
func evalFlow(r *Rule, f *Flow) (bool, string) {
	switch r.kind {
	case ruleFlowField:
		got := f.field(r.field)
		same := got == r.value
		if r.field == FieldTunnel && !strings.Contains(r.value, " ") {
			typ, _, _ := strings.Cut(got, " ") // "tunnel = vxlan": any VNI
			same = typ == r.value
		}
		if r.field == FieldVantage {
			same = slices.Contains(strings.Split(r.value, "|"), got)
		}
		return same == (r.op == OpEq), r.field.String() + " " + got
	case ruleFlowHas, ruleFlowLacks:
		n := 0
		for _, k := range r.kinds {
			n += f.count(k)
		}
		return (n > 0) == (r.kind == ruleFlowHas), "anomalies " + kindSetString(f.kindSet())
	case ruleFlowCount:
		n := int64(f.count(r.kinds[0]))
		return r.op.ints(n, r.num), fmt.Sprintf("%d %s", n, r.kinds[0])
	default: // ruleFlowSet
		got := f.kindSet()
		return slices.Equal(got, r.kinds) == (r.op == OpEq), "anomalies " + kindSetString(got)
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
