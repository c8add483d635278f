package analyzer

// Counter is one nstat counter (Linux LinuxVersion) that opening or
// closing a connection can move. String is the name nstat prints.
type Counter uint8

const (
	TcpActiveOpens Counter = iota
	TcpPassiveOpens
	TcpAttemptFails
	TcpEstabResets
	TcpOutRsts
	TcpExtTCPAbortOnData
	TcpExtTCPAbortOnClose
	TcpExtTCPAbortOnLinger
	TcpExtTCPAbortOnTimeout
	TcpExtTCPAbortOnMemory
	TcpExtTW
	TcpExtTWKilled
	TcpExtTWRecycled
	TcpExtTCPTimeWaitOverflow
	TcpExtTCPSYNChallenge
	TcpExtTCPChallengeACK
	numCounters
)

// NumCounters is the number of counters a CounterSet holds.
const NumCounters = int(numCounters)

var counterNames = [...]string{
	"TcpActiveOpens", "TcpPassiveOpens", "TcpAttemptFails", "TcpEstabResets", "TcpOutRsts",
	"TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnLinger", "TcpExtTCPAbortOnTimeout",
	"TcpExtTCPAbortOnMemory", "TcpExtTW", "TcpExtTWKilled", "TcpExtTWRecycled", "TcpExtTCPTimeWaitOverflow",
	"TcpExtTCPSYNChallenge", "TcpExtTCPChallengeACK",
}

var _ [numCounters]string = counterNames // a name per counter

// CounterList lists every counter in declaration order.
func CounterList() []Counter { return members[Counter](numCounters) }

// String returns the name nstat prints for the counter.
func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return "invalid"
}

// ParseCounter is the inverse of Counter.String.
func ParseCounter(s string) (Counter, bool) { return parse[Counter](counterNames[:], s) }

// Bound is a predicted counter increment: the host counted at least Min
// and at most Max. Min == Max when the wire settles it.
type Bound struct{ Min, Max uint32 }

// Exact reports whether the wire settles the value.
func (b Bound) Exact() bool { return b.Min == b.Max }

// Add adds o to b.
func (b *Bound) Add(o Bound) { b.Min += o.Min; b.Max += o.Max }

// CounterSet is one host's predicted increments, indexed by Counter.
type CounterSet [numCounters]Bound

// Add adds every counter of o to s.
func (s *CounterSet) Add(o *CounterSet) {
	for i := range s {
		s[i].Add(o[i])
	}
}
