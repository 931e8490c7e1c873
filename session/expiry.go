package session

import (
	"time"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/config"
)

// One expiry model. Each purpose below has an absolute date (unix ns, on
// the Env's Clock) in Session.exp, 0 when it does not apply; updateExpiries
// sets them all from the session's state, in one place; the single timer
// wakes the loop at the earliest; expire maps the purpose that passed to a
// termination code, a status and an action, in one place. Pumps have no
// deadlines of their own: an expiry kicks them (pump.go).
//
// A side is only timed while lb waits on it: for a byte it owes (a request
// head or body from the client, a response from the server, anything in
// a tunnel) or for room to write to it. So a stalled server is cut by
// timeout.server with an s code and a stalled client by timeout.client
// with a c code, whatever the other side does; timeout.tunnel replaces
// both only once the session is a tunnel (TCP mode, after a 101).

// expiry is a timed purpose.
type expiry uint8

// The purposes, in the order expire checks them when several passed at
// once.
const (
	expLinger        expiry = iota // the lingering close after an answer
	expHTTPKeepAlive               // timeout.http_keep_alive: idle between two requests
	expHTTPRequest                 // timeout.http_request: the whole request head
	expQueue                       // timeout.queue: waiting for a server slot
	expConnect                     // timeout.connect: the current connect attempt
	expTurnAround                  // the pause before a retry (a wake-up, not a timeout)
	expInspect                     // inspect_delay: waiting for a whole ClientHello (then route without it)
	expClient                      // timeout.client: lb waits on the client
	expHTTPBody                    // timeout.http_body + http_body_min_rate: a trickling request body
	expServer                      // timeout.server: lb waits on the server
	expTunnel                      // timeout.tunnel: a tunnel idle both ways
	expTarpit                      // a tarpit rule's hold (then its answer)
	numExpiries
)

var expiryNames = [...]string{expLinger: "linger", expHTTPKeepAlive: "http_keep_alive",
	expHTTPRequest: "http_request", expQueue: "queue", expConnect: "connect", expTurnAround: "turn_around",
	expInspect: "inspect_delay", expClient: "client", expHTTPBody: "http_body", expServer: "server", expTunnel: "tunnel", expTarpit: "tarpit"}

// String names the purpose as the configuration does.
func (e expiry) String() string {
	if e < numExpiries {
		return expiryNames[e]
	}
	return "expiry(?)"
}

// Lingering close: after an answer that ends the connection, lb waits for
// the client to close, so its kernel does not reset the connection before
// the client read the answer; it gives up after lingerIdle without a byte
// from the client, or lingerMax in all (nginx's lingering_timeout and
// lingering_time).
const (
	lingerIdle = time.Second
	lingerMax  = 30 * time.Second
)

// timerSlack is how much earlier than the next expiry a session's timer
// may be left set (saves a timer reset per event on a busy session).
const timerSlack = 100 * time.Millisecond

// at returns base+d, or 0 (not armed) when d is not set.
func at(base int64, d config.Duration) int64 {
	if d.Duration <= 0 {
		return 0
	}
	return base + int64(d.Duration)
}

