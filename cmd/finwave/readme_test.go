package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"finwave/analyzer"
)

// readmeCommands returns the commands of the README's first code block.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cmds []string
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if in {
				return cmds
			}
			in = true
			continue
		}
		if in && line != "" {
			cmds = append(cmds, line)
		}
	}
	t.Fatal("README.md has no code block")
	return nil
}

// TestReadmeQuickStart: the README starts with a run of finwave on a bundled
// fixture and the test command .ci/run uses, and the fixture analyses
// cleanly.
func TestReadmeQuickStart(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) != 2 || cmds[1] != "go test ./..." || !strings.HasPrefix(cmds[0], "go run ./cmd/finwave ") {
		t.Fatalf("README quick start is %q, want `go run ./cmd/finwave FIXTURE` and `go test ./...`", cmds)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\n"+cmds[1]+"\n") {
		t.Errorf(".ci/run does not run the README's test command %q", cmds[1])
	}
	fixture := strings.TrimPrefix(cmds[0], "go run ./cmd/finwave ")
	path := filepath.Join("..", "..", fixture)
	if _, err := os.Stat(path); err != nil {
		caps, _ := filepath.Glob("../../fixtures/*.pcap*")
		if len(caps) == 0 {
			t.Skipf("no fixture captures yet; %s will be checked once fixtures/ has captures", fixture)
		}
		t.Fatalf("README runs finwave on %s, which does not exist (fixtures: %v)", fixture, caps)
	}
	code := run(context.Background(), []string{path}, nil, io.Discard, io.Discard)
	if code != exitOK {
		t.Errorf("finwave %s: exit %d", fixture, code)
	}
}

// TestReadmeTables keeps the README's tables of anomaly kinds and segment
// labels equal to the analyzer's records (the one place their words live).
func TestReadmeTables(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var want strings.Builder
	want.WriteString("| kind | meaning |\n|---|---|\n")
	for _, k := range analyzer.Kinds() {
		fmt.Fprintf(&want, "| `%s` | %s |\n", k, k.Describe())
	}
	want.WriteString("\n## Segment labels\n\n| label | meaning |\n|---|---|\n")
	for _, l := range analyzer.Labels() {
		fmt.Fprintf(&want, "| `%s` | %s |\n", l, l.Meaning())
	}
	if !strings.Contains(readme, want.String()) {
		t.Errorf("README.md's kind and label tables differ from analyzer's records; they should read:\n%s", want.String())
	}
}
