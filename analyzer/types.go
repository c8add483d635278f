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
	numStates
)

var stateNames = [...]string{"UNKNOWN", "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK"}

var _ [numStates]string = stateNames // a name per state

// States lists every state in declaration order.
func States() []State { return members[State](numStates) }

// String returns the kernel's name for the state (the stable JSON value).
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "INVALID"
}

// ParseState is the inverse of String; it also accepts ss's spelling
// (FIN-WAIT-1, TIME-WAIT, ESTAB, SYN-RECV, ...), in either case.
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
	return parse[State](stateNames[:], string(n))
}

// members lists the n members of an enumeration, 0 to n-1.
func members[E ~uint8](n E) []E {
	out := make([]E, n)
	for i := range out {
		out[i] = E(i)
	}
	return out
}

// parse finds name in names, the String values of an enumeration.
func parse[E ~uint8](names []string, name string) (E, bool) {
	for i, n := range names {
		if n == name {
			return E(i), true
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
// JSON identifier; NoLabel's is "" (an unlabelled segment).
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
	ChallengeACK            // RFC 5961 challenge ACK answering an inexact RST, a SYN or a too-old ACK
	KeepAlive               // keep-alive probe (seq = snd.nxt-1)
	SYNLabel                // connection request
	SYNACKLabel             // connection request accepted
	DataAfterClose          // data sent toward or by a side after it closed (half-close or violation)
	FINACKRepeat            // another ACK of a FIN already acknowledged (not in TIME_WAIT)
	AfterOwnRST             // a segment from a side after a RST in its name: that RST was not its own
	SYNRejected             // a SYN the peer's TIME_WAIT did not accept
	TimeWaitReject          // the TIME_WAIT's ACK of the old connection answering a SYN it did not accept
	numLabels
)

// labelRecord is one label: its JSON identifier and its meaning (help).
type labelRecord struct{ name, meaning string }

var labels = [...]labelRecord{
	NoLabel:           {"", "a segment with no role in the teardown"},
	Wave1:             {"wave-1", "first FIN of the close (the active closer)"},
	Wave2:             {"wave-2", "ACK of the first FIN, sent alone"},
	Wave3:             {"wave-3", "the passive closer's FIN"},
	Wave23:            {"wave-2+3", "ACK of the first FIN and the passive closer's FIN in one segment"},
	Wave4:             {"wave-4", "final ACK of the last FIN"},
	FINRetransmission: {"fin-retransmission", "a FIN sent again"},
	TimeWaitACK:       {"time-wait-ack", "TIME_WAIT re-ACK of a retransmitted FIN"},
	RST:               {"rst", "a reset"},
	ChallengeACK:      {"challenge-ack", "RFC 5961 challenge ACK answering an inexact RST, a SYN or a too-old ACK"},
	KeepAlive:         {"keep-alive", "keep-alive probe (seq = snd.nxt-1)"},
	SYNLabel:          {"syn", "connection request"},
	SYNACKLabel:       {"syn-ack", "connection request accepted"},
	DataAfterClose:    {"data-after-close", "data sent by or toward a side after it closed"},
	FINACKRepeat:      {"fin-ack-repeat", "another ACK of a FIN already acknowledged (not TIME_WAIT)"},
	AfterOwnRST:       {"after-own-rst", "sent by a side after a RST in its name: that RST was forged (rst-forged)"},
	SYNRejected:       {"syn-rejected", "a SYN reusing the 4-tuple that the peer's TIME_WAIT did not accept (answered with an ACK of the old connection)"},
	TimeWaitReject:    {"time-wait-reject", "the TIME_WAIT's ACK of the old connection answering a SYN it did not accept (tcp_timewait_state_process, TCP_TW_ACK)"},
}

var _ [numLabels]labelRecord = labels // a record per label

// Labels lists the labels a segment can be given, in declaration order
// (NoLabel, the absence of one, is not among them).
func Labels() []Label { return members[Label](numLabels)[1:] }

func (l Label) String() string {
	if l < numLabels {
		return labels[l].name
	}
	return "invalid"
}

// Meaning is a one-line meaning of the label, for help and documentation.
func (l Label) Meaning() string {
	if l < numLabels {
		return labels[l].meaning
	}
	return ""
}

// ParseLabel is the inverse of Label.String for the labels of Labels.
func ParseLabel(s string) (Label, bool) {
	for _, l := range Labels() {
		if labels[l].name == s {
			return l, true
		}
	}
	return NoLabel, false
}

// String returns the kind's stable JSON identifier.
func (k Kind) String() string {
	if k < numKinds {
		return kinds[k].name
	}
	return "invalid"
}

// Kinds lists every anomaly kind in declaration order.
func Kinds() []Kind { return members[Kind](numKinds) }

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k := range kinds {
		if kinds[k].name == s {
			return Kind(k), true
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
	numSeverities
)

var severityNames = [...]string{"info", "warning", "error"}

var _ [numSeverities]string = severityNames // a name per severity

// Severities lists the severities from the least to the most severe.
func Severities() []Severity { return members[Severity](numSeverities) }

func (s Severity) String() string {
	if s < numSeverities {
		return severityNames[s]
	}
	return "invalid"
}

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(s string) (Severity, bool) { return parse[Severity](severityNames[:], s) }

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
	PatternHalfOpen                    // one side silent (vanished), the other still trying at capture end
	PatternUnanswered                  // SYN never answered
	PatternTimeout                     // a side's timer gave up on a silent peer, no RST
	PatternHalfClosed                  // one side sent its FIN, the other had not closed by capture end
	numPatterns
)

// patternRecord is one pattern: its JSON identifier and its meaning.
type patternRecord struct{ name, meaning string }

var patterns = [...]patternRecord{
	PatternOpen:         {"open", "established (or mid-stream), nothing closed by the end of the capture"},
	PatternFourWay:      {"four-way", "FIN, ACK, FIN, ACK"},
	PatternThreeWay:     {"three-way", "FIN, FIN+ACK, ACK: the passive closer's ACK and FIN in one segment"},
	PatternSimultaneous: {"simultaneous", "both FINs sent before either arrived"},
	PatternReset:        {"reset", "ended by a RST with no FIN before it"},
	PatternFINThenReset: {"fin-then-reset", "a FIN, then a RST ended it"},
	PatternRefused:      {"refused", "SYN answered by RST"},
	PatternHalfOpen:     {"half-open", "one side went silent (vanished) while the other was still trying at the end of the capture"},
	PatternUnanswered:   {"unanswered", "SYN never answered"},
	PatternTimeout:      {"timeout", "a side's kernel gave up on a silent peer (retransmissions, SYN-ACKs or an orphan's FIN unanswered), no RST"},
	PatternHalfClosed:   {"half-closed", "one side sent its FIN, the other had not closed by the end of the capture"},
}

var _ [numPatterns]patternRecord = patterns // a record per pattern

// Patterns lists every pattern in declaration order.
func Patterns() []Pattern { return members[Pattern](numPatterns) }

func (p Pattern) String() string {
	if p < numPatterns {
		return patterns[p].name
	}
	return "invalid"
}

// Meaning is a one-line meaning of the pattern, for help and documentation.
func (p Pattern) Meaning() string {
	if p < numPatterns {
		return patterns[p].meaning
	}
	return ""
}

// ParsePattern is the inverse of Pattern.String.
func ParsePattern(s string) (Pattern, bool) {
	for p := range patterns {
		if patterns[p].name == s {
			return Pattern(p), true
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

var closerNames = [...]string{"none", "client", "server", "both"}

func (c Closer) String() string {
	if int(c) < len(closerNames) {
		return closerNames[c]
	}
	return "invalid"
}

// Roles says how client and server were decided.
type Roles uint8

const (
	RolesObserved Roles = iota // the SYN sender is the client
	RolesInferred              // no SYN seen: the lower / well-known port is the server
)

func (r Roles) String() string {
	if r <= RolesInferred {
		return [...]string{"observed", "inferred"}[r]
	}
	return "invalid"
}

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
	// Counters are the nstat counters (Linux LinuxVersion) the host of
	// Endpoint incremented for this anomaly, as far as the wire shows
	// it: each one certain for the cause found; the Detail names, as
	// "counted as X if Y", those the wire cannot settle. Shared, never
	// to be modified.
	Counters []string
	// DSACK (fin-retransmission, lost-final-ack) is the peer's ACK whose
	// D-SACK (RFC 2883) covers the retransmitted FIN: the first FIN had
	// arrived, its ACK was lost or late. 0 when none.
	DSACK int64
	// Detail is the likely cause and what to check, one paragraph. It
	// shares the Teardown's memory and dies with Recycle: a caller that
	// keeps it past Recycle must copy it (strings.Clone). The renderers
	// copy it into their output and keep nothing (TestFixtureGoldens
	// renders every fixture with and without recycling).
	Detail string
}

// EndState is one endpoint at the end of the capture.
type EndState struct {
	State State
	// Since is when it entered State; Until is when a Linux timer would end
	// it (TIME_WAIT, orphaned FIN_WAIT_2), zero when none applies.
	Since, Until time.Time
	Tentative    bool // the last change is not yet confirmed by the endpoint
	// SilentFrame and SilentSince: the endpoint stopped answering (the
	// peer retransmitted or probed in vain) after its segment SilentFrame
	// (0, zero time: it never sent one). Its state is then unknown, most
	// likely State (half-open): nothing shows it saw what came after.
	SilentFrame int64
	SilentSince time.Time
}

// HasStream reports whether the flow spans Wireshark's tcp.stream id: its
// Stream or one of its further Streams.
func (t *Teardown) HasStream(id int64) bool {
	if t.Stream == id {
		return true
	}
	for _, s := range t.Streams {
		if s.ID == id {
			return true
		}
	}
	return false
}

// DirStats counts what one side sent.
type DirStats struct {
	Packets uint64
	Bytes   uint64 // payload octets
}

// Teardown is the analysis of one connection: what the reports render.
// Its slices, and the anomalies' Detail strings, live in memory that
// Recycle hands to a later flow: use a Teardown before recycling it, or
// copy what must outlive it.
type Teardown struct {
	Stream int64 // equals Wireshark's tcp.stream
	// Streams lists the further Wireshark tcp.stream ids the flow spans,
	// each with the frame that started it: Wireshark took a segment of
	// this connection (an in-window SYN, RFC 5961 §4) for a new one.
	// Empty for nearly every flow.
	Streams        []flow.StreamStart
	Client, Server flow.Endpoint
	// Tunnel is the encapsulation the flow's segments came in (its first
	// tunnelled segment's); Type is flow.NoTunnel for a plain flow.
	Tunnel     flow.Tunnel
	Roles      Roles
	FirstFrame int64
	LastFrame  int64
	FirstTime  time.Time
	LastTime   time.Time
	Pattern    Pattern
	Closer     Closer
	// Verdict is one line: who ended the flow, how, the most likely
	// cause and what to check. Like the anomalies' Detail it shares the
	// Teardown's memory and dies with Recycle.
	Verdict       string
	ClientEnd     EndState
	ServerEnd     EndState
	ZeekConnState string
	// ZeekHistory is Zeek's conn.log history of the flow (internal/zeek;
	// "" when too long to keep exactly), ZeekOrigIsClient whether Zeek's
	// originator is Client (it is Server when Zeek flipped the roles).
	// They describe the whole flow, as if Zeek never split it; Zeek lists
	// the connections Zeek logs for it (one, unless Zeek split the flow:
	// zeekconns.go), the last one's History sharing the Teardown's memory.
	ZeekHistory      string
	ZeekOrigIsClient bool
	Zeek             []ZeekConn
	Segments         []LabelledSegment
	// SegmentsOmitted counts labelled segments beyond the per-flow cap.
	SegmentsOmitted int
	Anomalies       []Anomaly
	Sent            [2]DirStats // indexed by Side
	// IdleBeforeClose is how long no payload had crossed, either way,
	// when the side that closed first sent its first FIN or RST: the idle
	// timeout that closed it, for an idle close. 0 when nothing closed, no
	// payload was seen, or the pause was no idle period (under 500 ms or
	// under ten of the flow's round trips).
	IdleBeforeClose time.Duration
	// ReuseIdle is the longest the client let the connection idle after
	// the server's answer before it sent a new request on it (keep-alive
	// reuse); 0 when it never did after an idle period (as above).
	ReuseIdle time.Duration
	// Counters are the nstat counters each side's host should have
	// incremented for this connection (nstat.go, counters.go), indexed
	// by Side: each a Bound, exact where the wire settles it
	// (docs/counters.md says when and why not). A host at both ends
	// (loopback) counted the sum of both sides.
	Counters [2]CounterSet
	Finish   flow.Finish // why the flow was finished
	// Continued is set when this flow continues a stream the analysis had
	// already finished and reported (its 4-tuple came back without a new
	// SYN after the grace or idle timeout): same Stream, analysed afresh.
	Continued bool
	Profile   string // "linux" or "rfc793"
	// Vantage is where the capture was taken (vantage.go); the capturing
	// host's receiver-side changes are confirmed, not tentative.
	Vantage Vantage
	// Offload is what each side's segments (indexed by the sending Side)
	// show of checksum and segmentation offloads on the capturing host;
	// BadChecksums counts each side's segments with a wrong checksum that
	// no offload explains: corrupted, dropped by the peer (checksum.go).
	Offload      [2]Offload
	BadChecksums [2]int
	// Kernel is the kernel's own account of the flow when finwave runs on
	// the host that owns its sockets (Config.Kernel, kernel.go): owners,
	// traced changes beside the machines', resets and drops with the
	// kernel's reasons, conntrack. nil without Config.Kernel. It lives in
	// the Teardown's memory and dies with Recycle.
	Kernel *KernelView

	// Backing arrays kept across Recycle: the segments' Changes and the
	// anomalies' Frames are slices of changes and frames; anoms is
	// Anomalies' array (Anomalies is nil when there are none).
	changes []Change
	frames  []int64
	anoms   []Anomaly
	text    []byte // the anomalies' Detail strings point into it
	evid    [4]string
	kernel  *KernelView // Kernel points here; allocated once, with Config.Kernel
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
	// MaxFinished caps the records of finished streams the flow table
	// keeps to resume a 4-tuple's stream id (flow.TableConfig.MaxFinished;
	// 0: flow.DefaultMaxFinished).
	MaxFinished int

	// KeepEvery, if set, names the streams whose every segment is kept
	// (data and plain ACKs too, unlabelled; the SYNs even when the
	// handshake completed), not only the labelled ones, up to
	// maxKeptSegments: what one flow's full ladder shows (--stream N).
	KeepEvery func(stream int64) bool

	// OnForget, if set, is called with a stream id that no later flow can
	// continue, after its Teardown was emitted (flow.TableConfig.OnForget).
	OnForget func(stream int64)

	// Kernel, if set, is the kernel's own account of this host's sockets
	// (finwave live on the host that owns them): asked as each flow
	// finishes, reconciled with the machines (kernel.go).
	Kernel Kernel

	// Brief leaves out of the Teardown what only a shown flow reads: its
	// prose (every Anomaly's Detail, the Verdict and the Vantage's
	// Evidence are empty) and its ladder (Segments is empty, not nil);
	// every other field is as without it, SegmentsOmitted included. For a
	// sink that shows no flow (finwave -q, whose exit status and
	// --fail-on read kinds, severities and patterns): writing the prose is
	// about a third of finishing a flow, copying the ladder out a fifth.
	Brief bool
}
