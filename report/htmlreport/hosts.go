package htmlreport

import (
	"strconv"
	"strings"
	"time"

	"finwave/analyzer"
	"finwave/rollup"
)

// seriesNames name a Population's series; seriesClass draws each with
// its own dash, so that the lines read without colour.
var (
	seriesNames = [rollup.NumSeries]string{"TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT_2", "orphaned"}
	seriesClass = [rollup.NumSeries]string{"tw", "cw", "fw2", "orph"}
)

// appendHosts writes the hosts and services section from the roll-up.
func (r *renderer) appendHosts(b []byte, res *rollup.Result) []byte {
	b = append(b, "<section id=\"hosts\"><h2>Hosts and services</h2>\n"...)
	if len(res.Hosts) == 0 {
		return append(b, "<p class=\"none\">no host</p></section>\n"...)
	}
	b = append(b, "<div class=\"cards\">"...)
	for i := range res.Hosts[:min(len(res.Hosts), maxHosts)] {
		b = appendHost(b, &res.Hosts[i])
	}
	b = append(b, "</div>\n"...)
	if len(res.Hosts) > maxHosts {
		b = append(b, "<p class=\"more\">"+itoa(int64(len(res.Hosts)-maxHosts))+" more hosts: <code>finwave hosts --by host FILE</code> lists every one.</p>\n"...)
	}
	b = appendServices(b, res)
	b = appendPairs(b, res)
	return append(b, "</section>\n"...)
}

func appendHost(b []byte, h *rollup.Host) []byte {
	b = append(b, "<article class=\"card\"><h3>"...)
	b = esc(b, h.Addr.String())
	b = append(b, "</h3><p>"+itoa(h.Conns)+" connections: "+itoa(h.AsClient)+" as client, "+itoa(h.AsServer)+" as server; closed first "+
		itoa(h.ClosedFirst)+", peer first "+itoa(h.PeerClosedFirst)+", both "+itoa(h.BothClosed)+"</p>"...)
	b = append(b, "<p class=\"ends\">"...)
	b = appendPatternSpans(b, h.Patterns)
	b = append(b, "</p>"...)
	b = appendCounters(b, &h.Counters)
	b = appendPopulation(b, &h.Population)
	return append(b, "</article>"...)
}

// appendPatternSpans writes how connections ended: one tag per pattern
// with its count.
func appendPatternSpans(b []byte, counts []int64) []byte {
	for p, n := range counts {
		if n == 0 {
			continue
		}
		b = append(b, "<span class=\"tag p"+itoa(int64(p))+"\">"+analyzer.Pattern(p).String()+" "+itoa(n)+"</span> "...)
	}
	return b
}

func boundText(v rollup.Bound) string {
	if v.Min == v.Max {
		return itoa(v.Min)
	}
	return itoa(v.Min) + "–" + itoa(v.Max)
}

// appendCounters writes the predicted nstat counters that moved.
func appendCounters(b []byte, cs *[analyzer.NumCounters]rollup.Bound) []byte {
	first := true
	for c, v := range cs {
		if v.Max == 0 {
			continue
		}
		if first {
			b = append(b, "<p class=\"counters\">nstat (predicted): "...)
			first = false
		} else {
			b = append(b, " · "...)
		}
		b = append(b, "<code>"+analyzer.Counter(c).String()+"</code> "+boundText(v)...)
	}
	if !first {
		b = append(b, "</p>"...)
	}
	return b
}

