package analyzer

import (
	"time"

	"finwave/flow"
)

// State is one endpoint's TCP state (RFC 9293 §3.3.2), with Unknown for an
// endpoint about which the capture has shown nothing yet (mid-stream).
type State uint8

const (
	Unknown State = iota
	Closed
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	Closing
	TimeWait
	CloseWait
	LastAck
)

var stateNames = [...]string{"UNKNOWN", "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK"}

// String returns the kernel's name for the state (the stable JSON value).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "INVALID"
}

// ParseState is the inverse of String; it also accepts ss's spelling
// (FIN-WAIT-1, TIME-WAIT, UNCONN...).
func ParseState(name string) (State, bool) {
	n := []byte(name)
	for i, c := range n {
		if c == '-' {
			n[i] = '_'
		}
		if c >= 'a' && c <= 'z' {
			n[i] = c - 'a' + 'A'
		}
	}
	switch string(n) {
	case "SYN_RECV":
		return SynReceived, true
	case "ESTAB":
		return Established, true
	case "FIN_WAIT1":
		return FinWait1, true
	case "FIN_WAIT2":
		return FinWait2, true
	}
	for i, s := range stateNames {
		if s == string(n) {
			return State(i), true
		}
	}
	return 0, false
}

// Side names an endpoint by role.
type Side uint8

