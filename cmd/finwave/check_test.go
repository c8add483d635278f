package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	cap := writeFile(t, dir, "retrans.pcap", pcapBytes(t, fourWayWithFINRetransmission))
	// The truth of this hand-made capture: one flow, the client closed first
	// with a FIN sent twice (frames 6 and 7), the server answered with its
	// own FIN (frame 9) and the client's last ACK (frame 10) ends in
	// TIME_WAIT on the client (RFC 9293 §3.6).
	holds := `# written from the segments in capture_test.go
flows = 1
flow 0 closer = client
flow 0 client_state = TIME-WAIT
flow 0 has fin-retransmission
flow * lacks rst-unread-data
flow client=10.0.0.1:40001 pattern = four-way
frame 6 label = wave-1
frame 7 label = fin-retransmission
frame 9 label = wave-3
frame 10 label = wave-4
`
	writeFile(t, dir, "retrans.expect", []byte(holds))
	code, out, errOut := runCLI(t, nil, "check", cap)
	if code != exitOK || errOut != "" {
		t.Errorf("holding rules: exit %d, stderr %q\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "10 of 10 rules held") || !strings.Contains(out, "check: 1 capture(s), 10 rule(s), 0 failed") {
		t.Errorf("output:\n%s", out)
	}

	fails := writeFile(t, dir, "fails.expect", []byte("flows = 1\nflow 0 closer = server\n"))
	code, out, _ = runCLI(t, nil, "check", "--expect", fails, cap)
	if code != exitFindings {
		t.Errorf("failing rule: exit %d, want %d", code, exitFindings)
	}
	if !strings.Contains(out, "FAIL "+fails+":2: flow 0 closer = server") || !strings.Contains(out, "found: closer client") {
		t.Errorf("failing rule output:\n%s", out)
	}
	code, out, _ = runCLI(t, nil, "check", "-q", "--expect", fails, cap)
	if code != exitFindings || strings.Contains(out, "ok ") || !strings.Contains(out, "FAIL") {
		t.Errorf("-q: exit %d\n%s", code, out)
	}

	bad := writeFile(t, dir, "bad.expect", []byte("flows = 1\nflow 0 closer = nobody\n"))
	code, _, errOut = runCLI(t, nil, "check", "--expect", bad, cap)
	if code != exitUsage || !strings.Contains(errOut, bad+":2: closer: unknown value \"nobody\"") {
		t.Errorf("bad expectation: exit %d, stderr %q", code, errOut)
	}

	twoBad := writeFile(t, dir, "twobad.expect", []byte("flows = x\nflows = 1\nflow 0 has nothing\n"))
	_, _, errOut = runCLI(t, nil, "check", "--expect", twoBad, cap)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "finwave: "+twoBad+":1: ") || !strings.HasPrefix(lines[1], "finwave: "+twoBad+":3: ") {
		t.Errorf("two bad lines: stderr %q", errOut)
	}

	lonely := writeFile(t, dir, "lonely.pcap", pcapBytes(t, cleanFourWay))
	code, _, errOut = runCLI(t, nil, "check", lonely)
	if code != exitUsage || !strings.Contains(errOut, "lonely.expect") {
		t.Errorf("missing expectation: exit %d, stderr %q", code, errOut)
	}

	code, _, errOut = runCLI(t, nil, "check", "--expect", fails, dir+"/none.pcap")
	if code != exitUsage || !strings.Contains(errOut, "none.pcap") {
		t.Errorf("missing capture: exit %d, stderr %q", code, errOut)
	}
}

// TestCheckOptionsOverrideFlags: option lines win over the command line.
func TestCheckOptionsOverrideFlags(t *testing.T) {
	dir := t.TempDir()
	cap := writeFile(t, dir, "c.pcap", pcapBytes(t, cleanFourWay))
	writeFile(t, dir, "c.expect", []byte("option profile rfc793\nflow 0 profile = rfc793\n"))
	code, out, errOut := runCLI(t, nil, "check", "--profile", "linux", cap)
	if code != exitOK {
		t.Errorf("exit %d, stderr %q\n%s", code, errOut, out)
	}
}

func TestDamagedCaptureJSONStaysValid(t *testing.T) {
	full := pcapBytes(t, fourWayWithFINRetransmission)
	path := writeFile(t, t.TempDir(), "cut.pcap", full[:len(full)-5])
	code, out, errOut := runCLI(t, nil, "--json", path)
	if code != exitUsage || errOut == "" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON for a damaged capture: %v\n%s", err, out)
	}
	if s, _ := doc["read_error"].(string); !strings.Contains(s, "frame 10") {
		t.Errorf("read_error = %v", doc["read_error"])
	}
}

// TestCheckNoRules: an expectation file without a rule is an error (exit
// 2), not "0 of 0 rules held".
func TestCheckNoRules(t *testing.T) {
	dir := t.TempDir()
	cap := writeFile(t, dir, "retrans.pcap", pcapBytes(t, fourWayWithFINRetransmission))
	writeFile(t, dir, "retrans.expect", []byte("# nothing yet\noption profile linux\n"))
	code, out, errOut := runCLI(t, nil, "check", cap)
	if code != exitUsage || !strings.Contains(errOut, "retrans.expect: no rules: an expectation file needs at least one rule") {
		t.Errorf("exit %d, stderr %q\n%s", code, errOut, out)
	}
}
