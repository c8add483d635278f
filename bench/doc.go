// Package bench holds finwave's performance benchmarks over synthetic
// captures (internal/synth) and the fwbench command (bench/cmd/fwbench),
// which measures finwave against a bare gopacket decode loop, tcptrace and
// tshark on one file. See README.md, section Performance.
//
//	go test ./bench -run XXX -bench . -benchtime 1x -conns 200000
package bench
