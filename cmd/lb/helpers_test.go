package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session"
)

// syncBuffer is an io.Writer safe for the concurrent writers of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines decodes the JSON lines written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// lbProc is an lb started in-process through run().
type lbProc struct {
	inst   *instance
	stdout *syncBuffer // access log
	stderr *syncBuffer // events
	sig    chan os.Signal
	done   chan int // exit status
	path   string   // the config file
}

// startLB writes cfg to a file and runs lb on it until the test ends.
func startLB(t testing.TB, cfg string) *lbProc {
	t.Helper()
	return startLBWith(t, cfg, runOptions{})
}

// startLBClock is startLB with every session timeout driven by clock
// (a sessiontest.Clock the test advances by hand).
func startLBClock(t testing.TB, cfg string, clock session.Clock) *lbProc {
	t.Helper()
	return startLBWith(t, cfg, runOptions{clock: clock})
}

// startLBWith is startLB with test options.
func startLBWith(t testing.TB, cfg string, opts runOptions) *lbProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lb.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &lbProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, sig: make(chan os.Signal, 1), done: make(chan int, 1), path: path}
	ready := make(chan *instance, 1)
	go func() {
		p.done <- runWith([]string{"-f", path}, p.stdout, p.stderr, p.sig, func(i *instance) { ready <- i }, opts)
	}()
	select {
	case p.inst = <-ready:
	case code := <-p.done:
		t.Fatalf("lb exited with %d before listening:\n%s", code, p.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("lb did not start")
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM (once) and waits for the exit status.
func (p *lbProc) stop(t testing.TB) int {
	t.Helper()
	select {
	case p.sig <- syscall.SIGTERM:
	default:
	}
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(20 * time.Second):
		t.Fatal("lb did not stop")
		return -1
	}
}

// addr returns the first bound address of frontend fe.
func (p *lbProc) addr(fe string) string {
	return p.inst.addrs(fe)[0].String()
}

// waitLog polls the access log until a line satisfies ok.
func (p *lbProc) waitLog(t *testing.T, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range p.stdout.lines(t) {
			if ok(l) {
				return l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no access log line matched; log:\n%s", p.stdout.String())
	return nil
}

// server is a TCP server written in the test.
type server struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open []net.Conn
}

// startServer serves every connection with h on 127.0.0.1:0.
func startServer(t testing.TB, h func(net.Conn)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, h)
}

func serveOn(t testing.TB, ln net.Listener, h func(net.Conn)) *server {
	s := &server{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				h(c)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

// close stops accepting and closes every connection.
func (s *server) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// nameServer answers every connection with its name and closes.
func nameServer(name string) func(net.Conn) {
	return func(c net.Conn) { io.WriteString(c, name) }
}

// echo copies everything back until EOF, then half-closes.
func echo(c net.Conn) {
	io.Copy(c, c)
	c.(*net.TCPConn).CloseWrite()
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// dial connects to addr or fails the test.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readAll reads until EOF (bounded by a generous deadline).
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q so far)", err, b)
	}
	return string(b)
}

var sigTERM = syscall.SIGTERM

// blackhole returns a loopback address whose SYNs go unanswered: a socket
// listening with a full accept queue that nobody accepts from. The test is
// skipped where the kernel still completes handshakes.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Skip("kernel completes handshakes beyond the accept queue; no blackhole available")
	}
	return addr
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reload rewrites the config file, sends SIGHUP and waits for the outcome
// event; it returns "reloaded" or "reload_failed".
func (p *lbProc) reload(t *testing.T, cfg string) string {
	t.Helper()
	writeFile(t, p.path, cfg)
	before := strings.Count(p.stderr.String(), `"event":"reload`)
	p.sig <- syscall.SIGHUP
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ev := p.stderr.lines(t)
		n := 0
		for _, l := range ev {
			if e, _ := l["event"].(string); e == "reloaded" || e == "reload_failed" {
				if n++; n > before {
					return e
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no reload outcome logged:\n%s", p.stderr.String())
	return ""
}
