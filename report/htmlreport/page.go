package htmlreport

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"finwave/analyzer"
	"finwave/report"
	"finwave/rollup"
)

// The page is XHTML-compatible HTML: every element closed, void elements
// written <x/>, attributes quoted, only XML's entities, the script in a
// CDATA section. Everything that comes from a capture goes through esc.

// Limits of the hosts and services section.
const (
	maxHosts     = 12 // host cards, most connections first
	maxServices  = 30
	maxPairs     = 30
	timelineBins = 120
)

func fmtErr(err error) error { return fmt.Errorf("html report: %w", err) }

func itoa[T ~int | ~int32 | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// esc appends s with &, <, >, " and ' escaped.
func esc(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&#34;"...)
		case '\'':
			b = append(b, "&#39;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// dur formats d briefly and deterministically.
func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

func utc(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000000")
}

func percent(n, of int64) string {
	if of <= 0 {
		return "0"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64)
}

func (r *renderer) appendPage(b []byte, c *report.Capture, res *rollup.Result) []byte {
	b = append(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>finwave: "...)
	b = esc(b, c.File)
	b = append(b, "</title>\n<style>"...)
	b = append(b, css...)
	b = append(b, LadderCSS...) // once for every ladder, drawn with NoStyle
	b = append(b, "</style></head>\n<body>\n"...)
	b = append(b, `<nav><a href="#overview">Overview</a> <a href="#hosts">Hosts and services</a> <a href="#groups">Groups</a> <a href="#flows">Flows</a> <a href="#ladders">Ladders</a></nav>`+"\n<main>\n"...)
	b = r.appendOverview(b, c)
	b = r.appendHosts(b, res)
	groups := r.sortedGroups()
	b = r.appendGroups(b, groups)
	b = r.appendFlows(b, groups)
	b = append(b, "</main>\n"...)
	b = append(b, `<aside id="details" hidden="hidden"><button type="button" id="dclose" aria-label="close">×</button><pre id="dtext"></pre></aside>`+"\n"...)
	b = append(b, "<footer>finwave"...)
	if r.o.Version != "" {
		b = append(b, ' ')
		b = esc(b, r.o.Version)
	}
	b = append(b, " · one self-contained file: no network access needed</footer>\n<script>//<![CDATA[\n"...)
	b = append(b, script...)
	b = append(b, "\n//]]></script>\n</body></html>\n"...)
	return b
}

// appendOverview writes the capture line, the bar charts and the timeline.
func (r *renderer) appendOverview(b []byte, c *report.Capture) []byte {
	b = append(b, `<section id="overview"><h1>finwave: `...)
	b = esc(b, c.File)
	b = append(b, "</h1>\n<dl class=\"capture\">"...)
	dt := func(name, val string) {
		b = append(b, "<div><dt>"...)
		b = append(b, name...)
		b = append(b, "</dt><dd>"...)
		b = esc(b, val)
		b = append(b, "</dd></div>"...)
	}
	dt("file", c.File)
	dt("frames", itoa(c.Frames)+" ("+itoa(c.TCPSegments)+" TCP)")
	if !c.First.IsZero() {
		dt("span", utc(c.First.UnixNano())+" – "+utc(c.Last.UnixNano())+" UTC ("+dur(c.Last.Sub(c.First))+")")
	}
	dt("flows", itoa(r.rows.len()))
	dt("profile", c.Profile)
	dt("vantage", r.vantage())
	if c.Filter != "" {
		dt("filter", c.Filter+" ("+itoa(c.FilteredOut)+" frames filtered out)")
	}
	if c.ReadError != "" {
		dt("read error", c.ReadError+" (everything before it was analysed)")
	}
	if c.Evicted > 0 {
		dt("evicted", itoa(c.Evicted)+" flows finished early by --max-flows")
	}
	if c.Live != nil {
		dt("live", "captured live; the page was written when the capture ended")
	}
	b = append(b, "</dl>\n<div class=\"charts\">"...)

	var pat [16]int64
	var kinds [64]int64
	var closers [4]int64
	for rw := range r.rows.all() {
		if int(rw.pattern) < len(pat) {
			pat[rw.pattern]++
		}
		if int(rw.closer) < len(closers) {
			closers[rw.closer]++
		}
		for k := rw.kinds; k != 0; k &= k - 1 {
			kinds[bits.TrailingZeros64(k)]++
		}
	}
	var items []bar
	for _, p := range analyzer.Patterns() {
		if pat[p] > 0 {
			items = append(items, bar{p.String(), p.Meaning(), "p" + itoa(int64(p)), pat[p]})
		}
	}
	b = appendBarChart(b, "How flows ended", "pattern", items)
	items = items[:0]
	for _, k := range analyzer.Kinds() {
		if int(k) < len(kinds) && kinds[k] > 0 {
			items = append(items, bar{k.String(), k.Describe(), "sev" + itoa(int64(k.Severity())), kinds[k]})
		}
	}
	slices.SortStableFunc(items, func(x, y bar) int { return cmp.Compare(y.n, x.n) })
	b = appendBarChart(b, "Anomalies", "anomaly kind", items)
	items = items[:0]
	for i, name := range [...]string{"nobody (not closed)", "client", "server", "both (simultaneous)"} {
		if closers[i] > 0 {
			items = append(items, bar{name, "", "c" + itoa(int64(i)), closers[i]})
		}
	}
	b = appendBarChart(b, "Who closed first", "closer", items)
	b = append(b, "</div>\n"...)
	b = r.appendTimeline(b, c)
	return append(b, "</section>\n"...)
}

// vantage is the most frequent vantage point of the flows, with the
// others' counts.
func (r *renderer) vantage() string {
	var n [8]int64
	for rw := range r.rows.all() {
		if int(rw.vantage) < len(n) {
			n[rw.vantage]++
		}
	}
	var parts []string
	for _, v := range analyzer.VantagePoints() {
		if n[v] > 0 {
			parts = append(parts, v.String()+" ("+itoa(n[v])+" flows)")
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// appendTimeline writes flow endings over capture time: one lane per
// pattern (named, so it reads without colour) and one for the flows with
// an anomaly; each bin's mark grows with the log of its count.
func (r *renderer) appendTimeline(b []byte, c *report.Capture) []byte {
	lo, hi := nanos(c.First), nanos(c.Last)
	if lo == 0 || r.rows.len() == 0 {
		return b
	}
	for rw := range r.rows.all() {
		if l := rw.last; l != 0 {
			lo, hi = min(lo, l), max(hi, l)
		}
	}
	span := max(hi-lo, 1)
	const lanes = 17 // patterns (≤ 16) and the anomalous
	var counts [lanes][timelineBins]int64
	var used [lanes]bool
	var peak int64
	for rw := range r.rows.all() {
		if rw.last == 0 {
			continue
		}
		bin := min(int((rw.last-lo)*timelineBins/span), timelineBins-1)
		p := min(int(rw.pattern), lanes-2)
		counts[p][bin]++
		used[p] = true
		peak = max(peak, counts[p][bin])
		if rw.anomalous {
			counts[lanes-1][bin]++
			used[lanes-1] = true
			peak = max(peak, counts[lanes-1][bin])
		}
	}
	const left, binW, laneH = 120, 6, 20
	n := 0
	for _, u := range used {
		if u {
			n++
		}
	}
	w, h := left+timelineBins*binW+10, n*laneH+34
	b = append(b, "<figure class=\"timeline\"><figcaption>Flow endings over capture time (a mark per "...)
	b = append(b, dur(time.Duration(span/timelineBins))...)
	b = append(b, "; taller: more flows)</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "...)
	b = append(b, itoa(int64(w))+" "+itoa(int64(h))+"\" width=\""+itoa(int64(w))+"\" role=\"img\" aria-label=\"flow endings over time by pattern\">"...)
	y := 0
	logPeak := logf(peak)
	for lane := range lanes {
		if !used[lane] {
			continue
		}
		name, cls := "with anomaly", "lane-anom"
		if lane < lanes-1 {
			name, cls = analyzer.Pattern(lane).String(), "p"+itoa(int64(lane))
		}
		b = append(b, "<g class=\""+cls+"\"><text class=\"lane\" x=\"0\" y=\""+itoa(int64(y+14))+"\">"+name+"</text>"+
			"<line class=\"grid\" x1=\""+itoa(left)+"\" x2=\""+itoa(int64(w-10))+"\" y1=\""+itoa(int64(y+laneH/2))+"\" y2=\""+itoa(int64(y+laneH/2))+"\"/>"...)
		for bin, k := range counts[lane] {
			if k == 0 {
				continue
			}
			mh := 3 + int(14*logf(k)/max(logPeak, 1))
			b = append(b, "<rect x=\""+itoa(int64(left+bin*binW))+"\" y=\""+itoa(int64(y+(laneH-mh)/2))+"\" width=\""+itoa(binW-1)+"\" height=\""+itoa(int64(mh))+"\"><title>"...)
			b = append(b, name+": "+itoa(k)+" flows ended from "+utc(lo+int64(bin)*span/timelineBins)+" UTC"...)
			b = append(b, "</title></rect>"...)
		}
		b = append(b, "</g>"...)
		y += laneH
	}
	// Axis: start, middle, end, relative to the first ending.
	for i := range 3 {
		x := left + i*timelineBins*binW/2
		anchor := [...]string{"start", "middle", "end"}[i]
		b = append(b, "<text class=\"axis\" text-anchor=\""+anchor+"\" x=\""+itoa(int64(x))+"\" y=\""+itoa(int64(y+16))+"\">+"+dur(time.Duration(span*int64(i)/2))+"</text>"...)
	}
	b = append(b, "<text class=\"axis\" x=\"0\" y=\""+itoa(int64(y+30))+"\">from "+utc(lo)+" UTC</text>"...)
	return append(b, "</svg></figure>\n"...)
}

// logf is the bit length of n, ⌊log2 n⌋+1: the marks' heights grow with it.
func logf(n int64) int {
	v := 0
	for n > 0 {
		v++
		n >>= 1
	}
	return v
}

// bar is one bar of a chart.
type bar struct {
	name, title, class string
	n                  int64
}

// appendBarChart writes a horizontal bar chart: each bar named and
// counted in text, so it reads without colour.
func appendBarChart(b []byte, caption, what string, items []bar) []byte {
	b = append(b, "<figure class=\"bars\"><figcaption>"...)
	b = append(b, caption...)
	b = append(b, "</figcaption>"...)
	if len(items) == 0 {
		return append(b, "<p class=\"none\">none</p></figure>"...)
	}
	var total, peak int64
	for _, it := range items {
		total += it.n
		peak = max(peak, it.n)
	}
	const label, barMax, rowH = 150, 200, 20
	w, h := label+barMax+130, len(items)*rowH+4
	b = append(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "+itoa(int64(w))+" "+itoa(int64(h))+"\" width=\""+itoa(int64(w))+"\" role=\"img\" aria-label=\""+what+" counts\">"...)
	for i, it := range items {
		y := i * rowH
		bw := max(int(int64(barMax)*it.n/max(peak, 1)), 1)
		b = append(b, "<g class=\""+it.class+"\"><title>"...)
		b = esc(b, it.name)
		b = append(b, ": "+itoa(it.n)+" ("+percent(it.n, total)+" %)"...)
		if it.title != "" {
			b = append(b, " — "...)
			b = esc(b, it.title)
		}
		b = append(b, "</title><text x=\"0\" y=\""+itoa(int64(y+14))+"\">"...)
		b = esc(b, it.name)
		b = append(b, "</text><rect x=\""+itoa(label)+"\" y=\""+itoa(int64(y+3))+"\" width=\""+itoa(int64(bw))+"\" height=\"14\"/>"+
			"<text class=\"n\" x=\""+itoa(int64(label+bw+4))+"\" y=\""+itoa(int64(y+14))+"\">"+itoa(it.n)+" · "+percent(it.n, total)+" %</text></g>"...)
	}
	return append(b, "</svg></figure>"...)
}
