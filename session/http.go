package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
)

// HTTP mode.
//
// The client connection is attached alone to an event loop. While the
// request head is incomplete the request channel is HELD: nothing connects,
// and the bytes stay in the loop's buffer while analyzer.Request parses them
// incrementally (http_lb_req), under timeout.http_request. Once the head is
// valid the session picks a route and a server and connects (or reuses the
// server connection it already has), writes the rewritten head, then
// streams the body as it arrives without re-framing it. The response head
// is parsed (http_lb_resp) before anything is sent back; its body streams
// the same way. Keep-alive is kept on both sides when both allow it, and
// the next request is parsed from whatever is already buffered (pipelining:
// answered in order, one at a time).
//
// When a peer is slower than its writer (a write would block) or when more
// than a bounded amount is pending, the transaction moves to the pump
// goroutines (which give back-pressure and splice), bounded by the message
// framing, and the connection closes after the response: lb never forwards
// bytes it did not parse, and never buffers without bound.

// reqPhase is where the request channel is.
type reqPhase uint8

const (
	reqHead    reqPhase = iota // HOLD: parsing the head
	reqConnect                 // head done, waiting for a server connection
	reqBody                    // forwarding the body
	reqDone                    // request fully forwarded
)

// resPhase is where the response channel is.
type resPhase uint8

const (
	resNone resPhase = iota // no request sent yet
	resHead                 // waiting for / parsing the response head
	resBody                 // forwarding the body
	resDone
)

// Body lengths besides a Content-Length countdown.
const (
	bodyChunked    = -1
	bodyUntilClose = -2
)

// maxPipelined bounds the bytes a client may send ahead while its current
// request is being answered; beyond it lb stops reading (hand-off).
const maxPipelined = 64 << 10

// responseLimits bound response heads: max_head_size and friends are the
// client's limits, not the servers'.
var responseLimits = analyzer.DefaultLimits

// pool offers the idle server connection of b to the loop's pool, within
// the backend's pool_max_conn and pool_purge_delay; true when taken.
func (s *Session) pool(b *end) bool {
	h := s.http
	return s.fe.Env.poolFor(s.loop).put(h.bsrv, b.c, b.l, s.now(), h.target.Cfg.PoolMaxConn, h.target.Cfg.PoolPurgeDelay.Duration)
}

// httpTxn is a session's HTTP state. Owned by the event loop.
type httpTxn struct {
	req          analyzer.Request
	res          analyzer.Response
	reqCk, resCk analyzer.ChunkedScanner
	lim          analyzer.Limits

	rp       reqPhase
	sp       resPhase
	reqLeft  int64 // Content-Length left, or bodyChunked
	resLeft  int64 // Content-Length left, bodyChunked or bodyUntilClose
	method   [16]byte
	mlen     int
	target   *Target
	srv      *backend.Server // the slot held for this transaction
	bsrv     *backend.Server // the server the back connection goes to
	reused   bool            // this transaction went to an already used connection
	nreq     int             // transactions started on this session
	keep     bool            // keep the client connection after this response
	out      []byte          // the rewritten request head (kept for a resend)
	scratch  []byte          // the rewritten response head
	path     []byte          // the request-target, for the log
	key      uint64          // the balance hash key of this request
	reqMask  uint64          // request header rules that apply
	resMask  uint64          // response header rules that apply
	resDeny  int             // index of the response deny rule that applies, or -1
	gotResp  bool            // a byte of the response arrived (no resend after that)
	waiter   backend.Waiter
	exclude  *backend.Server
	attempts int
	closing  bool // an error answer was written; waiting for the client to go

	// Timers of the current transaction (HAProxy's TR, Tw, Tc, Tr), unix ns.
	tStart, tHead, tQueue, tConnect, tResp int64
	idleSince                              int64
	status                                 int
	reqBytes, resBytes                     int64
	hterm                                  Term
}

// runHTTP puts a new HTTP session on an event loop. Session goroutine.
func (s *Session) runHTTP() {
	s.httpOn = true
	s.idleSince = s.accepted.UnixNano()
	s.txn()
	if err := s.fe.Env.Loops.AttachOne(s.fc, &s.ends[sideFront]); err != nil {
		s.term = Term{CauseResource, PhaseRequest}
		s.finish()
	}
}

// now returns the current time in unix ns. Inside one loop callback it is
// read once and reused (timeouts have millisecond precision; the clock
// read is a measurable cost per request).
func (s *Session) now() int64 {
	if s.tnow == 0 {
		s.tnow = s.fe.Env.Clock.Now().UnixNano()
	}
	return s.tnow
}

// txnPool recycles the HTTP state of sessions idle between two requests,
// so an idle keep-alive connection holds only its Session.
var txnPool = sync.Pool{New: func() any { return new(httpTxn) }}

// txn returns the session's HTTP state, taking one from the pool when the
// session was parked. Loop only.
func (s *Session) txn() *httpTxn {
	if s.http != nil {
		return s.http
	}
	h := txnPool.Get().(*httpTxn)
	h.lim = s.fe.Limits
	h.reqCk.Status, h.resCk.Status = 400, 502
	h.reqCk.MaxData = s.fe.MaxBody
	h.nreq, h.idleSince, h.tStart = s.nreq, s.idleSince, s.idleSince
	h.resDeny = -1
	s.http = h
	return h
}

// park gives the HTTP state back to the pool while the session waits for
// its next request with nothing buffered and no server connection. Loop
// only.
func (s *Session) park() {
	h := s.http
	f := s.ends[sideFront].c
	if h == nil || s.loopDone() || h.closing || h.rp != reqHead || h.sp != resNone ||
		f == nil || s.inBuffered() > 0 || s.ends[sideBack].c != nil || h.srv != nil {
		return
	}
	s.nreq, s.idleSince = h.nreq, h.idleSince
	// Drop what ties h to this session; every other field is set again
	// when the next request is parsed (httpParseRequest) or by txn.
	h.waiter = backend.Waiter{}
	h.target, h.srv, h.bsrv, h.exclude = nil, nil, nil, nil
	txnPool.Put(h)
	s.http = nil
}

