package session

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"time"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// Connecting, for both modes, written once: a slot from the backend
// (queueing for up to timeout.queue), then a pooled idle connection to
// that server (HTTP) or a new one (timeout.connect), retries on the same
// server after HAProxy's turn-around pause, redispatch on the last retry.
// connect is the only code that starts it, from process once nothing
// HOLDs the request (doc.go). Every step runs on the loop; the dial
// itself runs on a goroutine of its own that ends with the attempt.

// maxTurnAround caps the pause between two connect attempts on the same
// server (HAProxy: min(timeout connect, 1s)).
const maxTurnAround = time.Second

// connect starts getting the transaction a server connection.
func (s *Session) connect() {
	s.t.asked = true
	s.acquire()
}

// acquire asks the backend for a server slot; the session gets a waiter
// only when it has to wait (most connects need none: no allocation).
func (s *Session) acquire() {
	t := s.t
	key := t.a.Key
	if s.fe.Mode != config.ModeHTTP {
		key = analyzer.SourceKey(s.client.Addr())
	}
	t.tPhase = s.now()
	srv, err := t.target.BE.Acquire(key, t.exclude, nil)
	if errors.Is(err, backend.ErrWouldQueue) {
		if s.waiter == nil {
			// A new one after a wait given up too late (cancelWait): the
			// backend may still hand the old one a slot.
			w := new(backend.Waiter)
			w.Ready = func(srv *backend.Server) {
				if s.loop.Execute(func() { s.event(nil); s.slotGranted(w, srv) }) != nil {
					srv.Release()
				}
			}
			s.waiter = w
		}
		s.waiter.Class, s.waiter.Offset = t.a.PriorityClass, t.a.PriorityOffset
		srv, err = t.target.BE.Acquire(key, t.exclude, s.waiter)
	}
	switch {
	case err == nil:
		s.gotSlot(srv)
	case errors.Is(err, backend.ErrQueued):
		t.cs = csQueued
	case errors.Is(err, backend.ErrQueueFull):
		s.connectGaveUp(Term{CauseResource, PhaseQueue})
	default: // backend.ErrNoServer
		s.connectGaveUp(Term{CauseServerAbort, PhaseConnect})
	}
}

// slotGranted continues a queued transaction with the slot a Release
// handed over (Waiter.Ready, via the loop).
func (s *Session) slotGranted(w *backend.Waiter, srv *backend.Server) {
	t := s.t
	if s.ended || s.closing || w != s.waiter || t == nil || t.cs != csQueued || s.env.killed.Load() {
		srv.Release() // the wait was given up meanwhile, or a hard stop's kill is on its way
		return
	}
	t.tw += s.now() - t.tPhase
	s.gotSlot(srv)
	s.process()
}

// cancelWait leaves the backend's queue. When the slot is already on its
// way (Cancel too late), the waiter is dropped: slotGranted releases that
// slot, and the next wait gets a new waiter.
func (s *Session) cancelWait(t *txn) {
	if !t.target.BE.Cancel(s.waiter) {
		s.waiter = nil
	}
	t.tw += s.now() - t.tPhase
}

// gotSlot connects to srv, on which t holds a slot: an idle pooled
// connection to it when the reuse rules allow (pool.go), else a new one.
func (s *Session) gotSlot(srv *backend.Server) {
	t := s.t
	t.srv = srv
	t.tPhase = s.now()
	if s.fe.Mode == config.ModeHTTP && s.mode == onLoop && s.reuseAllowed() {
		if c := s.env.poolFor(s.loop).get(srv, s.now()); c != nil {
			s.attachBack(c)
			t.reused = true
			s.env.Proc.Reuses.Add(1)
			s.connected()
			return
		}
	}
	s.dial()
}

// reuseAllowed: HAProxy's "http-reuse safe", a little better (pool.go): a
// session's first request takes a pooled connection only when it is
// idempotent and has no body, because if that connection turns out dead
// before any response byte it can be sent again on a new one.
func (s *Session) reuseAllowed() bool {
	t := s.t
	return s.nreq > 1 || t.a.Idempotent() && t.a.ReqBody.Done() && t.a.Held == 0 && t.a.Req.ContentLength <= 0
}

