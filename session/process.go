package session

import (
	"net/netip"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/config"
)

// process is the session's main step. It runs on the loop after every
// event (bytes arrived, a connection opened or closed, a pump reported, a
// timer fired, a server slot was granted, a dial ended), and does, in this
// order, what the session's state allows:
//
//  1. the request analyzers, in bit order;
//  2. the connect gate: once nothing HOLDs the request, connect;
//  3. the response analyzers, in bit order;
//  4. tunnels (TCP mode, HTTP after a switch) forward everything;
//  5. the end of a transaction (log, pool, next request) or of the session;
//
// then it moves the committed output (flush: writev on the loop, commands
// to the pumps) and, on the loop, goes round again while that made room
// for more (a response written, so the next pipelined request may run).
// Finally the timer is armed for the earliest expiry.
func (s *Session) process() {
	for i := 0; !s.ended; i++ {
		more := s.step()
		drained := s.flush() && !s.tunnel // a tunnel's transaction never ends
		if !more && !drained || s.closing || s.mode != onLoop {
			break
		}
		if i == maxSteps {
			// Other sessions get the loop too; this one goes on in a task
			// of its own (no event may come to wake it: answers lb makes
			// itself to pipelined requests).
			if !s.resuming {
				if s.onResume == nil {
					s.onResume = s.resume
				}
				s.resuming = s.loop.Execute(s.onResume) == nil
			}
			break
		}
	}
	if !s.ended && !s.closing {
		s.armTimer()
	}
}

// resume goes on with process after maxSteps rounds (a loop task).
func (s *Session) resume() {
	s.resuming = false
	if !s.ended && !s.closing {
		s.event(nil)
		s.process()
	}
}

// maxSteps bounds the rounds of one process call (pipelined requests
// answered from buffers) before the session yields the loop.
const maxSteps = 64

// step runs the analyzer list once; it reports whether another round may
// do more (a transaction ended).
func (s *Session) step() bool {
	if s.closing || s.ended || s.between {
		return false
	}
	if s.t == nil {
		if !s.inputWaiting(&s.req) {
			return false
		}
		s.unpark()
	}
	// 0. A PROXY protocol header comes before anything else.
	if s.proxy {
		if s.proxyHeader(); s.proxy || s.closing {
			return false
		}
	}
	// 1. Request analyzers, in bit order (tcp_inspect_req is alone on
	// TCP-mode channels).
	if s.req.an&analyzer.AnTCPInspectReq != 0 {
		s.tcpInspect(false)
	}
	if s.req.an&analyzer.AnHTTPLBReq != 0 {
		s.httpLBReq()
	}
	if s.req.an&analyzer.AnHTTPXferReqBody != 0 && !s.closing {
		s.httpXferReqBody()
	}
	// 2. The connect gate (HOLD: doc.go).
	if !s.held() && !s.closing && s.t.cs == csNone && s.wantsServer() {
		s.connect()
	}
	// 3. Response analyzers, in bit order.
	if s.res.an&analyzer.AnHTTPLBResp != 0 && !s.closing {
		s.httpLBResp()
	}
	if s.res.an&analyzer.AnHTTPXferResBody != 0 && !s.closing {
		s.httpXferResBody()
	}
	// 4. Tunnels forward everything, both ways.
	if s.tunnel && !s.closing {
		s.forwardAll(&s.req, &s.bc)
		s.forwardAll(&s.res, &s.fc)
	}
	// 5. The end of the transaction, or of the session.
	return !s.closing && s.checkEnd()
}

// held reports HOLD: the request is still being parsed and validated, so
// no server may be chosen or contacted.
func (s *Session) held() bool {
	return s.proxy || s.req.an&(analyzer.AnHTTPLBReq|analyzer.AnTCPInspectReq) != 0
}

// proxyHeader reads the connection's PROXY protocol header: once whole,
// its bytes are dropped and its source becomes the client's address
// (balancing, X-Forwarded-For, rules, the log); a malformed one, or the
// client's end before it is whole, closes the connection.
func (s *Session) proxyHeader() {
	h, n, err := analyzer.ParseProxyHeader(s.input(&s.req))
	switch {
	case err == analyzer.ErrProxyIncomplete && !s.req.shutr:
		return
	case err != nil:
		s.fe.ProxyErrors.Add(1)
		s.abort(Term{CauseProxy, PhaseRequest})
		return
	}
	s.consume(&s.req, n)
	s.proxy = false
	if !h.Local && h.Src.IsValid() {
		s.setClient(h.Src)
		s.local = h.Dst
	}
	if len(h.ALPN) > 0 || len(h.Authority) > 0 {
		s.proxyTLV = &proxyTLVs{alpn: string(h.ALPN), authority: string(h.Authority)}
	}
}

// setClient makes a the session's client address (a PROXY header's
// source).
func (s *Session) setClient(a netip.AddrPort) {
	s.client, s.clientStr = netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), ""
	if s.t != nil {
		s.t.a.Src = s.client.Addr()
	}
}

// tcpInspect runs tcp_inspect_req: once the client's ClientHello is whole
// (or cannot be: not TLS, too large, the client stopped sending, or
// inspect_delay passed: expired), the connection goes to the route of its
// server name, else to the default backend. A TLS frontend routes by the
// name of its own handshake.
func (s *Session) tcpInspect(expired bool) {
	t := s.t
	var sni string
	done := true
	if st := s.fc.tls; st != nil {
		sni = st.info.SNI
	} else {
		in := s.input(&s.req)
		sni, done = analyzer.ClientHelloSNI(in)
		done = done || expired || s.req.shutr || len(in) >= analyzer.MaxClientHello
	}
	if !done {
		return
	}
	s.req.an &^= analyzer.AnTCPInspectReq
	t.sni = sni
	if i := analyzer.MatchSNI(s.fe.SNIRoutes, sni); i >= 0 {
		t.target = s.fe.Routes[i]
	}
}

// wantsServer reports whether the transaction needs a server: TCP mode
// always; HTTP once http_lb_req chose to forward (not for lb's own
// answers).
func (s *Session) wantsServer() bool {
	if s.fe.Mode != config.ModeHTTP {
		return !s.fc.eof || s.req.pending() || s.inputWaiting(&s.req)
	}
	return s.t.a.HeadAt != 0 && s.t.status == 0 && s.t.a.Err == nil && s.t.a.Answer == nil
}

// forwardAll commits every input byte of c to its consumer once it is
// connected (tunnels), and relays the producer's FIN once the output is
// written.
func (s *Session) forwardAll(c *channel, dst *end) {
	if !dst.open {
		return
	}
	if in := s.input(c); len(in) > c.fwd {
		c.fwd = len(in)
	}
	if c.shutr && !c.pending() && !s.inputWaiting(c) && !c.shutw {
		s.shutWrite(c, dst)
	}
}

// checkEnd ends the transaction or the session when their work is done;
// it reports whether a new transaction started.
func (s *Session) checkEnd() bool {
	if s.closing || s.ended || s.req.pending() || s.res.pending() {
		return false
	}
	if s.stop != goOn && s.t != nil {
		s.afterAnswer() // the answer that ends the connection is out
		return false
	}
	if s.tunnel {
		if s.req.shutw && s.res.shutw || s.t.cs == csFailed {
			s.abort(TermNormal)
		}
		return false
	}
	if s.t == nil || s.req.an != 0 || s.res.an != 0 || s.t.status == 0 {
		return false
	}
	return s.endTxn()
}