// httpFrontOpen starts HTTP processing once the client is on the loop.
func (s *Session) httpFrontOpen() {
	h := s.http
	now := s.now()
	h.tStart, h.idleSince = now, now
	s.fcAct.Store(now)
	s.bcAct.Store(now)
	s.fe.Env.register(s)
	s.armLoopTimer()
	if s.inBuffered() > 0 {
		s.httpFront()
	}
}

// httpFront handles the client's bytes. Loop only.
func (s *Session) httpFront() {
	h := s.http
	for !s.loopDone() {
		switch h.rp {
		case reqHead:
			if h.closing {
				s.inDiscard(-1)
				return
			}
			if h.sp != resNone && h.sp != resDone {
				// Still answering the previous request: keep the next one
				// buffered, within a bound.
				s.holdPipelined()
				return
			}
			if !s.httpParseRequest() {
				return
			}
		case reqBody:
			if !s.httpForwardReqBody() {
				return
			}
		default: // reqConnect, reqDone: hold the bytes
			if h.rp == reqDone {
				s.holdPipelined()
			}
			return
		}
	}
}

// holdPipelined keeps what a client sends ahead of its current response
// within maxPipelined: past it the transaction moves to the pumps, which
// read nothing more from the client until the response is out (the loop
// cannot stop reading); the bytes come back with the session (carry).
func (s *Session) holdPipelined() {
	h := s.http
	if s.inBuffered() <= maxPipelined {
		return
	}
	if s.ends[sideBack].c != nil && (h.sp == resHead || h.sp == resBody) {
		s.httpHandoff(nil, false)
		return
	}
	h.keep = false
}

// httpParseRequest runs http_lb_req on the buffered bytes: it returns true
// when a head was parsed and the transaction moved on.
func (s *Session) httpParseRequest() bool {
	h := s.http
	buf := s.inPeek()
	if len(buf) == 0 {
		return false
	}
	if h.req.HeadLen == 0 && h.tHead == 0 && h.nreq > 0 && h.tStart < h.idleSince {
		h.tStart = s.now() // the first byte of a keep-alive request
	}
	err := h.req.Parse(buf, h.lim)
	if errors.Is(err, analyzer.ErrIncomplete) {
		return false
	}
	if err != nil {
		s.httpError(errorStatus(err, 400), Term{CauseProxy, PhaseRequest})
		return false
	}
	now := s.now()
	h.nreq++
	h.tHead = now
	h.mlen = copy(h.method[:], h.req.Method)
	h.path = append(h.path[:0], h.req.Target...) // the parse buffer does not outlive this call
	h.keep = h.req.KeepAlive
	h.reqBytes, h.resBytes, h.status = 0, 0, 0
	h.hterm = Term{}
	s.tw, s.tc, s.retries, s.connected, s.redispatched = 0, 0, 0, false, false
	// Routing: first matching route, else the default backend.
	h.target = s.fe.Default
	if i := analyzer.PickRoute(s.fe.RouteRules, &h.req); i >= 0 {
		h.target = s.fe.Routes[i]
	}
	s.target = h.target
	if s.fe.MaxBody > 0 && h.req.ContentLength > s.fe.MaxBody {
		// Refused before a server is involved; the body is discarded by
		// the lingering close (and with Expect: 100-continue, never sent).
		s.inDiscard(h.req.HeadLen)
		h.rp = reqConnect
		s.httpError(413, Term{CauseProxy, PhaseRequest})
		return false
	}
	var terminal int
	h.reqMask, terminal = analyzer.Eval(s.fe.ReqRules, &h.req)
	h.resMask, h.resDeny = analyzer.Eval(s.fe.ResRules, &h.req)
	if terminal >= 0 {
		h.rp = reqConnect
		s.inDiscard(h.req.HeadLen)
		s.httpLocal(&s.fe.ReqRules[terminal])
		return false
	}
	h.key = s.balanceKey()
	h.out = s.rewriteRequest(h.out[:0], buf)
	s.inDiscard(h.req.HeadLen)
	switch {
	case h.req.Chunked:
		h.reqLeft = bodyChunked
		h.reqCk.Reset()
	case h.req.ContentLength > 0:
		h.reqLeft = h.req.ContentLength
	default:
		h.reqLeft = 0
	}
	h.rp = reqConnect
	h.sp = resNone
	h.attempts, h.exclude = 0, nil
	s.httpAcquire()
	return true
}

// balanceKey is the hash the backend's balance algorithm uses for this
// request: the path for "uri", a header's value for "hdr:<name>", else the
// client's address (source). A missing header falls back to the source.
func (s *Session) balanceKey() uint64 {
	h := s.http
	bal := h.target.BE.Balance()
	switch {
	case bal == "uri":
		p := h.req.Target
		if i := bytes.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return fnv64(p)
	case strings.HasPrefix(bal, "hdr:"):
		name := bal[4:]
		for _, f := range h.req.Headers {
			if len(f.Name) == len(name) && equalFoldBytes(f.Name, unsafeBytes(name)) {
				return fnv64(f.Value)
			}
		}
	}
	return sourceKey(s.client)
}