// dial starts a connect attempt to the transaction's server: on the loop
// itself (dial.go) when the session is there, else on a goroutine of its
// own; its result comes back as bc's OnOpen (on the loop) or dialDone.
// timeout.connect is the session's expiry (expConnect), which cancels the
// attempt.
func (s *Session) dial() {
	t := s.t
	t.dialSeq++
	t.attempts++
	t.tried = t.srv
	s.env.Proc.Dials.Add(1)
	t.cs = csConnecting
	t.tPhase = s.now()
	if s.mode == onLoop && s.dialOnLoop(t) {
		return
	}
	ctx, cancel := context.WithCancel(s.env.ctx)
	t.cancel = cancel
	go s.dialer(ctx, t.dialSeq, t.srv.Addr(), s.mode == onLoop, t.target.TLS)
}

// dialer is a connect attempt's goroutine: it dials, then either puts the
// connection onto the session's loop (its OnOpen continues there) or
// posts the outcome to the loop. Stale outcomes (the session moved on)
// are closed there.
func (s *Session) dialer(ctx context.Context, seq uint32, addr string, toLoop bool, tlsCfg *tls.Config) {
	c, err := s.env.Dialer.Dial(ctx, addr)
	var st *tlsState
	if err == nil && tlsCfg != nil {
		// A TLS server: the handshake too, here (it blocks); the loop
		// then carries the records.
		if st, err = clientHandshake(ctx, c, tlsCfg, addr); err != nil {
			c.Close()
			c = nil
		} else if !toLoop {
			c = st.toPumps(c)
		}
	}
	if err == nil && toLoop {
		if err = s.loop.Adopt(c, &dialed{s: s, seq: seq, st: st}); err == nil {
			return
		}
		c = nil
	}
	if s.loop.Execute(func() { s.event(nil); s.dialDone(seq, c, err) }) != nil && c != nil {
		c.Close()
	}
}

// dialed is the handler of a new server connection until its OnOpen,
// which hands it to the session's back end (or closes it, when stale).
type dialed struct {
	s   *Session
	seq uint32
	st  *tlsState // a TLS server's, handshake done
}

// OnOpen implements LoopHandler.
func (d *dialed) OnOpen(c LoopConn, _ Loop) bool {
	s := d.s
	t := s.t
	if s.ended || s.closing || t == nil || t.dialSeq != d.seq || t.cs != csConnecting {
		return true
	}
	if d.st != nil {
		c = &tlsLoop{LoopConn: c, st: d.st}
	}
	s.event(c)
	s.attachBack(c)
	s.connected()
	s.process()
	return s.eventDone()
}

// OnTraffic and OnClose cannot happen before OnOpen.
func (d *dialed) OnTraffic(LoopConn) bool { return true }
func (d *dialed) OnClose(LoopConn, error) {}
func (s *Session) dialDone(seq uint32, c Conn, err error) {
	t := s.t
	if s.ended || s.closing || t == nil || t.dialSeq != seq || t.cs != csConnecting {
		if c != nil {
			c.Close()
		}
		return
	}
	if err == nil {
		s.bc.nc, s.bc.open, s.bc.eof = c, true, false
		if tc, ok := c.(*tlsConn); ok {
			s.bc.tls = tc.st
		}
		s.connected()
	} else {
		s.connectFailed(isTimeout(err))
	}
	s.process()
}

// connected: the transaction has its server connection.
func (s *Session) connected() {
	t := s.t
	now := s.now()
	if v := t.srv.SendProxy(); v != 0 && !t.reused {
		// A new connection to a server that wants to know the client: the
		// header goes first, before the request head or the client's bytes.
		h := analyzer.AppendProxyHeader(nil, v, s.client, s.local)
		s.req.setHead(append(h, s.req.head[s.req.headOff:]...))
	}
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
	t.cs = csConnected
	t.tc += now - t.tPhase
	t.bsrv = t.srv
	t.tSent = now
	s.bc.act.Store(now)
	if s.fe.Mode == config.ModeHTTP && !s.tunnel {
		s.res.an |= analyzer.AnHTTPLBResp
	}
	if s.mode == onPumps {
		s.backToPumps()
	}
}

