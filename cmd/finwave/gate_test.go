package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// gateCase is a run and its exit status and stderr (want "": none).
type gateCase struct {
	args []string
	code int
	want string
}

func runGateCases(t *testing.T, cases []gateCase) {
	t.Helper()
	for _, c := range cases {
		code, _, errOut := runCLI(t, nil, c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, code, c.code, errOut)
		}
		if (c.want == "") != (errOut == "") || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: stderr %q, want %q", c.args, errOut, c.want)
		}
	}
}

// TestFailOnSaysWhy: --fail-on names on stderr the flows and kinds that
// tripped it, and accepts patterns and severities besides kinds.
func TestFailOnSaysWhy(t *testing.T) {
	retrans, clean := failOnCaptures(t)
	cases := []gateCase{
		{[]string{"-q", "--fail-on", "fin-retransmission", retrans}, exitFindings,
			"finwave: --fail-on: " + retrans + ": 1 flow tripped it: fin-retransmission ×1 (stream 0)\n"},
		{[]string{"-q", "--fail-on", "four-way", clean}, exitFindings,
			"finwave: --fail-on: " + clean + ": 1 flow tripped it: four-way ×1 (stream 0)\n"},
		{[]string{"-q", "--fail-on", "reset", clean}, exitOK, ""},
		{[]string{"-q", "--fail-on", "info", retrans}, exitFindings, "fin-retransmission ×1 (stream 0)"},
		{[]string{"-q", "--fail-on", "any", retrans}, exitFindings, "fin-retransmission ×1 (stream 0)"},
		// fin-retransmission is info: under a warning gate it passes.
		{[]string{"-q", "--fail-on", "warning", retrans}, exitOK, ""},
	}
	runGateCases(t, cases)
}

// TestFailOnEmpty: a capture with no TCP flow fails a --fail-on gate,
// naming why, unless --allow-empty.
func TestFailOnEmpty(t *testing.T) {
	dir := t.TempDir()
	var hdr, atm bytes.Buffer
	if err := pcapgo.NewWriter(&hdr).WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	// One frame of a link type the decoder does not know.
	frames := pcapBytes(t, cleanFourWay)
	w := pcapgo.NewWriter(&atm)
	if err := w.WriteFileHeader(65535, layers.LinkTypeATM_RFC1483); err != nil {
		t.Fatal(err)
	}
	atm.Write(frames[24:]) // the same records under another link type
	none := writeFile(t, dir, "none.pcap", hdr.Bytes())
	atmFile := writeFile(t, dir, "atm.pcap", atm.Bytes())
	cases := []gateCase{
		{[]string{"-q", "--fail-on", "any", none}, exitFindings, "finwave: --fail-on: " + none + ": nothing to analyse: no frames (--allow-empty to pass)\n"},
		{[]string{"-q", "--fail-on", "any", atmFile}, exitFindings, "nothing to analyse: no TCP flow in 7 frames (skipped: unsupported link type 100 (ATM RFC 1483) ×7)"},
		{[]string{"-q", "--fail-on", "any", "--allow-empty", atmFile}, exitOK, ""},
		{[]string{"-q", atmFile}, exitOK, ""},
	}
	runGateCases(t, cases)
}

// TestVersionAndHelpTopics: finwave version / --version print the version
// line; help live prints live's hand-written help.
func TestVersionAndHelpTopics(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != exitOK || errOut != "" || !strings.HasPrefix(out, "finwave ") || !strings.Contains(out, " go1.") ||
			!strings.Contains(out, "(models Linux ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for topic, want := range map[string]string{
		"live":  "Usage: finwave live -i IFACE",
		"hosts": "Usage: finwave hosts",
		"check": "Usage: finwave check",
		"kinds": "Anomaly kinds",
	} {
		code, out, errOut := runCLI(t, nil, "help", topic)
		if code != exitOK || errOut != "" || !strings.HasPrefix(out, want) {
			t.Errorf("help %s: exit %d, stderr %q, stdout starts %.60q", topic, code, errOut, out)
		}
	}
	code, out, _ := runCLI(t, nil, "--help")
	if code != exitOK || !strings.Contains(out, "    -j N ") || !strings.Contains(out, "finwave version") {
		t.Errorf("--help lacks -j or version:\n%s", out)
	}
}
