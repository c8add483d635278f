package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