// connectFailed handles a failed or timed-out attempt: retry after the
// turn-around, redispatch on the last retry, or give up.
func (s *Session) connectFailed(timedOut bool) {
	t := s.t
	srv := t.srv
	srv.ConnFailed()
	t.tc += s.now() - t.tPhase
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
	t.dialSeq++ // a late result of this attempt is stale
	cfg := t.target.Cfg
	if t.attempts > cfg.Retries || s.env.ctx.Err() != nil {
		term := Term{CauseServerAbort, PhaseConnect}
		if timedOut {
			term.Cause = CauseServerTimeout
		}
		if s.env.ctx.Err() != nil {
			term.Cause = CauseKilled
		}
		s.connectGaveUp(term)
		return
	}
	t.retries++
	if cfg.Redispatch && t.attempts == cfg.Retries {
		// The next attempt is the last: another server.
		t.target.BE.Counters().Redispatches.Add(1)
		srv.Release()
		t.srv, t.exclude, t.redisp = nil, srv, true
		s.acquire()
		return
	}
	t.target.BE.Counters().Retries.Add(1)
	srv.Counters().Retries.Add(1)
	t.cs = csPausing
	t.tPhase = s.now()
}

// connectGaveUp ends a transaction that got no server connection: 503
// (HTTP) or a close (TCP), with term.
func (s *Session) connectGaveUp(term Term) {
	t := s.t
	if t.srv != nil {
		t.srv.Release()
		t.srv = nil
	}
	t.cs = csFailed
	if s.fe.Mode == config.ModeHTTP && !s.tunnel {
		s.answer(503, nil, term)
		return
	}
	s.abort(term)
}

// resend sends the request again on a new connection to the same server
// (its slot is still held): the pooled one it went on was dead before any
// response byte.
func (s *Session) resend() {
	t := s.t
	s.closeEnd(&s.bc)
	s.bc.reset()
	s.res.reset()
	s.req.setHead(t.head)
	t.resend, t.reused = true, false
	s.res.an = 0
	s.dial()
}

// dropServer gives up the transaction's server side: the queue, the
// connect attempt, the slot, the connection (closed: never reused after
// an error), and what it sent.
func (s *Session) dropServer() {
	t := s.t
	if t.cs == csConnecting || t.cs == csPausing {
		t.tc += s.now() - t.tPhase
	}
	s.giveUpServer(t)
	if t.srv != nil {
		t.srv.Release()
		t.srv = nil
	}
	s.closeEnd(&s.bc)
	s.bc.reset()
	s.dropInput(&s.res)
}

// releaseServer ends the transaction's use of its server: the slot is
// released, and the connection pooled when poolable (the response ended
// cleanly, the server keeps it, nothing beyond the response arrived),
// else closed.
func (s *Session) releaseServer(poolable bool) {
	t := s.t
	if t.srv != nil {
		t.srv.Release()
		t.srv = nil
	}
	b := &s.bc
	if b.open && poolable && !b.eof && len(s.input(&s.res)) == 0 && t.bsrv != nil && t.bsrv.SendProxy() == 0 {
		cfg := t.target.Cfg
		switch {
		case b.lc != nil && s.mode == onLoop:
			if s.env.poolFor(s.loop).put(t.bsrv, b.lc, s.loop, s.now(), cfg.PoolMaxConn, cfg.PoolPurgeDelay.Duration) {
				b.reset()
				return
			}
		case b.nc != nil && s.mode == onPumps:
			s.poolLater(b.nc, t.bsrv, cfg)
			b.reset()
			return
		}
	}
	s.closeEnd(b)
	b.reset()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
