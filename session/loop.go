package session

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Event-loop mode of a TCP session.
//
// Once connected, a session's two sockets are attached to one event loop
// (package listener runs the loops, over gnet). While the traffic is small
// request/response exchanges, the loop forwards it: one read per readiness
// event, one write straight to the peer socket, no goroutine and no
// speculative read. The loop hands the session off to two pump goroutines
// (pump.go) — and never sees it again — as soon as the loop cannot give the
// guarantees TCP mode owes its users:
//   - a write to the peer would block: the pumps provide back-pressure (the
//     loop cannot stop reading a socket, the pumps simply don't read);
//   - a read fills the loop's buffer: a bulk flow, which the pumps move with
//     splice(2);
//   - one side half-closes: the pumps relay the FIN (shutdown(SHUT_WR)) and
//     keep the other direction flowing (the loop closes a socket on EOF).
//
// The hand-off duplicates both descriptors, closes the loop's copies (which
// sends no FIN: the duplicates keep the sockets open), and passes along the
// bytes already read but not yet written. Nothing is ever buffered by the
// loop library itself: writes go to the peer's descriptor directly.

// LoopConn is a connection carried by an event loop, as a session uses it
// from inside the loop's callbacks. gnet.Conn satisfies it.
type LoopConn interface {
	// Next consumes n buffered inbound bytes (n <= 0: all of them). The
	// slice aliases loop memory and is valid until the callback returns.
	Next(n int) ([]byte, error)
	// Peek returns n buffered inbound bytes without consuming them (n <= 0:
	// all). Same lifetime as Next.
	Peek(n int) ([]byte, error)
	// Discard consumes n buffered inbound bytes.
	Discard(n int) (int, error)
	// InboundBuffered returns how many inbound bytes are buffered.
	InboundBuffered() int
	// Fd returns the socket's descriptor; write to it only from the loop.
	Fd() int
	// Dup returns a new descriptor for the same socket; the caller owns it.
	Dup() (int, error)
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
	// Attach moves bc, then fc, onto one event loop with back and front as
	// their handlers; it returns once front's OnOpen has run. The net.Conns
	// are closed either way (the loop holds duplicates). On error, onLoop
	// tells whether back had been attached (its OnClose then follows).
	Attach(fc, bc Conn, front, back LoopHandler) (onLoop bool, err error)
	// AttachOne moves c onto the least loaded loop with handler h and
	// returns once h's OnOpen has run. c is closed either way.
	AttachOne(c Conn, h LoopHandler) error
}

// bulkRead is the read size from which the loop considers a flow bulky and
// hands it to the splice pumps: a read that filled the loop's whole buffer.
const bulkRead = 64 << 10

// end is one side of a session while it is on an event loop; it is the
// LoopHandler of that side's connection. Owned by the loop.
type end struct {
	s        *Session
	side     side
	c        LoopConn // nil until attached
	l        Loop
	closed   bool   // the loop closed c
	closeReq bool   // close c when its running callback returns
	fd       int    // our duplicate of c's socket once taken, else -1
	pending  []byte // bytes read from this side, not yet written to the other
	eof      bool   // this side sent its FIN; all it sent is forwarded or pending
}

func (e *end) peer() *end { return &e.s.ends[1-e.side] }

// channel returns the channel this end's bytes travel on.
func (e *end) channel() *pump {
	if e.side == sideFront {
		return &e.s.req
	}
	return &e.s.res
}

func (e *end) act() *atomicStamp {
	if e.side == sideFront {
		return &e.s.fcAct
	}
	return &e.s.bcAct
}

// attached reports whether both sides are on the loop.
func (s *Session) attached() bool {
	return s.ends[sideFront].c != nil && s.ends[sideBack].c != nil
}

// loopDone reports whether the loop is no longer in charge of s.
func (s *Session) loopDone() bool { return s.handedOff || s.ended }

// OnOpen implements LoopHandler.
func (e *end) OnOpen(c LoopConn, l Loop) bool {
	s := e.s
	s.cur, s.tnow = c, 0
	r := e.onOpen(c, l)
	s.cur, s.tnow = nil, 0
	return r
}