const (
	Client Side = iota // sent the SYN (or inferred: the higher, ephemeral port)
	Server
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Peer returns the other side.
func (s Side) Peer() Side { return s ^ 1 }

// Label is the role of one segment in a teardown. String returns the stable
// JSON identifier.
type Label uint8

const (
	NoLabel           Label = iota
	Wave1                   // first FIN of an active close
	Wave2                   // ACK of the first FIN, sent alone
	Wave3                   // the passive closer's FIN
	Wave23                  // ACK of the peer's FIN and our FIN in one segment (three-way close)
	Wave4                   // final ACK of the last FIN
	FINRetransmission       // a FIN sent again
	TimeWaitACK             // TIME_WAIT re-ACK of a retransmitted FIN
	RST                     // a reset
	ChallengeACK            // RFC 5961 challenge ACK answering an inexact RST or SYN
	KeepAlive               // keep-alive probe (seq = snd.nxt-1)
	SYNLabel                // connection request
	SYNACKLabel             // connection request accepted
	DataAfterClose          // data sent toward or by a side after it closed (half-close or violation)
	FINACKRepeat            // another ACK of a FIN already acknowledged (not in TIME_WAIT)
)

var labelNames = [...]string{"", "wave-1", "wave-2", "wave-3", "wave-2+3", "wave-4",
	"fin-retransmission", "time-wait-ack", "rst", "challenge-ack", "keep-alive",
	"syn", "syn-ack", "data-after-close", "fin-ack-repeat"}

func (l Label) String() string {
	if int(l) < len(labelNames) {
		return labelNames[l]
	}
	return "invalid"
}

// Kind is an anomaly kind. String returns the stable JSON identifier.
type Kind uint8

const (
	FINRetransmitted Kind = iota
	LostFinalACK
	TimeWaitAssassination
	RSTUnreadData
	RSTLingerZero
	RSTDataAfterClose
	RSTAfterFinWait2Timeout
	RSTOutOfWindow
	CloseWaitStuck
	FinWait2Stuck
	DataAfterFIN
	SYNInTimeWait
	SimultaneousClose
	HalfClose
	InvalidFlags // SYN+FIN, SYN+RST, FIN+RST or RST with data: hostile or broken
	numKinds
)

var kindNames = [...]string{"fin-retransmission", "lost-final-ack", "time-wait-assassination",
	"rst-unread-data", "rst-linger-zero", "rst-data-after-close", "rst-after-fin-wait2-timeout",
	"rst-out-of-window", "close-wait-stuck", "fin-wait2-stuck", "data-after-fin",
	"syn-in-time-wait", "simultaneous-close", "half-close", "invalid-flags"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Kinds lists every anomaly kind in declaration order.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Severity ranks anomalies for readers in an incident.
type Severity uint8

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	return [...]string{"info", "warning", "error"}[s]
}

// Pattern classifies how a connection ended. String is the JSON identifier.
type Pattern uint8

const (
	PatternOpen         Pattern = iota // established (or mid-stream), nothing closed by capture end
	PatternFourWay                     // FIN, ACK, FIN, ACK
	PatternThreeWay                    // FIN, FIN+ACK, ACK
	PatternSimultaneous                // both FINs crossed
	PatternReset                       // ended by RST without a FIN before it
	PatternFINThenReset                // a FIN, then a RST ended it
	PatternRefused                     // SYN answered by RST
	PatternHalfOpen                    // only one side closed by capture end
	PatternUnanswered                  // SYN never answered
)

var patternNames = [...]string{"open", "four-way", "three-way", "simultaneous", "reset",
	"fin-then-reset", "refused", "half-open", "unanswered"}

func (p Pattern) String() string { return patternNames[p] }

// ParsePattern is the inverse of Pattern.String.
func ParsePattern(s string) (Pattern, bool) {
	for i, n := range patternNames {
		if n == s {
			return Pattern(i), true
		}
	}
	return 0, false
}

// Closer says which endpoint first ended its side of the connection.
type Closer uint8

const (
	CloserNone Closer = iota
	CloserClient
	CloserServer
	CloserBoth // simultaneous close
)

func (c Closer) String() string { return [...]string{"none", "client", "server", "both"}[c] }

// Roles says how client and server were decided.
type Roles uint8

const (
	RolesObserved Roles = iota // the SYN sender is the client
	RolesInferred              // no SYN seen: the lower / well-known port is the server
)

func (r Roles) String() string { return [...]string{"observed", "inferred"}[r] }

// Change is one state transition of one endpoint. Every transition goes
// through the endpoint's setState and is recorded as a Change.
type Change struct {
	Side     Side
	From, To State
	Frame    int64     // frame that caused it; 0 for a timer
	Time     time.Time // when it happened (timer expiry for timers)
	// Tentative is set when the capture shows the segment that causes the
	// change but not yet that the endpoint received it (no ACK back).
	// Confirmed is the frame that proved it, 0 while tentative.
	Tentative bool
	Confirmed int64
	// Undone is set when later evidence showed the segment never arrived
	// (e.g. the peer retransmitted the FIN this ACK acknowledged).
	Undone bool
	Reason string // kernel path or RFC rule, e.g. "tcp_fin: ESTABLISHED→CLOSE_WAIT"
}

// LabelledSegment is one segment of the teardown with its role and effect.
type LabelledSegment struct {
	Frame int64
	Time  time.Time
	From  Side
	Flags flow.Flags
	Seq   uint32 // relative to the sender's ISN (raw when the ISN is unknown)
	Ack   uint32 // relative to the receiver's ISN; 0 without ACK
	Len   uint32
	Label Label
	// Changes are the state changes this segment caused: the sender's
	// (what it sent) and the receiver's (what it received), in that order.
	Changes []Change
	Explain string // short kernel-path explanation (Linux profile)
}

// Anomaly is one finding about one endpoint.
type Anomaly struct {
	Kind     Kind
	Endpoint Side
	Frames   []int64 // evidence, ascending
	Severity Severity
	Detail   string // likely cause and what to check, one paragraph
}

// EndState is one endpoint at the end of the capture.
type EndState struct {
	State State
	// Since is when it entered State; Until is when a Linux timer would end
	// it (TIME_WAIT, orphaned FIN_WAIT_2), zero when none applies.
	Since, Until time.Time
	Tentative    bool // the last change is not yet confirmed by the endpoint
}

// DirStats counts what one side sent.
type DirStats struct {
	Packets uint64
	Bytes   uint64 // payload octets
}

// Teardown is the analysis of one connection: what the reports render.
type Teardown struct {
	Stream         int64 // equals Wireshark's tcp.stream
	Client, Server flow.Endpoint
	Roles          Roles
	FirstFrame     int64
	LastFrame      int64
	FirstTime      time.Time
	LastTime       time.Time
	Pattern        Pattern
	Closer         Closer
	ClientEnd      EndState
	ServerEnd      EndState
	ZeekConnState  string
	Segments       []LabelledSegment
	// SegmentsOmitted counts labelled segments beyond the per-flow cap.
	SegmentsOmitted int
	Anomalies       []Anomaly
	Sent            [2]DirStats // indexed by Side
	Finish          flow.Finish // why the flow was finished
	// Continued is set when this flow continues a stream the analysis had
	// already finished and reported (its 4-tuple came back without a new
	// SYN after the grace or idle timeout): same Stream, analysed afresh.
	Continued bool
	Profile   string // "linux" or "rfc793"

	// Backing arrays kept across Recycle: the segments' Changes and the
	// anomalies' Frames are slices of changes and frames; anoms is
	// Anomalies' array (Anomalies is nil when there are none).
	changes []Change
	frames  []int64
	anoms   []Anomaly
	text    []byte // the anomalies' Detail strings point into it
}

// End returns the end state of side s.
func (t *Teardown) End(s Side) EndState {
	if s == Client {
		return t.ClientEnd
	}
	return t.ServerEnd
}

// Endpoint returns the address of side s.
func (t *Teardown) Endpoint(s Side) flow.Endpoint {
	if s == Client {
		return t.Client
	}
	return t.Server
}

// HasAnomaly reports whether the teardown has an anomaly of kind k.
func (t *Teardown) HasAnomaly(k Kind) bool {
	for i := range t.Anomalies {
		if t.Anomalies[i].Kind == k {
			return true
		}
	}
	return false
}

// Config holds the analysis options.
type Config struct {
	Profile     *Profile
	RFC1337     bool          // Linux: net.ipv4.tcp_rfc1337=1, RST in TIME_WAIT ignored
	FinTimeout  time.Duration // Linux: net.ipv4.tcp_fin_timeout (orphaned FIN_WAIT_2 lifetime)
	StuckAfter  time.Duration // CLOSE_WAIT / FIN_WAIT_2 longer than this is "stuck"
	IdleTimeout time.Duration // a flow with no segment for this long is finished (capture time)
	Grace       time.Duration // after a complete teardown, wait this long for late retransmissions
	MaxFlows    int           // cap on open flows; oldest idle flows are finished early
	MaxSegments int           // cap on labelled segments kept per flow

	// OnForget, if set, is called with a stream id that no later flow can
	// continue, after its Teardown was emitted (flow.TableConfig.OnForget).
	OnForget func(stream int64)
}
