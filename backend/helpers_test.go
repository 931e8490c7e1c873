package backend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
	"github.com/rs/zerolog"
)

// waitFor is the generous deadline for anything asynchronous. Tests never
// assert on speed; they only give up after this long.
const waitFor = 10 * time.Second

// srv describes one server for backendConfig.
type srv struct {
	name    string
	addr    string // "" = 127.0.0.1:1 (never dialled without health checks)
	weight  int
	backup  bool
	maxconn int
}

// backendConfig builds a fully defaulted config.Backend by hand, as the
// loader would hand it over.
func backendConfig(balance string, health *config.Health, servers ...srv) *config.Backend {
	cfg := &config.Backend{
		Name:       "be",
		Balance:    balance,
		Retries:    3,
		Redispatch: true,
		Timeout: config.Timeouts{
			Connect:       config.Duration{Duration: 5 * time.Second},
			Client:        config.Duration{Duration: 30 * time.Second},
			Server:        config.Duration{Duration: 30 * time.Second},
			HTTPRequest:   config.Duration{Duration: 10 * time.Second},
			HTTPKeepAlive: config.Duration{Duration: 5 * time.Second},
			Queue:         config.Duration{Duration: 5 * time.Second},
			Tunnel:        config.Duration{Duration: time.Hour},
		},
		Health: health,
	}
	for _, s := range servers {
		addr := s.addr
		if addr == "" {
			addr = "127.0.0.1:1"
		}
		cfg.Server = append(cfg.Server, &config.Server{
			Name:    s.name,
			Address: addr,
			Weight:  s.weight,
			Backup:  s.backup,
			MaxConn: s.maxconn,
		})
	}
	return cfg
}

// healthConfig is a [health] table with short intervals and a timeout long
// enough that a slow machine never turns a pass into L4TOUT.
func healthConfig(rise, fall int) *config.Health {
	return &config.Health{
		Kind:     "tcp",
		Path:     "/",
		Interval: config.Duration{Duration: 20 * time.Millisecond},
		Timeout:  config.Duration{Duration: waitFor},
		Rise:     rise,
		Fall:     fall,
	}
}

func mustNew(t *testing.T, cfg *config.Backend, opts backend.Options) *backend.Backend {
	t.Helper()
	b, err := backend.New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(b.Stop)
	return b
}

// newBackend builds a backend without health checks.
func newBackend(t *testing.T, balance string, servers ...srv) *backend.Backend {
	t.Helper()
	return mustNew(t, backendConfig(balance, nil, servers...), backend.Options{})
}

// weighted returns servers a, b, c... with the given weights.
func weighted(weights ...int) []srv {
	out := make([]srv, len(weights))
	for i, w := range weights {
		out[i] = srv{name: string(rune('a' + i)), weight: w}
	}
	return out
}

// pickRelease acquires and immediately releases, returning the server name.
func pickRelease(t *testing.T, b *backend.Backend, key uint64, exclude *backend.Server) string {
	t.Helper()
	s, err := b.Acquire(key, exclude, nil)
	if err != nil {
		t.Fatalf("Acquire(%d): %v", key, err)
	}
	s.Release()
	return s.Name()
}

// mustAcquire acquires and keeps the slot.
func mustAcquire(t *testing.T, b *backend.Backend, key uint64) *backend.Server {
	t.Helper()
	s, err := b.Acquire(key, nil, nil)
	if err != nil {
		t.Fatalf("Acquire(%d): %v", key, err)
	}
	return s
}

func server(t *testing.T, b *backend.Backend, name string) *backend.Server {
	t.Helper()
	s := b.Server(name)
	if s == nil {
		t.Fatalf("no server %q", name)
	}
	return s
}

// recWaiter is a Waiter that records its Ready calls.
type recWaiter struct {
	backend.Waiter
	calls atomic.Int32
	got   chan *backend.Server
}

func newWaiter() *recWaiter {
	w := &recWaiter{got: make(chan *backend.Server, 4)}
	w.Ready = func(s *backend.Server) {
		w.calls.Add(1)
		w.got <- s
	}
	return w
}

// ptr returns the Waiter to pass to Acquire.
func (w *recWaiter) ptr() *backend.Waiter { return &w.Waiter }

// wait returns the server Ready delivered, failing after waitFor.
func (w *recWaiter) wait(t *testing.T) *backend.Server {
	t.Helper()
	select {
	case s := <-w.got:
		return s
	case <-time.After(waitFor):
		t.Fatalf("Ready not called within %v", waitFor)
		return nil
	}
}

// eventually polls cond until it holds or waitFor elapses.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitFor, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// listener is a real TCP server on 127.0.0.1 that accepts and closes.
type listener struct {
	ln   net.Listener
	done chan struct{}
}

// listen listens on addr ("127.0.0.1:0" for a fresh port).
func listen(t *testing.T, addr string) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	l := &listener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(l.close)
	return l
}

func (l *listener) addr() string { return l.ln.Addr().String() }

// close closes the listener and waits for its accept loop. Idempotent.
func (l *listener) close() {
	l.ln.Close()
	<-l.done
}

// closedPort returns an address on which nothing listens (for now).
func closedPort(t *testing.T) string {
	t.Helper()
	l := listen(t, "127.0.0.1:0")
	addr := l.addr()
	l.close()
	return addr
}

// gate is a Dial hook that parks every check attempt until the test lets
// it through, so the test sees the state between two attempts exactly.
type gate struct {
	arrive   chan string
	proceed  chan struct{}
	attempts atomic.Int64
}

func newGate() *gate {
	return &gate{arrive: make(chan string), proceed: make(chan struct{})}
}

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	g.attempts.Add(1)
	select {
	case g.arrive <- addr:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-g.proceed:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// next waits for the next attempt to be parked at the gate. When it
// returns, the previous attempt's result has been applied (a server's
// checks are sequential).
func (g *gate) next(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrive:
	case <-time.After(waitFor):
		t.Fatalf("no check attempt within %v", waitFor)
	}
}

// pass lets the parked attempt dial.
func (g *gate) pass() { g.proceed <- struct{}{} }

// countingDialer counts attempts per address and dials for real.
type countingDialer struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[addr]++
	c.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (c *countingDialer) count(addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[addr]
}

// logBuffer is a goroutine-safe zerolog sink whose events tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) logger() zerolog.Logger { return zerolog.New(l).Level(zerolog.DebugLevel) }

// events returns the decoded log lines whose "event" field is name.
func (l *logBuffer) events(t *testing.T, name string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}
