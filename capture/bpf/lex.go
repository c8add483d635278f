package bpf

import (
	"fmt"
	"strings"
)

// SyntaxError is an expression finwave cannot compile: a mistake, or a
// construct outside the supported subset (see the package comment).
type SyntaxError struct {
	Expr string // the whole expression
	Pos  int    // byte offset of the offending word (len(Expr) at the end)
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Pos >= len(e.Expr) {
		return fmt.Sprintf("filter %q: %s at end of expression", e.Expr, e.Msg)
	}
	return fmt.Sprintf("filter %q: %s at %q (offset %d)", e.Expr, e.Msg, e.Expr[e.Pos:], e.Pos)
}

// token is one word or operator of an expression.
type token struct {
	s   string
	pos int
}

// punct are the operator tokens, longest first.
var punct = []string{"&&", "||", "==", "!=", "<=", ">=", "(", ")", "[", "]", "!", "&", "|", "=", "<", ">", ":"}

// lex splits expr into words and operators. A word is a run of letters,
// digits and the characters that occur in addresses and names ('.', '-',
// '_', '/', and ':' when the word is an IPv6 literal).
func lex(expr string) ([]token, error) {
	var out []token
	i := 0
	for i < len(expr) {
		c := expr[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\' {
			// A backslash escapes a keyword used as a name ("ip proto \tcp").
			i++
			continue
		}
		if isWordByte(c) {
			j := i
			for j < len(expr) && (isWordByte(expr[j]) || expr[j] == ':') {
				j++
			}
			w := expr[i:j]
			// A ':' belongs to the word only in an IPv6 literal
			// ("2001:db8::1"); in "tcp[13:1]" it is an operator.
			if strings.Contains(w, ":") && !looksIPv6(w) {
				j = i + strings.IndexByte(w, ':')
				w = expr[i:j]
			}
			out = append(out, token{w, i})
			i = j
			continue
		}
		matched := false
		for _, p := range punct {
			if strings.HasPrefix(expr[i:], p) {
				out = append(out, token{p, i})
				i += len(p)
				matched = true
				break
			}
		}
		if !matched {
			return nil, &SyntaxError{Expr: expr, Pos: i, Msg: fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '/'
}

// looksIPv6 reports whether w (letters, digits, ':' ...) is shaped like an
// IPv6 address or prefix: at least two colons, hex digits otherwise.
func looksIPv6(w string) bool {
	if strings.Count(w, ":") < 2 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}