// unsafeBytes views s as bytes without copying; the result is read-only.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// idempotent reports a method RFC 9110 9.2.2 calls idempotent.
func idempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// rewriteRequest appends the head to send to the server: the request line
// and fields as received, minus hop-by-hop fields (RFC 9110 7.6.1: those
// named in Connection too), plus X-Forwarded-For and X-Forwarded-Proto.
func (s *Session) rewriteRequest(out, buf []byte) []byte {
	h := s.http
	r := &h.req
	// Request line: everything up to the first field line.
	line := buf[r.Skip:]
	if i := indexCRLF(line); i >= 0 {
		out = append(out, line[:i+2]...)
	}
	rules := s.fe.ReqRules
	for _, f := range r.Headers {
		if hopByHop(f.Name, r.ConnOptions) && !(r.Upgrade && asciiEqualFold(f.Name, "upgrade")) {
			continue
		}
		if h.reqMask != 0 && analyzer.Dropped(rules, h.reqMask, f.Name) {
			continue
		}
		out = append(out, f.Name...)
		out = append(out, ": "...)
		out = append(out, f.Value...)
		out = append(out, "\r\n"...)
	}
	if h.reqMask != 0 {
		out = analyzer.AppendAdded(out, rules, h.reqMask)
	}
	if r.Upgrade {
		out = append(out, "Connection: upgrade\r\n"...)
	}
	fe := s.fe
	if ta, ok := s.client.(*net.TCPAddr); ok {
		ip := ta.AddrPort().Addr().Unmap()
		if fe.ForwardedFor {
			out = append(out, "X-Forwarded-For: "...)
			out = ip.AppendTo(out)
			out = append(out, "\r\n"...)
		}
		if fe.Forwarded {
			// RFC 7239 4: an IPv6 address is quoted and bracketed.
			out = append(out, "Forwarded: for="...)
			if ip.Is6() {
				out = append(out, "\"["...)
				out = ip.AppendTo(out)
				out = append(out, "]\""...)
			} else {
				out = ip.AppendTo(out)
			}
			out = append(out, ";proto=http\r\n"...)
		}
	}
	if fe.ForwardedProto {
		out = append(out, "X-Forwarded-Proto: http\r\n"...)
	}
	return append(out, "\r\n"...)
}

// hopByHop reports whether a field must not be forwarded: the fields RFC
// 9110 7.6.1 and RFC 9112 name as connection-specific, and every field the
// message's Connection field nominates — except the framing fields
// (Transfer-Encoding, Content-Length: lb passes bodies on without re-framing
// them) and Host (RFC 9112 3.2: an HTTP/1.1 request must carry it), which a
// client cannot have removed.
func hopByHop(name []byte, nominated [][]byte) bool {
	switch {
	case asciiEqualFold(name, "connection"), asciiEqualFold(name, "keep-alive"),
		asciiEqualFold(name, "proxy-connection"), asciiEqualFold(name, "te"),
		asciiEqualFold(name, "trailer"), asciiEqualFold(name, "upgrade"),
		asciiEqualFold(name, "proxy-authenticate"), asciiEqualFold(name, "proxy-authorization"):
		return true
	}
	for _, n := range nominated {
		if equalFoldBytes(name, n) && !asciiEqualFold(n, "transfer-encoding") && !asciiEqualFold(n, "content-length") &&
			!asciiEqualFold(n, "host") {
			return true
		}
	}
	return false
}

// httpAcquire gets a server slot for the transaction (maybe queued).
func (s *Session) httpAcquire() {
	h := s.http
	h.tQueue = s.now()
	key := h.key
	if h.waiter.Ready == nil {
		h.waiter.Ready = func(srv *backend.Server) {
			if err := s.loop.Execute(func() { s.tnow = 0; s.httpGotServer(srv); s.tnow = 0 }); err != nil {
				srv.Release()
			}
		}
	}
	srv, err := h.target.BE.Acquire(key, h.exclude, &h.waiter)
	switch {
	case err == nil:
		s.httpGotServer(srv)
	case errors.Is(err, backend.ErrQueued):
		s.state = StateQueued
		s.armLoopTimer()
	case errors.Is(err, backend.ErrQueueFull):
		s.httpError(503, Term{CauseResource, PhaseQueue})
	default:
		s.httpError(503, Term{CauseServerAbort, PhaseConnect})
	}
}

// httpGotServer continues with a server slot: reuse the back connection
// when it goes to the same server, else connect. Loop only.
func (s *Session) httpGotServer(srv *backend.Server) {
	h := s.http
	if s.loopDone() || h.rp != reqConnect {
		srv.Release()
		return
	}
	h.srv = srv
	s.srv = srv
	now := s.now()
	s.tw += time.Duration(now - h.tQueue)
	h.tConnect = now
	b := &s.ends[sideBack]
	if b.c != nil && !b.closed && h.bsrv == srv {
		h.reused = true
		s.httpSendHead()
		return
	}
	s.closeEnd(b)
	b.c, b.closed = nil, false
	h.bsrv = srv
	if h.nreq > 1 || (h.reqLeft == 0 && idempotent(h.method[:h.mlen])) {
		if ic := s.fe.Env.poolFor(s.loop).get(srv, now); ic != nil {
			ic.c.SetContext(b)
			b.c, b.l, b.closed, b.closeReq = ic.c, ic.l, false, false
			h.reused = true
			s.connected = true
			s.httpSendHead()
			return
		}
	}
	h.reused = false
	s.state = StateConnecting
	s.armLoopTimer()
	go s.httpDial(srv, h.target.Cfg.Timeout.Connect.Duration)
}

// httpDial connects to srv off the loop, then attaches the connection to
// the session's loop (OnOpen continues) or reports the failure.
func (s *Session) httpDial(srv *backend.Server, timeout time.Duration) {
	env := s.fe.Env
	bc, err := env.Dialer.Dial(env.ctx, srv.Addr(), timeout)
	if err == nil {
		if err = s.loop.Adopt(bc, &s.ends[sideBack]); err == nil {
			return
		}
	}
	_ = s.loop.Execute(func() { s.tnow = 0; s.httpConnectFailed(srv, err); s.tnow = 0 })
}

// httpConnectFailed retries, redispatches, or answers 503. Loop only.
func (s *Session) httpConnectFailed(srv *backend.Server, err error) {
	h := s.http
	if s.loopDone() || h.srv != srv || h.rp != reqConnect {
		return
	}
	srv.ConnFailed()
	s.tc += time.Duration(s.now() - h.tConnect)
	cfg := h.target.Cfg
	if h.attempts >= cfg.Retries || s.fe.Env.ctx.Err() != nil {
		h.srv, s.srv = nil, nil
		srv.Release()
		t := Term{CauseServerAbort, PhaseConnect}
		if isTimeout(err) {
			t.Cause = CauseServerTimeout
		}
		s.httpError(503, t)
		return
	}
	h.attempts++
	s.retries++
	if cfg.Redispatch && h.attempts == cfg.Retries {
		h.target.BE.Counters().Redispatches.Add(1)
		h.srv, s.srv = nil, nil
		srv.Release()
		h.exclude = srv
		s.redispatched = true
		s.httpAcquire()
		return
	}
	h.target.BE.Counters().Retries.Add(1)
	h.tConnect = s.now()
	go func() {
		t := s.fe.Env.Clock.NewTimer(min(cfg.Timeout.Connect.Duration, maxTurnAround))
		<-t.C()
		s.httpDial(srv, cfg.Timeout.Connect.Duration)
	}()
}

