package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lb-proxy/lb/config"
)

// FuzzParse checks that Parse never panics, that it returns either a
// configuration or an *Error, that every problem's line is inside the
// input, and that what it accepts passes Validate again.
//
//	go test ./config -run '^$' -fuzz FuzzParse -fuzztime 1m
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.toml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`a = """x
"""` + "\n[[b.c]]\nd = [1, {e = 2}]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("fuzz.toml", data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned nil, nil")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted the input but Validate says: %v", err)
			}
			return
		}
		if c != nil {
			t.Fatalf("Parse returned a config and an error: %v", err)
		}
		var cerr *config.Error
		if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
			t.Fatalf("Parse error %T %q; want an *Error with problems", err, err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range cerr.Problems {
			if p.Line < 0 || p.Line > lines+1 || p.Msg == "" {
				t.Fatalf("problem %+v: line outside 0..%d or empty message", p, lines+1)
			}
		}
	})
}