// appendPopulation draws the host's sockets in TIME_WAIT, CLOSE_WAIT,
// FIN_WAIT_2 and orphaned over time, one line each, dashed differently.
func appendPopulation(b []byte, p *rollup.Population) []byte {
	var peak int32
	var shown []int
	for s := range rollup.NumSeries {
		if p.Peak[s] > 0 && len(p.Series[s]) > 0 {
			shown = append(shown, s)
			for _, v := range p.Series[s] {
				peak = max(peak, v)
			}
		}
	}
	if len(shown) == 0 || peak == 0 {
		return append(b, "<p class=\"none\">no socket in TIME_WAIT, CLOSE_WAIT or FIN_WAIT_2</p>"...)
	}
	const w, h, left, top, bottom = 420, 110, 52, 8, 20
	n := len(p.Series[shown[0]])
	pw, ph := w-left-8, h-top-bottom
	b = append(b, "<figure class=\"pop\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "+itoa(w)+" "+itoa(h)+"\" width=\""+itoa(w)+"\" role=\"img\" aria-label=\"sockets by state over time\">"...)
	b = append(b, "<line class=\"axisl\" x1=\""+itoa(left)+"\" y1=\""+itoa(top)+"\" x2=\""+itoa(left)+"\" y2=\""+itoa(top+ph)+"\"/>"+
		"<line class=\"axisl\" x1=\""+itoa(left)+"\" y1=\""+itoa(top+ph)+"\" x2=\""+itoa(left+pw)+"\" y2=\""+itoa(top+ph)+"\"/>"+
		"<text class=\"axis\" text-anchor=\"end\" x=\""+itoa(left-4)+"\" y=\""+itoa(top+8)+"\">"+itoa(int64(peak))+"</text>"+
		"<text class=\"axis\" text-anchor=\"end\" x=\""+itoa(left-4)+"\" y=\""+itoa(top+ph)+"\">0</text>"+
		"<text class=\"axis\" x=\""+itoa(left)+"\" y=\""+itoa(h-4)+"\">0</text>"+
		"<text class=\"axis\" text-anchor=\"end\" x=\""+itoa(left+pw)+"\" y=\""+itoa(h-4)+"\">+"+dur(time.Duration(n-1)*p.Step)+"</text>"...)
	for _, s := range shown {
		b = append(b, "<polyline class=\"ser "+seriesClass[s]+"\" points=\""...)
		for i, v := range p.Series[s] {
			x := left + pw*i/max(n-1, 1)
			y := top + ph - int(int64(ph)*int64(v)/int64(peak))
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, int64(x), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(y), 10)
		}
		b = append(b, "\"><title>"+seriesNames[s]+": peak "+itoa(int64(p.Peak[s]))+", "+itoa(int64(p.AtEnd[s]))+" at the end</title></polyline>"...)
	}
	b = append(b, "</svg><figcaption>"...)
	for _, s := range shown {
		b = append(b, "<span class=\"key\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"24\" height=\"8\"><line class=\"ser "+seriesClass[s]+"\" x1=\"0\" y1=\"4\" x2=\"24\" y2=\"4\"/></svg> "+
			seriesNames[s]+" (peak "+itoa(int64(p.Peak[s]))+", "+itoa(int64(p.AtEnd[s]))+" at end)</span> "...)
	}
	return append(b, "</figcaption></figure>"...)
}

func appendServices(b []byte, res *rollup.Result) []byte {
	if len(res.Services) == 0 {
		return b
	}
	b = append(b, "<h3>Services</h3>\n<table class=\"data\"><thead><tr><th>service</th><th class=\"num\">conns</th><th class=\"num\">clients</th><th>how they ended</th><th>server closed first / client first / both</th><th>anomalies (server side; client side)</th><th class=\"num\">CLOSE_WAIT at end</th></tr></thead><tbody>\n"...)
	for i := range res.Services[:min(len(res.Services), maxServices)] {
		s := &res.Services[i]
		b = append(b, "<tr><td>"...)
		b = esc(b, s.Server.String())
		b = append(b, "</td><td class=\"num\">"+itoa(s.Conns)+"</td><td class=\"num\">"+itoa(s.Clients)+"</td><td>"...)
		b = appendPatternSpans(b, s.Patterns)
		b = append(b, "</td><td>"+itoa(s.ClosedFirst)+" / "+itoa(s.PeerClosedFirst)+" / "+itoa(s.BothClosed)+"</td><td>"+
			kindCounts(s.Anomalies)+"; "+kindCounts(s.PeerAnomalies)+"</td><td class=\"num\">"+itoa(s.CloseWait)+"</td></tr>\n"...)
	}
	b = append(b, "</tbody></table>\n"...)
	if len(res.Services) > maxServices {
		b = append(b, "<p class=\"more\">"+itoa(int64(len(res.Services)-maxServices))+" more services: <code>finwave hosts --by service FILE</code>.</p>\n"...)
	}
	return b
}

