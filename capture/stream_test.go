package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStdinStreams feeds Open("-") through a pipe and checks that frame 1
// is delivered while the writer still holds frame 2 back: the input is read
// as a stream, not slurped. (The 30 s guard only turns a hang into a
// failure; it is not a timing assertion.)
func TestStdinStreams(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = pr
	defer func() { os.Stdin = old; pr.Close() }()

	file := pcapFile(binary.LittleEndian, false, 65535, 1, rec{sec: 1, data: []byte{1}}, rec{sec: 2, data: []byte{2}})
	split := 24 + 16 + 1
	gotFirst := make(chan struct{})
	go func() {
		pw.Write(file[:split])
		<-gotFirst
		pw.Write(file[split:])
		pw.Close()
	}()

	done := make(chan error, 1)
	go func() {
		src, err := Open("-")
		if err != nil {
			done <- err
			return
		}
		defer src.Close()
		var f Frame
		if err := src.Next(&f); err != nil || f.Data[0] != 1 {
			done <- errors.Join(errors.New("frame 1"), err)
			return
		}
		close(gotFirst)
		if err := src.Next(&f); err != nil || f.Data[0] != 2 || f.Number != 2 {
			done <- errors.Join(errors.New("frame 2"), err)
			return
		}
		if err := src.Next(&f); err != io.EOF {
			done <- errors.Join(errors.New("want io.EOF"), err)
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("reading stdin hung: frame 1 was not delivered before the rest of the input arrived")
	}
}

func TestOpenFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	// The name says pcap, the bytes are gzip'd pcapng: detection is by magic.
	p := filepath.Join(dir, "x.pcap")
	ng := cat(ngSHB(le), ngIDB(le, 1, 0), ngEPB(le, 0, 1, []byte{1}, 1))
	if err := os.WriteFile(p, gz(t, ng), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := drain(src, 10)
	if err != io.EOF || len(fr) != 1 {
		t.Errorf("%d frames, %v", len(fr), err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}

	_, err = Open(filepath.Join(dir, "missing.pcap"))
	if !errors.Is(err, os.ErrNotExist) || !bytes.Contains([]byte(err.Error()), []byte("missing.pcap")) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("GIF89a...."), 0o644)
	_, err = Open(bad)
	if re := asReadError(t, err); re.File != bad || !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("bad file: %v", err)
	}
}
