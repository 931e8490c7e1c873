package session

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/lb-proxy/lb/backend"
)

// maxTurnAround caps the pause between two connect attempts on the same
// server (HAProxy: min(timeout connect, 1s)).
const maxTurnAround = time.Second

// connect picks a server and connects to it, retrying and redispatching as
// the backend says. On success s.bc and s.srv are set (s.srv holds a slot);
// on failure s.term says why and no slot is held.
func (s *Session) connect() bool {
	cfg := s.target.Cfg
	env := s.fe.Env
	key := sourceKey(s.client)
	var (
		srv     *backend.Server
		exclude *backend.Server
	)
	for attempt := 0; ; attempt++ {
		if srv == nil {
			var term Term
			if srv, term = s.acquire(key, exclude); srv == nil {
				s.term = term
				return false
			}
		}
		s.state = StateConnecting
		start := env.Clock.Now()
		bc, err := env.Dialer.Dial(env.ctx, srv.Addr(), cfg.Timeout.Connect.Duration)
		s.tc += env.Clock.Now().Sub(start)
		if err == nil {
			s.bc, s.srv, s.connected = bc, srv, true
			return true
		}
		srv.ConnFailed()
		if env.ctx.Err() != nil {
			srv.Release()
			s.term = Term{CauseKilled, PhaseConnect}
			return false
		}
		if attempt >= cfg.Retries {
			srv.Release()
			s.term = Term{CauseServerAbort, PhaseConnect}
			if isTimeout(err) {
				s.term.Cause = CauseServerTimeout
			}
			return false
		}
		s.retries++
		if cfg.Redispatch && attempt+1 == cfg.Retries {
			// The next attempt is the last: try another server.
			s.target.BE.Counters().Redispatches.Add(1)
			srv.Release()
			exclude, srv = srv, nil
			s.redispatched = true
			continue
		}
		s.target.BE.Counters().Retries.Add(1)
		if !s.pause(min(cfg.Timeout.Connect.Duration, maxTurnAround)) {
			srv.Release()
			s.term = Term{CauseKilled, PhaseConnect}
			return false
		}
	}
}

// acquire gets a server slot, waiting in the backend's queue for up to
// timeout.queue when every usable server is full.
func (s *Session) acquire(key uint64, exclude *backend.Server) (*backend.Server, Term) {
	be := s.target.BE
	ready := make(chan *backend.Server, 1)
	w := &backend.Waiter{Ready: func(srv *backend.Server) { ready <- srv }}
	srv, err := be.Acquire(key, exclude, w)
	switch {
	case err == nil:
		return srv, Term{}
	case errors.Is(err, backend.ErrQueued):
	case errors.Is(err, backend.ErrQueueFull):
		return nil, Term{CauseResource, PhaseQueue}
	default: // backend.ErrNoServer
		return nil, Term{CauseServerAbort, PhaseConnect}
	}
	s.state = StateQueued
	env := s.fe.Env
	start := env.Clock.Now()
	defer func() { s.tw += env.Clock.Now().Sub(start) }()
	var timeout <-chan time.Time
	if d := s.target.Cfg.Timeout.Queue.Duration; d > 0 {
		t := env.Clock.NewTimer(d)
		defer t.Stop()
		timeout = t.C()
	}
	var term Term
	select {
	case srv := <-ready:
		return srv, Term{}
	case <-timeout:
		term = Term{CauseServerTimeout, PhaseQueue}
	case <-env.ctx.Done():
		term = Term{CauseKilled, PhaseQueue}
	}
	if !be.Cancel(w) {
		// Served while we were giving up: give the slot back.
		(<-ready).Release()
	}
	return nil, term
}

