package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain: with LB_RUN_AS_LB=1 in its environment the test binary is lb
// itself, so that a test can run lb as a separate process (execLB)
// without building it.
func TestMain(m *testing.M) {
	if os.Getenv("LB_RUN_AS_LB") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// lbProcess is lb running as a process of its own.
type lbProcess struct {
	fe, admin string // the frontend's and the admin listener's addresses
	cmd       *exec.Cmd
	out       *syncBuffer // its stdout and stderr
}

// execLB runs cfg (with one frontend "fe" on "127.0.0.1:0" and an admin
// listener on "127.0.0.1:0", which get free ports) in a new lb process,
// waits until it listens, and stops it with SIGTERM at the test's end.
func execLB(t *testing.T, cfg string) *lbProcess {
	t.Helper()
	p := &lbProcess{fe: fmt.Sprintf("127.0.0.1:%d", freePort(t)), admin: fmt.Sprintf("127.0.0.1:%d", freePort(t)), out: &syncBuffer{}}
	cfg = strings.Replace(cfg, `bind = "127.0.0.1:0"`, fmt.Sprintf("bind = %q", p.admin), 1)
	cfg = strings.Replace(cfg, `bind = ["127.0.0.1:0"]`, fmt.Sprintf("bind = [%q]", p.fe), 1)
	path := filepath.Join(t.TempDir(), "lb.toml")
	writeFile(t, path, cfg)
	p.cmd = exec.Command(os.Args[0], "-f", path)
	p.cmd.Env = append(os.Environ(), "LB_RUN_AS_LB=1")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("lb process did not stop:\n%s", p.out.String())
		}
	})
	waitFor(t, "the lb process to listen", func() bool { return strings.Contains(p.out.String(), `"event":"ready"`) })
	return p
}
