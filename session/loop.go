package session

import (
	"errors"
	"io"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The loop mover: a session's bytes on its event loop (package listener
// runs the loops, over gnet). A readiness event costs one read(2), done by
// the loop into its buffer, and the output goes out with one writev(2)
// straight to the peer's socket: no goroutine, no copy, nothing buffered
// by the loop library. The loop cannot stop reading a socket, half-close
// it, or splice, so the session moves to the pumps (pump.go) the first
// time it needs one of those.

// LoopConn is a connection carried by an event loop, as a session uses it
// from inside the loop's callbacks. gnet.Conn satisfies it.
type LoopConn interface {
	// Peek returns n buffered inbound bytes without consuming them (n <= 0:
	// all). The slice aliases loop memory and is valid until the callback
	// returns or Discard.
	Peek(n int) ([]byte, error)
	// Discard consumes n buffered inbound bytes (n <= 0: all).
	Discard(n int) (int, error)
	// InboundBuffered returns how many inbound bytes are buffered.
	InboundBuffered() int
	// Fd returns the socket's descriptor; write to it only from the loop.
	Fd() int
	// Dup returns a new descriptor for the same socket; the caller owns it.
	Dup() (int, error)
	// RemoteAddr returns the peer's address, LocalAddr the socket's own.
	RemoteAddr() net.Addr
	LocalAddr() net.Addr
	// SetContext replaces the connection's handler (a LoopHandler); loop
	// only. Server connections move between sessions and the idle pool.
	SetContext(ctx any)
}

// Loop is the event loop a connection was attached to.
type Loop interface {
	// Execute runs f on the loop; safe from any goroutine. An error means
	// the loop is gone (its connections are then closed anyway).
	Execute(f func()) error
	// CloseNow closes c synchronously; loop only. c's OnClose runs before
	// CloseNow returns.
	CloseNow(c LoopConn)
	// Adopt attaches c to this loop with handler h and returns once h's
	// OnOpen has run. Call it off the loop (it blocks). c is closed either
	// way (the loop holds a duplicate).
	Adopt(c Conn, h LoopHandler) error
	// Enroll is Adopt without the wait, for the loop itself: h's OnOpen
	// runs later, on the loop. c is closed either way.
	Enroll(c Conn, h LoopHandler) error
}

// LoopHandler receives one loop connection's events, on its loop.
type LoopHandler interface {
	// OnOpen reports c attached to loop l; true asks to close it at once.
	OnOpen(c LoopConn, l Loop) (close bool)
	// OnTraffic reports inbound bytes; true asks to close c (only c).
	OnTraffic(c LoopConn) (close bool)
	// OnClose reports c closed; err wraps io.EOF when the peer half-closed.
	OnClose(c LoopConn, err error)
}

// Loops attaches connections to event loops (package listener, over gnet).
type Loops interface {
	// AttachOne moves c onto one of the loops with handler h and returns
	// once h's OnOpen has run. c is closed either way.
	AttachOne(c Conn, h LoopHandler) error
}

// event opens an event on the loop: the time is read once, on first use
// (s.now), and c is the connection whose callback runs (nil for a task).
func (s *Session) event(c LoopConn) { s.tnow, s.cur, s.bulk, s.closeCur = 0, c, false, false }

// eventDone closes an event opened for a connection's callback; it
// reports whether the session let go of that connection (closed it or
// handed it off), which the callback then returns so the loop closes it.
func (s *Session) eventDone() bool {
	r := s.closeCur
	s.tnow, s.cur, s.closeCur = 0, nil, false
	return r
}

// now returns the time of the current event in unix ns, read once per
// event (timeouts have millisecond precision; a clock read is a
// measurable cost per request).
func (s *Session) now() int64 {
	if s.tnow == 0 {
		s.tnow = s.env.Clock.Now().UnixNano()
	}
	return s.tnow
}

// OnOpen implements LoopHandler: the client connection is on the loop (the
// first time, or back after a hand-off), or a server connection came
// back after one.
func (e *end) OnOpen(c LoopConn, l Loop) bool {
	s := e.s
	if s.ended || s.closing {
		return true
	}
	s.event(c)
	e.lc = c
	switch {
	case s.loop == nil:
		s.loop = l
		s.started()
	case s.mode == reloading && e.side == sideFront:
		s.mode = onLoop
		s.process()
	}
	return s.eventDone()
}

// OnTraffic implements LoopHandler: bytes arrived on this end.
func (e *end) OnTraffic(c LoopConn) bool {
	s := e.s
	if c != e.lc || s.ended || s.closing {
		return true
	}
	s.event(c)
	e.act.Store(s.now())
	s.bulk = c.InboundBuffered() >= bulkRead
	s.process()
	if !s.ended && !s.closing && s.mode == onLoop && (s.bulk && s.wantsSplice() || s.buffered(s.channelOf(e)) > maxAhead) {
		// A bulk flow (splice pays), or a peer sending far ahead of what
		// lb can forward now (a request body while the server is not
		// there yet, pipelined requests during a response): the loop
		// cannot stop reading it, the pumps can (they read only into the
		// channel's bounded buffer).
		s.toPumps()
	}
	r := s.eventDone()
	s.lo.pollDials()
	return r
}

// buffered returns how many input bytes c holds, committed or not.
func (s *Session) buffered(c *channel) int {
	n := len(c.own) - c.ownOff
	if p := s.producerOf(c); p.lc != nil {
		n += p.lc.InboundBuffered()
	}
	return n
}

// OnClose implements LoopHandler: the peer closed or reset this end (lb's
// own closes clear e.lc first, so they are not reported).
func (e *end) OnClose(c LoopConn, err error) {
	s := e.s
	if c != e.lc || s.ended {
		return
	}
	s.event(c)
	defer s.eventDone()
	if errors.Is(err, io.EOF) && s.tunnel && !s.closing {
		// A half-close in a tunnel: keep the socket (the loop closes its
		// copy, which sends nothing) and go on with the pumps, which relay
		// the FIN and keep the other direction flowing.
		e.eof = true
		s.channelOf(e).shutr = true
		s.toPumps()
		s.process()
		return
	}
	s.keep(e) // what it sent before its FIN is still its own
	e.lc, e.open = nil, false
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	s.peerClosed(e, errors.Is(err, io.EOF))
	s.process()
}

// channelOf returns the channel e produces.
func (s *Session) channelOf(e *end) *channel {
	if e.side == sideFront {
		return &s.req
	}
	return &s.res
}

// consumerOf returns the end c's output goes to.
func (s *Session) consumerOf(c *channel) *end {
	if c == &s.req {
		return &s.bc
	}
	return &s.fc
}

// producerOf returns the end c's input comes from.
func (s *Session) producerOf(c *channel) *end {
	if c == &s.req {
		return &s.fc
	}
	return &s.bc
}

// input returns c's input with its committed bytes first: the own buffer
// when it holds bytes (then the loop buffer's bytes are moved into it, so
// the analyzers see one slice), else the producer's loop buffer. The slice
// is valid until the callback returns or the next consume.
func (s *Session) input(c *channel) []byte {
	p := s.producerOf(c)
	if p.lc == nil {
		return c.own[c.ownOff:]
	}
	if !c.hasOwn() {
		b, _ := p.lc.Peek(-1)
		return b
	}
	if n := p.lc.InboundBuffered(); n > 0 {
		b, _ := p.lc.Peek(-1)
		c.keep(b)
		p.lc.Discard(n)
	}
	return c.own[c.ownOff:]
}

// inputWaiting reports whether c has input bytes not committed yet.
func (s *Session) inputWaiting(c *channel) bool { return s.buffered(c) > c.fwd }

// consume drops n bytes from the start of c's input (analyzed and
// replaced, or written).
func (s *Session) consume(c *channel, n int) {
	if n <= 0 {
		return
	}
	if c.hasOwn() {
		c.dropOwn(n)
		return
	}
	if p := s.producerOf(c); p.lc != nil {
		p.lc.Discard(n)
	}
}

// dropInput drops all of c's input, committed or not.
func (s *Session) dropInput(c *channel) {
	c.fwd = 0
	c.releaseOwn()
	if p := s.producerOf(c); p.lc != nil {
		p.lc.Discard(-1)
	}
}

// discardInput drops what the client sends while lb lingers or gave up
// its request.
func (s *Session) discardInput(c *channel) {
	if c.pump == nil {
		s.dropInput(c)
	}
	// On the pumps, reads keep coming into own and are dropped as they
	// report (pumpReported).
}

// flush moves the committed output of both channels: on the loop with one
// writev per channel, on the pumps as commands. It reports whether it
// wrote out all of a channel's output (then the transaction may have
// ended).
func (s *Session) flush() bool {
	if s.ended || s.mode == reloading {
		return false
	}
	if s.mode == onPumps {
		s.schedule(s.req.pump)
		s.schedule(s.res.pump)
		return false
	}
	a := s.flushLoop(&s.req)
	b := s.flushLoop(&s.res)
	return a || b
}

// flushLoop writes c's output to its consumer's socket, as much as it
// takes; the rest goes to the pumps, which wait for room. It reports
// whether it wrote all of it.
func (s *Session) flushLoop(c *channel) bool {
	dst := s.consumerOf(c)
	if !c.pending() || dst.lc == nil || s.mode != onLoop || s.closing {
		return false
	}
	in := s.input(c)
	h := c.head[c.headOff:]
	w, err := loopWritev(dst.lc, h, in[:c.fwd])
	if w > 0 {
		dst.act.Store(s.now())
		c.bytes += int64(w)
		n := c.wroteHead(w)
		c.fwd -= n
		s.consume(c, n)
	}
	switch {
	case err != nil:
		s.writeFailed(dst)
	case c.pending() || loopBacklog(dst.lc):
		// The consumer reads slower than its peer writes: the pumps give
		// back-pressure (they do not read while they cannot write).
		s.toPumps()
	default:
		return true
	}
	return false
}

// writev2 writes a then b to a non-blocking socket, with write(2) when
// one of them is empty (cheaper in the kernel than a one-element
// writev(2)), else writev(2), until done or the socket is full; err is nil
// when it is full (the count tells).
func writev2(fd int, a, b []byte) (int, error) {
	total := 0
	for len(a)+len(b) > 0 {
		if len(a) == 0 || len(b) == 0 {
			p := a
			if len(p) == 0 {
				p = b
			}
			n, err := unix.Write(fd, p)
			switch err {
			case nil:
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return total, nil
			default:
				return total, err
			}
			total += n
			if len(a) > 0 {
				a = a[n:]
			} else {
				b = b[n:]
			}
			continue
		}
		var iov [2]unix.Iovec
		n := 0
		for _, p := range [2][]byte{a, b} {
			if len(p) > 0 {
				iov[n].Base = &p[0]
				iov[n].SetLen(len(p))
				n++
			}
		}
		r, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return total, nil
		default:
			return total, e
		}
		w := int(r)
		total += w
		if w < len(a) {
			a = a[w:]
			continue
		}
		b = b[w-len(a):]
		a = nil
	}
	return total, nil
}

