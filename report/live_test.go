package report

import (
	"bytes"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/hostview"
)

// countersCmp is a comparison where the filter hid three connections.
var countersCmp = &hostview.Comparison{Flows: 4, Foreign: 1, Differ: 1, Rows: []hostview.Row{
	{Name: "TcpActiveOpens", Kernel: 7, Predicted: analyzer.Bound{Min: 4, Max: 4}, Reason: `the kernel counted 3 more than the capture shows: traffic the capture filter "port 80" left out`},
	{Name: "TcpEstabResets", Kernel: 0, Predicted: analyzer.Bound{Min: 0, Max: 1}, Agree: true},
	{Name: "TcpExtTW", Kernel: 4, Predicted: analyzer.Bound{Min: 4, Max: 4}, Agree: true},
	{Name: "TcpExtTWKilled", Agree: true},
}}

// TestLive pins the live counters' words, JSON and text, byte for byte (the
// bytes cmd/finwave wrote before they moved here): a clean capture, one with
// drops, idle and evicted flows, and one whose kernel counters could not be
// read (the error's HTML characters escaped in JSON, as json.Marshal does).
// They come just before the summary, which is what it is without them.
func TestLive(t *testing.T) {
	for _, c := range []struct {
		live       Live
		evicted    int64
		json, text string
	}{
		{Live{Interface: "eth0", KernelPackets: 120}, 0,
			`{"type":"live","interface":"eth0","kernel_packets":120,"kernel_drops":0,"kernel_queue_freezes":0,"kernel_stats_error":null,"flows_idle":0,"flows_evicted":0}` + "\n",
			"kernel: 120 packets passed the filter, 0 dropped\n"},
		{Live{Interface: "eth0", KernelPackets: 1000, KernelDrops: 7, KernelQueueFreezes: 2, IdleFlows: 3}, 5,
			`{"type":"live","interface":"eth0","kernel_packets":1000,"kernel_drops":7,"kernel_queue_freezes":2,"kernel_stats_error":null,"flows_idle":3,"flows_evicted":5}` + "\n",
			"⚠ the kernel dropped 7 of 1000 packets (ring full): segments are missing, conclusions about the affected flows may be wrong\n" +
				"3 flows finished by the idle timeout (--idle-timeout)\n"},
		{Live{Interface: "eth0", KernelStatsError: `getsockopt <PACKET_STATISTICS> & "more": bad file descriptor`, IdleFlows: 1}, 0,
			`{"type":"live","interface":"eth0","kernel_packets":0,"kernel_drops":0,"kernel_queue_freezes":0,` +
				`"kernel_stats_error":"getsockopt \u003cPACKET_STATISTICS\u003e \u0026 \"more\": bad file descriptor","flows_idle":1,"flows_evicted":0}` + "\n",
			"⚠ kernel statistics unavailable (getsockopt <PACKET_STATISTICS> & \"more\": bad file descriptor): drops unknown\n" +
				"1 flows finished by the idle timeout (--idle-timeout)\n"},
		{Live{Interface: "eth0", KernelPackets: 56, Counters: countersCmp}, 0,
			`{"type":"live","interface":"eth0","kernel_packets":56,"kernel_drops":0,"kernel_queue_freezes":0,"kernel_stats_error":null,"flows_idle":0,"flows_evicted":0,` +
				`"kernel_counters":{"flows_local":4,"flows_foreign":1,"differ":1,"counters":[` +
				`{"name":"TcpActiveOpens","kernel":7,"predicted_min":4,"predicted_max":4,"agree":false,"reason":"the kernel counted 3 more than the capture shows: traffic the capture filter \"port 80\" left out"},` +
				`{"name":"TcpEstabResets","kernel":0,"predicted_min":0,"predicted_max":1,"agree":true},` +
				`{"name":"TcpExtTW","kernel":4,"predicted_min":4,"predicted_max":4,"agree":true},` +
				`{"name":"TcpExtTWKilled","kernel":0,"predicted_min":0,"predicted_max":0,"agree":true}]}}` + "\n",
			"kernel: 56 packets passed the filter, 0 dropped\n" +
				"⚠ kernel counters (nstat, this namespace): 1 of 4 differ from finwave's prediction for the 4 flows with a local end (1 flows had no local end: not this kernel's):\n" +
				"  TcpActiveOpens kernel 7      ≠ finwave 4  (the kernel counted 3 more than the capture shows: traffic the capture filter \"port 80\" left out)\n" +
				"  TcpEstabResets kernel 0      = finwave 0–1\n" +
				"  TcpExtTW       kernel 4      = finwave 4\n"},
		{Live{Interface: "eth0", KernelPackets: 1, CountersError: "hostview: kernel counters: open /proc/net/snmp: permission denied"}, 0,
			`{"type":"live","interface":"eth0","kernel_packets":1,"kernel_drops":0,"kernel_queue_freezes":0,"kernel_stats_error":null,"flows_idle":0,"flows_evicted":0,` +
				`"kernel_counters_error":"hostview: kernel counters: open /proc/net/snmp: permission denied"}` + "\n",
			"kernel: 1 packets passed the filter, 0 dropped\n" +
				"kernel counters not compared: hostview: kernel counters: open /proc/net/snmp: permission denied\n"},
	} {
		for _, r := range []struct {
			name string
			new  func(*bytes.Buffer) Renderer
			want string
		}{
			{"json lines", func(b *bytes.Buffer) Renderer { return NewJSONLines(b, DefaultOptions()) }, c.json},
			{"live text", func(b *bytes.Buffer) Renderer { return NewStreamText(b, DefaultOptions()) }, c.text},
		} {
			finish := func(l *Live) string {
				var b bytes.Buffer
				live := *scenarioCapture()
				live.File, live.Evicted, live.Live = "live:eth0", c.evicted, l
				if err := r.new(&b).Finish(&live); err != nil {
					t.Fatal(err)
				}
				return b.String()
			}
			with, without := finish(&c.live), finish(nil)
			if got, ok := strings.CutSuffix(with, without); !ok || got != r.want {
				t.Errorf("%s, %+v: wrote\n%q\nthen the summary: %v; want\n%q", r.name, c.live, got, ok, r.want)
			}
		}
	}
}

// TestLiveIgnoredByFileRenderers: the file renderers write no live counters.
func TestLiveIgnoredByFileRenderers(t *testing.T) {
	for name, mk := range map[string]func(*bytes.Buffer) Renderer{
		"text": textWith(DefaultOptions()), "json": jsonWith(DefaultOptions()),
	} {
		c := scenarioCapture()
		want := render(t, mk, scenarios(), c)
		c.Live = &Live{Interface: "eth0", KernelPackets: 1}
		if got := render(t, mk, scenarios(), c); !bytes.Equal(got, want) {
			t.Errorf("%s: Capture.Live changed the output", name)
		}
	}
}
