package htmlreport

import "flag"

// update rewrites the golden files under testdata/ from the current output:
// go test ./report/htmlreport -update (read the diff before committing).
var update = flag.Bool("update", false, "rewrite testdata golden files from the current output")