// pause waits d (the turn-around between two attempts); false if killed.
func (s *Session) pause(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := s.fe.Env.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-s.fe.Env.ctx.Done():
		return false
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// forward runs the two channels on pump goroutines until both ended, or
// aborts them on the first error, on an inactivity timeout, or when the
// process is killed. A channel may arrive here already finished (its EOF
// was relayed on the event loop) or with bytes the loop could not write yet
// (pump.pending); forward carries on from there.
func (s *Session) forward() {
	s.state = StateForwarding
	env := s.fe.Env
	fcRaw, err1 := s.fc.SyscallConn()
	bcRaw, err2 := s.bc.SyscallConn()
	if err1 != nil || err2 != nil {
		s.term = Term{CauseResource, PhaseData}
		return
	}
	if s.fcAct.Load() == 0 {
		now := env.Clock.Now().UnixNano()
		s.fcAct.Store(now)
		s.bcAct.Store(now)
	}
	s.req.src, s.req.dst, s.req.srcSide, s.req.dstSide = fcRaw, bcRaw, sideFront, sideBack
	s.req.closeWrite, s.req.srcAct, s.req.dstAct = s.bc.CloseWrite, &s.fcAct, &s.bcAct
	s.res.src, s.res.dst, s.res.srcSide, s.res.dstSide = bcRaw, fcRaw, sideBack, sideFront
	s.res.closeWrite, s.res.srcAct, s.res.dstAct = s.fc.CloseWrite, &s.bcAct, &s.fcAct
	for _, p := range []*pump{&s.req, &s.res} {
		p.clock, p.pipes = env.Clock, env.Pipes
	}
	done := make(chan pumpResult, 2)
	go s.req.run(done)
	go s.res.run(done)
	open := 2

	var (
		timer  Timer
		wake   <-chan time.Time
		killed = env.ctx.Done()
	)
	if at, _, ok := s.deadline(); ok {
		timer = env.Clock.NewTimer(time.Duration(at - env.Clock.Now().UnixNano()))
		wake = timer.C()
		defer timer.Stop()
	}
	aborted := false
	abort := func(t Term) {
		if !aborted {
			aborted = true
			s.term = t
			s.fc.Close()
			s.bc.Close()
		}
	}
	for open > 0 {
		select {
		case r := <-done:
			open--
			if r.err != nil {
				cause := CauseClientAbort
				if r.errSide == sideBack {
					cause = CauseServerAbort
				}
				abort(Term{cause, PhaseData})
			}
		case <-wake:
			at, cause, _ := s.deadline()
			if left := at - env.Clock.Now().UnixNano(); left > 0 {
				timer.Reset(time.Duration(left))
				continue
			}
			wake = nil
			abort(Term{cause, PhaseData})
		case <-killed:
			killed = nil
			abort(Term{CauseKilled, PhaseData})
		}
	}
}

// deadline folds the data-phase timeouts into the next instant (unix ns)
// at which the session must wake, and the cause to report if it then finds
// the deadline passed. ok is false when no timeout applies.
//
// timeout.tunnel (the backend's), when set, overrides client and server:
// the session ends after that long without a byte in either direction.
// Otherwise timeout.client (the frontend's) bounds inactivity on fc and
// timeout.server (the backend's) inactivity on bc, where activity on a
// socket is a byte read from it or written to it (HAProxy's default, without
// "option independent-streams").
func (s *Session) deadline() (at int64, cause Cause, ok bool) {
	fc, bc := s.fcAct.Load(), s.bcAct.Load()
	if t := s.target.Cfg.Timeout.Tunnel.Duration; t > 0 {
		// Inactive in both directions: count from the later of the two;
		// blame the side that has been quiet longer.
		if fc <= bc {
			return bc + int64(t), CauseClientTimeout, true
		}
		return fc + int64(t), CauseServerTimeout, true
	}
	if t := s.fe.Timeouts.Client.Duration; t > 0 {
		at, cause, ok = fc+int64(t), CauseClientTimeout, true
	}
	if t := s.target.Cfg.Timeout.Server.Duration; t > 0 {
		if d := bc + int64(t); !ok || d < at {
			at, cause, ok = d, CauseServerTimeout, true
		}
	}
	return at, cause, ok
}
