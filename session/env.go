package session

import (
	"context"
	"net"
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

	ctx    context.Context // cancelled by Kill; bounds dials
	kill   context.CancelFunc
	killed atomic.Bool    // Kill ran: sessions that attach later end at once
	active sync.WaitGroup // sessions in progress

	regMu    sync.Mutex
	sessions map[*Session]struct{} // sessions attached to a loop; guarded by regMu

	draining atomic.Bool // set by Drain: transactions end with Connection: close

	pools sync.Map     // Loop -> *idlePool
	idle  atomic.Int64 // atomic: pooled idle server connections; read by the metrics collector

	current atomic.Int64 // atomic: sessions in progress, all frontends

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
		ctx: ctx, kill: cancel, sessions: map[*Session]struct{}{}}
}

// Kill ends every session in progress (termination cause K: an HTTP
// request still waiting for its response head gets a 503) and makes
// sessions that attach later end at once. Used at the end of
// hard_stop_after. Safe to call twice.
func (e *Env) Kill() {
	e.killed.Store(true)
	e.kill()
	e.onEverySession((*Session).killNow)
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

// onEverySession runs f on the loop of every attached session.
func (e *Env) onEverySession(f func(*Session)) {
	e.regMu.Lock()
	list := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		list = append(list, s)
	}
	e.regMu.Unlock()
	for _, s := range list {
		_ = s.loop.Execute(func() { f(s) })
	}
}

// register records a session attached to a loop, so Kill and Drain find
// it; unregister forgets it. Loop only (the session's).
func (e *Env) register(s *Session) {
	e.regMu.Lock()
	e.sessions[s] = struct{}{}
	e.regMu.Unlock()
}

func (e *Env) unregister(s *Session) {
	e.regMu.Lock()
	delete(e.sessions, s)
	e.regMu.Unlock()
}

// Wait blocks until no session is in progress.
func (e *Env) Wait() { e.active.Wait() }

// Current returns the number of sessions in progress.
func (e *Env) Current() int64 { return e.current.Load() }