// updateExpiries sets every purpose's date from the session's state.
func (s *Session) updateExpiries() {
	e := &s.exp
	*e = [numExpiries]int64{}
	fe := &s.fe.Timeouts
	if s.linger != 0 {
		e[expLinger] = min(s.linger+int64(lingerMax), s.fc.act.Load()+int64(lingerIdle))
		return
	}
	t := s.t
	if t == nil || s.between || s.fe.Mode == config.ModeHTTP && s.req.an == analyzer.AnHTTPLBReq && !s.reqStarted() && s.nreq > 1 {
		// Idle between two requests: http_keep_alive, else http_request,
		// else client.
		switch {
		case fe.HTTPKeepAlive.Duration > 0:
			e[expHTTPKeepAlive] = at(s.idleSince, fe.HTTPKeepAlive)
		case fe.HTTPRequest.Duration > 0:
			e[expHTTPKeepAlive] = at(s.idleSince, fe.HTTPRequest)
		default:
			e[expHTTPKeepAlive] = at(s.idleSince, fe.Client)
		}
		return
	}
	be := &t.target.Cfg.Timeout
	switch t.cs {
	case csQueued:
		e[expQueue] = at(t.tPhase, be.Queue)
	case csConnecting:
		e[expConnect] = at(t.tPhase, be.Connect)
	case csPausing:
		e[expTurnAround] = t.tPhase + int64(min(be.Connect.Duration, maxTurnAround))
	}
	if s.req.an&analyzer.AnHTTPLBReq != 0 {
		e[expHTTPRequest] = at(t.tStart, fe.HTTPRequest)
	}
	if t.tarpit != 0 {
		e[expTarpit] = t.tarpit
	}
	if s.req.an&analyzer.AnTCPInspectReq != 0 {
		e[expInspect] = t.tStart + int64(s.fe.InspectDelay)
	}
	if s.tunnel && be.Tunnel.Duration > 0 && t.cs == csConnected {
		e[expTunnel] = max(s.fc.act.Load(), s.bc.act.Load()) + int64(be.Tunnel.Duration)
		return
	}
	reqSide := s.waitChannel(&s.req, fe.Client, be.Server)
	s.waitChannel(&s.res, be.Server, fe.Client)
	if s.req.an&analyzer.AnHTTPXferReqBody != 0 && s.fe.BodyMinRate > 0 && fe.HTTPBody.Duration > 0 && reqSide != blockDst {
		// Once the body has had http_body, it must keep up at least
		// http_body_min_rate on average; time spent blocked on a slow
		// server does not count against it.
		got := t.a.ReqBody.Bytes + s.req.pump.forwarded()
		e[expHTTPBody] = t.bodyStart + int64(fe.HTTPBody.Duration) + s.req.pump.blockedNs() +
			got*int64(time.Second)/s.fe.BodyMinRate
	}
}

// waitChannel arms the timeout of the side lb waits on for channel c:
// its consumer (timeout cons) while a pump waits for room to write to it,
// else its producer (timeout prod) when it owes bytes (waitsOn), counted
// from the side's last activity, or from when the pump started waiting if
// later. It returns what c's pump waits for.
func (s *Session) waitChannel(c *channel, prod, cons config.Duration) int32 {
	side, since := c.pump.waiting()
	p, k := expClient, expServer // c is req: the client produces, the server consumes
	pe, ke := &s.fc, &s.bc
	if c == &s.res {
		p, k, pe, ke = expServer, expClient, &s.bc, &s.fc
	}
	switch {
	case side == blockDst:
		s.armAt(k, at(max(since, ke.act.Load()), cons))
	case s.waitsOn(c):
		s.armAt(p, at(max(since, pe.act.Load()), prod))
	}
	return side
}

// armAt sets purpose p to date d unless an earlier date is already set.
func (s *Session) armAt(p expiry, d int64) {
	if d != 0 && (s.exp[p] == 0 || d < s.exp[p]) {
		s.exp[p] = d
	}
}

// waitsOn reports whether c's producer owes lb bytes that lb is ready to
// read: the request head or body (from the client), the response head or
// body once the request is complete (from the server), anything in a
// tunnel.
func (s *Session) waitsOn(c *channel) bool {
	if c.shutr {
		return false
	}
	if s.tunnel {
		return c == &s.req || s.bc.open
	}
	if c == &s.req {
		return c.an != 0 || s.proxy
	}
	if c.an&analyzer.AnHTTPXferResBody != 0 {
		return true
	}
	return c.an&analyzer.AnHTTPLBResp != 0 && s.req.an == 0 && !s.req.pending()
}

// nextExpiry folds the dates into the earliest (0: none).
func (s *Session) nextExpiry() int64 {
	next := int64(0)
	for _, d := range s.exp {
		if d != 0 && (next == 0 || d < next) {
			next = d
		}
	}
	return next
}