// httpBackOpen: a new server connection is on the loop. Loop only.
func (s *Session) httpBackOpen(c LoopConn) bool {
	h := s.http
	if s.loopDone() || h.rp != reqConnect {
		return true
	}
	s.connected = true
	s.tc += time.Duration(s.now() - h.tConnect)
	s.httpSendHead()
	return false
}

// httpSendHead writes the rewritten head, then whatever body is buffered.
func (s *Session) httpSendHead() {
	h := s.http
	s.state = StateForwarding
	now := s.now()
	h.tResp = now
	s.bcAct.Store(now)
	b := &s.ends[sideBack]
	w, err := writeFd(b.c.Fd(), h.out)
	if err != nil || w < len(h.out) {
		if err == nil && w > 0 {
			// A fresh socket whose buffer cannot take a head: give up.
			err = io.ErrShortWrite
		}
		s.httpBackFailed(err)
		return
	}
	h.reqBytes += int64(w)
	h.sp = resHead
	h.gotResp = false
	if h.reqLeft == 0 {
		h.rp = reqDone
	} else {
		h.rp = reqBody
	}
	s.armLoopTimer()
	s.httpFront()
	if !s.loopDone() && b.c != nil && b.c.InboundBuffered() > 0 {
		s.httpBack()
	}
}

// httpForwardReqBody streams request body bytes to the server; false when
// it must wait.
func (s *Session) httpForwardReqBody() bool {
	h := s.http
	buf := s.inPeek()
	if len(buf) == 0 {
		return false
	}
	n, done, err := bodySpan(buf, &h.reqLeft, &h.reqCk)
	if err != nil {
		// Bad chunked framing, or a body over max_body_size (413): part of
		// the body may already be with the server; the only safe end is to
		// close both.
		s.httpError(errorStatus(err, 400), Term{CauseProxy, PhaseData})
		return false
	}
	b := &s.ends[sideBack]
	w, werr := writeFd(b.c.Fd(), buf[:n])
	now := s.now()
	s.fcAct.Store(now)
	if w > 0 {
		s.bcAct.Store(now)
		h.reqBytes += int64(w)
		s.req.bytes.Add(int64(w))
	}
	s.inDiscard(w)
	if werr != nil {
		s.httpBackFailed(werr)
		return false
	}
	if w < n {
		// The server reads slower than the client sends: the pumps take
		// over this transaction (back-pressure), then the session closes.
		s.httpHandoff(buf[w:n], done)
		return false
	}
	if done {
		h.rp = reqDone
		return true
	}
	return false
}

// errorStatus is the status of an analyzer error (400, 413, 414, 431, 501,
// 505...), or def for any other error.
func errorStatus(err error, def int) int {
	var ae *analyzer.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return def
}

// bodySpan says how many bytes of buf belong to the current body, and
// whether they complete it. left is the Content-Length countdown or
// bodyChunked (then ck scans the framing).
func bodySpan(buf []byte, left *int64, ck *analyzer.ChunkedScanner) (n int, done bool, err error) {
	switch {
	case *left == bodyChunked:
		n, done, err = ck.Scan(buf)
		return n, done, err
	case *left == bodyUntilClose:
		return len(buf), false, nil
	}
	n = len(buf)
	if int64(n) > *left {
		n = int(*left)
	}
	*left -= int64(n)
	return n, *left == 0, nil
}

// httpBack handles the server's bytes. Loop only.
func (s *Session) httpBack() {
	h := s.http
	b := &s.ends[sideBack]
	for !s.loopDone() && b.c != nil {
		switch h.sp {
		case resHead:
			if !s.httpParseResponse(b.c) {
				return
			}
		case resBody:
			if !s.httpForwardResBody(b.c) {
				return
			}
		default:
			// Bytes from an idle server connection: it is not usable.
			b.c.Discard(-1)
			s.closeEnd(b)
			return
		}
	}
}

// httpParseResponse runs http_lb_resp; true when a head was forwarded.
func (s *Session) httpParseResponse(c LoopConn) bool {
	h := s.http
	buf, _ := c.Peek(-1)
	if len(buf) == 0 {
		return false
	}
	h.gotResp = true
	err := h.res.Parse(buf, h.method[:h.mlen], responseLimits)
	if errors.Is(err, analyzer.ErrIncomplete) {
		return false
	}
	if err != nil {
		s.closeEnd(&s.ends[sideBack])
		s.httpError(502, Term{CauseProxy, PhaseHeaders})
		return false
	}
	now := s.now()
	s.bcAct.Store(now)
	if h.res.Interim {
		// 100 Continue, 103 Early Hints: pass on, wait for the final head.
		out := s.rewriteResponse(h.scratch[:0], buf, true)
		h.scratch = out
		c.Discard(h.res.HeadLen)
		h.res.Reset()
		if !s.httpWriteFront(out) {
			return false
		}
		h.resBytes += int64(len(out))
		return true
	}
	if st, body, ctype, refused := s.responseRefusal(); refused {
		s.closeEnd(&s.ends[sideBack])
		s.httpAnswer(st, "", body, ctype, Term{CauseProxy, PhaseHeaders})
		return false
	}
	h.tResp = now - h.tResp
	tunnel := s.responseFraming()
	if s.fe.Env.ctx.Err() != nil {
		h.keep = false
	}
	out := s.rewriteResponse(h.scratch[:0], buf, false)
	if tunnel {
		h.scratch = out
		c.Discard(h.res.HeadLen)
		if !s.httpWriteFront(out) {
			return false
		}
		h.resBytes += int64(len(out))
		// Switched protocols: from now on a plain TCP tunnel.
		s.httpLog()
		s.httpTunnel()
		return false
	}
	// The body bytes already here go out with the head, in one write
	// (one segment, one wake-up of the client, one syscall fewer).
	head, body, done := len(out), 0, h.resLeft == 0
	if rest := buf[h.res.HeadLen:]; !done && len(rest) > 0 && len(rest) <= coalesceMax {
		if n, d, err := bodySpan(rest, &h.resLeft, &h.resCk); err == nil {
			out = append(out, rest[:n]...)
			body, done = n, d
		} // else the scanner keeps its error: httpForwardResBody aborts
	}
	h.scratch = out
	c.Discard(h.res.HeadLen + body)
	f := &s.ends[sideFront]
	w, werr := writeFd(f.c.Fd(), out)
	if werr != nil {
		s.abortHTTP(Term{CauseClientAbort, PhaseData})
		return false
	}
	s.fcAct.Store(now)
	h.resBytes += int64(w)
	s.res.bytes.Add(int64(max(w-head, 0)))
	h.sp = resBody
	if done {
		h.sp = resDone
	}
	if w < len(out) {
		// The client reads slower than the server answers: the pumps
		// write the rest, then carry the body with back-pressure.
		s.ends[sideBack].pending = append([]byte(nil), out[w:]...)
		s.httpHandoff(nil, false)
		return false
	}
	if done {
		s.httpResponseDone()
		return !s.loopDone()
	}
	return true
}

