package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestIndexLines(t *testing.T) {
	src := `# comment with [brackets] and key = "value"
top = 1
dotted.key = "a" # trailing comment
multi = """
line two
[not.a.table]
"""
lit = '''
x = 1
'''
esc = "quote \" and [bracket]"
"quoted key" = 2
"a\u0062" = 3
when = 1979-05-27 07:32:00Z
arr = [
  "a",   # comment, with comma
  [1, 2],
  { k = "v" },
]

[frontend.web]
bind = ["a:1",
        "b:2"]

[[frontend.web.route]]
backend = "x"

[[frontend.web.route]]
backend = "y"
inline = { a = 1, b.c = { d = 2 } }

[[outer]]
[[outer.inner]]
v = 1
[[outer.inner]]
v = 2
[[outer]]
[[outer.inner]]
v = 3
[outer.table]
w = 4

[frontend."my site"]
bind = [":80"]
`
	want := map[string]int{
		"top":                                2,
		"dotted":                             3,
		"dotted.key":                         3,
		"multi":                              4,
		"lit":                                8,
		"esc":                                11,
		`"quoted key"`:                       12,
		"ab":                                 13,
		"when":                               14,
		"arr":                                15,
		"arr[0]":                             16,
		"arr[1]":                             17,
		"arr[1][1]":                          17,
		"arr[2]":                             18,
		"arr[2].k":                           18,
		"frontend":                           21,
		"frontend.web":                       21,
		"frontend.web.bind":                  22,
		"frontend.web.bind[0]":               22,
		"frontend.web.bind[1]":               23,
		"frontend.web.route":                 25,
		"frontend.web.route[0]":              25,
		"frontend.web.route[0].backend":      26,
		"frontend.web.route[1]":              28,
		"frontend.web.route[1].backend":      29,
		"frontend.web.route[1].inline.b.c":   30,
		"frontend.web.route[1].inline.b.c.d": 30,
		"outer[0]":                           32,
		"outer[0].inner[0].v":                34,
		"outer[0].inner[1]":                  35,
		"outer[0].inner[1].v":                36,
		"outer[1]":                           37,
		"outer[1].inner[0].v":                39,
		"outer[1].table.w":                   41,
		`frontend."my site".bind`:            44,
	}
	if _, err := toml.Decode(src, new(map[string]any)); err != nil {
		t.Fatalf("test input is not valid TOML: %v", err)
	}
	got := indexLines(src)
	for path, line := range want {
		if got[path] != line {
			t.Errorf("line of %s = %d; want %d", path, got[path], line)
		}
	}
	for _, path := range []string{"not", "not.a.table", "x", "outer[0].table", "frontend.web.route[2]"} {
		if line, ok := got[path]; ok {
			t.Errorf("line of %s = %d; want none", path, line)
		}
	}
}

func TestParentKey(t *testing.T) {
	tests := []struct{ path, want string }{
		{"a.b[1].c", "a.b[1]"},
		{"a.b[1]", "a.b"},
		{"a.b", "a"},
		{"a", ""},
		{"", ""},
		{`frontend."my.site"`, "frontend"},
		{`frontend."a\"b.c"`, "frontend"},
		{`"x.y"`, ""},
		{`backend."a[0]".server[2]`, `backend."a[0]".server`},
	}
	for _, tt := range tests {
		if got := parentKey(tt.path); got != tt.want {
			t.Errorf("parentKey(%q) = %q; want %q", tt.path, got, tt.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	keys := []string{"name", "address", "weight", "backup", "maxconn"}
	tests := []struct{ key, want string }{
		{"wieght", `; did you mean "weight"?`},
		{"adress", `; did you mean "address"?`},
		{"MaxConn", `; did you mean "maxconn"?`},
		{"check", ""},
		{"n", ""},
	}
	for _, tt := range tests {
		if got := didYouMean(tt.key, keys); got != tt.want {
			t.Errorf("didYouMean(%q) = %q; want %q", tt.key, got, tt.want)
		}
	}
}

// FuzzIndexLines checks the line scanner against the TOML parser: every
// key path of a document the parser accepts must have a line, and no line
// may be past the end of the input.
//
//	go test ./config -run '^$' -fuzz FuzzIndexLines -fuzztime 1m
func FuzzIndexLines(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.toml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("a = [{b = '''\n'''}, [\"\"\"\n\"\"\"]]\n[[c.d]]\n[c.d.e]\nf.g = 1979-05-27 07:32:00Z\n")
	f.Fuzz(func(t *testing.T, src string) {
		var doc map[string]any
		if _, err := toml.Decode(src, &doc); err != nil {
			return
		}
		lines := indexLines(src)
		last := strings.Count(src, "\n") + 1
		var walk func(path string, v any)
		walk = func(path string, v any) {
			if line, ok := lines[path]; !ok || line < 1 || line > last {
				t.Fatalf("line of %s = %d, %v; want one in 1..%d\ninput:\n%s", path, line, ok, last, src)
			}
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					walk(joinKey(path, k), e)
				}
			case []map[string]any:
				for i, e := range v {
					walk(indexKey(path, i), e)
				}
			case []any:
				for i, e := range v {
					walk(indexKey(path, i), e)
				}
			}
		}
		for k, v := range doc {
			walk(joinKey("", k), v)
		}
	})
}
