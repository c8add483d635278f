package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/host"
)

// withKernel is rstUnread's flow seen by finwave live on the server's
// host: the owner known, the trace agreeing but for one change, the RST
// with the kernel's reason and a conntrack DNAT entry.
func withKernel() *analyzer.Teardown {
	t := rstUnread()
	v := &analyzer.KernelView{Tracked: true, Conntrack: host.Entry{
		State: "CLOSE", Timeout: 9e9,
		Orig:  host.Direction{Src: netip.MustParseAddrPort("10.0.0.1:40000"), Dst: netip.MustParseAddrPort("10.96.0.10:80")},
		Reply: host.Direction{Src: netip.MustParseAddrPort("10.244.0.5:8080"), Dst: netip.MustParseAddrPort("10.0.0.1:40000")},
		DNAT:  true,
	}}
	ks := &v.Sockets[analyzer.Server]
	ks.Local, ks.OwnerKnown, ks.Traced, ks.KernelConfirmed = true, true, true, 1
	ks.Owner = host.Owner{PID: 1234, Comm: "nginx", UID: 33, Cgroup: "/system.slice/nginx.service"}
	ks.Events = []host.Event{{Kind: host.StateChange, Time: t.FirstTime, Old: host.SynRecv, New: host.Established, PID: 0}}
	ks.Resets = []analyzer.KernelReset{{Frame: t.LastFrame, Time: t.LastTime, Sent: true, State: host.Established, Reason: "TCP_ABORT_ON_CLOSE"}}
	ks.Drops = []analyzer.KernelDrop{{Frame: 0, Time: t.LastTime, Reason: "TCP_INVALID_SEQUENCE"}}
	ks.Differences = []analyzer.KernelDifference{{Machine: analyzer.Change{Side: analyzer.Server, From: analyzer.Established, To: analyzer.CloseWait, Frame: 7}}}
	v.Sockets[analyzer.Client].OwnerNote = "not this host's" // not Local: never shown
	t.Kernel = v
	return t
}

// TestKernelText: the kernel's account is written under the anomalies,
// naming the owner, the difference, the RST's reason and the DNAT.
func TestKernelText(t *testing.T) {
	var b bytes.Buffer
	if err := NewStreamText(&b, DefaultOptions()).Flow(withKernel()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{
		"kernel (this host):",
		"server 192.168.1.20:5432: nginx, pid 1234, uid 33 (cgroup /system.slice/nginx.service)",
		"⚠ traced states differ from finwave's:",
		"finwave: ESTABLISHED → CLOSE_WAIT at frame 7; the kernel traced no such change",
		"sent by the kernel, reason TCP_ABORT_ON_CLOSE (socket in ESTABLISHED)",
		"dropped by the kernel: reason TCP_INVALID_SEQUENCE",
		"conntrack: CLOSE, 10.0.0.1:40000 → 10.96.0.10:80, translated: replies 10.244.0.5:8080 → 10.0.0.1:40000 (DNAT), timeout 9 s",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "not this host's") {
		t.Error("a socket that is not local is shown")
	}
	// Without a kernel view, no such block.
	b.Reset()
	NewStreamText(&b, DefaultOptions()).Flow(rstUnread())
	if strings.Contains(b.String(), "kernel (this host)") {
		t.Error("a flow without a kernel view has a kernel block")
	}
}

// TestKernelJSON: the "kernel" key is valid JSON with the owner, the
// reset's reason and the conntrack entry; a flow without a view has none.
func TestKernelJSON(t *testing.T) {
	b := appendJSONFlow(nil, withKernel(), "flow")
	var v struct {
		Kernel struct {
			Client *struct{} `json:"client"`
			Server *struct {
				Owner struct {
					PID     int    `json:"pid"`
					Command string `json:"command"`
				} `json:"owner"`
				Resets []struct {
					Reason string `json:"reason"`
				} `json:"resets"`
				Differences []struct {
					Only string `json:"only"`
				} `json:"differences"`
			} `json:"server"`
			Conntrack struct {
				DNAT     bool   `json:"dnat"`
				ReplySrc string `json:"reply_src"`
			} `json:"conntrack"`
		} `json:"kernel"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	k := v.Kernel
	if k.Client != nil || k.Server == nil || k.Server.Owner.PID != 1234 || k.Server.Owner.Command != "nginx" ||
		len(k.Server.Resets) != 1 || k.Server.Resets[0].Reason != "TCP_ABORT_ON_CLOSE" ||
		len(k.Server.Differences) != 1 || k.Server.Differences[0].Only != "finwave" ||
		!k.Conntrack.DNAT || k.Conntrack.ReplySrc != "10.244.0.5:8080" {
		t.Errorf("kernel object %+v from\n%s", k, b)
	}
	if bytes.Contains(appendJSONFlow(nil, rstUnread(), "flow"), []byte(`"kernel"`)) {
		t.Error("a flow without a kernel view has a kernel key")
	}
}
