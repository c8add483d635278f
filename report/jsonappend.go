package report

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// appendJSONFlow appends f as compact JSON, byte for byte what
// encoding/json (SetEscapeHTML(false)) writes for the struct and its tags
// (checked by TestAppendJSONFlowMatchesEncodingJSON), without reflection or
// allocation: the JSON report lists every flow, so this is per flow.
func appendJSONFlow(b []byte, f *jsonFlow) []byte {
	b = append(b, '{')
	if f.Type != "" {
		b = append(b, `"type":`...)
		b = appendJSONString(b, f.Type)
		b = append(b, ',')
	}
	b = append(b, `"stream":`...)
	b = strconv.AppendInt(b, f.Stream, 10)
	b = appendKeyString(b, "client", f.Client)
	b = appendKeyString(b, "server", f.Server)
	b = appendKeyString(b, "roles", f.Roles)
	b = appendKeyInt(b, "first_frame", f.FirstFrame)
	b = appendKeyInt(b, "last_frame", f.LastFrame)
	b = appendKeyStringPtr(b, "first_time", f.FirstTime)
	b = appendKeyStringPtr(b, "last_time", f.LastTime)
	b = append(b, `,"duration":`...)
	b = appendJSONFloat(b, f.Duration)
	b = appendKeyString(b, "pattern", f.Pattern)
	b = appendKeyString(b, "closer", f.Closer)
	b = appendKeyString(b, "client_state", f.ClientState)
	b = appendKeyStringPtr(b, "client_state_since", f.ClientStateSince)
	b = appendKeyStringPtr(b, "client_state_until", f.ClientStateUntil)
	b = appendKeyBool(b, "client_state_tentative", f.ClientStateTentative)
	b = appendKeyString(b, "server_state", f.ServerState)
	b = appendKeyStringPtr(b, "server_state_since", f.ServerStateSince)
	b = appendKeyStringPtr(b, "server_state_until", f.ServerStateUntil)
	b = appendKeyBool(b, "server_state_tentative", f.ServerStateTentative)
	b = appendKeyString(b, "zeek_conn_state", f.ZeekConnState)
	b = append(b, `,"packets":{"client":`...)
	b = strconv.AppendUint(b, f.Packets.Client, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, f.Packets.Server, 10)
	b = append(b, `},"bytes":{"client":`...)
	b = strconv.AppendUint(b, f.Bytes.Client, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendUint(b, f.Bytes.Server, 10)
	b = append(b, '}')
	b = appendKeyString(b, "finish", f.Finish)
	b = appendKeyBool(b, "continued", f.Continued)
	b = appendKeyString(b, "profile", f.Profile)
	b = append(b, `,"segments":`...)
	if f.Segments == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Segments {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONSegment(b, &f.Segments[i])
		}
		b = append(b, ']')
	}
	b = appendKeyInt(b, "segments_omitted", int64(f.SegmentsOmitted))
	b = append(b, `,"anomalies":`...)
	if f.Anomalies == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Anomalies {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONAnomaly(b, &f.Anomalies[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendJSONSegment(b []byte, s *jsonSegment) []byte {
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, s.Frame, 10)
	b = append(b, `,"time":`...)
	if s.Time == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONFloat(b, *s.Time)
	}
	b = appendKeyStringPtr(b, "timestamp", s.Timestamp)
	b = appendKeyString(b, "from", s.From)
	b = appendKeyString(b, "flags", s.Flags)
	b = appendKeyInt(b, "seq", int64(s.Seq))
	b = appendKeyInt(b, "ack", int64(s.Ack))
	b = appendKeyInt(b, "len", int64(s.Len))
	b = appendKeyString(b, "label", s.Label)
	b = append(b, `,"changes":`...)
	if s.Changes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Changes {
			c := &s.Changes[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"side":`...)
			b = appendJSONString(b, c.Side)
			b = appendKeyString(b, "from", c.From)
			b = appendKeyString(b, "to", c.To)
			b = appendKeyBool(b, "tentative", c.Tentative)
			b = appendKeyInt(b, "confirmed_frame", c.ConfirmedFrame)
			b = appendKeyBool(b, "undone", c.Undone)
			b = appendKeyString(b, "reason", c.Reason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendKeyString(b, "explain", s.Explain)
	return append(b, '}')
}

func appendJSONAnomaly(b []byte, a *jsonAnomaly) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, a.Kind)
	b = appendKeyString(b, "endpoint", a.Endpoint)
	b = appendKeyString(b, "address", a.Address)
	b = append(b, `,"frames":`...)
	if a.Frames == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range a.Frames {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, f, 10)
		}
		b = append(b, ']')
	}
	b = appendKeyString(b, "severity", a.Severity)
	b = appendKeyString(b, "detail", a.Detail)
	return append(b, '}')
}

// appendKey* append ,"key":value. Keys are plain ASCII, written as is.
func appendKeyString(b []byte, k, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendKeyStringPtr(b []byte, k string, v *string) []byte {
	if v == nil {
		b = append(b, ',', '"')
		b = append(b, k...)
		return append(b, `":null`...)
	}
	return appendKeyString(b, k, *v)
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

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping
// off: '"' and '\\' escaped, control characters as \b \f \n \r \t or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
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
	b = append(b, s[start:]...)
	return append(b, '"')
}
