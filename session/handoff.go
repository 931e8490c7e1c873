package session

import (
	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// The owner's side of the pumps: moving a session from the loop to the
// pumps and back, choosing each pump's next command, applying reports.

// toPumps moves the session's connections off the loop to two pump
// goroutines, for good (TCP, tunnels) or until its transaction ends
// (HTTP: backToLoop). Each socket is duplicated and the loop's copy
// closed, which sends nothing (the duplicate keeps the socket open); what
// the loop had buffered moves into the channels' own buffers first, so
// nothing read is lost. Loop only.
func (s *Session) toPumps() {
	if s.mode != onLoop || s.closing || s.ended {
		return
	}
	for _, e := range [2]*end{&s.fc, &s.bc} {
		if !s.endToPumps(e) {
			s.abort(Term{CauseResource, s.phase()})
			return
		}
	}
	s.mode = onPumps
	s.env.Proc.Handoffs.Add(1)
	if s.req.pump == nil {
		s.req.pump = s.newPump(&s.req)
		s.res.pump = s.newPump(&s.res)
	}
	s.schedule(s.req.pump)
	s.schedule(s.res.pump)
}

// endToPumps moves one end's loop connection (if any) to a Go connection.
func (s *Session) endToPumps(e *end) bool {
	c := e.lc
	if c == nil {
		return true
	}
	s.keep(e)
	fd, err := c.Dup()
	if err != nil {
		return false
	}
	e.lc = nil
	if c == s.cur {
		s.closeCur = true
	} else {
		s.loop.CloseNow(rawLoopConn(c))
	}
	nc, err := FDConn(fd)
	if err != nil {
		return false
	}
	if e.tls != nil {
		nc = e.tls.toPumps(nc)
	}
	e.nc = nc
	return true
}

// backToPumps moves a server connection that arrived on the loop (a dial
// started before the session went to the pumps) to the pumps.
func (s *Session) backToPumps() {
	if !s.endToPumps(&s.bc) {
		s.abort(Term{CauseResource, s.phase()})
	}
}

// schedule gives p its next command, if it has nothing to do now: first
// the committed output, then a forward of what may pass without analysis,
// or a read for the analyzers (or to discard, while lingering). Owner
// only.
func (s *Session) schedule(p *pump) {
	if p == nil || s.closing || s.ended || s.mode != onPumps || s.between {
		return
	}
	c := p.c
	src, dst := s.producerOf(c), s.consumerOf(c)
	if p.busy {
		if p.reading && dst.nc != nil && (c.pending() || s.passthrough(c) != 0) {
			// It waits for bytes while it has some to write now (its
			// consumer just connected): stop the read; its report
			// brings it back here.
			p.kick()
		}
		return
	}
	cmd := pumpCmd{src: src.nc, dst: dst.nc}
	var into []byte
	if src.nc != nil && s.wantsRead(c) {
		into = c.room() // before out: room may compact own
	}
	if dst.nc != nil && c.pending() {
		cmd.out = [2][]byte{c.head[c.headOff:], c.own[c.ownOff : c.ownOff+c.fwd]}
	}
	if n := s.passthrough(c); n != 0 && src.nc != nil && dst.nc != nil && !c.shutr && !s.inputWaiting(c) {
		cmd.forward, into = n, nil
	}
	if len(into) > 0 && cmd.forward == 0 {
		cmd.into = into[:0]
	}
	if c.shutr && !c.shutw && s.tunnel && dst.nc != nil && !s.inputWaiting(c) {
		cmd.shutw = true
		c.shutw = true
	}
	if t, ok := dst.nc.(*tlsConn); ok && t.st.wire.backlog() {
		cmd.flush = true
	}
	if cmd.out[0] == nil && cmd.out[1] == nil && cmd.forward == 0 && cap(cmd.into) == 0 && !cmd.shutw && !cmd.flush {
		if c.own != nil && !c.hasOwn() {
			c.releaseOwn()
		}
		return
	}
	if len(cmd.out[0])+len(cmd.out[1]) == 0 {
		cmd.out = [2][]byte{}
	}
	p.busy = true
	p.reading = len(cmd.out[0])+len(cmd.out[1]) == 0 && cmd.forward == 0 && !cmd.flush
	p.seq++
	cmd.seq = p.seq
	p.cmds <- cmd
}

// wantsRead reports whether c's producer should be read now: the
// analyzers need bytes, lb discards them (lingering), a tunnel end is not
// connected yet (its bytes wait, bounded), or a client sends its next
// request ahead (bounded by the own buffer).
func (s *Session) wantsRead(c *channel) bool {
	switch {
	case c.shutr:
		return false
	case s.linger != 0:
		return c == &s.req
	case s.stop != goOn:
		return false
	case s.tunnel:
		return !s.consumerOf(c).open
	case c.an != 0:
		return true
	}
	return c == &s.req && s.t != nil
}

// passthrough returns how many of c's next bytes may go straight from its
// producer to its consumer without analysis (-1: all of them).
func (s *Session) passthrough(c *channel) int64 {
	if s.tunnel {
		return -1
	}
	t := s.t
	if t == nil || s.stop != goOn {
		return 0
	}
	switch {
	case c == &s.req && c.an&analyzer.AnHTTPXferReqBody != 0:
		return t.a.ReqBody.Passthrough()
	case c == &s.res && c.an&analyzer.AnHTTPXferResBody != 0:
		return t.a.ResBody.Passthrough()
	}
	return 0
}

// pumpReported applies a pump's report, on the loop.
func (s *Session) pumpReported(p *pump) {
	s.event(nil)
	p.busy = false
	r := p.rep
	c := p.c
	if r.read > 0 {
		c.own = c.own[:len(c.own)+r.read]
		if s.linger != 0 && c == &s.req {
			c.dropOwn(len(c.own) - c.ownOff)
		}
	}
	if r.wrote > 0 {
		c.bytes += int64(r.wrote)
		n := c.wroteHead(r.wrote)
		c.fwd -= n
		c.dropOwn(n)
	}
	if r.moved > 0 {
		c.bytes += r.moved
		c.spliced += r.spliced
		s.passed(c, r.moved)
	}
	if s.closing {
		s.maybeFinish()
		return
	}
	switch {
	case r.err != nil && r.errSide == sideBack && c == &s.req && s.responseDue():
		s.requestBroken() // the server stopped reading; its answer may still come
	case r.err != nil:
		e := s.endOf(r.errSide)
		s.closeEnd(e)
		s.peerClosed(e, false)
	case r.eof:
		e := s.producerOf(c)
		e.eof = true
		if s.tunnel {
			c.shutr = true
		} else {
			s.peerClosed(e, true)
		}
	}
	if s.wantLoop() {
		s.reattach()
		return
	}
	s.process()
}

// passed records n body bytes forwarded without analysis.
func (s *Session) passed(c *channel, n int64) {
	t := s.t
	if t == nil || s.tunnel {
		return
	}
	if c == &s.req {
		analyzer.PassReqBody(&t.a, &c.an, n)
	} else {
		analyzer.PassResBody(&t.a, &c.an, n)
	}
}

// backToLoop brings an HTTP session whose transaction ended cleanly back
// onto the loop, where idle keep-alive connections cost no goroutine:
// once both pumps are idle (a read ahead is kicked), the client
// connection is enrolled again (fc's OnOpen continues, with what was read
// ahead in its own buffer). Loop only.
func (s *Session) backToLoop() {
	s.req.pump.kick()
	s.res.pump.kick()
	if s.wantLoop() {
		s.reattach()
	}
}

// wantLoop reports whether a session on the pumps goes back to the loop
// now: its transaction ended (between) and both pumps are idle.
func (s *Session) wantLoop() bool {
	return s.mode == onPumps && s.between && !s.closing && !s.req.lent() && !s.res.lent()
}

// reattach stops the pumps, starts the next transaction (no pump has its
// buffers any more) and enrolls fc on the loop again.
func (s *Session) reattach() {
	s.between = false
	s.stopPumps()
	s.newTxn()
	nc := s.fc.nc
	s.fc.nc = nil
	s.mode = reloading
	var h LoopHandler = &s.fc
	if st := s.fc.tls; st != nil {
		nc = nc.(*tlsConn).Conn
		st.toLoop()
		h = &tlsEnd{e: &s.fc, w: &tlsLoop{st: st}}
	}
	go func() {
		// Adopt blocks until fc's OnOpen ran on the loop; the goroutine
		// ends with it.
		if err := s.loop.Adopt(nc, h); err != nil {
			_ = s.loop.Execute(func() {
				s.event(nil)
				s.mode = onLoop
				s.abort(Term{CauseResource, PhaseRequest})
			})
		}
	}()
}

// poolLater enrolls an idle server connection that ended a transaction on
// the pumps onto the session's loop, into its idle pool (on a goroutine
// that ends with the enrolment; the connection is closed if the pool is
// full or the loop refuses it).
func (s *Session) poolLater(nc Conn, srv *backend.Server, cfg *config.Backend) {
	h := &poolAdopt{env: s.env, srv: srv, max: cfg.PoolMaxConn, idle: cfg.PoolPurgeDelay.Duration}
	if tc, ok := nc.(*tlsConn); ok {
		h.st = tc.st
		h.st.toLoop()
		nc = tc.Conn
	}
	go func() { _ = s.loop.Adopt(nc, h) }()
}

// stopPumps ends the pump goroutines (both idle) and takes off the
// deadlines their last kicks left on the sockets.
func (s *Session) stopPumps() {
	for _, c := range [2]*channel{&s.req, &s.res} {
		if p := c.pump; p != nil {
			close(p.cmds)
			p.mu.Lock()
			p.clearDeadlinesLocked()
			p.mu.Unlock()
			c.pump = nil
		}
	}
}

// abort ends the session now with term (kept when the transaction already
// has one): every connection is closed, busy pumps are kicked, and the
// session finishes once they reported.
func (s *Session) abort(term Term) {
	if s.closing || s.ended {
		return
	}
	if t := s.t; t != nil && t.term == (Term{}) {
		t.term = term
	}
	s.closing = true
	if t := s.t; t != nil {
		s.giveUpServer(t)
	}
	s.req.pump.kick()
	s.res.pump.kick()
	for _, e := range [2]*end{&s.fc, &s.bc} {
		if e.lc != nil {
			s.lastWrite(e)
			s.closeEnd(e)
		}
	}
	s.maybeFinish()
}

// giveUpServer leaves the queue and cancels a connect attempt.
func (s *Session) giveUpServer(t *txn) {
	switch t.cs {
	case csQueued:
		s.cancelWait(t)
	case csConnecting, csPausing:
		if t.cancel != nil {
			t.cancel()
			t.cancel = nil
		}
		t.dialSeq++
	}
	t.cs = csFailed
}

// maybeFinish finishes a closing session once no pump works any more.
func (s *Session) maybeFinish() {
	if s.req.pump != nil && s.req.pump.busy || s.res.pump != nil && s.res.pump.busy {
		return // their reports come back here
	}
	s.stopPumps()
	for _, e := range [2]*end{&s.fc, &s.bc} {
		if e.nc != nil {
			s.lastWrite(e)
			e.nc.Close()
			e.nc = nil
		}
	}
	s.logTxn()
	s.finish()
}

// lastWrite tries once, without waiting, to write what lb still has to
// say to the client (the 503 of a hard stop): the session is closing.
func (s *Session) lastWrite(e *end) {
	c := &s.res
	if e != &s.fc || !c.pending() || c.shutw {
		return
	}
	var fd int
	switch {
	case e.lc != nil:
		fd = e.lc.Fd()
		if e.tls != nil {
			w, _ := loopWritev(e.lc, c.head[c.headOff:], s.input(c)[:c.fwd])
			c.bytes += int64(w)
			return
		}
	case e.nc != nil && e.tls != nil:
		return // a blocking TLS write: not for a last try
	case e.nc != nil:
		rc, err := e.nc.SyscallConn()
		if err != nil {
			return
		}
		var w int
		rc.Write(func(f uintptr) bool {
			w, _ = writev2(int(f), c.head[c.headOff:], c.own[c.ownOff:c.ownOff+c.fwd])
			return true
		})
		c.bytes += int64(w)
		return
	default:
		return
	}
	in := s.input(c)
	w, _ := writev2(fd, c.head[c.headOff:], in[:c.fwd])
	c.bytes += int64(w)
}
