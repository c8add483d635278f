package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTMLFlag: --html writes the page beside the normal output (which
// does not change), the same page with -j 1 and -j 4, with -q too; more
// than one capture, or a path that cannot be written, is an error.
func TestHTMLFlag(t *testing.T) {
	const fixture = "../../fixtures/close_wait_leak.pcap"
	dir := t.TempDir()
	_, plain, _ := runCLI(t, nil, "-j", "1", "--no-color", fixture)
	var pages [][]byte
	for _, args := range [][]string{
		{"-j", "1", "--no-color"},
		{"-j", "4", "--no-color"},
		{"-j", "2", "-q"},
	} {
		path := filepath.Join(dir, strings.Join(args, "")+".html")
		code, out, errOut := runCLI(t, nil, append(append(args, "--html", path), fixture)...)
		if code != 0 || errOut != "" {
			t.Fatalf("finwave %v --html: exit %d, stderr %q", args, code, errOut)
		}
		if args[2] != "-q" && out != plain {
			t.Errorf("finwave %v --html: stdout differs from without --html", args)
		}
		page, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.Contains(page, []byte("close_wait_leak.pcap")) || !bytes.HasSuffix(page, []byte("</html>\n")) {
			t.Errorf("finwave %v --html: not the page:\n%.300s", args, page)
		}
		pages = append(pages, page)
	}
	for i := range pages[1:] {
		if !bytes.Equal(pages[0], pages[i+1]) {
			t.Errorf("the page of run %d differs from the first (-j 1)", i+2)
		}
	}
	if code, _, errOut := runCLI(t, nil, "--html", filepath.Join(dir, "two.html"), fixture, fixture); code != 2 || !strings.Contains(errOut, "--html") {
		t.Errorf("--html with two captures: exit %d, stderr %q; want a usage error", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "--html", filepath.Join(dir, "no", "such", "dir.html"), fixture); code == 0 || !strings.Contains(errOut, "--html") {
		t.Errorf("--html into a missing directory: exit %d, stderr %q; want an error", code, errOut)
	}
}
