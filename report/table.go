package report

import (
	"bytes"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// writeTable renders a borderless table (tablewriter v1) into b, headers
// upper-cased, right-aligned columns where right[i], trailing spaces trimmed.
// Rendering into a bytes.Buffer cannot fail for lack of space; a rendering
// error falls back to tab-separated rows so the summary is never lost.
func writeTable(b *bytes.Buffer, header []string, rows [][]string, right []bool) {
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignLeft
		if i < len(right) && right[i] {
			align[i] = tw.AlignRight
		}
	}
	var out bytes.Buffer
	t := tablewriter.NewTable(&out,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Separators: tw.SeparatorsNone, Lines: tw.LinesNone},
		})),
		tablewriter.WithHeaderAutoFormat(tw.On),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	err := t.Bulk(rows)
	if err == nil {
		err = t.Render()
	}
	if err != nil {
		out.Reset()
		out.WriteString(" " + strings.ToUpper(strings.Join(header, "\t")) + "\n")
		for _, r := range rows {
			out.WriteString(" " + strings.Join(r, "\t") + "\n")
		}
	}
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		if line == "" {
			continue
		}
		b.WriteString(strings.TrimRight(line, " \n"))
		b.WriteByte('\n')
	}
}
