package htmlreport

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
	"time"

	"finwave/analyzer"
)

// kindNames is the space-separated names of the kinds in k.
func kindNames(k uint64) string {
	var sb strings.Builder
	for ; k != 0; k &= k - 1 {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(analyzer.Kind(bits.TrailingZeros64(k)).String())
	}
	return sb.String()
}

// openGroups is how many groups (the most severe first) show their
// exemplar when the page opens; the others open on a click.
const openGroups = 3

var severityClass = [...]string{"", "sev1", "sev2"} // by Severity: warning, error

func sevClass(s analyzer.Severity) string {
	if int(s) < len(severityClass) {
		return severityClass[s]
	}
	return ""
}

// appendCopy writes the button that copies flow stream's Wireshark filter.
func appendCopy(b []byte, stream int64) []byte {
	return append(b, "<button type=\"button\" class=\"copy\" data-copy=\"tcp.stream eq "+itoa(stream)+"\" title=\"copy the Wireshark filter tcp.stream eq "+itoa(stream)+"\">copy</button>"...)
}

// appendGroups writes each group of alike flows with its exemplar.
func (r *renderer) appendGroups(b []byte, groups []*group) []byte {
	b = append(b, "<section id=\"groups\"><h2>Groups of alike flows</h2>\n<p class=\"note\">Flows alike share their pattern, anomalies, who closed first and service; each group is drawn by its exemplar, its lowest stream.</p>\n"...)
	if len(groups) == 0 {
		return append(b, "<p class=\"none\">no flow</p></section>\n"...)
	}
	for i, g := range groups {
		k := &g.key
		b = append(b, "<details class=\"group "+sevClass(g.sev)+"\" id=\"Lg"+itoa(g.ex.stream)+"\""...)
		if i < openGroups {
			b = append(b, " open=\"open\""...)
		}
		b = append(b, "><summary><b>"+itoa(g.flows)+"</b> flows · <span class=\"tag p"+itoa(int64(k.pattern))+"\">"+k.pattern.String()+"</span> · "...)
		b = esc(b, k.service.String())
		b = append(b, " · closed first: "+k.closer.String()...)
		if k.kinds != 0 {
			b = append(b, " · <span class=\"kinds\">"+kindNames(k.kinds)+"</span>"...)
		}
		b = append(b, " · "+itoa(int64(len(g.clients)))...)
		if len(g.clients) >= maxGroupHosts {
			b = append(b, '+')
		}
		b = append(b, " client hosts</summary>\n<p class=\"verdict\">"...)
		b = esc(b, g.ex.verdict)
		b = append(b, "</p><p>exemplar: stream "+itoa(g.ex.stream)+" "...)
		b = appendCopy(b, g.ex.stream)
		b = append(b, " · "+utc(g.first)+" – "+utc(g.last)+" UTC</p>\n"...)
		b = append(b, g.ex.svg...)
		b = append(b, "</details>\n"...)
	}
	if r.other > 0 {
		b = append(b, "<p class=\"more\">"+itoa(r.other)+" further flows past the cap of "+itoa(int64(r.o.MaxGroups))+" groups: the text report (<code>finwave FILE</code>) groups every one.</p>\n"...)
	}
	return append(b, "</section>\n"...)
}

