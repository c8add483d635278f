// Package htmlreport writes finwave's report as one self-contained HTML
// file: an overview of the capture's endings, hosts and services, groups
// of alike flows, a flows table, and each listed flow's ladder diagram as
// inline SVG (ladder.go). It references nothing outside itself: no CDN,
// no external font, style sheet or script.
package htmlreport
