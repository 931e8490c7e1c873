package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesLoad: every shipped example passes `lb -c -f`.
func TestExamplesLoad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.toml"))
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		var out, errOut bytes.Buffer
		if code := run([]string{"-c", "-f", f}, &out, &errOut, nil, nil); code != 0 || out.String() != "configuration is valid\n" {
			t.Errorf("lb -c -f %s: exit %d, stdout %q, stderr %q; want 0 and \"configuration is valid\"", f, code, out.String(), errOut.String())
		}
	}
}

// TestBenchConfigLoads: the shared benchmark config keeps loading.
func TestBenchConfigLoads(t *testing.T) {
	f := filepath.Join("..", "..", "..", "shared", "bench", "lb-bench.toml")
	var out, errOut bytes.Buffer
	code := run([]string{"-c", "-f", f}, &out, &errOut, nil, nil)
	if strings.Contains(errOut.String(), "no such file") {
		t.Skip("shared/ is not beside the checkout")
	}
	if code != 0 {
		t.Errorf("lb -c -f %s: exit %d, %s", f, code, errOut.String())
	}
}

// TestCheckReportsEveryProblem: `lb -c` exits 1 and prints each problem
// with its key path and line.
func TestCheckReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	writeFile(t, path, `[frontend.web]
bind = ["127.0.0.1:80"]
default_backend = "nope"
colour = "blue"

[backend.app]
[[backend.app.server]]
name = "a"
address = "10.0.0.1"
`)
	var out, errOut bytes.Buffer
	code := run([]string{"-c", "-f", path}, &out, &errOut, nil, nil)
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	for _, want := range []string{"frontend.web.colour", "(line 4)", "frontend.web.default_backend", "(line 3)", "backend.app.server[0].address", "(line 9)"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"-v"}, &out, &out, nil, nil); code != 0 || !strings.HasPrefix(out.String(), "lb ") {
		t.Errorf("lb -v: exit %d, %q", code, out.String())
	}
}

// TestBadConfigRefusedAtStart: lb -f with an invalid file exits 1 without
// listening.
func TestBadConfigRefusedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	writeFile(t, path, "[global]\nmaxconn = \"lots\"\n")
	var out, errOut bytes.Buffer
	if code := run([]string{"-f", path}, &out, &errOut, nil, nil); code != 1 || !strings.Contains(errOut.String(), "global.maxconn") {
		t.Errorf("exit %d, stderr %q; want 1 naming global.maxconn", code, errOut.String())
	}
}