// closeEnd closes an end's connection, now, or when its running callback
// returns; its OnClose is then not reported (e.lc is cleared first).
func (s *Session) closeEnd(e *end) {
	e.open = false
	if c := e.lc; c != nil {
		e.lc = nil
		if t, ok := c.(*tlsLoop); ok {
			t.closeNotify()
		}
		if c == s.cur {
			s.closeCur = true
		} else {
			s.loop.CloseNow(rawLoopConn(c))
		}
	}
	if e.nc != nil {
		e.nc.Close()
		e.nc = nil
	}
}

// shutWrite half-closes the consumer dst of c (a FIN relayed, or the end
// of an answer before lingering).
func (s *Session) shutWrite(c *channel, dst *end) {
	c.shutw = true
	switch {
	case dst.lc != nil:
		loopShutWrite(dst.lc)
	case dst.nc != nil:
		dst.nc.CloseWrite()
	}
}

// keep moves the bytes a loop connection still buffers into its channel's
// own buffer (the connection is about to leave the loop).
func (s *Session) keep(e *end) {
	if e.lc == nil {
		return
	}
	if n := e.lc.InboundBuffered(); n > 0 {
		b, _ := e.lc.Peek(-1)
		s.channelOf(e).keep(b)
		e.lc.Discard(n)
	}
}

