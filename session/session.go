package session

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// Session is one client connection's life: the stream engine. Every field
// is owned by the session's event loop (doc.go) unless its comment says
// otherwise.
type Session struct {
	fe     *Frontend      // immutable
	env    *Env           // immutable (fe.Env)
	client netip.AddrPort // immutable: the client's address as accepted
	// clientStr is the client's IP address as the log writes it, made at
	// the first line.
	clientStr string
	// proxyTLV holds a received PROXY v2 header's ALPN and AUTHORITY TLVs
	// (for the log), nil without.
	proxyTLV *proxyTLVs
	// local is the address the client connected to (a PROXY header's
	// destination when one was read), for the PROXY header lb sends.
	local netip.AddrPort
	// proxy: a PROXY protocol header is due before anything else
	// (Frontend.ProxyFrom); HOLD until it is read (proxyHeader).
	proxy    bool
	accepted int64 // immutable: unix ns
	// release returns the listener's connection slots; finish calls it.
	release func()

	loop       Loop
	lo         *local   // the Env's state on loop (set with it, at the start)
	prev, next *Session // the Env's sessions on this loop (env.go: local)
	fc, bc     end      // the front (client) and back (server) ends
	req, res   channel  // client-to-server, server-to-client

	t    *txn // the current transaction; nil while an HTTP session is parked
	nreq int  // transactions started
	// idleSince is when the last transaction ended (or the session
	// started): http_keep_alive counts from it.
	idleSince int64

	exp     [numExpiries]int64 // absolute dates per purpose, unix ns; 0 = not armed (expiry.go)
	timer   Timer              // the single timer, armed at timerAt
	timerAt int64
	// onResume continues process after it yielded the loop (resuming: a
	// task is queued), bound at the first yield.
	onResume func()

	tnow   int64    // the time of the current event, read once (0 outside events)
	cur    LoopConn // the connection whose callback is running, if any
	linger int64    // the lingering close started at (0: not lingering)
	// waiter queues the session for a server slot, made at its first
	// wait. A waiter whose Ready is in flight (Cancel came too late) is
	// dropped, not reused: the backend may still read it; a new one is
	// made for the next wait.
	waiter *backend.Waiter
	// lim holds the session's connections on limit table entries, made
	// at the first (limits.go).
	lim *sessionLimits

	// The small fields, together (no padding between them).
	mode mode // where the bytes move
	// tunnel: the channels forward everything both ways, without
	// analyzers (TCP mode; HTTP after 101 or CONNECT).
	tunnel bool
	// between: a transaction on the pumps ended; the next one starts
	// back on the loop once the pumps are idle (handoff.go: reattach).
	between  bool
	resuming bool // a resume task is queued (onResume)
	// closeCur: the session let go of cur (closed or handed off); the
	// callback returns true so the loop closes its copy.
	closeCur bool
	bulk     bool     // the current read filled the loop buffer
	closing  bool     // the session ends: its sockets are closed; it finishes once no pump works
	ended    bool     // finish ran
	stop     stopKind // after the current output: close, or linger then close
}

// mode is where a session's bytes move.
type mode uint8

const (
	onLoop    mode = iota // gnet callbacks and direct writes (loop.go)
	onPumps               // two pump goroutines (pump.go)
	reloading             // coming back onto the loop after a hand-off; no I/O until fc's OnOpen
)

// stopKind is what happens once the output is written.
type stopKind uint8

const (
	goOn        stopKind = iota
	closeAfter           // close both sides (a kill, Connection: close)
	lingerAfter          // shut fc's write side, discard the client's bytes until it leaves or linger expires
)

// side names an end.
type side uint8

const (
	sideFront side = iota // fc, the client connection
	sideBack              // bc, the server connection
)

// txn is one transaction: an HTTP request and its response, or a TCP
// session's single one. newTxn resets it, and nothing else does; an HTTP
// session gives it back to txnPool while it waits for its next request.
type txn struct {
	a       analyzer.Txn // HTTP: the analyzers' transaction
	head    []byte       // the request head for the server, kept for a resend
	resHead []byte       // the response head or answer for the client, until written
	txnState
}

