package main

import (
	"flag"

	"finwave/report"
)

// termFlags are the text report's terminal flags: --width, --color, --time.
type termFlags struct {
	width int
	color string
	time  string
}

func (f *termFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.width, "width", -1, "fit the text report to `N` columns (0: no limit; default: the terminal's width, no limit into a pipe or file)")
	fs.StringVar(&f.color, "color", "auto", "ANSI colour: auto (a terminal, unless NO_COLOR is set), always (also into a pipe, for less -R), never")
	fs.StringVar(&f.time, "time", "relative", "ladder times: relative (seconds since the flow's first segment), absolute (UTC 15:04:05.000000), date (UTC 2006-01-02 15:04:05.000000, tcpdump -tttt)")
}

// apply sets opts.Width, opts.Color and opts.Time. noColor is --no-color,
// a synonym of --color=never. Into a pipe or file the width is 0 unless
// --width is given, so the output stays the same byte for byte whatever
// COLUMNS says; on a terminal it is termWidth (COLUMNS, then TIOCGWINSZ).
func (f *termFlags) apply(e *env, opts *report.Options, json, noColor bool) error {
	switch {
	case f.width > 0:
		opts.Width = f.width
	case f.width == 0:
	case f.width < -1:
		return usagef("--width %d: want a number of columns (0: no limit)", f.width)
	case isTerminal(e.stdout):
		opts.Width = termWidth(e, e.stdout)
	}
	switch f.color {
	case "auto":
		opts.Color = useColor(e, noColor)
	case "always":
		opts.Color = !noColor
	case "never":
		opts.Color = false
	default:
		return usagef("--color %q: want auto, always or never", f.color)
	}
	if json {
		opts.Color = false
	}
	switch f.time {
	case "relative":
		opts.Time = report.TimeRelative
	case "absolute":
		opts.Time = report.TimeAbsolute
	case "date":
		opts.Time = report.TimeDate
	default:
		return usagef("--time %q: want relative, absolute or date", f.time)
	}
	return nil
}
