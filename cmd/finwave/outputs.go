package main

import (
	"flag"
	"io"

	"finwave/report"
)

// outputFlags are the pipeline outputs of `finwave FILE...`: one line per
// flow, for tools that read line by line (report/SCHEMA.md).
type outputFlags struct {
	jsonl bool
	tsv   bool
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.jsonl, "jsonl", false, "write one JSON object per flow, in stream order, then a summary object (report/SCHEMA.md); memory does not grow with the flows")
	fs.BoolVar(&o.tsv, "tsv", false, "write a Zeek conn.log-like TSV, one row per flow in stream order, with uid, community_id, conn_state and history (report/SCHEMA.md)")
}

// check rejects more than one output format, and --jsonl or --tsv for
// finwave hosts (whose output is the roll-up tables).
func (o *outputFlags) check(json, hosts bool) error {
	if hosts && (o.jsonl || o.tsv) {
		return usagef("finwave hosts: --jsonl and --tsv list flows; use finwave --jsonl or --tsv")
	}
	n := 0
	for _, b := range []bool{json, o.jsonl, o.tsv} {
		if b {
			n++
		}
	}
	if n > 1 {
		return usagef("--json, --jsonl and --tsv: choose one")
	}
	return nil
}

// renderer returns the renderer of the chosen output, nil when none was.
func (o *outputFlags) renderer(w io.Writer, opts report.Options) report.Renderer {
	opts.Color = false
	switch {
	case o.jsonl:
		return report.NewJSONFileLines(w, opts)
	case o.tsv:
		return report.NewTSV(w, opts)
	}
	return nil
}
