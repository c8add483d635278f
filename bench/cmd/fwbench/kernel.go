package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Ports of the kernel-mode servers inside the namespace.
const (
	portServe   = 8080 // reads the request, replies, closes after the client
	portUnread  = 8082 // closes without reading the request: RST (tcp_close, TCPAbortOnClose)
	portRefused = 8081 // no listener: RST+ACK (tcp_v4_send_reset)
)

// cmdKernel records real kernel traffic: it creates a network namespace,
// runs tcpdump on its loopback and re-executes itself inside the namespace
// (kernel-worker) to make short connections with mixed endings: orderly
// closes by either side (four-way or three-way as the kernel chooses),
// close with unread data, SO_LINGER 0 aborts, refused connections. Needs
// root, ip(8) and tcpdump; otherwise it says so and exits 0.
func cmdKernel(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fwbench kernel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "kernel.pcap", "output `file`")
	conns := fs.Int("conns", 200000, "connections to make")
	conc := fs.Int("concurrency", 64, "connections at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("kernel: not root (network namespace and tcpdump need it): %w", errSkip)
	}
	for _, tool := range []string{"ip", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("kernel: %s not installed: %w", tool, errSkip)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	ns := fmt.Sprintf("fwbench%d", os.Getpid())
	if err := exec.Command("ip", "netns", "add", ns).Run(); err != nil {
		return fmt.Errorf("ip netns add: %w", err)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	if err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").Run(); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	// Snaplen 128: headers only, as a capture for teardown analysis would be.
	td := exec.Command("ip", "netns", "exec", ns, "tcpdump", "-i", "lo", "-n", "-s", "128",
		"--immediate-mode", "-B", "65536", "-w", abs, "tcp")
	td.Stderr = stderr
	if err := td.Start(); err != nil {
		return fmt.Errorf("tcpdump: %w", err)
	}
	time.Sleep(time.Second) // tcpdump attaches
	w := exec.Command("ip", "netns", "exec", ns, self, "kernel-worker", fmt.Sprint(*conns), fmt.Sprint(*conc))
	w.Stdout, w.Stderr = stdout, stderr
	werr := w.Run()
	time.Sleep(500 * time.Millisecond)
	_ = td.Process.Signal(os.Interrupt)
	_ = td.Wait()
	if werr != nil {
		return fmt.Errorf("kernel worker: %w", werr)
	}
	fmt.Fprintf(stdout, "%s: recorded by tcpdump in netns %s\n", *out, ns)
	return nil
}

// kernelWorker runs inside the namespace: servers on loopback and conns
// client connections, conc at a time, endings in rotation.
func kernelWorker(args []string, stdout io.Writer) error {
	var conns, conc int
	if len(args) != 2 {
		return errors.New("usage: kernel-worker CONNS CONCURRENCY")
	}
	fmt.Sscan(args[0], &conns)
	fmt.Sscan(args[1], &conc)
	serve, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", portServe))
	if err != nil {
		return err
	}
	unread, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", portUnread))
	if err != nil {
		return err
	}
	go acceptLoop(serve, func(c net.Conn) {
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err == nil {
			c.Write(buf[:100])
		}
		// Wait for the client's FIN (or not, when it aborts), then close:
		// the client is the active closer.
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		c.Read(buf)
		c.Close()
	})
	go acceptLoop(unread, func(c net.Conn) {
		time.Sleep(2 * time.Millisecond) // the request arrives, unread
		c.Close()
	})
	var wg sync.WaitGroup
	next := make(chan int)
	var errs, ok [4]int64
	var mu sync.Mutex
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := make([]byte, 100)
			buf := make([]byte, 512)
			for i := range next {
				kind := i % 8
				port := portServe
				switch kind {
				case 5:
					port = portUnread
				case 7:
					port = portRefused
				}
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
				k := min(kind, 3)
				mu.Lock()
				if err != nil {
					errs[k]++
				} else {
					ok[k]++
				}
				mu.Unlock()
				if err != nil {
					continue
				}
				c.Write(req)
				if kind != 5 {
					c.SetReadDeadline(time.Now().Add(time.Second))
					io.ReadFull(c, buf[:100])
				}
				if kind == 6 {
					c.(*net.TCPConn).SetLinger(0) // abort: RST
				}
				c.Close()
			}
		}()
	}
	for i := range conns {
		next <- i
	}
	close(next)
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	fmt.Fprintf(stdout, "kernel worker: %d connections made, %d refused or failed\n", ok[0]+ok[1]+ok[2]+ok[3], errs[0]+errs[1]+errs[2]+errs[3])
	return nil
}

func acceptLoop(l net.Listener, fn func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go fn(c)
	}
}
