package flow

// This file fixes the contract between the flow table and its user (the
// analyzer). Implementation lives in table.go.

// Dir is a direction within a Conn: DirAB carries segments from Conn.A to
// Conn.B, DirBA the reverse.
type Dir uint8

const (
	DirAB Dir = 0
	DirBA Dir = 1
)

// Reverse returns the opposite direction.
func (d Dir) Reverse() Dir { return d ^ 1 }

// Finish says why the table finished a connection.
type Finish uint8

const (
	FinishDone    Finish = iota // the user marked the teardown complete and its grace passed
	FinishIdle                  // no segment for the idle timeout (capture time)
	FinishEvicted               // pushed out by the MaxFlows cap (oldest idle first)
	FinishReused                // a SYN with a new ISN reused the 4-tuple (new tcp.stream)
	FinishEnd                   // end of capture
)

var finishNames = [...]string{"done", "idle", "evicted", "reused", "end-of-capture"}

func (f Finish) String() string {
	if int(f) < len(finishNames) {
		return finishNames[f]
	}
	return "unknown"
}