// writeFailed handles an error writing to dst (reset, broken pipe).
func (s *Session) writeFailed(dst *end) {
	if dst == &s.bc && s.responseDue() {
		s.requestBroken()
		return
	}
	s.closeEnd(dst)
	s.peerClosed(dst, false)
}

// peerClosed reacts to an end's peer closing (eof: a clean FIN; else an
// error).
func (s *Session) peerClosed(e *end, eof bool) {
	c := s.channelOf(e)
	c.shutr = true
	switch {
	case s.closing || s.ended:
	case s.stop != goOn || s.linger != 0:
		if e.side == sideFront {
			s.abort(TermNormal) // the transaction keeps its own code
		}
	case s.tunnel:
		if !eof {
			s.abort(Term{causeOf(e.side), PhaseData})
		}
	case e.side == sideFront:
		s.onClientEOF()
	default:
		s.onServerEOF()
	}
}

func causeOf(sd side) Cause {
	if sd == sideFront {
		return CauseClientAbort
	}
	return CauseServerAbort
}

// wantsSplice reports whether the flow is one the pumps move better: a
// tunnel, or a body whose rest may pass without analysis and is large.
func (s *Session) wantsSplice() bool {
	if s.tunnel {
		return true
	}
	t := s.t
	if t == nil {
		return false
	}
	big := func(n int64) bool { return n < 0 || n >= bulkRead }
	return big(t.a.ResBody.Passthrough()) && s.res.an != 0 || big(t.a.ReqBody.Passthrough()) && s.req.an != 0
}
