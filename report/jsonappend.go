package report

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"finwave/analyzer"
	"finwave/flow"
)

// appendJSONFlow appends t as one compact JSON flow object (SCHEMA.md),
// with "type" first when typ is not empty. It is byte for byte what
// encoding/json (SetEscapeHTML(false)) writes for the reference struct
// jsonFlow (checked by TestAppendJSONFlowMatchesEncodingJSON), written
// straight from the Teardown without reflection, intermediate structs or
// allocation: the JSON report lists every flow, so this is per flow.
func appendJSONFlow(b []byte, t *analyzer.Teardown, typ string) []byte {
	b = append(b, '{')
	if typ != "" {
		b = append(b, `"type":`...)
		b = appendJSONString(b, typ)
		b = append(b, ',')
	}
	b = append(b, `"stream":`...)
	b = strconv.AppendInt(b, t.Stream, 10)
	b = append(b, `,"wireshark_streams":[`...)
	for i, s := range t.Streams {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stream":`...)
		b = strconv.AppendInt(b, s.ID, 10)
		b = append(b, `,"first_frame":`...)
		b = strconv.AppendInt(b, s.Frame, 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendKeyEndpoint(b, "client", t.Client)
	b = appendKeyEndpoint(b, "server", t.Server)
	b = appendJSONTunnel(b, &t.Tunnel)
	b = appendKeyString(b, "roles", t.Roles.String())
	b = appendKeyInt(b, "first_frame", t.FirstFrame)
	b = appendKeyInt(b, "last_frame", t.LastFrame)
	b = appendKeyTime(b, "first_time", t.FirstTime)
	b = appendKeyTime(b, "last_time", t.LastTime)
	b = append(b, `,"duration":`...)
	var dur float64
	if !t.FirstTime.IsZero() && !t.LastTime.IsZero() {
		dur = t.LastTime.Sub(t.FirstTime).Seconds()
	}
	b = appendJSONFloat(b, dur)
	b = appendKeyString(b, "pattern", t.Pattern.String())
	b = appendKeyString(b, "closer", t.Closer.String())
	b = appendKeyString(b, "verdict", t.Verdict)
	b = appendJSONEnd(b, analyzer.Client, &t.ClientEnd)
	b = appendJSONEnd(b, analyzer.Server, &t.ServerEnd)
	b = appendKeyString(b, "zeek_conn_state", t.ZeekConnState)
	b = appendKeyString(b, "zeek_history", t.ZeekHistory)
	b = append(b, `,"zeek_uid":"`...)
	b = append(appendUID(b, t), '"')
	b = append(b, `,"zeek":[`...)
	for i := range t.Zeek {
		z := &t.Zeek[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"uid":"`...)
		b = append(appendUIDAt(b, t, z.FirstTime), '"')
		b = appendKeyString(b, "conn_state", z.ConnState)
		b = appendKeyString(b, "history", z.History)
		b = appendKeyInt(b, "first_frame", z.FirstFrame)
		b = appendKeyTime(b, "first_time", z.FirstTime)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = append(b, `,"community_id":`...)
	n := len(b)
	if b = appendCommunityID(append(b, '"'), t); len(b) == n+1 {
		b = append(b[:n], "null"...)
	} else {
		b = append(b, '"')
	}
	b = append(b, `,"packets":{"client":`...)
	b = strconv.AppendUint(b, t.Sent[analyzer.Client].Packets, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, t.Sent[analyzer.Server].Packets, 10)
	b = append(b, `},"bytes":{"client":`...)
	b = strconv.AppendUint(b, t.Sent[analyzer.Client].Bytes, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, t.Sent[analyzer.Server].Bytes, 10)
	b = append(b, '}')
	b = appendJSONOffload(b, t)
	b = appendKeyString(b, "finish", t.Finish.String())
	b = appendKeyBool(b, "continued", t.Continued)
	b = appendKeyString(b, "profile", t.Profile)
	b = appendJSONVantage(b, &t.Vantage)
	b = appendJSONKernel(b, t)
	b = append(b, `,"segments":[`...)
	for i := range t.Segments {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONSegment(b, &t.Segments[i], t.FirstTime)
	}
	b = append(b, ']')
	b = appendKeyInt(b, "segments_omitted", int64(t.SegmentsOmitted))
	b = append(b, `,"anomalies":[`...)
	for i := range t.Anomalies {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONAnomaly(b, &t.Anomalies[i], t)
	}
	return append(b, "]}"...)
}

// appendJSONVantage appends "vantage": where the capture was taken and
// the clues that say so.
func appendJSONVantage(b []byte, v *analyzer.Vantage) []byte {
	b = append(b, `,"vantage":{"at":`...)
	b = appendJSONString(b, v.At.String())
	b = append(b, `,"evidence":[`...)
	for i, e := range v.Evidence {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e)
	}
	return append(b, "]}"...)
}

// appendJSONOffload appends "checksums" and "offload": per sending side,
// checksums left to the NIC and corrupted ones; segments larger than the
// MSS (analyzer.Offload).
func appendJSONOffload(b []byte, t *analyzer.Teardown) []byte {
	b = append(b, `,"checksums":{"client":{"offloaded":`...)
	b = strconv.AppendInt(b, int64(t.Offload[analyzer.Client].ChecksumPartial), 10)
	b = append(b, `,"bad":`...)
	b = strconv.AppendInt(b, int64(t.BadChecksums[analyzer.Client]), 10)
	b = append(b, `},"server":{"offloaded":`...)
	b = strconv.AppendInt(b, int64(t.Offload[analyzer.Server].ChecksumPartial), 10)
	b = append(b, `,"bad":`...)
	b = strconv.AppendInt(b, int64(t.BadChecksums[analyzer.Server]), 10)
	b = append(b, `}},"offload":{"client":{"super":`...)
	b = strconv.AppendInt(b, int64(t.Offload[analyzer.Client].Super), 10)
	b = append(b, `,"largest":`...)
	b = strconv.AppendUint(b, uint64(t.Offload[analyzer.Client].Largest), 10)
	b = append(b, `},"server":{"super":`...)
	b = strconv.AppendInt(b, int64(t.Offload[analyzer.Server].Super), 10)
	b = append(b, `,"largest":`...)
	b = strconv.AppendUint(b, uint64(t.Offload[analyzer.Server].Largest), 10)
	return append(b, "}}"...)
}

// endKeys are the keys of each side's end state, indexed by Side.
var endKeys = [2][6]string{
	{"client_state", "client_state_since", "client_state_until", "client_state_tentative", "client_silent_frame", "client_silent_since"},
	{"server_state", "server_state_since", "server_state_until", "server_state_tentative", "server_silent_frame", "server_silent_since"},
}

// appendJSONEnd appends one side's end state: state, since, until,
// tentative, and since when the side was silent.
func appendJSONEnd(b []byte, side analyzer.Side, e *analyzer.EndState) []byte {
	k := &endKeys[side&1]
	b = appendKeyString(b, k[0], e.State.String())
	b = appendKeyTime(b, k[1], e.Since)
	b = appendKeyTime(b, k[2], e.Until)
	b = appendKeyBool(b, k[3], e.Tentative)
	b = appendKeyInt(b, k[4], e.SilentFrame)
	return appendKeyTime(b, k[5], e.SilentSince)
}

// appendJSONSegment appends one labelled segment; first is the flow's first
// time, origin of "time".
func appendJSONSegment(b []byte, s *analyzer.LabelledSegment, first time.Time) []byte {
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, s.Frame, 10)
	b = append(b, `,"time":`...)
	if s.Time.IsZero() || first.IsZero() {
		b = append(b, "null"...)
	} else {
		b = appendJSONFloat(b, s.Time.Sub(first).Seconds())
	}
	b = appendKeyTime(b, "timestamp", s.Time)
	b = appendKeyString(b, "from", s.From.String())
	b = appendKeyString(b, "flags", flagsString(s.Flags))
	b = appendKeyInt(b, "seq", int64(s.Seq))
	b = appendKeyInt(b, "ack", int64(s.Ack))
	b = appendKeyInt(b, "len", int64(s.Len))
	b = appendKeyString(b, "label", s.Label.String())
	b = append(b, `,"changes":[`...)
	for i := range s.Changes {
		c := &s.Changes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"side":`...)
		b = appendJSONString(b, c.Side.String())
		b = appendKeyString(b, "from", c.From.String())
		b = appendKeyString(b, "to", c.To.String())
		b = appendKeyBool(b, "tentative", c.Tentative)
		b = appendKeyInt(b, "confirmed_frame", c.Confirmed)
		b = appendKeyBool(b, "undone", c.Undone)
		b = appendKeyString(b, "reason", c.Reason)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendKeyString(b, "explain", s.Explain)
	return append(b, '}')
}

// appendJSONAnomaly appends one anomaly of t.
func appendJSONAnomaly(b []byte, a *analyzer.Anomaly, t *analyzer.Teardown) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, a.Kind.String())
	b = appendKeyString(b, "endpoint", a.Endpoint.String())
	b = appendKeyEndpoint(b, "address", t.Endpoint(a.Endpoint))
	b = append(b, `,"frames":[`...)
	for i, f := range a.Frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, f, 10)
	}
	b = append(b, ']')
	b = appendKeyInt(b, "dsack_frame", a.DSACK)
	b = appendKeyString(b, "severity", a.Severity.String())
	b = append(b, `,"counters":[`...)
	for i, c := range a.Counters {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c)
	}
	b = append(b, ']')
	b = appendKeyString(b, "detail", a.Detail)
	return append(b, '}')
}

// appendKeyEndpoint appends ,"key":"ip:port". Only an IPv6 zone (never
// decoded from a capture) could need JSON escaping: that case goes through
// appendJSONString.
func appendKeyEndpoint(b []byte, k string, e flow.Endpoint) []byte {
	if e.Addr.Zone() != "" {
		return appendKeyString(b, k, e.String())
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':', '"')
	b = appendEndpoint(b, e)
	return append(b, '"')
}

// appendKeyTime appends ,"key":time as RFC 3339 with nanoseconds in UTC,
// null when t is zero. The formatted time needs no JSON escaping.
func appendKeyTime(b []byte, k string, t time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	if t.IsZero() {
		return append(b, `":null`...)
	}
	b = append(b, '"', ':', '"')
	b = appendTimeUTC(b, t)
	return append(b, '"')
}

// appendTimeUTC appends t in UTC as t.UTC().AppendFormat(b,
// time.RFC3339Nano) does, byte for byte (TestAppendTimeUTC), in a fraction
// of its time: the civil date from the day number (Hinnant's
// civil_from_days), two digits at a time. Years outside 0..9999, which
// RFC 3339 cannot write, go to the time package.
func appendTimeUTC(b []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	// Days since 0000-03-01 in eras of 400 years (146097 days).
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365], from March 1
	mp := (5*doy + 2) / 153                  // [0, 11], March first
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m, y = mp-9, y+1
	}
	if y < 0 || y > 9999 {
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	b = append2(append2(b, int(y/100)), int(y%100))
	b = append2(append(b, '-'), int(m))
	b = append2(append(b, '-'), int(d))
	b = append2(append(b, 'T'), int(rem/3600))
	b = append2(append(b, ':'), int(rem/60%60))
	b = append2(append(b, ':'), int(rem%60))
	if nsec != 0 {
		var f [10]byte
		f[0] = '.'
		for i := 9; i > 0; i-- {
			f[i] = byte('0' + nsec%10)
			nsec /= 10
		}
		n := 10
		for f[n-1] == '0' {
			n--
		}
		b = append(b, f[:n]...)
	}
	return append(b, 'Z')
}

// append2 appends v (0..99) as two digits.
func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// appendKey* append ,"key":value. Keys are plain ASCII, written as is.
func appendKeyString(b []byte, k, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendKeyInt(b []byte, k string, v int64) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

func appendKeyBool(b []byte, k string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, v)
}

// appendJSONFloat is encoding/json's float64 encoding (floatEncoder):
// 'f' format, 'e' below 1e-6 or from 1e21 with a one-digit negative
// exponent cleaned up (e-09 → e-9). NaN and infinities, which
// encoding/json rejects, never occur here (times and durations).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// jsonPlain8 reports whether none of the eight bytes in v is below 0x20,
// '"', '\\' or 0x80 and above (SWAR: a byte test sets that byte's top bit).
func jsonPlain8(v uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	low := (v - 0x20*ones) &^ v & highs // bytes below 0x20 (for bytes below 0x80)
	return (low | hasZero(v^('"'*ones)) | hasZero(v^('\\'*ones)) | v&highs) == 0
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping
// off: '"' and '\\' escaped, control characters as \b \f \n \r \t or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: no control
		// character, '"', '\\' or non-ASCII byte.
		for i+8 <= len(s) && jsonPlain8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		// Fewer than eight bytes left: one look at the string's last
		// eight. It covers bytes [i, len(s)), so when it is plain they
		// all are; else (or in a string shorter than eight) they go
		// byte by byte below.
		if n := len(s); i+8 > n && n >= 8 && i < n && jsonPlain8(binary.LittleEndian.Uint64([]byte(s[n-8:]))) {
			i = n
		}
		// Byte by byte through the eight that hold one needing a look
		// (a rune may end past them), then eight at a time again.
		for end := min(i+8, len(s)); i < end; {
			if c := s[i]; c < utf8.RuneSelf {
				if c >= 0x20 && c != '"' && c != '\\' {
					i++
					continue
				}
				b = append(b, s[start:i]...)
				switch c {
				case '\\', '"':
					b = append(b, '\\', c)
				case '\b':
					b = append(b, '\\', 'b')
				case '\f':
					b = append(b, '\\', 'f')
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				default:
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
				}
				i++
				start = i
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
				i += size
				start = i
				continue
			}
			i += size
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONTunnel appends ,"tunnel":null or the flow's encapsulation:
// type, id (null when its header has none), outer endpoints (null for
// link-layer encapsulations) and the path of nested tunnels.
func appendJSONTunnel(b []byte, t *flow.Tunnel) []byte {
	if t.Type == flow.NoTunnel {
		return append(b, `,"tunnel":null`...)
	}
	b = append(b, `,"tunnel":{"type":`...)
	b = appendJSONString(b, t.Type.String())
	if t.HasID {
		b = appendKeyInt(b, "id", int64(t.ID))
	} else {
		b = append(b, `,"id":null`...)
	}
	if t.Outer.Src.Addr.IsValid() {
		// Addresses and ports need no JSON escaping (a zone is not kept).
		b = append(b, `,"outer_src":"`...)
		b = appendTunnelEndpoint(b, flow.Endpoint{Addr: t.Outer.Src.Addr.WithZone(""), Port: t.Outer.Src.Port})
		b = append(b, `","outer_dst":"`...)
		b = appendTunnelEndpoint(b, flow.Endpoint{Addr: t.Outer.Dst.Addr.WithZone(""), Port: t.Outer.Dst.Port})
		b = append(b, '"')
	} else {
		b = append(b, `,"outer_src":null,"outer_dst":null`...)
	}
	b = append(b, `,"path":[`...)
	for i := 0; i < int(t.Depth) && i < len(t.Path); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, t.Path[i].String())
	}
	return append(b, "]}"...)
}