func (e *end) onOpen(c LoopConn, l Loop) bool {
	s := e.s
	e.c, e.l, e.closed, e.closeReq = c, l, false, false
	if s.loopDone() {
		return true
	}
	if s.httpOn {
		switch {
		case s.reattach && e.side == sideFront:
			s.reattach = false
			s.httpReattached()
		case s.reattach:
			// The server connection is back; the front follows.
		case e.side == sideFront:
			s.loop = l
			s.httpFrontOpen()
		case s.httpBackOpen(c):
			e.closeReq = true
		}
		return e.closeReq || (s.loopDone() && e.c == c)
	}
	if e.side == sideBack {
		return false // the front follows
	}
	s.loop = l
	now := s.fe.Env.Clock.Now().UnixNano()
	s.fcAct.Store(now)
	s.bcAct.Store(now)
	s.fe.Env.register(s)
	b := &s.ends[sideBack]
	switch {
	case b.eof:
		// The server answered and half-closed before the client was
		// attached: relay both on the pumps.
		s.handoff(c)
		return true
	case b.c.InboundBuffered() > 0:
		// It answered before the client was attached: forward that now.
		// onTraffic may hand off or abort; then it asks for b.c to be
		// closed, which is ours to do here.
		if b.onTraffic(b.c) && b.c != nil && !b.closed {
			b.l.CloseNow(b.c)
		}
	}
	if !s.loopDone() {
		s.armLoopTimer()
	}
	return e.closeReq || (s.loopDone() && e.c == c)
}

// OnTraffic implements LoopHandler: forward what arrived to the peer.
func (e *end) OnTraffic(c LoopConn) bool {
	s := e.s
	s.cur, s.tnow = c, 0
	r := e.onTraffic(c)
	s.cur, s.tnow = nil, 0
	return r
}

func (e *end) onTraffic(c LoopConn) bool {
	s := e.s
	if s.loopDone() || c != e.c {
		return true
	}
	if s.httpOn {
		switch {
		case e.side == sideFront:
			s.txn() // a parked session wakes up
			s.httpFront()
		case s.http == nil:
			return true // no transaction: a server connection has nothing to say
		default:
			s.httpBack()
		}
		// c may have left the session for the idle pool: close it only if
		// asked, or if the session ended while c was still its own.
		return e.closeReq || (s.loopDone() && e.c == c)
	}
	if !s.attached() || s.loop == nil {
		return false // keep the bytes until both sides are attached
	}
	buf, _ := c.Next(-1)
	if len(buf) == 0 {
		return false
	}
	now := s.now()
	e.act().Store(now)
	p := e.peer()
	w, err := writeFd(p.c.Fd(), buf)
	if w > 0 {
		e.channel().bytes.Add(int64(w))
		p.act().Store(now)
	}
	if err != nil {
		s.abortLoop(Term{causeOf(p.side), PhaseData}, c)
		return true
	}
	if w < len(buf) {
		// The peer is slower: the pumps take over and read no more from
		// this side until the peer drained what it has.
		e.pending = append([]byte(nil), buf[w:]...)
		s.handoff(c)
		return true
	}
	if len(buf) >= bulkRead {
		s.handoff(c)
		return true
	}
	return false
}

// OnClose implements LoopHandler.
func (e *end) OnClose(c LoopConn, err error) {
	s := e.s
	s.cur, s.tnow = c, 0
	e.onClose(c, err)
	s.cur, s.tnow = nil, 0
}

func (e *end) onClose(c LoopConn, err error) {
	s := e.s
	if c != e.c {
		return // an earlier connection of this end (HTTP server side)
	}
	e.closed = true
	if s.loopDone() {
		return
	}
	if s.httpOn {
		if s.http == nil { // parked between two requests
			if e.side == sideFront {
				s.abortLoop(TermNormal, nil)
			}
			return
		}
		s.httpClose(e, err)
		return
	}
	if errors.Is(err, io.EOF) && s.fe.Env.ctx.Err() == nil {
		// A half-close: keep the socket (the loop closes its copy, which
		// sends nothing) so the other direction can go on.
		if n := c.InboundBuffered(); n > 0 {
			b, _ := c.Next(-1)
			e.pending = append(e.pending, b...)
		}
		fd, derr := c.Dup()
		if derr != nil {
			s.abortLoop(Term{CauseResource, PhaseData}, c)
			return
		}
		e.fd, e.eof = fd, true
		if s.attached() && s.loop != nil {
			s.handoff(c)
		}
		return // else the front's OnOpen hands off
	}
	t := Term{causeOf(e.side), PhaseData}
	if s.fe.Env.ctx.Err() != nil {
		t.Cause = CauseKilled
	}
	s.abortLoop(t, c)
}

func causeOf(sd side) Cause {
	if sd == sideFront {
		return CauseClientAbort
	}
	return CauseServerAbort
}

// writeFd writes b to a non-blocking socket until done or EAGAIN; err is
// nil on EAGAIN (w < len(b) tells).
func writeFd(fd int, b []byte) (w int, err error) {
	for w < len(b) {
		n, e := unix.Write(fd, b[w:])
		switch e {
		case nil:
			w += n
		case unix.EINTR:
		case unix.EAGAIN:
			return w, nil
		default:
			return w, e
		}
	}
	return w, nil
}

