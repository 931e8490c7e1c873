package session

import (
	"github.com/lb-proxy/lb/session/limit"

	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/lb-proxy/lb/backend"
	"golang.org/x/sys/unix"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/rs/zerolog"
)

// Conn is what a session needs from a connection outside the event loops:
// a stream socket that can half-close and expose its descriptor.
// *net.TCPConn is one.
type Conn interface {
	net.Conn
	CloseWrite() error
	SyscallConn() (syscall.RawConn, error)
}

// Dialer opens server connections. Dial must give up when ctx ends; the
// session cancels ctx at timeout.connect (on its own Clock), so a Dialer
// needs no timeout of its own.
type Dialer interface {
	Dial(ctx context.Context, addr string) (Conn, error)
}

// NetDialer is the real Dialer: TCP through the kernel.
type NetDialer struct{}

// Dial connects to addr until ctx ends.
func (NetDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// Env is what every session of one configuration generation shares: the
// event loops, clock, dialer, pipe pool, access log, idle server pools and
// the stop machinery. Build it with NewEnv.
type Env struct {
	Clock     Clock
	Dialer    Dialer
	Pipes     *PipePool
	AccessLog zerolog.Logger // one line per transaction (HTTP) or session (TCP); zerolog.Nop() when off
	// NoDialWatch and NoDialLook turn off two of the three ways a loop
	// dial's end is noticed (the watcher goroutine; the look right after
	// connect(2)), so that tests show the others work alone: a busy loop
	// completes its dials by its polls, an idle loop its loopback dials
	// by the look. Never set in production.
	NoDialWatch, NoDialLook bool
	// HandshakeSlots bounds the TLS handshakes computing at once, for
	// every TLS frontend (NewEnv makes GOMAXPROCS of them; lb gives every
	// configuration generation the process's one set).
	HandshakeSlots *HandshakeSlots

	ctx    context.Context // cancelled by Kill; bounds dials
	kill   context.CancelFunc
	killed atomic.Bool    // Kill ran: sessions that attach later end at once
	active sync.WaitGroup // sessions and TLS handshakes in progress

	draining atomic.Bool // set by Drain: transactions end with Connection: close

	locals sync.Map     // Loop -> *local: this Env's state on each loop
	idle   atomic.Int64 // atomic: pooled idle server connections; read by the metrics collector

	current atomic.Int64 // atomic: sessions in progress, all frontends

	// Limits are the generation's per-key limit tables; analyzer.Rule.Limit
	// indexes them (from 1). Their owner (lb) starts and stops them.
	Limits []*limit.Table

	// Proc are the process's counters (NewEnv makes a set; lb gives every
	// generation the process's one, so a reload resets nothing).
	Proc *ProcessCounters
}

// NewEnv returns an Env; nil clock, dialer mean the real ones.
func NewEnv(clock Clock, dialer Dialer, pipes *PipePool, accessLog zerolog.Logger) *Env {
	if clock == nil {
		clock = SystemClock{}
	}
	if dialer == nil {
		dialer = NetDialer{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Env{Clock: clock, Dialer: dialer, Pipes: pipes, AccessLog: accessLog,
		HandshakeSlots: NewHandshakeSlots(0), Proc: new(ProcessCounters), ctx: ctx, kill: cancel}
}

// Kill ends every session in progress (termination cause K: an HTTP
// request still waiting for its response head gets a 503) and makes
// sessions that attach later end at once. Used at the end of
// hard_stop_after. Safe to call twice.
func (e *Env) Kill() {
	e.killed.Store(true)
	e.kill()
	e.onEverySession((*Session).killNow)
	e.onEveryLoop(func(lo *local) {
		for h := range lo.handshakes {
			h.kill()
		}
	})
}

// Drain asks every HTTP session of this Env to close after its current
// response (it gets "Connection: close"); with closeIdle, sessions idle
// between two requests are closed at once (a graceful stop: CONFIG.md).
// A reload drains without closeIdle, so that no client racing a new
// request against the close sees an error; idle ones end at
// timeout.http_keep_alive, and everything at hard_stop_after.
func (e *Env) Drain(closeIdle bool) {
	e.draining.Store(true)
	if closeIdle {
		e.onEverySession((*Session).closeIfIdle)
	}
}

// local is an Env's state on one event loop, owned by that loop: the idle
// server pool, and the sessions running there (an intrusive list, so
// that Kill and Drain find them: no lock and no map entry per session).
type local struct {
	pool  idlePool
	first *Session

	// The connect attempts in progress on the loop (dial.go).
	dials []*loopDial
	polls int           // callbacks since the last poll of dials
	pfds  []unix.PollFd // pollDials' buffer
	ready []*loopDial   // pollDials' buffer

	// handshakes are the TLS handshakes in progress on the loop (Kill
	// ends them; each counts in Env.active until it ends).
	handshakes map[*handshake]struct{}

	// The loop's shards of the Env's limit tables (limits.go), made on
	// first use, and the scratch buffer of their keys.
	limits []*limit.Shard
	keyBuf []byte
}

// localFor returns the Env's state on loop l.
func (e *Env) localFor(l Loop) *local {
	if lo, ok := e.locals.Load(l); ok {
		return lo.(*local)
	}
	lo, _ := e.locals.LoadOrStore(l, &local{pool: idlePool{conns: map[*backend.Server][]*idleConn{}, env: e, loop: l}})
	return lo.(*local)
}

// onEverySession runs f, on their loops, on every session attached to one.
func (e *Env) onEverySession(f func(*Session)) {
	e.onEveryLoop(func(lo *local) {
		for s := lo.first; s != nil; {
			next := s.next
			f(s)
			s = next
		}
	})
}

// onEveryLoop runs f on each loop of the Env, with the Env's state there.
func (e *Env) onEveryLoop(f func(*local)) {
	e.locals.Range(func(_, v any) bool {
		lo := v.(*local)
		_ = lo.pool.loop.Execute(func() { f(lo) })
		return true
	})
}

// register records a session attached to a loop, so Kill and Drain find
// it; unregister forgets it. Loop only (the session's).
func (e *Env) register(s *Session) {
	lo := e.localFor(s.loop)
	s.lo = lo
	s.prev, s.next = nil, lo.first
	if lo.first != nil {
		lo.first.prev = s
	}
	lo.first = s
}

func (e *Env) unregister(s *Session) {
	lo := s.lo
	if s.prev != nil {
		s.prev.next = s.next
	} else if lo.first == s {
		lo.first = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	}
	s.prev, s.next = nil, nil
}

// Wait blocks until no session is in progress.
func (e *Env) Wait() { e.active.Wait() }

// Current returns the number of sessions in progress.
func (e *Env) Current() int64 { return e.current.Load() }

// requestID appends a new request ID to b: the process's random prefix and
// a counter, in hex (unique within the process, unlikely to repeat across
// processes; HAProxy's unique-id).
func (e *Env) requestID(b []byte) []byte {
	n := requestSeq.Add(1)
	b = append(b, requestPrefix[:]...)
	b = append(b, '-')
	return strconv.AppendUint(b, n, 16)
}

var (
	requestSeq    atomic.Uint64
	requestPrefix = func() (p [12]byte) {
		var r [6]byte
		_, _ = rand.Read(r[:])
		hex.Encode(p[:], r[:])
		return p
	}()
)

// ProcessCounters count what every generation's sessions do. atomic:
// written by the sessions; read by the metrics collector.
type ProcessCounters struct {
	// Handoffs counts sessions moved from a loop to the pumps; Reuses
	// requests sent on a pooled server connection; Dials new server
	// connection attempts (the reuse ratio is Reuses / (Reuses + Dials)).
	Handoffs, Reuses, Dials atomic.Int64
}
