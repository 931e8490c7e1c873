package session

import (
	"sync/atomic"
	"time"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// logTxn accounts for the current transaction (the frontend's, backend's
// and server's counters and timer histograms) and writes its access-log
// line: once per transaction (HTTP) or per session (TCP), written by this
// function only. An HTTP transaction that never started (a keep-alive
// connection closed while idle) has no line, unless a hard stop ended it.
func (s *Session) logTxn() {
	t := s.t
	if t == nil || t.logged {
		return
	}
	http := s.fe.Mode == config.ModeHTTP
	if http && t.status == 0 && !s.reqStarted() && t.a.HeadAt == 0 && t.term.Cause != CauseKilled {
		return
	}
	t.logged = true
	s.limitsTxnEnd(t)
	now := s.now()
	in, out := s.req.bytes, s.res.bytes
	s.fe.BytesIn.Add(in)
	s.fe.BytesOut.Add(out)
	if http {
		s.fe.HTTPRequests.Add(1)
		if t.status > 0 {
			s.fe.HTTPResponses.Add(t.status)
		}
	}
	queued := t.tw > 0 || t.cs == csQueued
	connected := t.bsrv != nil
	tr := int64(-1)
	if t.a.ResHeadAt != 0 && t.tSent != 0 {
		tr = t.a.ResHeadAt - t.tSent
	}
	total := now - t.tStart
	if !http {
		total = now - s.accepted
	}
	if http {
		switch {
		case t.a.Answer != nil && t.a.Answer.Action == analyzer.Deny && t.term.Phase == PhaseHeaders:
			s.fe.DeniedResponses.Add(1)
		case t.a.Answer != nil && (t.a.Answer.Action == analyzer.Deny || t.a.Answer.Action == analyzer.Tarpit):
			s.fe.DeniedRequests.Add(1)
		case t.a.Err != nil && t.term.Phase == PhaseRequest, t.term == Term{CauseClientTimeout, PhaseRequest}:
			s.fe.RequestErrors.Add(1)
		}
	}
	if t.target != nil && t.asked {
		bc := t.target.BE.Counters()
		bc.BytesIn.Add(uint64(in))
		bc.BytesOut.Add(uint64(out))
		bc.SessionRate.Add(time.Unix(0, now)) // the event's time, read once
		ca, sa, re := termKinds(t.term, connected)
		count := func(n *atomic.Uint64, yes bool) {
			if yes {
				n.Add(1)
			}
		}
		count(&bc.ClientAborts, ca)
		count(&bc.ServerAborts, sa)
		count(&bc.ResponseErrors, re)
		if srv := t.logServer(); srv != nil {
			sc := srv.Counters()
			sc.BytesIn.Add(uint64(in))
			sc.BytesOut.Add(uint64(out))
			count(&sc.ClientAborts, ca)
			count(&sc.ServerAborts, sa)
			count(&sc.ResponseErrors, re)
		}
		if http && connected {
			bc.HTTPRequests.Add(1)
			if t.status > 0 {
				bc.HTTPResponses.Add(t.status)
				t.bsrv.Counters().HTTPResponses.Add(t.status)
			}
		}
		observe(&bc.QueueTime, &bc.ConnectTime, &bc.ResponseTime, &bc.TotalTime, t, tr, total, queued, connected)
		if t.bsrv != nil {
			sc := t.bsrv.Counters()
			observe(&sc.QueueTime, &sc.ConnectTime, &sc.ResponseTime, &sc.TotalTime, t, tr, total, queued, connected)
		}
	}
	ev := s.env.AccessLog.Info()
	if ev == nil {
		return
	}
	ms := func(d int64) int64 { return d / int64(time.Millisecond) }
	tw, tc := int64(-1), int64(-1)
	if t.asked {
		tw = ms(t.tw)
	}
	if connected {
		tc = ms(t.tc)
	}
	if s.clientStr == "" {
		s.clientStr = s.client.Addr().Unmap().String() // once per session
	}
	ev.Str("client_ip", s.clientStr).
		Int("client_port", int(s.client.Port())).
		Str("frontend", s.fe.Name).
		Str("mode", string(s.fe.Mode))
	if t.target != nil {
		ev.Str("backend", t.target.Cfg.Name)
	}
	if srv := t.logServer(); srv != nil {
		ev.Str("server", srv.Name())
	} else {
		ev.Str("server", "<NOSRV>")
	}
	if p := s.proxyTLV; p != nil {
		if p.alpn != "" {
			ev.Str("proxy_alpn", p.alpn)
		}
		if p.authority != "" {
			ev.Str("proxy_authority", p.authority)
		}
	}
	if st := s.fc.tls; st != nil {
		ev.Str("tls_version", st.info.Version).
			Str("tls_cipher", st.info.Cipher).
			Str("sni", st.info.SNI).
			Bool("tls_resumed", st.info.Resumed)
		if st.info.ClientCert {
			ev.Str("tls_client", st.info.ClientSubject)
		}
	}
	if http {
		trq := int64(-1)
		if t.a.HeadAt != 0 {
			trq = ms(t.a.HeadAt - t.tStart)
		}
		if t.a.HeadAt != 0 {
			v := "1.1"
			if t.a.HTTP10 {
				v = "1.0"
			}
			ev.Str("http_version", v).Bytes("host", t.a.Host())
			if ua := t.a.UserAgent(); len(ua) > 0 {
				ev.Bytes("user_agent", ua)
			}
		}
		ev.Bytes("request_id", t.a.RequestID()).
			Bytes("method", t.a.Method()).
			Int("status", t.status).
			Int64("TR", trq).
			Int64("Tw", tw).
			Int64("Tc", tc).
			Int64("Tr", msOrNone(tr)).
			Int64("Ta", ms(total)).
			Int64("Tt", ms(now-s.accepted)).
			Int64("bytes_in", in).
			Int64("bytes_out", out).
			Int("retries", t.retries).
			Bool("reused", t.reused).
			Str("term", t.term.String()).
			Bytes("target", t.a.Target()).
			Send()
		return
	}
	if t.sni != "" && s.fc.tls == nil {
		ev.Str("sni", t.sni)
	}
	ev.Int64("Tw", tw).
		Int64("Tc", tc).
		Int64("Tt", ms(total)).
		Int64("bytes_in", in).
		Int64("bytes_out", out).
		Int64("bytes_spliced", s.req.spliced+s.res.spliced).
		Int("retries", t.retries).
		Bool("redispatched", t.redisp).
		Str("term", t.term.String()).
		Send()
}

func msOrNone(d int64) int64 {
	if d < 0 {
		return -1
	}
	return d / int64(time.Millisecond)
}

// observe records a transaction's timers in one set of histograms; a
// phase that never happened (-1 in the log) is not observed.
func observe(q, c, r, a *backend.Histogram, t *txn, tr, total int64, queued, connected bool) {
	if queued {
		q.Observe(time.Duration(t.tw))
	}
	if connected {
		c.Observe(time.Duration(t.tc))
	}
	if tr >= 0 && t.status > 0 {
		r.Observe(time.Duration(tr))
	}
	a.Observe(time.Duration(total))
}

// killNow ends the session for a hard stop (Env.Kill): an HTTP request
// whose head was read and that has no response yet is answered 503
// (HAProxy does the same), one non-blocking write that does not wait for
// a slow client; every session ends with its log line and a K code.
func (s *Session) killNow() {
	if s.ended || s.closing {
		return
	}
	s.event(nil)
	if s.t == nil {
		s.newTxn()
	}
	t := s.t
	term := Term{CauseKilled, s.phase()}
	if s.fe.Mode == config.ModeHTTP && !s.tunnel && t.a.HeadAt != 0 && t.a.Err == nil && t.a.Answer == nil &&
		t.status == 0 && s.res.bytes == 0 {
		s.answer(503, nil, term)
	}
	t.term = term
	s.abort(term)
}

// closeIfIdle closes an HTTP session waiting for its next request with
// nothing of it received (a graceful stop). Loop only.
func (s *Session) closeIfIdle() {
	if s.ended || s.closing || s.fe.Mode != config.ModeHTTP || s.tunnel {
		return
	}
	s.event(nil)
	t := s.t
	if t == nil || s.req.an == analyzer.AnHTTPLBReq && !s.reqStarted() && !s.inputWaiting(&s.req) && t.cs == csNone && s.stop == goOn {
		s.abort(TermNormal)
	}
}

// termKinds classifies a transaction's end for the abort and error
// counters: the client or the server cut it once it had a server (HAProxy's
// cli_abrt, srv_abrt), or the server's response was not valid (eresp).
func termKinds(t Term, connected bool) (clientAbort, serverAbort, respError bool) {
	data := t.Phase == PhaseData || t.Phase == PhaseHeaders
	switch {
	case !connected:
	case (t.Cause == CauseClientAbort || t.Cause == CauseClientTimeout) && data:
		clientAbort = true
	case t.Cause == CauseServerAbort && data, t.Cause == CauseServerTimeout && t.Phase == PhaseData:
		serverAbort = true
	}
	respError = connected && t.Phase == PhaseHeaders && (t.Cause == CauseProxy || t.Cause == CauseServerAbort)
	return
}

// logServer is the server a transaction's log line names: the one it is
// connected to, else the last one it tried to connect to (HAProxy names
// it in SC and sC lines too), else none.
func (t *txn) logServer() *backend.Server {
	if t.bsrv != nil {
		return t.bsrv
	}
	return t.tried
}
