package session

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The pump mover: a session's bytes on two goroutines with blocking I/O
// (Go's netpoller), one per channel. The loop stays the owner: a pump
// executes one command at a time (write these bytes, forward up to n
// bytes straight from its source to its destination, read once for the
// analyzers), then posts a report to the loop, where the session applies
// it and decides the next command. A pump reads only after it wrote all
// it was given, so a slow reader slows its writer through TCP flow
// control and memory stays bounded by the channel's buffer (or one kernel
// pipe); a forward switches to splice(2) once a read fills the copy
// buffer (HAProxy's splice-auto) and a pipe is free.
//
// A pump has no deadlines: the session's expiries (expiry.go) and aborts
// kick it (a deadline in the past on the sockets it uses), and it reports
// at once. Each pump is owned by its session, started by toPumps and
// stopped (its command channel closed) once idle, by backToLoop or finish.

// spliceChunk is the most one splice(2) call moves into a pipe.
const spliceChunk = 1 << 20

// pump is one channel's I/O agent. Its fields are the owner's but for
// those the comments say the pump goroutine writes.
type pump struct {
	s       *Session
	c       *channel
	cmds    chan pumpCmd // owner -> pump; closed to stop it
	busy    bool         // a command is out (owner)
	reading bool         // it only reads (owner)
	// rep is the last command's report: written by the pump before it
	// posts done; read by the owner in done.
	rep  pumpReport
	done func() // the report's task on the loop, bound once

	seq uint64 // the last command sent (owner)

	// A kick is for one command (kickSeq): the deadlines it put on the
	// sockets (kickSrc, kickDst) stay until a later command starts, which
	// takes them off. Guarded by mu.
	mu      sync.Mutex
	kickSeq uint64
	kickSrc Conn
	kickDst Conn

	// atomic: what the running command waits for, read by the expiry
	// model (a side is timed only while lb waits on it).
	moved      atomic.Int64 // bytes forwarded so far
	blockSide  atomic.Int32 // blockNone, blockSrc (bytes to read) or blockDst (room to write)
	blockSince atomic.Int64 // unix ns: since when
	blocked    atomic.Int64 // ns spent waiting for room on dst since the channel's body started
	// noted is the side the owner's timer was last armed for; when the
	// pump starts waiting on another, it tells the owner (onBlock), at
	// most one notice in flight (notifying).
	noted     atomic.Int32
	notifying atomic.Bool
	onBlock   func()
}

// What a pump command waits for.
const (
	blockNone int32 = iota
	blockSrc
	blockDst
)

// pumpCmd is one command. The byte slices are lent to the pump until its
// report: the owner neither moves nor overwrites them meanwhile.
type pumpCmd struct {
	seq      uint64    // the command's number (pump.seq when sent)
	src, dst Conn      // the channel's producer and consumer connections (nil: none)
	out      [2][]byte // write these first
	forward  int64     // then move up to this many bytes from src to dst (-1: until src's EOF)
	into     []byte    // then read once into into[:cap] (cap 0: no read)
	shutw    bool      // finally half-close dst (relay a FIN)
	flush    bool      // first write the TLS records dst's loop left queued
}

// pumpReport is what a command did; it stops at the first EOF, error or
// kick.
type pumpReport struct {
	wrote   int   // bytes of out written
	moved   int64 // bytes forwarded
	spliced int64 // of which with splice
	read    int   // bytes read into into
	eof     bool  // src sent its FIN
	err     error // an I/O error on errSide
	errSide side
	kicked  bool
}

// newPump makes the pump of c and starts its goroutine.
func (s *Session) newPump(c *channel) *pump {
	p := &pump{s: s, c: c, cmds: make(chan pumpCmd, 1)}
	p.done = func() { s.pumpReported(p) }
	p.onBlock = func() {
		p.notifying.Store(false)
		if !s.ended && !s.closing {
			s.event(nil)
			s.armTimer() // the side lb waits on changed: its timeout applies
		}
	}
	go p.run()
	return p
}

// run is the pump goroutine's body: commands until the channel closes.
func (p *pump) run() {
	for cmd := range p.cmds {
		p.rep = p.exec(&cmd)
		if p.s.loop.Execute(p.done) != nil {
			// The loop is gone (the process stops): nothing will read the
			// report; the sockets close with the process.
			return
		}
	}
}

