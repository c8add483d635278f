package check

import (
	"bufio"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
)

// scriptEvent is one line of a truth's event log: when (seconds since the
// run started), who (client, server, script) and what.
type scriptEvent struct {
	at       float64
	who, say string
}

var eventLine = regexp.MustCompile(`^\s+(\d+\.\d+)s (\w+)\s+(.*)$`)

func readEvents(t *testing.T, path string) (evs []scriptEvent, conns int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in := false
	for sc.Scan() {
		l := sc.Text()
		if n, ok := strings.CutPrefix(l, "connections made: "); ok {
			conns, _ = strconv.Atoi(n)
		}
		if strings.HasPrefix(l, "== ") {
			in = strings.HasPrefix(l, "== events")
			continue
		}
		if m := eventLine.FindStringSubmatch(l); in && m != nil {
			at, _ := strconv.ParseFloat(m[1], 64)
			evs = append(evs, scriptEvent{at, m[2], m[3]})
		}
	}
	return evs, conns
}

// TestIdleBeforeCloseAgainstScript: for every one-connection fixture, the
// idle period before the first close() (Teardown.IdleBeforeClose) is what
// the script did — the time from the last write or read of either
// application to that close(), when it is an idle period (500 ms or more:
// the fixtures' round trips are well under 50 ms) — and 0 when the script
// closed without such a pause. The script logs its own clock in
// milliseconds, around the syscalls: a 10 ms tolerance.
func TestIdleBeforeCloseAgainstScript(t *testing.T) {
	checked, idle := 0, 0
	forEachTruth(t, func(t *testing.T, tr fixtureTruth, tds []*analyzer.Teardown) {
		evs, conns := readEvents(t, tr.path)
		if conns != 1 || len(tds) != 1 {
			return
		}
		td := tds[0]
		var closer string
		switch td.Closer {
		case analyzer.CloserClient:
			closer = "client"
		case analyzer.CloserServer:
			closer = "server"
		default:
			return
		}
		last, closeAt := math.NaN(), math.NaN()
		for _, e := range evs {
			if e.who == closer && (strings.HasPrefix(e.say, "close()") || strings.HasPrefix(e.say, "shutdown(")) {
				closeAt = e.at
				break
			}
			if e.who != "script" && (strings.HasPrefix(e.say, "write ") || strings.HasPrefix(e.say, "read ")) {
				last = e.at
			}
		}
		if math.IsNaN(closeAt) || math.IsNaN(last) {
			return // aborted by other means (a timer, a RST), or no payload
		}
		want := time.Duration((closeAt - last) * float64(time.Second))
		if want < 500*time.Millisecond {
			want = 0
		}
		checked++
		if want > 0 {
			idle++
		}
		if d := td.IdleBeforeClose - want; d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Errorf("stream %d: idle before the %s's close %v, the script's %v", td.Stream, closer, td.IdleBeforeClose, want)
		}
	})
	if checked < 10 || idle == 0 {
		t.Errorf("checked %d closes, %d of them after an idle period: the test checks too little", checked, idle)
	}
	t.Logf("%d closes checked, %d after an idle period", checked, idle)
}