// armTimer sets the session's timer for its earliest expiry. A timer set
// a little earlier (timerSlack) is left alone: activity moves the dates
// later at every event, and a timer that fires early only computes them
// again and is set again. It is never left later than the expiry.
func (s *Session) armTimer() {
	s.updateExpiries()
	next := s.nextExpiry()
	if next == 0 || s.timerAt != 0 && s.timerAt <= next && next-s.timerAt <= int64(timerSlack) {
		return
	}
	d := time.Duration(next - s.now())
	s.timerAt = next
	if s.timer == nil {
		s.timer = s.env.Clock.AfterFunc(d, s.timerFired)
		return
	}
	s.timer.Reset(d)
}

// timerFired runs on the timer's goroutine: it hops onto the loop.
func (s *Session) timerFired() {
	_ = s.loop.Execute(s.expireDue)
}

// expireDue runs on the loop when the timer fired: the first purpose
// whose date passed expires; otherwise the timer is set again.
func (s *Session) expireDue() {
	if s.ended || s.closing {
		return
	}
	s.event(nil)
	s.timerAt = 0
	s.updateExpiries()
	now := s.now()
	for p, d := range s.exp {
		if d != 0 && d <= now {
			s.expire(expiry(p))
			break
		}
	}
	s.process()
}

// expire applies the purpose that passed: the one place that maps an
// expiry to what happens, with which status and termination code.
func (s *Session) expire(p expiry) {
	t := s.t
	http := s.fe.Mode == config.ModeHTTP && !s.tunnel
	switch p {
	case expLinger:
		s.abort(TermNormal) // the transaction keeps its own code
	case expHTTPKeepAlive:
		s.abort(TermNormal) // silently: no request, no answer, no log line
	case expHTTPRequest:
		s.answer(408, nil, Term{CauseClientTimeout, PhaseRequest})
	case expQueue:
		s.cancelWait(t)
		t.cs = csNone
		s.connectGaveUp(Term{CauseServerTimeout, PhaseQueue})
	case expConnect:
		s.connectFailed(true)
	case expTurnAround:
		s.dial()
	case expInspect:
		s.tcpInspect(true) // route with what came: the default backend
	case expClient, expHTTPBody:
		switch {
		case http && s.req.an&analyzer.AnHTTPLBReq != 0:
			s.answer(408, nil, Term{CauseClientTimeout, PhaseRequest})
		case http && s.req.an&analyzer.AnHTTPXferReqBody != 0 && t.status == 0:
			s.answer(408, nil, Term{CauseClientTimeout, PhaseData})
		default:
			s.abort(Term{CauseClientTimeout, s.phase()})
		}
	case expServer:
		if http && s.res.an&analyzer.AnHTTPLBResp != 0 && t.status == 0 {
			s.answer(504, nil, Term{CauseServerTimeout, PhaseHeaders})
			return
		}
		s.abort(Term{CauseServerTimeout, s.phase()})
	case expTarpit:
		t.tarpit = 0
		s.answer(analyzer.RuleStatus(t.a.Answer, false), t.a.Answer, Term{CauseProxy, PhaseTarpit})
	case expTunnel:
		// Blame the side quiet longer.
		cause := CauseServerTimeout
		if s.fc.act.Load() <= s.bc.act.Load() {
			cause = CauseClientTimeout
		}
		s.abort(Term{cause, PhaseData})
	}
}

// phase is the phase letter of the current transaction's state.
func (s *Session) phase() Phase {
	t := s.t
	switch {
	case t == nil, s.req.an&(analyzer.AnHTTPLBReq|analyzer.AnTCPInspectReq) != 0:
		return PhaseRequest
	case t.cs == csQueued:
		return PhaseQueue
	case t.cs == csConnecting, t.cs == csPausing, t.cs == csNone && !s.tunnel:
		return PhaseConnect
	case s.res.an&analyzer.AnHTTPLBResp != 0:
		return PhaseHeaders
	}
	return PhaseData
}
