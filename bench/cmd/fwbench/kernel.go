package main

import (
	"fmt"
	"io"
)

func cmdKernel(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("kernel: %w", errSkip)
}