// handoff moves the session from the loop to pump goroutines. cur is the
// connection whose callback is running (the loop closes it on return), or
// nil. Loop only.
func (s *Session) handoff(cur LoopConn) {
	if cur == nil {
		cur = s.cur
	}
	s.handedOff = true
	s.stopLoopTimer()
	for i := range s.ends {
		e := &s.ends[i]
		if e.fd < 0 {
			fd, err := e.c.Dup()
			if err != nil {
				s.handedOff = false
				s.abortLoop(Term{CauseResource, PhaseData}, cur)
				return
			}
			e.fd = fd
		}
	}
	for i := range s.ends {
		if e := &s.ends[i]; e.c != nil && e.c != cur && !e.closed {
			s.closeEnd(e)
		}
	}
	s.fe.Env.unregister(s)
	// Start the goroutine from a loop task, which runs after the current
	// callback and the closes it triggers: from then on the loop never
	// touches the session.
	if err := s.loop.Execute(func() { go s.afterHandoff() }); err != nil {
		go s.afterHandoff()
	}
}

// afterHandoff is the session goroutine again, after a hand-off.
func (s *Session) afterHandoff() {
	fc, err1 := fdConn(s.ends[sideFront].fd)
	bc, err2 := fdConn(s.ends[sideBack].fd)
	s.ends[sideFront].fd, s.ends[sideBack].fd = -1, -1
	if err1 != nil || err2 != nil {
		for _, c := range []Conn{fc, bc} {
			if c != nil {
				c.Close()
			}
		}
		s.term = Term{CauseResource, PhaseData}
		s.finish()
		return
	}
	s.fc, s.bc = fc, bc
	if s.http != nil {
		if !s.httpAfterHandoff() {
			s.finish()
		}
		return
	}
	s.req.pending, s.req.srcEOF = s.ends[sideFront].pending, s.ends[sideFront].eof
	s.res.pending, s.res.srcEOF = s.ends[sideBack].pending, s.ends[sideBack].eof
	s.forward()
	s.finish()
}

// fdConn makes a Go connection of a descriptor it takes ownership of.
func fdConn(fd int) (Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f) // duplicates fd again
	f.Close()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, errors.New("session: not a TCP socket")
	}
	return tc, nil
}

// abortLoop ends a session that is on the loop: every loop connection but
// cur (which its callback closes on return) is closed now. Loop only.
func (s *Session) abortLoop(t Term, cur LoopConn) {
	if s.loopDone() {
		return
	}
	if cur == nil {
		cur = s.cur
	}
	s.ended = true
	s.term = t
	s.stopLoopTimer()
	for i := range s.ends {
		e := &s.ends[i]
		if e.c != nil && e.c != cur && !e.closed {
			s.closeEnd(e)
		}
		if e.fd >= 0 {
			unix.Close(e.fd)
			e.fd = -1
		}
	}
	s.fe.Env.unregister(s)
	s.finish()
}

// closeEnd closes an end's connection: now, or, if its own callback is
// running, when that callback returns. Loop only.
func (s *Session) closeEnd(e *end) {
	if e.c == nil || e.closed {
		return
	}
	c := e.c
	e.c = nil // its OnClose, now or later, is then ignored as stale
	if c == s.cur {
		e.closeReq = true
		return
	}
	e.l.CloseNow(c)
}

// armLoopTimer (re)starts the session's single timeout timer for the next
// deadline. Loop only.
func (s *Session) armLoopTimer() {
	var (
		at int64
		ok bool
	)
	if s.httpOn {
		at, _, ok = s.httpDeadline()
	} else {
		at, _, ok = s.deadline()
	}
	if !ok {
		return
	}
	d := time.Duration(at - s.fe.Env.Clock.Now().UnixNano())
	if s.loopTimer != nil {
		s.loopTimer.Reset(d)
		return
	}
	s.loopTimer = s.fe.Env.Clock.AfterFunc(d, func() {
		// Timer goroutine: hop onto the loop.
		_ = s.loop.Execute(s.onLoopTimer)
	})
}

func (s *Session) stopLoopTimer() {
	if s.loopTimer != nil {
		s.loopTimer.Stop()
	}
}

// onLoopTimer checks the deadlines on the loop: re-arm, or time out.
func (s *Session) onLoopTimer() {
	s.tnow = 0
	defer func() { s.tnow = 0 }()
	if s.loopDone() {
		return
	}
	if s.httpOn {
		s.httpTimer()
		return
	}
	at, cause, _ := s.deadline()
	if left := at - s.fe.Env.Clock.Now().UnixNano(); left > 0 {
		s.loopTimer.Reset(time.Duration(left))
		return
	}
	s.abortLoop(Term{cause, PhaseData}, nil)
}
