package analyzer

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every rule has a source (an RFC section or a Linux function) and words
// for at least one use, and the words that name a state left are expanded.
func TestRules_complete(t *testing.T) {
	for r := rule(1); r < numRules; r++ {
		rec := &rules[r]
		if rec.rfc == "" && rec.linux == "" {
			t.Errorf("rule %d: neither an RFC section nor a Linux function", r)
		}
		if rec.change == [2]string{} && rec.segment == [2]string{} {
			t.Errorf("rule %d: no words", r)
		}
		if rec.linux != "" && rec.change[linuxWords] == "" && rec.segment[linuxWords] == "" {
			t.Errorf("rule %d (%s): no Linux words", r, rec.linux)
		}
		for _, p := range []*Profile{&Linux, &RFC793} {
			if got := r.reason(p, FinWait2); strings.Contains(got, "{from}") {
				t.Errorf("rule %d: unexpanded words %q", r, got)
			}
		}
	}
	if got := ruleRstDataAfterClose.reason(&Linux, Closing); !strings.Contains(got, " in CLOSING → ") {
		t.Errorf("data-after-close reason %q does not name the state left", got)
	}
}

// Every rule is used by the machines: a rule nobody passes is dead words.
func TestRules_used(t *testing.T) {
	var src strings.Builder
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "rules.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	defs, err := os.ReadFile("rules.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\t(rule[A-Z]\w*)[ \t]*(//.*)?$`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(defs), -1) {
		n++
		if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(src.String()) {
			t.Errorf("%s is defined but no machine rule uses it", m[1])
		}
	}
	if n != int(numRules)-1 { // all but ruleNone
		t.Errorf("found %d rule constants, want %d", n, numRules-1)
	}
}

// Every kind has its record: name, words, a detail writer; names are
// unique and parse back.
func TestKinds_complete(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		rec := kinds[k]
		if rec.name == "" || rec.summary == "" || rec.check == "" || rec.act == "" || rec.detail == nil {
			t.Errorf("kind %d: incomplete record %+v", k, rec)
		}
		if seen[rec.name] {
			t.Errorf("kind name %q twice", rec.name)
		}
		seen[rec.name] = true
		if got, ok := ParseKind(k.String()); !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, ok)
		}
	}
	if _, ok := ParseKind("invalid"); ok {
		t.Error("ParseKind accepts invalid")
	}
}

// Every enumeration lists its members, and each parses back from its name.
func TestEnums_roundTrip(t *testing.T) {
	for _, s := range States() {
		if got, ok := ParseState(s.String()); !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s, got, ok)
		}
	}
	for _, l := range Labels() {
		if got, ok := ParseLabel(l.String()); !ok || got != l || l.Meaning() == "" {
			t.Errorf("ParseLabel(%q) = %v, %v; meaning %q", l, got, ok, l.Meaning())
		}
	}
	if _, ok := ParseLabel(""); ok {
		t.Error("ParseLabel accepts the empty name of NoLabel")
	}
	for _, p := range Patterns() {
		if got, ok := ParsePattern(p.String()); !ok || got != p || p.Meaning() == "" {
			t.Errorf("ParsePattern(%q) = %v, %v; meaning %q", p, got, ok, p.Meaning())
		}
	}
	for _, s := range Severities() {
		if got, ok := ParseSeverity(s.String()); !ok || got != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s, got, ok)
		}
	}
	if len(States()) != 12 || len(Labels()) != 17 || len(Patterns()) != 11 || len(Kinds()) != 26 || len(Severities()) != 3 {
		t.Errorf("members: %d states, %d labels, %d patterns, %d kinds, %d severities",
			len(States()), len(Labels()), len(Patterns()), len(Kinds()), len(Severities()))
	}
	for _, bad := range []string{State(numStates).String(), Label(numLabels).String(), Pattern(numPatterns).String(),
		Kind(numKinds).String(), Severity(numSeverities).String(), Closer(9).String(), Roles(9).String()} {
		if strings.ToLower(bad) != "invalid" {
			t.Errorf("an out-of-range value prints %q, want invalid", bad)
		}
	}
}

// The Linux words describe the kernel the fixtures were recorded on.
func TestLinuxVersionPinned(t *testing.T) {
	truths, _ := filepath.Glob("../fixtures/*.truth")
	if len(truths) == 0 {
		t.Fatal("no fixtures/*.truth")
	}
	for _, f := range truths {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		found := false
		for sc.Scan() {
			// "kernel: V", or "SOURCE's kernel: V" in a capture crafted
			// from a kernel recording.
			l := sc.Text()
			if i := strings.Index(l, "'s kernel: "); i > 0 && !strings.Contains(l[:i], " ") {
				l = l[i+3:]
			}
			if v, ok := strings.CutPrefix(l, "kernel: "); ok {
				found = true
				if !strings.HasPrefix(v, LinuxVersion+".") {
					t.Errorf("%s was recorded on Linux %s; the rule words describe %s (analyzer.LinuxVersion): check them against that kernel and update it", f, v, LinuxVersion)
				}
				break
			}
		}
		fh.Close()
		if !found {
			t.Errorf("%s records no kernel version", f)
		}
	}
}
