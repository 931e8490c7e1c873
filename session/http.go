package session

import (
	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/config"
)

// HTTP mode: the session side of the four analyzers. Each runs the
// analyzer on the channel's input and executes its verdict and plan; none
// decides anything the analyzer decides (analyzer/contract.go).

// httpLBReq runs http_lb_req: while it waits, the request is HELD.
func (s *Session) httpLBReq() {
	t := s.t
	in := s.input(&s.req)
	if len(in) == 0 {
		return
	}
	now := s.now()
	if !t.gotReq {
		t.gotReq = true
		if s.nreq > 1 {
			t.tStart = now // the first byte of a keep-alive request (TR counts from it)
		}
	}
	var lim analyzer.Limiter
	if s.fe.Limited {
		lim = s
	}
	switch analyzer.HTTPLBReq(s.fe.HTTP, &t.a, &s.req.an, in, now, lim) {
	case analyzer.Wait:
		return
	case analyzer.Fail:
		s.answer(t.a.Err.Status, nil, Term{CauseProxy, PhaseRequest})
	case analyzer.Answer:
		// The request's head and held body are lb's to drop; a body not
		// complete yet makes the answer close the connection.
		s.consume(&s.req, t.a.Req.HeadLen+t.a.Held)
		if t.a.Answer.Action == analyzer.Tarpit {
			// Held for the rule's time, then answered (expTarpit); no
			// server is involved meanwhile (wantsServer).
			t.tarpit = now + int64(t.a.Answer.Tarpit)
			return
		}
		cause := CauseLocal
		if t.a.Answer.Action == analyzer.Deny {
			cause = CauseProxy
		}
		s.answer(analyzer.RuleStatus(t.a.Answer, false), t.a.Answer, Term{cause, PhaseRequest})
	case analyzer.Continue:
		t.target = s.fe.target(t.a.Route)
		t.head = t.target.codec().AppendHead(t.head[:0], s.fe.HTTP, &t.a, in)
		s.consume(&s.req, t.a.Req.HeadLen)
		s.req.setHead(t.head)
		s.req.fwd = t.a.Held
		if s.req.an&analyzer.AnHTTPXferReqBody != 0 {
			t.bodyStart = now
		}
	}
}

// httpXferReqBody runs http_xfer_req_body on the request body's new bytes
// and commits the valid ones.
func (s *Session) httpXferReqBody() {
	t := s.t
	in := s.input(&s.req)[s.req.fwd:]
	if len(in) == 0 {
		return
	}
	n, v := analyzer.HTTPXferReqBody(&t.a, &s.req.an, in)
	if v == analyzer.Fail {
		// Bad framing or over max_body_size in bytes that arrived after
		// the head: nothing more goes to the server, whose connection is
		// closed (it holds part of a request it must not act on).
		s.answer(t.a.Err.Status, nil, Term{CauseProxy, PhaseData})
		return
	}
	s.req.fwd += n
}

// httpLBResp runs http_lb_resp: the response head is parsed and checked
// before anything of it reaches the client.
func (s *Session) httpLBResp() {
	t := s.t
	in := s.input(&s.res)
	if len(in) == 0 {
		return
	}
	t.gotResp = true
	t.a.Close = t.a.Close || s.env.draining.Load()
	now := s.now()
	switch analyzer.HTTPLBResp(s.fe.HTTP, &t.a, &s.res.an, in, now) {
	case analyzer.Wait:
		return
	case analyzer.Fail:
		s.answer(502, nil, Term{CauseProxy, PhaseHeaders})
		return
	case analyzer.Answer:
		s.answer(analyzer.RuleStatus(t.a.Answer, true), t.a.Answer, Term{CauseProxy, PhaseHeaders})
		return
	}
	s.res.setHead(s.fe.clientCodec().AppendHead(t.resHead[:0], s.fe.HTTP, &t.a, in))
	t.resHead = s.res.head
	s.consume(&s.res, t.a.Res.HeadLen)
	if t.a.Interim {
		// 100 Continue, 103 Early Hints: passed on; the final head follows.
		t.a.Res.Reset()
		return
	}
	t.status = t.a.Status
	if t.a.Tunnel {
		// Switched protocols: from now on a tunnel both ways, with
		// timeout.tunnel (the 101's own transaction is logged at the end).
		s.req.an, s.res.an = 0, 0
		s.tunnel = true
	}
}

