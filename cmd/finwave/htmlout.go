package main

import (
	"errors"
	"fmt"
	"os"

	"finwave/analyzer"
	"finwave/report"
	"finwave/report/htmlreport"
)

// --html FILE: the report as one self-contained HTML page, written to
// FILE in addition to the output on stdout. The file is opened (created,
// emptied) before the analysis, so that a path finwave cannot write is an
// error before any work, and live, before privileges are dropped (-Z);
// the page is written whole at the end of the capture, SIGINT included
// (the renderers' Finish).

// pageFile is the open --html file; each Write replaces its content.
type pageFile struct {
	f    *os.File
	path string
}

func openPage(path string) (*pageFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--html: %w", err)
	}
	return &pageFile{f: f, path: path}, nil
}

// Write replaces the file's content with b (one page, written at once).
func (p *pageFile) Write(b []byte) (int, error) {
	if err := p.f.Truncate(0); err != nil {
		return 0, fmt.Errorf("--html %s: %w", p.path, err)
	}
	n, err := p.f.WriteAt(b, 0)
	if err != nil {
		return n, fmt.Errorf("--html %s: %w", p.path, err)
	}
	return n, nil
}

func (p *pageFile) Close() error {
	if err := p.f.Close(); err != nil {
		return fmt.Errorf("--html %s: %w", p.path, err)
	}
	return nil
}

// withHTML returns r and the HTML page's renderer together (both see every
// flow, in the same order), writing the page to the open file.
func withHTML(r report.Renderer, page *pageFile, opts report.Options) report.Renderer {
	opts.Color = false
	return both{r, htmlreport.New(page, htmlreport.Options{Report: opts})}
}

// both fans every flow and every Finish out to two renderers.
type both [2]report.Renderer

func (b both) Flow(t *analyzer.Teardown) error {
	return errors.Join(b[0].Flow(t), b[1].Flow(t))
}

func (b both) Finish(c *report.Capture) error {
	return errors.Join(b[0].Finish(c), b[1].Finish(c))
}