// srcSide and dstSide are the ends a pump reads and writes.
func (p *pump) srcSide() side {
	if p.c == &p.s.req {
		return sideFront
	}
	return sideBack
}

func (p *pump) dstSide() side { return 1 - p.srcSide() }

// exec runs one command.
func (p *pump) exec(cmd *pumpCmd) (r pumpReport) {
	p.clearKick(cmd.seq)
	p.moved.Store(0)
	defer p.unblock()
	src, dst := p.s.endOf(p.srcSide()), p.s.endOf(p.dstSide())
	if cmd.flush {
		if err := cmd.dst.(*tlsConn).flush(); err != nil {
			return p.failed(r, err, p.dstSide())
		}
	}
	for _, b := range cmd.out {
		if len(b) == 0 {
			continue
		}
		n, err := p.write(cmd.dst, &dst.act, b)
		r.wrote += n
		if err != nil {
			return p.failed(r, err, p.dstSide())
		}
	}
	if cmd.forward != 0 {
		if !p.forward(cmd, &src.act, &dst.act, &r) {
			return r
		}
	}
	if cap(cmd.into) > 0 {
		n, err := p.read(cmd.src, cmd.into[:cap(cmd.into)])
		r.read = n
		switch {
		case err != nil:
			return p.failed(r, err, p.srcSide())
		case n == 0:
			r.eof = true
			return r
		}
		src.act.Store(p.s.env.Clock.Now().UnixNano())
	}
	if cmd.shutw && cmd.dst != nil {
		if err := cmd.dst.CloseWrite(); err != nil && !errors.Is(err, syscall.ENOTCONN) {
			return p.failed(r, err, p.dstSide())
		}
	}
	return r
}

// failed records err, or a kick.
func (p *pump) failed(r pumpReport, err error, sd side) pumpReport {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.mu.Lock()
		k := p.kickSeq != 0
		p.mu.Unlock()
		if k {
			r.kicked = true
			return r
		}
	}
	r.err, r.errSide = err, sd
	return r
}

// forward moves up to cmd.forward bytes (all until EOF when -1), copying
// through a pooled buffer held only while bytes are in flight, then
// splicing once a read fills it. It reports false when it stopped early
// (EOF, error, kick: r says which).
func (p *pump) forward(cmd *pumpCmd, srcAct, dstAct *atomic.Int64, r *pumpReport) bool {
	left := cmd.forward
	src, err1 := rawOrTLS(cmd.src)
	dst, err2 := rawOrTLS(cmd.dst)
	if err1 != nil || err2 != nil {
		*r = p.failed(*r, errors.Join(err1, err2), p.srcSide())
		return false
	}
	for left != 0 {
		limit := bufSize
		if left > 0 && left < int64(limit) {
			limit = int(left)
		}
		bp := bufPool.Get().(*[]byte)
		n, err := p.fwdRead(src, (*bp)[:limit])
		if err != nil || n == 0 {
			bufPool.Put(bp)
			if err != nil {
				*r = p.failed(*r, err, p.srcSide())
			} else {
				r.eof = true
			}
			return false
		}
		now := p.s.env.Clock.Now().UnixNano()
		srcAct.Store(now)
		w, err := p.fwdWrite(dst, dstAct, (*bp)[:n])
		bufPool.Put(bp)
		r.moved += int64(w)
		p.moved.Add(int64(w))
		if err != nil {
			*r = p.failed(*r, err, p.dstSide())
			return false
		}
		if left > 0 {
			left -= int64(n)
		}
		if n == bufSize && left != 0 && src.rc != nil && dst.rc != nil && p.s.env.Pipes != nil {
			if pp, ok := p.s.env.Pipes.Get(); ok {
				return p.splice(src.rc, dst.rc, srcAct, dstAct, pp, left, r)
			}
		}
	}
	return true
}

// fwdEnd is one side of a forward: a socket's descriptor (rc, which
// splice can use), or a TLS end (tls: read and written through it).
type fwdEnd struct {
	rc  syscall.RawConn
	tls *tlsConn
}

