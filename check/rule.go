package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"finwave/analyzer"
)

// Op is a comparison operator of a rule.
type Op uint8

const (
	OpEq Op = iota // =
	OpNe           // !=
	OpLt           // <
	OpLe           // <=
	OpGt           // >
	OpGe           // >=
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">="}

func (o Op) String() string { return opNames[o] }

func parseOp(s string) (Op, bool) {
	for i, n := range opNames {
		if n == s {
			return Op(i), true
		}
	}
	if s == "==" {
		return OpEq, true
	}
	return 0, false
}

// ints applies the operator to two numbers.
func (o Op) ints(a, b int64) bool {
	switch o {
	case OpEq:
		return a == b
	case OpNe:
		return a != b
	case OpLt:
		return a < b
	case OpLe:
		return a <= b
	case OpGt:
		return a > b
	default:
		return a >= b
	}
}

// ruleKind is the form of a rule line.
type ruleKind uint8

const (
	ruleFlows      ruleKind = iota // flows OP N
	ruleAnomaly                    // anomaly KIND OP N (over all flows)
	ruleFlowField                  // flow SEL FIELD OP VALUE
	ruleFlowHas                    // flow SEL has KIND
	ruleFlowLacks                  // flow SEL lacks KIND
	ruleFlowSet                    // flow SEL anomalies OP KIND,KIND | none
	ruleFlowCount                  // flow SEL anomaly KIND OP N
	ruleFrameLabel                 // frame N label OP LABEL
)

// selKind is the form of a flow selector.
type selKind uint8

const (
	selStream     selKind = iota // a tcp.stream number
	selAll                       // *
	selClient                    // client=IP:PORT
	selServer                    // server=IP:PORT
	selClientPort                // client-port=N
)

// Selector chooses the flows a flow rule applies to.
type Selector struct {
	kind   selKind
	stream int64
	addr   netip.AddrPort
	port   uint16
}

func (s Selector) String() string {
	switch s.kind {
	case selStream:
		return strconv.FormatInt(s.stream, 10)
	case selAll:
		return "*"
	case selClient:
		return "client=" + s.addr.String()
	case selServer:
		return "server=" + s.addr.String()
	default:
		return "client-port=" + strconv.Itoa(int(s.port))
	}
}

// matches reports whether flow f is selected.
func (s Selector) matches(f *Flow) bool {
	switch s.kind {
	case selStream:
		return f.Stream == s.stream || slices.Contains(f.Streams, s.stream)
	case selAll:
		return true
	case selClient:
		return sameEndpoint(s.addr, f.Client.Addr, f.Client.Port)
	case selServer:
		return sameEndpoint(s.addr, f.Server.Addr, f.Server.Port)
	default:
		return f.Client.Port == s.port
	}
}

func sameEndpoint(want netip.AddrPort, a netip.Addr, port uint16) bool {
	return want.Port() == port && want.Addr().Unmap() == a.Unmap().WithZone("")
}

// Field is a per-flow property compared by `flow SEL FIELD OP VALUE`. Names
// are the JSON output's keys.
type Field uint8

const (
	FieldCloser Field = iota
	FieldPattern
	FieldClientState
	FieldServerState
	FieldZeekConnState
	FieldRoles
	FieldFinish
	FieldProfile
	FieldTunnel     // "none", "TYPE" or "TYPE ID" (flow.TunnelType's name, the VNI/key/...)
	FieldVantage    // where the capture was taken: "client", "client|unknown" (any of them)
	FieldDSACKFrame // the frame whose D-SACK proves a retransmitted FIN had arrived, or "none"
)

var fieldNames = [...]string{"closer", "pattern", "client_state", "server_state",
	"zeek_conn_state", "roles", "finish", "profile", "tunnel", "vantage", "dsack_frame"}

func (f Field) String() string { return fieldNames[f] }

// Rule is one checked line of an expectation file.
type Rule struct {
	File string // expectation file name, as given to Parse
	Line int    // 1-based
	Text string // the rule as written, without comment and surrounding space

	kind  ruleKind
	sel   Selector
	field Field
	op    Op
	num   int64
	value string          // canonical value (String() of the parsed identifier)
	kinds []analyzer.Kind // has/lacks/anomaly: one kind; anomalies set: sorted, may be empty
	frame int64
}

// Pos returns "file:line".
func (r *Rule) Pos() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

func (r *Rule) String() string { return r.Text }
