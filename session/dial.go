package session

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Loop dials: a connect attempt to a server made by the loop itself, with a
// non-blocking connect(2), and completed there, so that no goroutine has
// to get the CPU before the loop can use the connection. With one core
// (GOMAXPROCS=1) and a busy loop, a dial goroutine waits for Go's netpoller
// to notice its socket, which only sysmon polls then, every 10 ms, and
// then for the loop to be preempted: 20-40 ms per new server connection.
//
// A loopback connect(2) has already ended when it returns (the kernel runs
// the whole handshake inside it), so the loop looks at once. Otherwise two
// things notice a loop dial's end: the loop polls its pending dials every
// pollDialsEvery callbacks while it is busy (one poll(2) for all of them),
// and a watcher goroutine waits in the netpoller for the idle case and
// posts a task to the loop (with one core it runs once sysmon takes the
// CPU from the loop's epoll_wait: up to 10 ms more for a remote server).
// Whichever comes first completes it (finish), on the loop; the connected
// socket is then enrolled onto the loop (gnet's Enroll), whose OnOpen
// (dialed) continues the session as for any dial.

// pollDialsEvery is how many loop callbacks pass between two polls of the
// pending dials while some are pending.
const pollDialsEvery = 16

// loopDial is one connect attempt in progress on a loop. Loop-owned, but
// for f and fd, which the watcher reads (set before it starts).
type loopDial struct {
	s    *Session
	seq  uint32
	lo   *local
	fd   int      // the connecting socket
	f    *os.File // fd, for the watcher's netpoller wait; closing it ends the watcher
	done bool     // finished or cancelled
}

// dialOnLoop starts t's connect attempt on the loop; false when it cannot
// (a server address that needs a resolver, or no socket): the dial
// goroutine does it then.
func (s *Session) dialOnLoop(t *txn) bool {
	if _, ok := s.env.Dialer.(NetDialer); !ok || t.target.TLS != nil {
		return false // a Dialer of the caller's, or a TLS handshake to make: a goroutine
	}
	ap, err := netip.ParseAddrPort(t.srv.Addr())
	if err != nil || ap.Addr().Zone() != "" {
		return false
	}
	family, sa := unix.AF_INET6, unix.Sockaddr(nil)
	if a := ap.Addr().Unmap(); a.Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	seq := t.dialSeq
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		t.cancel = nil
		_ = s.loop.Execute(func() { s.event(nil); s.dialDone(seq, nil, os.NewSyscallError("connect", err)) })
		return true
	}
	lo := s.env.localFor(s.loop)
	d := &loopDial{s: s, seq: seq, lo: lo, fd: fd, f: os.NewFile(uintptr(fd), "")}
	t.cancel = d.cancel
	if !s.env.NoDialLook && writable(fd) {
		// Ended already: a loopback connect(2) runs the whole handshake
		// before it returns. Waiting for a poll or the watcher would cost
		// an idle loop up to 10 ms (sysmon) with one core.
		d.done = true
		err := sockError(fd) // reading SO_ERROR clears it: once only
		if err == nil {
			err = d.enroll()
		} else {
			d.f.Close()
		}
		if err != nil { // no session step may run here
			_ = s.loop.Execute(func() { s.event(nil); s.dialDone(seq, nil, err) })
		}
		return true
	}
	lo.dials = append(lo.dials, d)
	if !s.env.NoDialWatch {
		go d.watch()
	}
	return true
}

// watch is the dial's goroutine for an idle loop: it waits until the
// socket is writable (connected or failed) and has the loop check it. It
// ends with the dial (the file is closed).
func (d *loopDial) watch() {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return
	}
	// The readiness must be checked, not assumed: the netpoller only
	// reports edges, and one that came before the wait is forgotten.
	if rc.Write(func(fd uintptr) bool { return writable(int(fd)) }) != nil {
		return // closed: the loop finished or cancelled the dial
	}
	_ = d.s.loop.Execute(d.check)
}

// writable reports whether a connecting socket's attempt has ended.
func writable(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0
}

// check finishes the dial if it is still pending. Loop only.
func (d *loopDial) check() {
	if !d.done {
		d.lo.removeDial(d)
		d.finish()
	}
}

// cancel gives the attempt up (timeout.connect, the session ends): the
// socket is closed. Loop only.
func (d *loopDial) cancel() {
	if !d.done {
		d.done = true
		d.lo.removeDial(d)
		d.f.Close()
	}
}

// finish completes a dial whose socket became writable: on an error the
// session hears of it (dialDone); connected, the socket goes onto the
// loop. Loop only.
func (d *loopDial) finish() {
	d.done = true
	err := sockError(d.fd)
	if err == nil {
		if err = d.enroll(); err == nil {
			return
		}
	} else {
		d.f.Close()
	}
	d.s.event(nil)
	d.s.dialDone(d.seq, nil, err)
}

// enroll hands the connected socket to the loop, whose OnOpen (dialed)
// goes on with the session; the dial's own file is closed either way.
func (d *loopDial) enroll() error {
	c, err := net.FileConn(d.f)
	d.f.Close() // c, if any, holds a duplicate
	if err != nil {
		return err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return errors.New("session: dialed socket is not TCP")
	}
	if err := d.s.loop.Enroll(tc, &dialed{s: d.s, seq: d.seq}); err != nil {
		return err
	}
	// gnet's Enroll hands the socket to a goroutine of its pool (runnable
	// now) that queues its registration on this loop: let it run before
	// the loop goes on.
	runtime.Gosched()
	return nil
}

// sockError is a connect attempt's outcome once its socket is writable.
func sockError(fd int) error {
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case err != nil:
		return os.NewSyscallError("getsockopt", err)
	case soerr != 0:
		return os.NewSyscallError("connect", syscall.Errno(soerr))
	}
	return nil
}

// removeDial forgets a pending dial.
func (lo *local) removeDial(d *loopDial) {
	for i, x := range lo.dials {
		if x == d {
			last := len(lo.dials) - 1
			lo.dials[i] = lo.dials[last]
			lo.dials[last] = nil
			lo.dials = lo.dials[:last]
			return
		}
	}
}

// pollDials completes the pending dials whose sockets became writable,
// every pollDialsEvery calls while some are pending. Loop only; outside
// any session's event.
func (lo *local) pollDials() {
	if len(lo.dials) == 0 {
		return
	}
	if lo.polls++; lo.polls < pollDialsEvery {
		return
	}
	lo.polls = 0
	lo.pfds = lo.pfds[:0]
	for _, d := range lo.dials {
		lo.pfds = append(lo.pfds, unix.PollFd{Fd: int32(d.fd), Events: unix.POLLOUT})
	}
	if n, err := unix.Poll(lo.pfds, 0); err != nil || n == 0 {
		return
	}
	ready := lo.ready[:0]
	for i, p := range lo.pfds {
		if p.Revents != 0 {
			ready = append(ready, lo.dials[i])
		}
	}
	for i, d := range ready {
		d.check() // may start other dials (a retry): ready is apart
		ready[i] = nil
	}
	lo.ready = ready[:0]
}