func rawOrTLS(c Conn) (fwdEnd, error) {
	if t, ok := c.(*tlsConn); ok {
		return fwdEnd{tls: t}, nil
	}
	rc, err := c.SyscallConn()
	return fwdEnd{rc: rc}, err
}

func (p *pump) fwdRead(e fwdEnd, b []byte) (int, error) {
	if e.tls != nil {
		return p.read(e.tls, b)
	}
	return p.readRaw(e.rc, b)
}

func (p *pump) fwdWrite(e fwdEnd, act *atomic.Int64, b []byte) (int, error) {
	if e.tls != nil {
		return p.write(e.tls, act, b)
	}
	return p.writeRaw(e.rc, act, b)
}

// splice forwards through the kernel pipe pp, up to left bytes (-1: until
// EOF), then returns the pipe.
func (p *pump) splice(srcRC, dstRC syscall.RawConn, srcAct, dstAct *atomic.Int64, pp pipe, left int64, r *pumpReport) bool {
	clean := true
	defer func() { p.s.env.Pipes.Put(pp, clean) }()
	for left != 0 {
		chunk := spliceChunk
		if left > 0 && left < int64(chunk) {
			chunk = int(left)
		}
		// The pipe is empty here, so EAGAIN means the socket is.
		n, err := p.readWith(srcRC, func(fd int) (int, error) {
			m, e := unix.Splice(fd, nil, pp.w, nil, chunk, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return int(m), e
		})
		if err != nil {
			*r = p.failed(*r, err, p.srcSide())
			return false
		}
		if n == 0 {
			r.eof = true
			return false
		}
		srcAct.Store(p.s.env.Clock.Now().UnixNano())
		clean = false
		err = p.writeLoop(dstRC, dstAct, n, func(fd, left int) (int, error) {
			m, e := unix.Splice(pp.r, nil, fd, nil, left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return int(m), e
		})
		if err != nil {
			*r = p.failed(*r, err, p.dstSide())
			return false
		}
		clean = true
		r.moved += int64(n)
		r.spliced += int64(n)
		p.moved.Add(int64(n))
		if left > 0 {
			left -= int64(n)
		}
	}
	return true
}

// read reads once into b from c; 0 without an error is the end.
func (p *pump) read(c Conn, b []byte) (int, error) {
	if t, ok := c.(*tlsConn); ok {
		p.block(blockSrc) // as good as it gets: TLS hides its waits
		n, err := t.Read(b)
		p.unblock()
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return n, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	return p.readRaw(rc, b)
}

// readRaw reads once into b, waiting in the poller while nothing is there.
func (p *pump) readRaw(rc syscall.RawConn, b []byte) (int, error) {
	return p.readWith(rc, func(fd int) (int, error) { return unix.Read(fd, b) })
}

// readWith calls read (a read(2) or a splice(2) from the socket) until it
// moves bytes, reaches EOF (0) or fails, waiting in the poller (timed as
// waiting on src) while the socket is empty.
func (p *pump) readWith(rc syscall.RawConn, read func(fd int) (int, error)) (int, error) {
	var (
		n    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = read(int(fd))
			if rerr != unix.EINTR {
				break
			}
		}
		if rerr == unix.EAGAIN {
			p.block(blockSrc)
			return false
		}
		return true
	})
	p.unblock()
	if err == nil {
		err = rerr
	}
	if n < 0 {
		n = 0
	}
	return n, err
}

// write writes all of b to c.
func (p *pump) write(c Conn, act *atomic.Int64, b []byte) (int, error) {
	if t, ok := c.(*tlsConn); ok {
		p.block(blockDst)
		n, err := t.Write(b)
		p.progress(act)
		return n, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	return p.writeRaw(rc, act, b)
}

// writeRaw writes all of b, stamping act at every progress.
func (p *pump) writeRaw(rc syscall.RawConn, act *atomic.Int64, b []byte) (int, error) {
	total := len(b)
	left := total
	err := p.writeLoop(rc, act, total, func(fd, l int) (int, error) {
		n, e := unix.Write(fd, b[total-l:])
		if e == nil {
			left = l - n
		}
		return n, e
	})
	return total - left, err
}

// writeLoop calls write until it moved n bytes to the socket behind rc
// (write gets the descriptor and the bytes left, and returns what it
// moved), waiting in the poller whenever the socket is full: that wait is
// timed as waiting on dst.
func (p *pump) writeLoop(rc syscall.RawConn, act *atomic.Int64, n int, write func(fd, left int) (int, error)) error {
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n > 0 {
			m, e := write(int(fd), n)
			switch e {
			case nil:
				n -= m
				p.progress(act)
			case unix.EINTR:
			case unix.EAGAIN:
				p.block(blockDst)
				return false
			default:
				werr = e
				return true
			}
		}
		return true
	})
	p.progress(act)
	if err == nil {
		err = werr
	}
	return err
}

