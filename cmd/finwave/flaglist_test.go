package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// flagNames returns the names of the flags fs registers, dashed as help
// writes them (-j, --json).
func flagNames(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, dashed(f.Name)) })
	sort.Strings(out)
	return out
}

// mentioned returns the flags named in text: -x or --name, at the start of
// a line of flag help or of a README table cell.
var flagRef = regexp.MustCompile("(?m)(?:^ {4}|^\\| `|, `?|`--[a-z-]+`, `)(--?[a-z][a-z0-9-]*|-[A-Z])")

func mentioned(text string) map[string]bool {
	m := map[string]bool{}
	for _, s := range flagRef.FindAllStringSubmatch(text, -1) {
		m[s[1]] = true
	}
	return m
}

// readmeTable returns the flag table (starting at the header line) of
// README.md's section.
func readmeTable(t *testing.T, section, header string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## "+section+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %s section", section)
	}
	s = s[i:]
	j := strings.Index(s, "\n"+header+"\n")
	if j < 0 {
		t.Fatalf("README.md's %s section has no flag table", section)
	}
	s = s[j+1:]
	if k := strings.Index(s, "\n\n"); k >= 0 {
		s = s[:k]
	}
	return s
}

// flagDoc is a text that must name exactly the flags a command registers.
type flagDoc struct{ name, text string }

// checkFlagDocs: every flag in reg is in each doc, and each doc names no
// flag that cmd does not register.
func checkFlagDocs(t *testing.T, cmd string, reg []string, docs ...flagDoc) {
	t.Helper()
	regSet := map[string]bool{}
	for _, n := range reg {
		regSet[n] = true
	}
	for _, doc := range docs {
		m := mentioned(doc.text)
		for _, n := range reg {
			if !m[n] {
				t.Errorf("%s lacks %s", doc.name, n)
			}
		}
		for n := range m {
			if !regSet[n] {
				t.Errorf("%s lists %s, which %s does not register", doc.name, n, cmd)
			}
		}
	}
}

// TestFlagListsAgree: every flag finwave (and finwave hosts, the same set)
// registers is in its hand-written help and in README.md's Usage flag
// table, and those name no flag it does not register.
func TestFlagListsAgree(t *testing.T) {
	var f analyzeFlags
	checkFlagDocs(t, "finwave", flagNames(f.flagSet("finwave")),
		flagDoc{"finwave --help", flagHelp},
		flagDoc{"README.md Usage table", readmeTable(t, "Usage", "| flag | default | meaning |")})
}

// TestCheckHelpListsItsFlags: finwave check --help names every flag of its
// own (the analysis flags it shares with finwave are in finwave --help).
func TestCheckHelpListsItsFlags(t *testing.T) {
	var c checkFlags
	var a analysisFlags
	shared := newFlagSet("shared")
	a.register(shared)
	for _, n := range flagNames(c.flagSet()) {
		if shared.Lookup(strings.TrimLeft(n, "-")) != nil {
			if !mentioned(flagHelp)[n] {
				t.Errorf("finwave --help lacks the analysis flag %s", n)
			}
			continue
		}
		if !regexp.MustCompile(regexp.QuoteMeta(n) + `\b`).MatchString(checkHelp) {
			t.Errorf("finwave check --help lacks %s", n)
		}
	}
	// The flags of --write-expect: registered, and documented in the help
	// and in README's check section.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Checking against the truth: `finwave check`")
	section, _, _ = strings.Cut(section, "\n## ")
	names := flagNames(c.flagSet())
	for _, n := range []string{"--write-expect", "--force"} {
		if !slices.Contains(names, n) {
			t.Errorf("finwave check does not register %s", n)
		}
		if !regexp.MustCompile(regexp.QuoteMeta(n) + `\b`).MatchString(section) {
			t.Errorf("README's finwave check section does not document %s", n)
		}
	}
}
