package session

import (
	"context"
	"hash/fnv"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// Conn is what a session needs from a connection: a stream socket that can
// half-close and expose its descriptor for splice. *net.TCPConn is one.
type Conn interface {
	net.Conn
	CloseWrite() error
	SyscallConn() (syscall.RawConn, error)
}

// Dialer opens server connections. Dial must give up after timeout (0 = no
// limit of its own) or when ctx ends.
type Dialer interface {
	Dial(ctx context.Context, addr string, timeout time.Duration) (Conn, error)
}

// NetDialer is the real Dialer: TCP through the kernel.
type NetDialer struct{}

// Dial connects with a net.Dialer bounded by timeout.
func (NetDialer) Dial(ctx context.Context, addr string, timeout time.Duration) (Conn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// Env is what every session of a process shares: clock, dialer, pipe pool,
// access log, and the stop machinery. Build it with NewEnv.
type Env struct {
	Clock     Clock
	Dialer    Dialer
	Pipes     *PipePool
	AccessLog zerolog.Logger // one line per session; zerolog.Nop() when off

	// Loops, when set, carries connected TCP sessions on event loops
	// (see loop.go); nil keeps every session on pump goroutines.
	Loops Loops

	ctx    context.Context // cancelled by Kill; bounds dials
	kill   context.CancelFunc
	active sync.WaitGroup // sessions in progress

	loopMu       sync.Mutex
	loopSessions map[*Session]struct{} // sessions on an event loop; guarded by loopMu

	draining atomic.Bool // set by Drain: HTTP sessions close after their current response

	pools sync.Map     // Loop -> *idlePool
	idle  atomic.Int64 // atomic: pooled idle server connections; read by the metrics collector

	current atomic.Int64 // atomic: sessions in progress, all frontends

	// attachQ holds the HTTP sessions accepted but not yet on an event
	// loop, for a few long-lived attach workers (a goroutine per session
	// would pay for its creation and stack growth every time). It is
	// bounded (HAProxy's tune.maxaccept): past it the accept goroutine
	// waits, and new clients wait in the kernel's backlog.
	attachQ       chan *Session
	attachWorkers atomic.Int32
}

// Attach workers: at most maxAttachWorkers, each leaving after
// attachIdle without work; maxAttachQueue sessions wait for them.
const (
	maxAttachWorkers = 16
	maxAttachQueue   = 64
	attachIdle       = 10 * time.Second
)

// startHTTP hands a new HTTP session to an attach worker: a queued
// session waits for a running worker; if none runs, or the queue is full,
// a worker starts (up to maxAttachWorkers); past that the caller (the
// accept goroutine) waits for room in the queue.
func (e *Env) startHTTP(s *Session) {
	if e.attachWorkers.Load() > 0 {
		select {
		case e.attachQ <- s:
			// A worker that was leaving as s arrived may have missed it:
			// then no worker runs now, and one must start.
			if e.attachWorkers.Load() == 0 {
				e.spawnAttachWorker(nil)
			}
			return
		default:
		}
	}
	if !e.spawnAttachWorker(s) {
		e.attachQ <- s
		if e.attachWorkers.Load() == 0 {
			e.spawnAttachWorker(nil)
		}
	}
}

// spawnAttachWorker starts a worker on s (nil: on the queue alone) unless
// maxAttachWorkers run.
func (e *Env) spawnAttachWorker(s *Session) bool {
	for {
		n := e.attachWorkers.Load()
		if n >= maxAttachWorkers {
			return false
		}
		if e.attachWorkers.CompareAndSwap(n, n+1) {
			go e.attachWorker(s)
			return true
		}
	}
}

// attachWorker runs s, then sessions from attachQ, until it has been idle
// for attachIdle or the Env is killed.
func (e *Env) attachWorker(s *Session) {
	idle := time.NewTimer(attachIdle)
	defer idle.Stop()
	for {
		if s != nil {
			s.run()
		}
		idle.Reset(attachIdle)
		select {
		case s = <-e.attachQ:
			continue
		case <-idle.C:
		case <-e.ctx.Done():
		}
		// Leaving: first stop counting, then look once more, so that a
		// session queued meanwhile is either seen here or by startHTTP.
		e.attachWorkers.Add(-1)
		select {
		case s = <-e.attachQ:
			e.attachWorkers.Add(1)
		default:
			return
		}
	}
}

// NewEnv returns an Env; nil fields of o get real defaults.
func NewEnv(clock Clock, dialer Dialer, pipes *PipePool, accessLog zerolog.Logger) *Env {
	if clock == nil {
		clock = SystemClock{}
	}
	if dialer == nil {
		dialer = NetDialer{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Env{Clock: clock, Dialer: dialer, Pipes: pipes, AccessLog: accessLog, ctx: ctx, kill: cancel,
		attachQ: make(chan *Session, maxAttachQueue)}
}

// Kill aborts every session in progress (termination cause K) and makes new
// ones end at once. Used at the end of hard_stop_after. Safe to call twice.
func (e *Env) Kill() {
	e.kill()
	e.onEveryLoopSession(func(s *Session) { s.abortLoop(Term{CauseKilled, PhaseData}, nil) })
}

// onEveryLoopSession runs f on the loop of every session now on an event
// loop (pump sessions watch e.ctx instead).
func (e *Env) onEveryLoopSession(f func(*Session)) {
	e.loopMu.Lock()
	list := make([]*Session, 0, len(e.loopSessions))
	for s := range e.loopSessions {
		list = append(list, s)
	}
	e.loopMu.Unlock()
	for _, s := range list {
		_ = s.loop.Execute(func() { f(s) })
	}
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
		e.onEveryLoopSession((*Session).closeIfIdle)
	}
}

// register records a session that went onto an event loop, so Kill finds
// it; unregister forgets it.
func (e *Env) register(s *Session) {
	e.loopMu.Lock()
	if e.loopSessions == nil {
		e.loopSessions = map[*Session]struct{}{}
	}
	e.loopSessions[s] = struct{}{}
	e.loopMu.Unlock()
	if e.ctx.Err() != nil {
		_ = s.loop.Execute(func() { s.abortLoop(Term{CauseKilled, PhaseData}, nil) })
	}
}

func (e *Env) unregister(s *Session) {
	e.loopMu.Lock()
	delete(e.loopSessions, s)
	e.loopMu.Unlock()
}

// atomicStamp is a unix-nanosecond instant written by one goroutine and read
// by others.
type atomicStamp = atomic.Int64

// Wait blocks until no session is in progress.
func (e *Env) Wait() { e.active.Wait() }

// Current returns the number of sessions in progress.
func (e *Env) Current() int64 { return e.current.Load() }

// Target is a backend as sessions see it: its servers and its settings.
type Target struct {
	BE  *backend.Backend
	Cfg *config.Backend
}

// Frontend is the runtime form of one frontend, shared by its sessions and
// immutable once built (a reload builds a new one).
type Frontend struct {
	Name     string
	Mode     config.Mode
	Timeouts config.Timeouts // client-side timeouts are read from here
	Default  *Target         // default_backend
	Env      *Env
	// RouteRules and Routes are the HTTP routes, in order: a request that
	// matches RouteRules[i] goes to Routes[i].
	RouteRules []analyzer.Route
	Routes     []*Target
	// ReqRules and ResRules are the http_request / http_response rules.
	ReqRules, ResRules []analyzer.Rule
	// Which forwarding fields HTTP mode adds to requests.
	ForwardedFor, ForwardedProto, Forwarded bool
	// Limits bounds request heads (zero fields: analyzer's defaults);
	// MaxBody bounds request bodies (0: no bound), 413 beyond it.
	Limits  analyzer.Limits
	MaxBody int64

	SessionsTotal   atomic.Int64 // atomic: read by the metrics collector
	SessionsCurrent atomic.Int64 // atomic: read by the metrics collector
	BytesIn         atomic.Int64 // atomic: client-to-server bytes
	BytesOut        atomic.Int64 // atomic: server-to-client bytes
	HTTPRequests    atomic.Int64 // atomic: HTTP requests received (parsed or refused)
	HTTPResponses   backend.ResponseCodes
}

// State is where a session is in its life. Transitions:
//
//	Accepted -> Queued       all usable servers are full (maxconn)
//	Accepted -> Connecting   a server slot was granted at once
//	Queued -> Connecting     a slot was handed over
//	Connecting -> Connecting a retry (same server, or another on redispatch)
//	Connecting -> Forwarding the server accepted the connection; the
//	                         channels forward on an event loop, then (on
//	                         bulk, back-pressure or half-close) on pumps
//	any -> Closed            end, error, timeout or kill
type State uint8

// The states.
const (
	StateAccepted State = iota
	StateQueued
	StateConnecting
	StateForwarding
	StateClosed
	stateEnd
)

var stateNames = [...]string{
	StateAccepted:   "accepted",
	StateQueued:     "queued",
	StateConnecting: "connecting",
	StateForwarding: "forwarding",
	StateClosed:     "closed",
}

// String names the state.
func (st State) String() string {
	if st < stateEnd {
		return stateNames[st]
	}
	return "state(?)"
}

// Session is one client connection's life. Its fields are owned by one
// goroutine at a time: the session goroutine while connecting, then the
// event loop (loop mode), then again a session goroutine after a hand-off;
// each passes ownership with a happens-before edge. The activity stamps and
// byte counters are atomic: pump goroutines update them.
type Session struct {
	fe     *Frontend
	target *Target
	fc, bc Conn
	client net.Addr // the client's address, as accepted
	srv    *backend.Server
	state  State
	term   Term

	accepted     time.Time
	tw, tc       time.Duration // time queued, time connecting (all attempts)
	connected    bool
	retries      int
	redispatched bool

	fcAct, bcAct atomicStamp // unix ns of the last byte moved on fc / bc
	req, res     pump

	release func() // returns the listener's slots

	// Loop mode (loop.go); owned by the event loop.
	ends      [2]end
	loop      Loop     // the front's loop, once attached
	loopTimer Timer    // the single timeout timer
	handedOff bool     // moved to pumps; the loop no longer owns s
	ended     bool     // finished on the loop
	cur       LoopConn // the connection whose callback is running, if any
	tnow      int64    // the time read in the running callback, 0 outside

	http      *httpTxn // HTTP state; nil in TCP mode, once tunnelling, and while parked
	httpOn    bool     // an HTTP session on its loop (not tunnelling)
	nreq      int      // while parked: transactions so far
	idleSince int64    // while parked: when the last one ended (unix ns)
	tunnelled bool     // an HTTP session that switched protocols
	reattach  bool     // coming back onto the loop after a hand-off
	carry     []byte   // client input kept over a hand-off (see inPeek)
}

// Start starts a session on fc, on a goroutine the session owns, and
// returns at once; release is called once fc is closed (it returns the
// listener's connection slots). The session is counted before Start
// returns, so Env.Wait called afterwards waits for it.
func (f *Frontend) Start(fc Conn, release func()) {
	f.Env.active.Add(1)
	s := &Session{fe: f, target: f.Default, fc: fc, client: fc.RemoteAddr(), accepted: f.Env.Clock.Now(), release: release}
	for i := range s.ends {
		s.ends[i] = end{s: s, side: side(i), fd: -1}
	}
	if f.Mode == config.ModeHTTP && f.Env.Loops != nil && f.Env.attachQ != nil {
		f.Env.startHTTP(s)
		return
	}
	go s.run()
}

// run is the session goroutine's body until the session is connected and
// attached to an event loop (which then owns it), or until it ends.
func (s *Session) run() {
	f, env := s.fe, s.fe.Env
	env.current.Add(1)
	f.SessionsTotal.Add(1)
	f.SessionsCurrent.Add(1)
	if f.Mode == config.ModeHTTP && env.Loops != nil {
		s.runHTTP()
		return
	}
	if !s.connect() {
		s.finish()
		return
	}
	s.state = StateForwarding
	if env.Loops != nil {
		onLoop, err := env.Loops.Attach(s.fc, s.bc, &s.ends[sideFront], &s.ends[sideBack])
		if err == nil || onLoop {
			return // the loop owns s now; it finishes it
		}
		s.term = Term{CauseResource, PhaseData}
		s.finish()
		return
	}
	s.forward()
	s.finish()
}

// finish closes what is left, returns every slot, and writes the log line.
// It runs exactly once, on whichever goroutine owns the session at its end.
func (s *Session) finish() {
	f, env := s.fe, s.fe.Env
	s.state = StateClosed
	s.fc.Close()
	if s.bc != nil {
		s.bc.Close()
	}
	if s.srv != nil {
		s.srv.Release()
	}
	s.release()
	f.BytesIn.Add(s.req.bytes.Load())
	f.BytesOut.Add(s.res.bytes.Load())
	if s.fe.Mode != config.ModeHTTP {
		s.log() // HTTP mode logs each transaction instead (httpLog)
		s.observe(s.target, s.srv, s.tw, s.tc, 0, env.Clock.Now().Sub(s.accepted), s.tw > 0, s.connected, false)
	}
	f.SessionsCurrent.Add(-1)
	env.current.Add(-1)
	env.active.Done()
}

// sourceKey hashes the client's IP for balance = "source".
func sourceKey(a net.Addr) uint64 {
	h := fnv.New64a()
	if ta, ok := a.(*net.TCPAddr); ok {
		h.Write(ta.IP)
	} else {
		h.Write([]byte(a.String()))
	}
	return h.Sum64()
}

// observe records a finished TCP session or HTTP transaction in the
// backend's and server's counters and latency histograms; a phase that
// never happened (-1 in the log) is not observed.
func (s *Session) observe(t *Target, srv *backend.Server, tw, tc, tr, total time.Duration, queued, connected, responded bool) {
	if t == nil {
		return
	}
	bc := t.BE.Counters()
	observeIn(&bc.QueueTime, &bc.ConnectTime, &bc.ResponseTime, &bc.TotalTime, tw, tc, tr, total, queued, connected, responded)
	if srv != nil {
		sc := srv.Counters()
		observeIn(&sc.QueueTime, &sc.ConnectTime, &sc.ResponseTime, &sc.TotalTime, tw, tc, tr, total, queued, connected, responded)
	}
}

func observeIn(q, c, r, a *backend.Histogram, tw, tc, tr, total time.Duration, queued, connected, responded bool) {
	if queued {
		q.Observe(tw)
	}
	if connected {
		c.Observe(tc)
	}
	if responded {
		r.Observe(tr)
	}
	a.Observe(total)
}

// log writes the session's single access-log line.
func (s *Session) log() {
	ev := s.fe.Env.AccessLog.Info()
	if ev == nil {
		return
	}
	now := s.fe.Env.Clock.Now()
	tc := int64(-1)
	if s.connected {
		tc = s.tc.Milliseconds()
	}
	ev.Str("client", s.client.String()).
		Str("frontend", s.fe.Name).
		Str("mode", string(s.fe.Mode)).
		Str("backend", s.target.Cfg.Name)
	if s.srv != nil {
		ev.Str("server", s.srv.Name())
	} else {
		ev.Str("server", "<NOSRV>")
	}
	ev.Int64("Tw", s.tw.Milliseconds()).
		Int64("Tc", tc).
		Int64("Tt", now.Sub(s.accepted).Milliseconds()).
		Int64("bytes_in", s.req.bytes.Load()).
		Int64("bytes_out", s.res.bytes.Load()).
		Int64("bytes_spliced", s.req.spliced.Load()+s.res.spliced.Load()).
		Int("retries", s.retries).
		Bool("redispatched", s.redispatched).
		Str("term", s.term.String()).
		Send()
}
