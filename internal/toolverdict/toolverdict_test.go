package toolverdict

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sample() *File {
	return &File{
		About: []string{"what: frame stream", "second line"},
		Tool:  "TShark (Wireshark) 4.0.17 (Git v4.0.17).",
		Sections: []Section{
			{Name: "a (b) c.pcap", Hash: Sum([]byte("x")), Lines: []string{"1 0", "2 0", ""}},
			{Name: "no hash, no lines"},
			{Name: "x", Lines: []string{"! refused"}},
		},
	}
}

// TestRoundTrip: Read gives back what Write wrote, plain and gzip'd, and
// the bytes written depend on the content only.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"v.tshark", "v.tshark.gz"} {
		p := filepath.Join(dir, name)
		f := sample()
		if err := f.Write(p); err != nil {
			t.Fatal(err)
		}
		first, _ := os.ReadFile(p)
		g, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if g.Tool != f.Tool || !slices.Equal(g.About, f.About) || len(g.Sections) != len(f.Sections) {
			t.Fatalf("%s: read %+v, wrote %+v", name, g, f)
		}
		for i, s := range f.Sections {
			r := g.Sections[i]
			if r.Name != s.Name || r.Hash != s.Hash || !slices.Equal(r.Lines, s.Lines) {
				t.Errorf("%s: section %d read as %+v, written %+v", name, i, r, s)
			}
		}
		if err := g.Write(p); err != nil {
			t.Fatal(err)
		}
		if again, _ := os.ReadFile(p); string(again) != string(first) {
			t.Errorf("%s: rewriting what was read changed the bytes", name)
		}
	}
}

func TestWriteRefusesAmbiguousLines(t *testing.T) {
	for _, l := range []string{"# x", "== y", "a\nb"} {
		f := &File{Tool: "t", Sections: []Section{{Name: "s", Lines: []string{l}}}}
		if err := f.Write(filepath.Join(t.TempDir(), "v")); err == nil {
			t.Errorf("line %q written", l)
		}
	}
}

func TestReadRejects(t *testing.T) {
	for name, text := range map[string]string{
		"no tool":             "== s\n1\n",
		"line before section": "# tool: t\n1\n",
		"comment in sections": "# tool: t\n== s\n# late\n",
	} {
		p := filepath.Join(t.TempDir(), "v")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}

func TestDiff(t *testing.T) {
	s := &Section{Name: "n", Hash: "h", Lines: []string{"1", "2"}}
	if d := diff(s, &Section{Name: "n", Hash: "h", Lines: []string{"1", "2"}}); d != "" {
		t.Errorf("equal sections differ: %s", d)
	}
	for _, fresh := range []*Section{
		{Name: "n", Hash: "h", Lines: []string{"1"}},
		{Name: "n", Hash: "h", Lines: []string{"1", "3"}},
		{Name: "n", Hash: "g", Lines: []string{"1", "2"}},
	} {
		if diff(s, fresh) == "" {
			t.Errorf("%+v: no difference from %+v", fresh, s)
		}
	}
	if d := diff(nil, s); !strings.Contains(d, "not stored") {
		t.Errorf("missing section: %q", d)
	}
}