// coalesceMax bounds the body bytes sent in the same write as a response
// head (more are forwarded as they are).
const coalesceMax = 16 << 10

// responseRefusal decides whether a parsed final response head must not be
// passed on: a 101 the request did not ask for (RFC 9110 15.2.2: a tunnel
// lb did not agree to would carry bytes it never parsed), or an
// http_response deny rule. It returns the answer lb sends instead.
func (s *Session) responseRefusal() (status int, body, ctype string, refused bool) {
	h := s.http
	if h.res.Status == 101 && !h.req.Upgrade {
		return 502, "", "", true
	}
	if h.resDeny >= 0 {
		rl := &s.fe.ResRules[h.resDeny]
		st := rl.Status
		if st == 0 {
			st = 502
		}
		return st, rl.Body, rl.ContentType, true
	}
	return 0, "", "", false
}

// responseFraming records a parsed final response head: its status, how
// its body ends (h.resLeft), and whether the client connection can be kept
// after it. It reports a switch to a tunnel (101 Upgrade, 2xx to CONNECT).
func (s *Session) responseFraming() (tunnel bool) {
	h := s.http
	h.status = h.res.Status
	tunnel = h.res.Tunnel || (h.res.Upgrade && h.res.Status == 101)
	switch {
	case tunnel:
		h.resLeft = bodyUntilClose
	case h.res.NoBody:
		h.resLeft = 0
	case h.res.Chunked:
		h.resLeft = bodyChunked
		h.resCk.Reset()
	case h.res.ContentLength >= 0:
		h.resLeft = h.res.ContentLength
	default:
		h.resLeft = bodyUntilClose
	}
	if h.resLeft == bodyUntilClose || !h.res.KeepAlive || s.fe.Env.draining.Load() {
		h.keep = false
	}
	return tunnel
}