// progress stamps a write's progress and ends a wait for room on dst.
func (p *pump) progress(act *atomic.Int64) {
	act.Store(p.s.env.Clock.Now().UnixNano())
	p.unblock()
}

// block records that the command waits on side (blockSrc, blockDst) from
// now, and tells the owner if its timer was armed for another side.
func (p *pump) block(side int32) {
	if p.blockSide.Load() == side {
		return
	}
	p.blockSince.Store(p.s.env.Clock.Now().UnixNano())
	p.blockSide.Store(side)
	if side != p.noted.Load() && !p.notifying.Swap(true) {
		if p.s.loop.Execute(p.onBlock) != nil {
			p.notifying.Store(false)
		}
	}
}

// unblock records the end of a wait (time waited on dst is added up for
// the body rate rule).
func (p *pump) unblock() {
	switch p.blockSide.Swap(blockNone) {
	case blockDst:
		p.blocked.Add(p.s.env.Clock.Now().UnixNano() - p.blockSince.Load())
	}
}

// kick makes the running command stop at once: a deadline in the past on
// the socket it reads and the one it writes (never the directions the
// other pump uses). Owner only; a no-op on an idle pump.
func (p *pump) kick() {
	if p == nil || !p.busy {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearDeadlinesLocked()
	p.kickSeq = p.seq
	past := time.Unix(1, 0)
	if c := p.s.endOf(p.srcSide()).nc; c != nil {
		c.SetReadDeadline(past)
		p.kickSrc = c
	}
	if c := p.s.endOf(p.dstSide()).nc; c != nil {
		c.SetWriteDeadline(past)
		p.kickDst = c
	}
}

// clearKick, as command seq starts, takes off the deadlines of a kick
// meant for an earlier command (one that ended before the kick hit it).
// A kick meant for seq itself stays: the command stops at once.
func (p *pump) clearKick(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kickSeq != 0 && p.kickSeq < seq {
		p.clearDeadlinesLocked()
	}
}

func (p *pump) clearDeadlinesLocked() {
	if p.kickSrc != nil {
		p.kickSrc.SetReadDeadline(time.Time{})
	}
	if p.kickDst != nil {
		p.kickDst.SetWriteDeadline(time.Time{})
	}
	p.kickSeq, p.kickSrc, p.kickDst = 0, nil, nil
}

// waiting returns what the running command waits for and since when
// (nil-safe: nothing on the loop or when idle), and notes it as the side
// the owner's timer is armed for. Owner only.
func (p *pump) waiting() (side int32, since int64) {
	if p == nil || !p.busy {
		return blockNone, 0
	}
	side, since = p.blockSide.Load(), p.blockSince.Load()
	p.noted.Store(side)
	return side, since
}

// forwarded returns the bytes the running command forwarded so far.
func (p *pump) forwarded() int64 {
	if p == nil || !p.busy {
		return 0
	}
	return p.moved.Load()
}

// blockedNs returns the time spent waiting for room on dst, the current
// wait included.
func (p *pump) blockedNs() int64 {
	if p == nil {
		return 0
	}
	n := p.blocked.Load()
	if p.busy && p.blockSide.Load() == blockDst {
		n += p.s.now() - p.blockSince.Load()
	}
	return n
}

// endOf returns the end of a side. The pump goroutine reads only the
// ends' act stamps through it (atomics).
func (s *Session) endOf(sd side) *end {
	if sd == sideFront {
		return &s.fc
	}
	return &s.bc
}

// FDConn makes a Go connection of a descriptor it takes ownership of.
func FDConn(fd int) (Conn, error) {
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
