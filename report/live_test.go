package report

import (
	"bytes"
	"strings"
	"testing"
)

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