// txnState is a transaction's scalars, reset as a whole (newTxn).
type txnState struct {
	target *Target         // the backend: the route's, else the default
	srv    *backend.Server // the server slot held (Release once); nil when none
	bsrv   *backend.Server // the server the back connection goes to

	cs       connState
	exclude  *backend.Server // redispatch: avoid this one
	attempts int             // connect attempts on the current server
	retries  int             // retries logged (HAProxy's %rc)
	redisp   bool            // redispatched
	reused   bool            // the request went on a pooled server connection
	resend   bool            // the request was sent again after a dead pooled connection
	gotReq   bool            // a byte of the request arrived
	gotResp  bool            // a byte of the response arrived
	sni      string          // the server name tcp_inspect_req routed by
	tried    *backend.Server // the last server a connect attempt went to (the log names it)
	asked    bool            // the backend was asked for a server (its counters and Tw, Tc count this one)
	dialSeq  uint32          // the connect attempt in flight (a stale dial result has another)
	cancel   context.CancelFunc

	// Timers (unix ns) and durations (ns) of the log line: HAProxy's TR,
	// Tw, Tc, Tr, Ta.
	tStart    int64 // the transaction started (its first byte, or the session)
	tPhase    int64 // the current queue wait or connect attempt started
	tw, tc    int64 // time queued, time connecting (all attempts)
	tSent     int64 // the request head went to the server
	bodyStart int64 // the request body started (the rate rule)

	status int   // the status sent to the client (0: none)
	term   Term  // how the transaction ended
	logged bool  // its log line is written
	tarpit int64 // a tarpit rule holds the request until then (unix ns; 0: none)

	// The limit table entries the request holds (limits.go).
	lims  [maxTxnLimits]limRef
	nlims int
}

// connState is where a transaction is with its server.
//
//	none -> queued      all usable servers are full (maxconn)
//	none -> connecting  a slot was granted at once (or a pooled connection)
//	queued -> connecting
//	connecting -> pausing   a failed attempt; retry after the turn-around
//	pausing -> connecting
//	connecting -> connected
//	any -> none         the transaction ended (newTxn)
type connState uint8

const (
	csNone connState = iota
	csQueued
	csConnecting
	csPausing
	csConnected
	csFailed // gave up (answered 503 or closed)
	csEnd
)

var connStateNames = [...]string{csNone: "none", csQueued: "queued", csConnecting: "connecting",
	csPausing: "pausing", csConnected: "connected", csFailed: "failed"}

// String names the state.
func (c connState) String() string {
	if c < csEnd {
		return connStateNames[c]
	}
	return "connstate(?)"
}

// txnPool recycles transactions, so an idle HTTP session holds none.
var txnPool = sync.Pool{New: func() any { return new(txn) }}

// end is one side of a session: its connection on the loop (lc) or on
// the pumps (nc). It is the LoopHandler of its loop connection. Owned by
// the session's loop, but for act.
type end struct {
	s  *Session
	lc LoopConn // on the loop; nil when none, after a close or a hand-off
	nc Conn     // on the pumps; nil when none
	// act is the unix ns of the last byte read from or written to this
	// end. atomic: pumps write it; the expiry model reads it.
	act  atomic.Int64
	side side
	open bool // a connection is established on this end
	eof  bool // the peer sent its FIN
	// tls is the front end's TLS, for the whole connection (nil: plain).
	tls *tlsState
}

// reset empties an end for its next connection. It never overwrites the
// whole struct: a pump that has not reported yet may still stamp act.
func (e *end) reset() {
	e.lc, e.nc, e.open, e.eof, e.tls = nil, nil, false, false, nil
}

// attach puts the session onto one of loops: the first event, fc's
// OnOpen, starts it there. The waiting room's goroutine; c is closed
// either way (the loop holds a duplicate).
func (s *Session) attach(c Conn, loops Loops) {
	if err := loops.AttachOne(c, &s.fc); err != nil {
		s.finish() // never on a loop: nothing else owns it
	}
}

