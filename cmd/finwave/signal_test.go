package main

// Nothing lost (issue 6): SIGINT and SIGTERM to the real process while it
// waits for more input flush every flow read so far and end a complete JSON
// document; so does an input that ends in the middle of a frame.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readChars returns the bytes pid has read so far (/proc/PID/io rchar).
func readChars(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// TestSignalFlushesJSON starts finwave on a pipe, writes the first frames of
// a capture and keeps the pipe open (a live `tcpdump -w - | finwave -`),
// then signals the process once it has read them. It must stop reading,
// finish the open flows and write a complete document with every frame,
// exit 0 and say on stderr that it was interrupted.
func TestSignalFlushesJSON(t *testing.T) {
	if _, ok := readChars(os.Getpid()); !ok {
		t.Skip("no /proc/PID/io: cannot tell when the child has read its input")
	}
	bin := buildFinwave(t)
	part := pcapBytes(t, fourWayWithFINRetransmission[:6]) // through the first FIN
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "--json", "--all", "-")
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			w, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Write(part); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				n, _ := readChars(cmd.Process.Pid)
				if n >= int64(len(part)) {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("child read %d of %d bytes in 10 s", n, len(part))
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // let it decode what it read
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10 s after %v while blocked on an open pipe", sig)
			}
			if err != nil {
				t.Errorf("exit after %v: %v (want 0); stderr %q", sig, err, e.String())
			}
			if !strings.Contains(e.String(), "interrupted: reported the 6 frames read from <stdin>") {
				t.Errorf("stderr %q", e.String())
			}
			var doc jsonDoc
			if err := json.Unmarshal(o.Bytes(), &doc); err != nil {
				t.Fatalf("after %v: not one complete JSON document: %v\n%s", sig, err, o.String())
			}
			if doc.Frames != 6 || len(doc.Flows) != 1 {
				t.Errorf("after %v: frames %d, flows %d: want the 6 frames written and their flow", sig, doc.Frames, len(doc.Flows))
			}
		})
	}
}

// TestJSONCompleteAtEveryCut: the input ends at every byte offset of a
// capture (as when tcpdump is killed mid-write). Every run ends with one
// complete JSON document holding every whole frame before the cut, and a
// cut inside a frame is named in read_error and on stderr.
func TestJSONCompleteAtEveryCut(t *testing.T) {
	full := pcapBytes(t, fourWayWithFINRetransmission)
	// Frame boundaries: the end offset of each whole-frame prefix.
	var ends []int
	for i := 0; i <= len(fourWayWithFINRetransmission); i++ {
		ends = append(ends, len(pcapBytes(t, fourWayWithFINRetransmission[:i])))
	}
	for cut := 24; cut <= len(full); cut++ {
		whole := 0
		for whole+1 < len(ends) && ends[whole+1] <= cut {
			whole++
		}
		onBoundary := ends[whole] == cut
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"--json", "--all", "-"}, bytes.NewReader(full[:cut]), &out, &errOut)
		var doc jsonDoc
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("cut at %d: not one complete JSON document: %v\n%s", cut, err, out.String())
		}
		if doc.Frames != int64(whole) {
			t.Errorf("cut at %d: %d frames reported, want the %d whole frames", cut, doc.Frames, whole)
		}
		if onBoundary {
			if code != exitOK || doc.ReadError != nil {
				t.Errorf("cut at %d (a frame boundary): exit %d, read_error %v", cut, code, doc.ReadError)
			}
			continue
		}
		want := fmt.Sprintf("frame %d (byte offset %d)", whole+1, ends[whole])
		if code != exitUsage || doc.ReadError == nil || !strings.Contains(*doc.ReadError, want) || !strings.Contains(errOut.String(), want) {
			t.Errorf("cut at %d: exit %d, read_error %v, stderr %q: want exit 2 naming %s", cut, code, doc.ReadError, errOut.String(), want)
		}
	}
}

// TestCtxReaderGivesUp: a Read blocked on a pipe returns ctx's error when
// ctx ends, and the data already read is not lost.
func TestCtxReaderGivesUp(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := newCtxReader(ctx, pr)
	go pw.Write([]byte("abc"))
	buf := make([]byte, 8)
	if n, err := r.Read(buf); n != 3 || err != nil || string(buf[:3]) != "abc" {
		t.Fatalf("Read = %d, %v, %q", n, err, buf[:n])
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked Read after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocked Read did not return after cancel")
	}
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v", err)
	}
}
