package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSRefused: a frontend with a [frontend.NAME.tls] table is refused
// (issue 8; spec 8) until TLS termination exists: `lb -c` and a start both
// exit 1 and name the table and its line. It used to be accepted, and
// served plain HTTP on the port meant for TLS.
func TestTLSRefused(t *testing.T) {
	cfg := `[frontend.plain]
bind = ["127.0.0.1:0"]
mode = "http"
default_backend = "app"

[frontend.secure]
bind = ["127.0.0.1:0"]
mode = "http"
default_backend = "app"

[frontend.secure.tls]
cert = ["/etc/lb/example.com.pem"]

[backend.app]
[[backend.app.server]]
name = "a"
address = "127.0.0.1:1"
`
	line := strings.Count(cfg[:strings.Index(cfg, "[frontend.secure.tls]")], "\n") + 1
	want := fmt.Sprintf("frontend.secure.tls: TLS termination is not available yet (line %d)", line)
	path := filepath.Join(t.TempDir(), "tls.toml")
	writeFile(t, path, cfg)

	var out, errOut bytes.Buffer
	if code := run([]string{"-c", "-f", path}, &out, &errOut, nil, nil); code != 1 || !strings.Contains(errOut.String(), want) {
		t.Errorf("lb -c: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out.String(), errOut.String(), want)
	}

	sig := make(chan os.Signal, 1)
	done := make(chan int, 1)
	started := make(chan struct{}, 1)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	go func() {
		done <- run([]string{"-f", path}, stdout, stderr, sig, func(*instance) { started <- struct{}{} })
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), want) {
			t.Errorf("lb -f: exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), want)
		}
	case <-started:
		t.Errorf("lb -f started serving a frontend with a tls table; want exit 1 and %q", want)
		sig <- sigTERM
		<-done
	case <-time.After(guard):
		t.Fatal("lb -f neither started nor exited")
	}
}
