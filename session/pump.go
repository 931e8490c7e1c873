package session

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// bufSize is the size of a channel's user-space buffer, borrowed from
// bufPool only while bytes are in flight (HAProxy's tune.bufsize).
const bufSize = 16 << 10

// spliceChunk is the most one splice(2) call moves into a pipe.
const spliceChunk = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// side names the socket an error came from.
type side uint8

const (
	sideFront side = iota // fc, the client connection
	sideBack              // bc, the server connection
)

// pump forwards one channel, from src to dst, until src reaches EOF (then it
// half-closes dst), an I/O error, or the session closes the sockets.
//
// It starts by copying through a pooled buffer that it holds only while
// bytes are in flight (an idle or parked channel holds none), and switches to
// kernel splice for the rest of its life once a read fills the whole buffer
// (HAProxy's splice-auto heuristic) and the pipe pool grants a pipe. Either
// way it reads again only once everything read was written, so a slow
// reader slows the writer through TCP flow control and memory stays bounded
// by one buffer (or one kernel pipe) per channel.
type pump struct {
	src, dst       syscall.RawConn
	srcSide        side
	dstSide        side
	closeWrite     func() error  // half-closes dst
	srcAct, dstAct *atomic.Int64 // activity stamps (unix ns) of src's and dst's sockets
	clock          Clock
	pipes          *PipePool

	bytes   atomic.Int64 // atomic: bytes forwarded; read by the session at close
	spliced atomic.Int64 // atomic: of which through splice

	// Set by the event loop before a hand-off (see loop.go), read by the
	// pump goroutine after: pending holds bytes read from src but not yet
	// written to dst; srcEOF means src already sent its FIN, so after
	// pending the channel ends (half-closing dst).
	pending []byte
	srcEOF  bool
}

// pumpResult reports how a pump ended: err is nil after a clean EOF that was
// passed on as a half-close; otherwise errSide tells which socket failed.
type pumpResult struct {
	p       *pump
	err     error
	errSide side
}

// run forwards until the end and reports on done. It is the pump
// goroutine's body; the session owns the goroutine and stops it by closing
// the sockets.
func (p *pump) run(done chan<- pumpResult) {
	r := pumpResult{p: p}
	if e := p.forward(); e != nil {
		r.err, r.errSide = e.err, e.side
	}
	done <- r
}

func (p *pump) forward() *sideErr {
	if len(p.pending) > 0 {
		b := p.pending
		p.pending = nil
		if err := writeAll(p.dst, b); err != nil {
			return &sideErr{err, p.dstSide}
		}
		p.dstAct.Store(p.clock.Now().UnixNano())
		p.bytes.Add(int64(len(b)))
	}
	if p.srcEOF {
		return p.eof()
	}
	for {
		n, full, err := p.copyOnce()
		if err != nil {
			return err
		}
		if n == 0 {
			return p.eof()
		}
		if full && p.pipes != nil {
			if pp, ok := p.pipes.Get(); ok {
				return p.spliceLoop(pp)
			}
		}
	}
}

// eof passes a clean end of stream on as a half-close of dst.
func (p *pump) eof() *sideErr {
	if err := p.closeWrite(); err != nil && !errors.Is(err, syscall.ENOTCONN) {
		return &sideErr{err, p.dstSide}
	}
	return nil
}

type sideErr struct {
	err  error
	side side
}

// copyOnce reads once from src into a pooled buffer and writes it all to
// dst. It returns the byte count (0 = EOF) and whether the read filled the
// buffer.
func (p *pump) copyOnce() (int, bool, *sideErr) {
	var (
		bp   *[]byte
		n    int
		rerr error
	)
	err := p.src.Read(func(fd uintptr) bool {
		if bp == nil {
			bp = bufPool.Get().(*[]byte)
		}
		for {
			n, rerr = unix.Read(int(fd), *bp)
			if rerr != unix.EINTR {
				break
			}
		}
		if rerr == unix.EAGAIN {
			// Park without holding the buffer.
			bufPool.Put(bp)
			bp = nil
			return false
		}
		return true
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		if bp != nil {
			bufPool.Put(bp)
		}
		return 0, false, &sideErr{err, p.srcSide}
	}
	if n <= 0 {
		bufPool.Put(bp)
		return 0, false, nil
	}
	p.srcAct.Store(p.clock.Now().UnixNano())
	err = writeAll(p.dst, (*bp)[:n])
	bufPool.Put(bp)
	if err != nil {
		return 0, false, &sideErr{err, p.dstSide}
	}
	p.dstAct.Store(p.clock.Now().UnixNano())
	p.bytes.Add(int64(n))
	return n, n == bufSize, nil
}

// spliceLoop forwards through the kernel pipe pp until EOF or error, then
// returns the pipe to the pool.
func (p *pump) spliceLoop(pp pipe) *sideErr {
	clean := true
	defer func() { p.pipes.Put(pp, clean) }()
	for {
		var (
			n    int
			rerr error
		)
		err := p.src.Read(func(fd uintptr) bool {
			for {
				var m int64
				m, rerr = unix.Splice(int(fd), nil, pp.w, nil, spliceChunk, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				n = int(m)
				if rerr != unix.EINTR {
					break
				}
			}
			// The pipe is empty here, so EAGAIN means the socket is.
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return &sideErr{err, p.srcSide}
		}
		if n == 0 {
			return p.eof()
		}
		p.srcAct.Store(p.clock.Now().UnixNano())
		clean = false
		left := n
		err = writeLoop(p.dst, left, func(fd, left int) (int, error) {
			m, e := unix.Splice(pp.r, nil, fd, nil, left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return int(m), e
		})
		if err != nil {
			return &sideErr{err, p.dstSide}
		}
		clean = true
		p.dstAct.Store(p.clock.Now().UnixNano())
		p.bytes.Add(int64(n))
		p.spliced.Add(int64(n))
	}
}

// writeAll writes b to the socket behind rc, waiting for it to become
// writable as often as needed.
func writeAll(rc syscall.RawConn, b []byte) error {
	total := len(b)
	return writeLoop(rc, total, func(fd, left int) (int, error) {
		return unix.Write(fd, b[total-left:])
	})
}

// writeLoop calls write until it has moved n bytes to the socket behind
// rc (write gets the descriptor and the bytes left, and returns what it
// moved), parking in the poller whenever the socket is full.
func writeLoop(rc syscall.RawConn, n int, write func(fd, left int) (int, error)) error {
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n > 0 {
			m, e := write(int(fd), n)
			switch e {
			case nil:
				n -= m
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default:
				werr = e
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return err
}