// appendFlows writes the filter controls, the flows table and the ladders
// not already drawn as a group's exemplar.
func (r *renderer) appendFlows(b []byte, groups []*group) []byte {
	exemplar := make(map[int64]bool, len(groups))
	for _, g := range groups {
		exemplar[g.ex.stream] = true
	}
	slices.SortFunc(r.ladders, func(a, b ladder) int { return cmp.Compare(a.stream, b.stream) })
	drawn := make(map[int64]bool, len(r.ladders))
	for _, l := range r.ladders {
		drawn[l.stream] = true
	}
	rows := r.rows.pick(r.o.MaxRows)

	b = append(b, "<section id=\"flows\"><h2>Flows</h2>\n"...)
	if left := r.rows.len() - len(rows); left > 0 {
		b = append(b, "<p class=\"more\">Listed: "+itoa(int64(len(rows)))+" of "+itoa(r.rows.len())+" flows (the most severe first); "+itoa(int64(left))+
			" left out: <code>finwave --tsv FILE</code> or <code>finwave --json FILE</code> lists every flow.</p>\n"...)
	}
	b = append(b, "<form class=\"filters\" id=\"ff\"><label>pattern <select name=\"p\"><option value=\"\">any</option>"...)
	for _, p := range analyzer.Patterns() {
		b = append(b, "<option>"+p.String()+"</option>"...)
	}
	b = append(b, "</select></label> <label>anomaly <select name=\"k\"><option value=\"\">any</option><option value=\"*\">any anomaly</option>"...)
	for _, k := range analyzer.Kinds() {
		b = append(b, "<option>"+k.String()+"</option>"...)
	}
	b = append(b, "</select></label> <label>host <input name=\"h\" type=\"search\" placeholder=\"client address\"/></label> <label>service <input name=\"s\" type=\"search\" placeholder=\"ip:port\"/></label> <output id=\"fcount\"></output></form>\n"...)
	b = append(b, "<table class=\"data sortable\" id=\"ft\"><thead><tr><th class=\"num\">stream</th><th>client</th><th>service</th><th>pattern</th><th>closed first</th><th>anomalies</th><th>client end</th><th>server end</th><th class=\"num\">segments</th><th class=\"num\">duration (s)</th><th>filter</th></tr></thead><tbody>\n"...)
	for i := range rows {
		rw := &rows[i]
		b = append(b, "<tr"...)
		if c := sevClass(rw.sev); c != "" {
			b = append(b, " class=\""+c+"\""...)
		}
		b = append(b, "><td class=\"num\">"...)
		switch {
		case drawn[rw.stream] && !exemplar[rw.stream]:
			b = append(b, "<a href=\"#Ls"+itoa(rw.stream)+"\">"+itoa(rw.stream)+"</a>"...)
		case exemplar[rw.stream]:
			b = append(b, "<a href=\"#Lg"+itoa(rw.stream)+"\">"+itoa(rw.stream)+"</a>"...)
		default:
			b = append(b, itoa(rw.stream)...)
		}
		b = append(b, "</td><td>"...)
		b = esc(b, rw.client.String())
		b = append(b, "</td><td>"...)
		b = esc(b, rw.server.String())
		b = append(b, "</td><td>"+rw.pattern.String()+"</td><td>"+rw.closer.String()+"</td><td>"+kindNames(rw.kinds)+"</td><td>"+
			rw.clientEnd.String()+"</td><td>"+rw.serverEnd.String()+"</td><td class=\"num\">"+itoa(int64(rw.segs))+"</td><td class=\"num\">"...)
		if rw.first != 0 && rw.last >= rw.first {
			b = append(b, formatSeconds(time.Duration(rw.last-rw.first))...)
		}
		b = append(b, "</td><td>"...)
		b = appendCopy(b, rw.stream)
		b = append(b, "</td></tr>\n"...)
	}
	b = append(b, "</tbody></table>\n</section>\n"...)

	b = append(b, "<section id=\"ladders\"><h2>Ladders of the listed flows</h2>\n<p class=\"note\">Flows worth reading (anomalies, abortive or unfinished endings), the lowest "+itoa(int64(r.o.MaxLadders))+
		" streams at most; group exemplars are drawn in their group. Click an arrow for its explanation.</p>\n"...)
	n := 0
	for _, l := range r.ladders {
		if exemplar[l.stream] {
			continue
		}
		n++
		b = append(b, "<article class=\"ladderbox\" id=\"Ls"+itoa(l.stream)+"\"><h3>stream "+itoa(l.stream)+" "...)
		b = appendCopy(b, l.stream)
		b = append(b, "</h3><p class=\"verdict\">"...)
		b = esc(b, l.verdict)
		b = append(b, "</p>\n"...)
		b = append(b, l.svg...)
		b = append(b, "</article>\n"...)
	}
	if n == 0 {
		b = append(b, "<p class=\"none\">none beyond the group exemplars</p>\n"...)
	}
	return append(b, "</section>\n"...)
}

// formatSeconds is d in seconds with microseconds.
func formatSeconds(d time.Duration) string {
	s := itoa(int64(d / time.Second))
	us := int64(d%time.Second) / 1000
	frac := itoa(us + 1_000_000)[1:]
	return s + "." + frac
}
