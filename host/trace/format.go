package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// field is one field of a tracepoint record as tracefs describes it.
type field struct {
	Offset, Size int
}

// format is a tracepoint's record layout (events/<group>/<name>/format):
// its fields by name (array brackets removed), the record's size and the
// print fmt line, where __print_symbolic names the values of enum fields.
type format struct {
	Fields   map[string]field
	Size     int
	PrintFmt string
}

// tracefsRoots are where tracefs is mounted, newest convention first.
var tracefsRoots = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// readFormat reads the format of tracepoint group/name from the first
// tracefs mount that has it.
func readFormat(group, name string) (*format, error) {
	var firstErr error
	for _, root := range tracefsRoots {
		b, err := os.ReadFile(filepath.Join(root, "events", group, name, "format"))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return parseFormat(b)
	}
	return nil, firstErr
}

// parseFormat parses a tracefs format file: lines
// "field:TYPE NAME;	offset:N;	size:N;	signed:N;" and "print fmt: ...".
func parseFormat(b []byte) (*format, error) {
	f := &format{Fields: map[string]field{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(line, "print fmt: "); ok {
			f.PrintFmt = s
			continue
		}
		if !strings.HasPrefix(line, "field:") {
			continue
		}
		var decl string
		var fl field
		for _, part := range strings.Split(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok {
				continue
			}
			var err error
			switch k {
			case "field":
				decl = v
			case "offset":
				fl.Offset, err = strconv.Atoi(v)
			case "size":
				fl.Size, err = strconv.Atoi(v)
			}
			if err != nil {
				return nil, fmt.Errorf("format line %q: %w", line, err)
			}
		}
		name := decl
		if i := strings.LastIndexAny(name, " *"); i >= 0 {
			name = name[i+1:]
		}
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		if name == "" {
			return nil, fmt.Errorf("format line %q: no field name", line)
		}
		f.Fields[name] = fl
		if end := fl.Offset + fl.Size; end > f.Size {
			f.Size = end
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	if len(f.Fields) == 0 {
		return nil, fmt.Errorf("format: no fields")
	}
	return f, nil
}

// offset is the offset of field name, -1 when the record has none.
func (f *format) offset(name string) int {
	if fl, ok := f.Fields[name]; ok {
		return fl.Offset
	}
	return -1
}

// symbols returns the names __print_symbolic(REC->field, { N, "NAME" }, …)
// gives the values of field in the print fmt. Entries whose value is not a
// number (a macro such as TCP_ESTABLISHED, left unexpanded by tracefs) are
// skipped. It returns nil when the print fmt has no such list.
func (f *format) symbols(fieldName string) map[uint32]string {
	key := "__print_symbolic(REC->" + fieldName + ","
	i := strings.Index(f.PrintFmt, key)
	if i < 0 {
		return nil
	}
	s := f.PrintFmt[i+len(key):]
	out := map[uint32]string{}
	for {
		s = strings.TrimLeft(s, " ,")
		if !strings.HasPrefix(s, "{") {
			break // the closing parenthesis of __print_symbolic
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			break
		}
		entry := s[1:end]
		s = s[end+1:]
		v, name, ok := strings.Cut(entry, ",")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 32)
		if err != nil {
			continue
		}
		out[uint32(n)] = strings.Trim(strings.TrimSpace(name), `"`)
	}
	return out
}
