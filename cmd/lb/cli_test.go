package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if code := run([]string{"-v"}, &out, &out, nil, nil); code != 0 || !strings.HasPrefix(out.String(), "lb ") || strings.Contains(out.String(), "(devel)") {
		t.Errorf("lb -v: exit %d, %q; want a real version, not (devel)", code, out.String())
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

// TestTLSMissingCertRefused: a tls table whose certificate file is missing
// makes `lb -c` and a start both exit 1, naming the entry and its line,
// before anything listens.
func TestTLSMissingCertRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tls.toml")
	writeFile(t, path, `[frontend.web]
bind = ["127.0.0.1:0"]
default_backend = "app"

[frontend.web.tls]
cert = ["/etc/lb/web.pem"]

[backend.app]
[[backend.app.server]]
name = "a"
address = "127.0.0.1:9"
`)
	const want = "frontend.web.tls.cert[0]: open /etc/lb/web.pem: no such file or directory (line 6)\n"

	var out, errOut bytes.Buffer
	if code := run([]string{"-c", "-f", path}, &out, &errOut, nil, nil); code != 1 || errOut.String() != want {
		t.Errorf("lb -c -f %s: exit %d, stdout %q, stderr %q; want 1 and %q", path, code, out.String(), errOut.String(), want)
	}

	// Started: a build that accepts the file listens; then ready stops it
	// at once so that the test ends and reports it.
	var stdout, stderr syncBuffer
	sig := make(chan os.Signal, 1)
	done := make(chan int, 1)
	listened := make(chan struct{}, 1)
	go func() {
		done <- run([]string{"-f", path}, &stdout, &stderr, sig, func(*instance) {
			listened <- struct{}{}
			sig <- syscall.SIGTERM
		})
	}()
	select {
	case code := <-done:
		if code != 1 || stderr.String() != want || len(listened) != 0 {
			t.Errorf("lb -f %s: exit %d, listened %v, stderr %q; want 1, no listener and %q", path, code, len(listened) != 0, stderr.String(), want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("lb -f %s did not exit; stderr %q", path, stderr.String())
	}
}