// httpXferResBody runs http_xfer_res_body on the response body's new
// bytes and commits the valid ones.
func (s *Session) httpXferResBody() {
	t := s.t
	in := s.input(&s.res)[s.res.fwd:]
	if len(in) == 0 {
		switch {
		case !s.res.shutr:
		case t.a.ResBody.UntilClose():
			// The server's close ends a body delimited by it.
			s.res.an &^= analyzer.AnHTTPXferResBody
			t.a.ResBody = analyzer.Body{}
		case !s.res.pending():
			// Truncated: never fake a complete response; what came went.
			s.abort(Term{CauseServerAbort, PhaseData})
		}
		return
	}
	n, v := analyzer.HTTPXferResBody(&t.a, &s.res.an, in)
	if v == analyzer.Fail {
		// Broken framing mid-body: the client must never see a complete
		// response; nothing of that read goes, both sides close.
		s.abort(Term{CauseServerAbort, PhaseData})
		return
	}
	s.res.fwd += n
}

// answer makes lb answer the current request itself: with status (an
// error), or with rule rl's answer. The server side is given up (slot
// released, connection closed: never reused after an error). The client
// connection is kept for the next request when the request was read
// completely, the client allows keep-alive, and the status is a server
// failure (502, 503, 504) or a rule's answer; otherwise lb closes after
// the answer (lingering). A response already started cannot be replaced:
// the session is aborted instead.
func (s *Session) answer(status int, rl *analyzer.Rule, term Term) {
	t := s.t
	if t.status != 0 || s.res.bytes > 0 && !t.a.Interim {
		s.abort(term)
		return
	}
	s.dropServer()
	keep := keepable(status, rl) && s.requestRead() && t.a.ReqKeepAlive && !t.a.Close && !s.env.killed.Load()
	s.req.an, s.res.an = 0, 0
	s.req.setHead(nil)
	s.consume(&s.req, s.req.fwd) // body bytes the server will not get; what follows is the next request
	s.req.fwd = 0
	s.res.fwd = 0
	if s.res.lent() {
		t.resHead = nil // the pump may still be writing the previous head
	}
	a := analyzer.LocalAnswer{Status: status, KeepAlive: keep}
	if rl != nil {
		a = analyzer.RuleAnswer(rl, term.Phase == PhaseHeaders, keep, &t.a)
	}
	t.resHead = s.fe.clientCodec().AppendAnswer(t.resHead[:0], a, &t.a)
	s.res.setHead(t.resHead)
	t.status, t.term = status, term
	t.a.KeepAlive = keep
	if !keep {
		s.stop = lingerAfter
		if s.env.killed.Load() {
			s.stop = closeAfter
		}
	}
}

// keepable reports whether an answer with status leaves the client
// connection usable: lb's answers for a server that failed (the request
// itself was fine) and rule answers; never a refusal of the request.
func keepable(status int, rl *analyzer.Rule) bool {
	return rl != nil || status == 502 || status == 503 || status == 504
}

// requestRead reports whether the whole request has been read (its head
// parsed and its body received), so the connection is in step for the
// next one.
func (s *Session) requestRead() bool {
	t := s.t
	return t.a.HeadAt != 0 && t.a.ReqBody.Done() &&
		s.req.an&(analyzer.AnHTTPLBReq|analyzer.AnHTTPXferReqBody) == 0
}

// afterAnswer runs once an answer that ends the connection is written:
// close at once (a kill, or a normal end with Connection: close), or
// linger: shut our side and discard what the client still sends until it
// closes or the linger expires, so that its kernel does not reset the
// connection before it read the answer.
func (s *Session) afterAnswer() {
	s.logTxn()
	if s.stop == closeAfter || s.fc.eof {
		s.abort(TermNormal) // the transaction keeps its own code
		return
	}
	if s.linger == 0 {
		s.linger = s.now()
		s.shutWrite(&s.res, &s.fc)
	}
	s.discardInput(&s.req)
}