// kindCounts is "kind n, kind n" of the non-zero counts, "-" for none.
func kindCounts(counts []int64) string {
	var parts []string
	for k, n := range counts {
		if n > 0 {
			parts = append(parts, analyzer.Kind(k).String()+" "+itoa(n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// appendPairs writes the port-exhaustion margin of each client → service
// pair: the peak of client ports held as a bar against the port range.
func appendPairs(b []byte, res *rollup.Result) []byte {
	if len(res.Pairs) == 0 {
		return b
	}
	b = append(b, "<h3>Client ports (client → service; held = open or TIME_WAIT, of ip_local_port_range)</h3>\n<table class=\"data\"><thead><tr><th>client → service</th><th class=\"num\">conns</th><th class=\"num\">per s</th><th class=\"num\">port held</th><th>peak ports held</th><th>out of ports</th><th class=\"num\">SYN in TIME_WAIT</th><th class=\"num\">port reuse</th></tr></thead><tbody>\n"...)
	for i := range res.Pairs[:min(len(res.Pairs), maxPairs)] {
		p := &res.Pairs[i]
		b = append(b, "<tr><td>"...)
		b = esc(b, p.Client.String()+" → "+p.Server.String())
		b = append(b, "</td><td class=\"num\">"+itoa(p.Conns)+"</td><td class=\"num\">"+strconv.FormatFloat(p.Rate, 'f', 1, 64)+
			"</td><td class=\"num\">"+dur(p.Hold)+"</td><td>"...)
		frac := 0
		if p.Ports > 0 {
			frac = int(min(100*p.PeakPorts/int64(p.Ports), 100))
		}
		b = append(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"meter\" width=\"100\" height=\"10\"><rect class=\"track\" width=\"100\" height=\"10\"/><rect class=\"fill\" width=\""+itoa(int64(max(frac, 1)))+"\" height=\"10\"/></svg> "+
			itoa(p.PeakPorts)+" of "+itoa(int64(p.Ports))+" ("+percent(p.PeakPorts, int64(p.Ports))+" %)</td><td>"...)
		b = esc(b, exhaustionText(p))
		b = append(b, "</td><td class=\"num\">"+itoa(p.SynInTimeWait)+"</td><td class=\"num\">"+itoa(p.PortReuse)+"</td></tr>\n"...)
	}
	b = append(b, "</tbody></table>\n"...)
	if len(res.Pairs) > maxPairs {
		b = append(b, "<p class=\"more\">"+itoa(int64(len(res.Pairs)-maxPairs))+" more pairs: <code>finwave hosts --by pair FILE</code>.</p>\n"...)
	}
	return b
}

// exhaustionText says how long the client's ports last at its rate (as
// report's CLIENT PORTS table does).
func exhaustionText(p *rollup.Pair) string {
	switch {
	case p.PeakPorts >= int64(p.Ports):
		return "exhausted: TIME_WAIT ports reused"
	case p.Exhaustion > 0:
		return "in " + dur(p.Exhaustion)
	case !p.Forecast():
		return "- (no steady rate)"
	}
	used := p.Rate * p.Hold.Seconds()
	return "never: " + strconv.FormatFloat(100*used/float64(p.Ports), 'f', 1, 64) + " % at this rate"
}