// started runs on fc's first OnOpen: the session is on its loop.
func (s *Session) started() {
	s.env.register(s)
	now := s.now()
	s.fc.open = true
	s.fc.act.Store(now)
	s.idleSince = now
	if s.env.killed.Load() {
		s.killNow()
		return
	}
	s.newTxn()
	if s.fe.Mode != config.ModeHTTP {
		s.tunnel = true // TCP mode: no analyzers; connect at once
	}
	s.process()
}

// newTxn starts a transaction: the one place where transaction state is
// reset (nothing of the previous client or request can leak: issue 8).
// HTTP mode sets http_lb_req on the request channel: HOLD.
func (s *Session) newTxn() {
	t := s.t
	if t == nil {
		t = txnPool.Get().(*txn)
	} else {
		s.limitsTxnEnd(t)
	}
	t.a.Reset()
	t.head, t.resHead = t.head[:0], t.resHead[:0]
	t.txnState = txnState{}
	t.a.Src = s.client.Addr()
	if st := s.fc.tls; st != nil {
		t.a.Req.ClientCert, t.a.Req.ClientCN = st.info.ClientCert, st.info.ClientCN
	}
	t.a.Close = s.env.draining.Load()
	t.target = s.fe.Default
	t.tStart = s.idleSince
	s.t = t
	s.stop = goOn
	s.nreq++
	s.req.reset()
	s.res.reset()
	if p := s.req.pump; p != nil {
		p.blocked.Store(0) // the rate rule counts per request body
	}
	switch {
	case s.fe.Mode == config.ModeHTTP:
		s.req.an = analyzer.AnHTTPLBReq
		t.a.SetRequestID(s.env.requestID(t.a.RequestIDBuf()))
	case s.fe.SNIRoutes != nil:
		s.req.an = analyzer.AnTCPInspectReq
	}
}

// park gives the transaction back to the pool while an HTTP session waits
// for its next request with nothing buffered (an idle keep-alive
// connection then costs only its Session). Loop only.
func (s *Session) park() {
	t := s.t
	if t == nil || s.fe.Mode != config.ModeHTTP || s.req.an != analyzer.AnHTTPLBReq || s.bc.open ||
		t.srv != nil || t.cs != csNone || s.req.pending() || s.res.pending() || s.req.hasOwn() ||
		s.mode != onLoop || s.fc.lc == nil || s.fc.lc.InboundBuffered() > 0 {
		return
	}
	t.target, t.bsrv, t.exclude = nil, nil, nil
	txnPool.Put(t)
	s.t = nil
	s.nreq-- // counted again when it starts (unpark)
}

// unpark takes a transaction for a parked session that got bytes.
func (s *Session) unpark() {
	if s.t == nil && !s.ended {
		s.newTxn()
	}
}

// finish ends the session: everything is closed and no pump works any
// more. It returns the slots, the buffers and the transaction, counts, and
// unregisters. Exactly once, on the owner (or on the attach worker for a
// session that never reached a loop).
func (s *Session) finish() {
	if s.ended {
		return
	}
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if t := s.t; t != nil {
		if t.srv != nil {
			t.srv.Release()
			t.srv = nil
		}
		if t.cancel != nil {
			t.cancel()
		}
		if t.cs == csQueued {
			s.cancelWait(t)
		}
		s.limitsTxnEnd(t)
		s.t = nil
		txnPool.Put(t)
	}
	s.limitsEnd()
	s.req.releaseOwn()
	s.res.releaseOwn()
	if s.loop != nil {
		s.env.unregister(s)
	}
	s.release()
	s.fe.SessionsCurrent.Add(-1)
	s.env.current.Add(-1)
	s.env.active.Done()
}

// proxyTLVs are the TLVs of a PROXY v2 header the log shows.
type proxyTLVs struct{ alpn, authority string }