// rewriteResponse appends the head to send to the client: status line and
// fields as received minus hop-by-hop fields, plus the Connection field the
// client connection's fate needs.
func (s *Session) rewriteResponse(out, buf []byte, interim bool) []byte {
	h := s.http
	r := &h.res
	line := buf[r.Skip:]
	if i := indexCRLF(line); i >= 0 {
		out = append(out, line[:i+2]...)
	}
	upgrade := r.Upgrade && r.Status == 101
	rules := s.fe.ResRules
	for _, f := range r.Headers {
		if hopByHop(f.Name, r.ConnOptions) && !(upgrade && asciiEqualFold(f.Name, "upgrade")) {
			continue
		}
		if !interim && h.resMask != 0 && analyzer.Dropped(rules, h.resMask, f.Name) {
			continue
		}
		out = append(out, f.Name...)
		out = append(out, ": "...)
		out = append(out, f.Value...)
		out = append(out, "\r\n"...)
	}
	if !interim && h.resMask != 0 {
		out = analyzer.AppendAdded(out, rules, h.resMask)
	}
	switch {
	case interim:
	case upgrade:
		out = append(out, "Connection: upgrade\r\n"...)
	case !h.keep:
		out = append(out, "Connection: close\r\n"...)
	case h.req.Proto == analyzer.HTTP10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

// httpForwardResBody streams response body bytes to the client.
func (s *Session) httpForwardResBody(c LoopConn) bool {
	h := s.http
	buf, _ := c.Peek(-1)
	if len(buf) == 0 {
		return false
	}
	n, done, err := bodySpan(buf, &h.resLeft, &h.resCk)
	if err != nil {
		// Broken framing mid-body: the client must not see a complete
		// response; close it.
		s.abortHTTP(Term{CauseServerAbort, PhaseData})
		return false
	}
	f := &s.ends[sideFront]
	w, werr := writeFd(f.c.Fd(), buf[:n])
	now := s.now()
	s.bcAct.Store(now)
	if w > 0 {
		s.fcAct.Store(now)
		h.resBytes += int64(w)
		s.res.bytes.Add(int64(w))
	}
	c.Discard(w)
	if werr != nil {
		s.abortHTTP(Term{CauseClientAbort, PhaseData})
		return false
	}
	if w < n || (n >= bulkRead && !done) {
		// A slow client, or a bulk body: the pumps take over (back-pressure,
		// splice) until the response ends, then the session closes.
		s.httpHandoff(nil, false)
		return false
	}
	if done {
		s.httpResponseDone()
		return !s.loopDone()
	}
	return false
}

// httpWriteFront writes a (small) head to the client; false if the session
// ended.
func (s *Session) httpWriteFront(b []byte) bool {
	f := &s.ends[sideFront]
	w, err := writeFd(f.c.Fd(), b)
	if err == nil && w < len(b) {
		err = io.ErrShortWrite // a head that does not fit the socket buffer
	}
	if err != nil {
		s.abortHTTP(Term{CauseClientAbort, PhaseData})
		return false
	}
	s.fcAct.Store(s.now())
	return true
}

// httpReattached continues on the loop after a hand-off that ended its
// transaction cleanly.
func (s *Session) httpReattached() {
	s.fe.Env.register(s)
	s.armLoopTimer()
	s.httpResponseDone()
}

// httpResponseDone ends a transaction: log it, free the slot, and go on
// with the next request, or close.
func (s *Session) httpResponseDone() {
	h := s.http
	h.sp = resDone
	if h.rp != reqDone {
		// The server answered before the request body was complete: this
		// connection cannot carry another request.
		h.keep = false
	}
	s.httpLog()
	if h.srv != nil {
		h.srv.Release()
		h.srv, s.srv = nil, nil
	}
	b := &s.ends[sideBack]
	if !h.keep {
		if b.c != nil && !b.closed && !b.closeReq && h.res.KeepAlive && h.rp == reqDone &&
			b.c.InboundBuffered() == 0 && s.pool(b) {
			b.c = nil
		}
		s.abortLoopNormal()
		return
	}
	if b.c != nil && !b.closed && !b.closeReq && h.res.KeepAlive && h.rp == reqDone && b.c.InboundBuffered() == 0 {
		// Park the server connection in the loop's pool for reuse. One
		// with bytes beyond the response's framing is never reused (RFC
		// 9112 6.3): they would become the next request's answer.
		if s.pool(b) {
			b.c = nil
		}
	}
	s.closeEnd(b)
	// Next transaction.
	h.req.Reset()
	h.res.Reset()
	h.rp, h.sp = reqHead, resNone
	h.tHead = 0
	h.idleSince = s.now()
	h.tStart = h.idleSince
	s.state = StateAccepted
	s.armLoopTimer()
	s.httpFront()
	s.park()
}

// httpBackFailed handles a server connection that failed before the
// response head: 502 on a fresh connection; on a reused one close the
// client without an answer, so it can retry (HAProxy's behaviour).
func (s *Session) httpBackFailed(err error) {
	h := s.http
	s.closeEnd(&s.ends[sideBack])
	if h.reused && !h.gotResp && h.resBytes == 0 && h.sp != resBody && h.req.ContentLength <= 0 && !h.req.Chunked && h.srv != nil {
		// A pooled connection the server had closed: nothing of the
		// response came, and the request has no body, so sending it again
		// on a new connection is safe.
		b := &s.ends[sideBack]
		b.c, b.closed = nil, false
		h.reused = false
		h.rp, h.sp = reqConnect, resNone
		s.state = StateConnecting
		h.tConnect = s.now()
		go s.httpDial(h.srv, h.target.Cfg.Timeout.Connect.Duration)
		return
	}
	if h.reused && h.resBytes == 0 && !h.gotResp {
		s.abortHTTP(Term{CauseServerAbort, PhaseHeaders})
		return
	}
	s.httpError(502, Term{CauseServerAbort, PhaseHeaders})
}

// httpBackClose reacts to the server closing its connection. Loop only.
func (s *Session) httpBackClose(err error) {
	h := s.http
	switch {
	case h.sp == resBody && h.resLeft == bodyUntilClose && errors.Is(err, io.EOF):
		s.httpResponseDone() // the close ends the body
	case h.sp == resHead:
		s.httpBackFailed(err)
	case h.sp == resBody:
		s.abortHTTP(Term{CauseServerAbort, PhaseData}) // truncated: never fake a complete response
	case h.rp == reqBody:
		s.httpBackFailed(err)
	}
	// Otherwise an idle server connection went away: nothing to do.
}

var statusText = map[int]string{
	400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 413: "Content Too Large",
	414: "URI Too Long", 417: "Expectation Failed", 431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}

// httpError answers status with a complete, well-framed response, closes
// the server side, and closes the client once it has read it (lingering:
// shut our side, discard what the client still sends, close on its FIN or
// after a second). Loop only.
func (s *Session) httpError(status int, t Term) {
	s.httpAnswer(status, "", "", "", t)
}

// httpAnswer is httpError with a given body (default: the status line's
// text), content type and extra header lines (each ending in CRLF).
func (s *Session) httpAnswer(status int, extra, body, ctype string, t Term) {
	h := s.http
	if h.closing || s.loopDone() {
		return
	}
	if h.srv != nil {
		h.srv.Release()
		h.srv, s.srv = nil, nil
	}
	s.closeEnd(&s.ends[sideBack])
	h.status, h.hterm, h.keep = status, t, false
	resp := cannedAnswer(status, extra, body, ctype)
	f := &s.ends[sideFront]
	if h.sp != resBody && (h.sp != resDone || h.rp == reqHead) { // never after a response started
		writeFd(f.c.Fd(), []byte(resp))
	}
	s.httpLog()
	h.closing = true
	h.rp, h.sp = reqHead, resDone
	unix.Shutdown(f.c.Fd(), unix.SHUT_WR)
	s.inDiscard(-1)
	s.term = t
	s.armLingerTimer()
}

// cannedAnswer renders a complete answer lb makes itself: status line,
// extra header lines (each ending in CRLF), a framed body (default: the
// status and its text) and Connection: close.
func cannedAnswer(status int, extra, body, ctype string) string {
	text := statusText[status]
	if text == "" {
		text = "Status"
	}
	if body == "" && extra == "" {
		body = fmt.Sprintf("%d %s\n", status, text)
	}
	if ctype == "" {
		ctype = "text/plain"
	}
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n%s",
		status, text, extra, ctype, len(body), body)
}

// httpLocal answers a request with a terminal rule (redirect, deny,
// return): lb itself answers and no server is involved.
func (s *Session) httpLocal(rl *analyzer.Rule) {
	st := rl.Status
	switch rl.Action {
	case analyzer.Redirect:
		if st == 0 {
			st = 302
		}
		s.httpAnswer(st, "Location: "+rl.Location+"\r\n", "", "", Term{CauseLocal, PhaseRequest})
	case analyzer.Deny:
		if st == 0 {
			st = 403
		}
		s.httpAnswer(st, "", rl.Body, rl.ContentType, Term{CauseProxy, PhaseRequest})
	default: // Return
		if st == 0 {
			st = 200
		}
		body := rl.Body
		s.httpAnswer(st, "", body, rl.ContentType, Term{CauseLocal, PhaseRequest})
	}
}

// abortHTTP ends the session now, closing both sides, with code t.
func (s *Session) abortHTTP(t Term) {
	h := s.http
	if h.srv != nil {
		h.srv.Release()
		h.srv, s.srv = nil, nil
	}
	if h.hterm == (Term{}) {
		h.hterm = t
		if h.sp != resDone && h.sp != resNone {
			s.httpLog()
		}
	}
	s.abortLoop(t, nil)
}

// abortLoopNormal closes the session after a normal last transaction.
func (s *Session) abortLoopNormal() {
	s.abortLoop(s.term, nil)
}

// httpTunnel turns the session into a tunnel (101 / CONNECT): the pumps
// take both directions with timeout.tunnel.
func (s *Session) httpTunnel() {
	h := s.http
	if h.srv != nil {
		// The slot stays held by the session until it ends.
		s.srv = h.srv
		h.srv = nil
	}
	s.http = nil // TCP semantics from here on
	s.httpOn = false
	s.tunnelled = true
	s.handoff(nil)
}

// httpHandoff moves the rest of the transaction off the loop, to the
// session goroutine (httpAfterHandoff), when the loop would have to buffer:
// a peer reads slower than its writer, a body is bulky, or a client sends
// too far ahead. reqPending holds request bytes already scanned but not yet
// written; reqComplete tells whether they end the request. After a clean
// transaction the session comes back onto the loop (httpReattach).
func (s *Session) httpHandoff(reqPending []byte, reqComplete bool) {
	h := s.http
	// What the client sent beyond the current request (pipelined
	// requests) is kept for after the hand-off; the request body bytes
	// already here go to the pumps.
	buf := s.inPeek()
	if reqPending == nil && h.rp == reqBody && len(buf) > 0 {
		n, done, err := bodySpan(buf, &h.reqLeft, &h.reqCk)
		if err != nil {
			s.httpError(errorStatus(err, 400), Term{CauseProxy, PhaseData})
			return
		}
		reqPending, reqComplete = buf[:n], done
	}
	s.carry = append([]byte(nil), buf[len(reqPending):]...)
	if len(s.carry) == 0 {
		s.carry = nil
	}
	if reqPending != nil {
		s.ends[sideFront].pending = append([]byte(nil), reqPending...)
	}
	if reqComplete {
		h.rp = reqDone
	}
	s.handoff(nil)
}

// The client's input: the loop connection's buffer, preceded by carry,
// the bytes a hand-off took out of an earlier connection buffer (the
// pipelined requests that followed the handed-off one). While carry is
// not empty, everything read is appended to it, so the parsers always
// see one contiguous buffer; it stays within maxPipelined plus one read.

// inBuffered is how many input bytes wait.
func (s *Session) inBuffered() int {
	n := len(s.carry)
	if c := s.ends[sideFront].c; c != nil {
		n += c.InboundBuffered()
	}
	return n
}

// inPeek returns every input byte waiting.
func (s *Session) inPeek() []byte {
	c := s.ends[sideFront].c
	if len(s.carry) == 0 {
		b, _ := c.Peek(-1)
		return b
	}
	if n := c.InboundBuffered(); n > 0 {
		b, _ := c.Peek(-1)
		s.carry = append(s.carry, b...)
		c.Discard(n)
	}
	return s.carry
}

// inDiscard consumes n input bytes (all when n < 0).
func (s *Session) inDiscard(n int) {
	if len(s.carry) == 0 {
		s.ends[sideFront].c.Discard(n)
		return
	}
	if n < 0 {
		s.ends[sideFront].c.Discard(-1)
		n = len(s.carry)
	}
	if s.carry = s.carry[n:]; len(s.carry) == 0 {
		s.carry = nil
	}
}

// armLingerTimer bounds the wait for the client to go after an error
// answer.
func (s *Session) armLingerTimer() {
	s.stopLoopTimer()
	s.loopTimer = s.fe.Env.Clock.AfterFunc(time.Second, func() {
		_ = s.loop.Execute(func() { s.abortLoop(s.term, nil) })
	})
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

func asciiEqualFold(b []byte, s string) bool { return analyzer.EqualFold(b, s) }

func equalFoldBytes(a, b []byte) bool { return analyzer.EqualFold(a, unsafeString(b)) }

// unsafeString views b as a string without copying; b must not change
// while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// httpLog accounts for the current transaction (counters, histograms) and
// writes its access-log line.
func (s *Session) httpLog() {
	h := s.http
	if h.nreq == 0 && h.status == 0 {
		return
	}
	now := s.now()
	s.fe.HTTPRequests.Add(1)
	if h.status > 0 {
		s.fe.HTTPResponses.Add(h.status)
	}
	if h.target != nil && h.bsrv != nil {
		bc := h.target.BE.Counters()
		bc.HTTPRequests.Add(1)
		if h.status > 0 {
			bc.HTTPResponses.Add(h.status)
			h.bsrv.Counters().HTTPResponses.Add(h.status)
		}
		responded := h.status > 0 && h.tResp > 0 && h.tResp < int64(time.Hour)
		s.observe(h.target, h.bsrv, s.tw, s.tc, time.Duration(h.tResp), time.Duration(now-h.tStart), s.tw > 0, s.connected, responded)
	}
	ev := s.fe.Env.AccessLog.Info()
	if ev == nil {
		return
	}
	ms := func(d int64) int64 { return d / int64(time.Millisecond) }
	tr := int64(-1)
	if h.tHead > 0 {
		tr = ms(h.tHead - h.tStart)
	}
	ev.Str("client", s.client.String()).
		Str("frontend", s.fe.Name).
		Str("mode", "http")
	if h.target != nil {
		ev.Str("backend", h.target.Cfg.Name)
	}
	if h.bsrv != nil {
		ev.Str("server", h.bsrv.Name())
	} else {
		ev.Str("server", "<NOSRV>")
	}
	tresp := int64(-1)
	if h.status > 0 && h.tResp > 0 && h.tResp < int64(time.Hour) {
		tresp = ms(h.tResp)
	}
	ev.Bytes("method", h.method[:h.mlen]).
		Int("status", h.status).
		Int64("TR", tr).
		Int64("Tw", s.tw.Milliseconds()).
		Int64("Tc", s.tc.Milliseconds()).
		Int64("Tr", tresp).
		Int64("Ta", ms(now-h.tStart)).
		Int64("Tt", ms(now-s.accepted.UnixNano())).
		Int64("bytes_in", h.reqBytes).
		Int64("bytes_out", h.resBytes).
		Int("retries", s.retries).
		Bool("reused", h.reused).
		Str("term", h.hterm.String()).
		Bytes("target", h.path).
		Send()
}

// httpClose reacts to a connection of an HTTP session being closed by its
// peer (or by the loop's owner). Loop only.
func (s *Session) httpClose(e *end, err error) {
	h := s.http
	if e.side == sideBack {
		s.httpBackClose(err)
		return
	}
	switch {
	case h.closing:
		s.abortLoop(s.term, nil) // the client read our answer and left
	case s.fe.Env.ctx.Err() != nil:
		s.abortHTTP(Term{CauseKilled, s.httpPhase()})
	case h.rp == reqHead && (h.sp == resNone || h.sp == resDone) && len(s.carry) == 0 && e.c.InboundBuffered() == 0 && h.req.HeadLen == 0:
		// A keep-alive client left between requests: a normal end.
		s.abortLoop(TermNormal, nil)
	default:
		s.abortHTTP(Term{CauseClientAbort, s.httpPhase()})
	}
}

// httpPhase is the phase letter of the current transaction.
func (s *Session) httpPhase() Phase {
	h := s.http
	switch {
	case h.rp == reqHead:
		return PhaseRequest
	case s.state == StateQueued:
		return PhaseQueue
	case h.rp == reqConnect:
		return PhaseConnect
	case h.sp == resHead:
		return PhaseHeaders
	}
	return PhaseData
}

// timeout actions of an HTTP session
const (
	toRequest   = iota // the request head is late: 408
	toKeepAlive        // idle between requests: close silently
	toQueue            // no slot in time: 503
	toResponse         // no response head in time: 504
	toClient           // client inactive mid-body
	toServer           // server inactive mid-body
)

// httpDeadline is the next instant the HTTP session must wake and what it
// will do then. Loop only.
func (s *Session) httpDeadline() (at int64, what int, ok bool) {
	h := s.http
	if h == nil { // parked: only the keep-alive (or request) timeout runs
		fe := s.fe.Timeouts
		if d := fe.HTTPKeepAlive.Duration; d > 0 {
			return s.idleSince + int64(d), toKeepAlive, true
		}
		if d := fe.HTTPRequest.Duration; d > 0 {
			return s.idleSince + int64(d), toKeepAlive, true
		}
		return 0, 0, false
	}
	fe, cfg := s.fe.Timeouts, s.fe.Default.Cfg.Timeout
	if h.target != nil {
		cfg = h.target.Cfg.Timeout
	}
	switch {
	case h.closing:
		return 0, 0, false
	case h.rp == reqHead && (h.sp == resNone || h.sp == resDone):
		if h.nreq > 0 && s.ends[sideFront].c != nil && s.inBuffered() == 0 {
			if d := fe.HTTPKeepAlive.Duration; d > 0 {
				return h.idleSince + int64(d), toKeepAlive, true
			}
		}
		if d := fe.HTTPRequest.Duration; d > 0 {
			return h.tStart + int64(d), toRequest, true
		}
		if d := fe.Client.Duration; d > 0 {
			return s.fcAct.Load() + int64(d), toRequest, true
		}
	case s.state == StateQueued:
		if d := cfg.Queue.Duration; d > 0 {
			return h.tQueue + int64(d), toQueue, true
		}
	case h.rp == reqConnect:
		return 0, 0, false // the dialer's own timeout
	case h.sp == resHead && h.rp == reqDone:
		if d := cfg.Server.Duration; d > 0 {
			return s.bcAct.Load() + int64(d), toResponse, true
		}
	default:
		at, cause, ok := s.deadline()
		if cause == CauseClientTimeout {
			return at, toClient, ok
		}
		return at, toServer, ok
	}
	return 0, 0, false
}

// httpTimer runs when the session's timer fires. Loop only.
func (s *Session) httpTimer() {
	at, what, ok := s.httpDeadline()
	if !ok {
		return
	}
	if left := at - s.now(); left > 0 {
		s.loopTimer.Reset(time.Duration(left))
		return
	}
	h := s.http
	switch what {
	case toRequest:
		s.httpError(408, Term{CauseClientTimeout, PhaseRequest})
	case toKeepAlive:
		s.abortLoop(TermNormal, nil)
	case toQueue:
		if h.target.BE.Cancel(&h.waiter) {
			s.state = StateAccepted
			s.httpError(503, Term{CauseServerTimeout, PhaseQueue})
		} // else a slot is on its way: httpGotServer runs next
	case toResponse:
		s.httpError(504, Term{CauseServerTimeout, PhaseHeaders})
	case toClient:
		s.abortHTTP(Term{CauseClientTimeout, PhaseData})
	case toServer:
		s.abortHTTP(Term{CauseServerTimeout, PhaseData})
	}
}

// closeIfIdle closes an HTTP session waiting for its next request with
// nothing buffered (graceful stop). Loop only.
func (s *Session) closeIfIdle() {
	h := s.http
	if h == nil && !s.loopDone() && s.httpOn {
		s.abortLoop(TermNormal, nil) // parked
		return
	}
	if s.loopDone() || h == nil || h.closing || h.rp != reqHead || (h.sp != resNone && h.sp != resDone) {
		return
	}
	if f := s.ends[sideFront].c; f == nil || s.inBuffered() > 0 {
		return
	}
	s.abortLoop(TermNormal, nil)
}