// endTxn ends a transaction whose messages are both complete and written:
// it logs it, frees the server slot, pools the server connection when it
// can carry another request, and starts the next transaction, or closes.
// It reports whether a new transaction started.
func (s *Session) endTxn() bool {
	t := s.t
	s.logTxn()
	s.releaseServer(t.a.Status != 0 && t.a.Res.KeepAlive && !s.res.hasOwn() && s.requestRead())
	if !t.a.KeepAlive || s.fc.eof {
		if !s.fc.eof && (!s.requestRead() || s.inputWaiting(&s.req)) {
			// The client is still sending: linger, so that closing with
			// its bytes unread does not reset the response away.
			s.stop = lingerAfter
			s.afterAnswer()
			return false
		}
		s.abort(TermNormal)
		return false
	}
	s.idleSince = s.now()
	if s.mode == onPumps {
		// The next transaction starts back on the loop, once the pumps
		// let go of its buffers (reattach).
		s.between = true
		s.backToLoop()
		return false
	}
	s.newTxn()
	if !s.inputWaiting(&s.req) {
		s.park()
		return false
	}
	return true
}

// responseDue reports whether an HTTP response is still expected from the
// server connection.
func (s *Session) responseDue() bool {
	t := s.t
	return s.fe.Mode == config.ModeHTTP && !s.tunnel && t != nil && t.cs == csConnected && t.status == 0 &&
		s.res.an&(analyzer.AnHTTPLBResp|analyzer.AnHTTPXferResBody) != 0
}

// requestBroken handles a server that stopped reading the request (a
// reset or broken pipe on a write to it) while its response is due: a
// server that rejects an upload early answers, then closes. The rest of
// the request is given up (the connection closes after the response), the
// server connection is kept for reading, and its response, or its close,
// decides (502 if nothing comes).
func (s *Session) requestBroken() {
	t := s.t
	s.req.an = 0
	s.req.setHead(nil)
	s.consume(&s.req, s.req.fwd)
	s.req.fwd = 0
	t.a.Close = true
	t.a.KeepAlive = false
}

// onClientEOF handles the client's FIN in HTTP mode (gnet closes on it;
// a pump reports it): between requests it is a normal end; during a
// request or while its response is due it aborts (HAProxy's abortonclose,
// the default for HTTP since 3.3): nobody is there to read the answer.
func (s *Session) onClientEOF() {
	switch {
	case s.stop != goOn || s.linger != 0:
		s.abort(TermNormal) // the transaction keeps its own code
	case !s.reqStarted() && !s.inputWaiting(&s.req):
		s.abort(TermNormal)
	default:
		s.abort(Term{CauseClientAbort, s.phase()})
	}
}

// reqStarted reports whether bytes of the current request arrived.
func (s *Session) reqStarted() bool { return s.t != nil && s.t.gotReq }

// onServerEOF handles the server closing its connection (or resetting it)
// in HTTP mode.
func (s *Session) onServerEOF() {
	t := s.t
	switch {
	case t == nil || t.cs != csConnected:
		return
	case s.res.an&analyzer.AnHTTPLBResp != 0 && !t.gotResp:
		// Nothing of the response came: on a reused connection that the
		// server had closed, a request without body is sent again on a
		// new one (HAProxy's users see SH 502s there); else 502.
		if t.reused && !t.resend && t.a.ReqBody.Done() && s.req.an == 0 && t.a.Held == 0 && t.a.Req.ContentLength <= 0 {
			s.resend()
			return
		}
		s.answer(502, nil, Term{CauseServerAbort, PhaseHeaders})
	case s.res.an&analyzer.AnHTTPLBResp != 0:
		s.answer(502, nil, Term{CauseServerAbort, PhaseHeaders})
	case s.res.an&analyzer.AnHTTPXferResBody != 0:
		// The body's end (its last bytes, or a truncation) is found by
		// http_xfer_res_body from what came before the close.
	case s.req.an != 0 && s.res.an == 0:
		// The server answered before the request's end and left: the
		// response goes out, then both sides close.
		s.req.an = 0
		s.discardInput(&s.req)
		t.a.KeepAlive = false
	}
}
