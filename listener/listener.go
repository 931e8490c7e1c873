package listener

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/lb-proxy/lb/session"
)

// Options are the socket flags of one listening address.
type Options struct {
	// Backlog is the accept queue length; 0 keeps the kernel's
	// net.core.somaxconn.
	Backlog int
	// DeferAccept sets TCP_DEFER_ACCEPT (seconds) so a connection is only
	// accepted once its first bytes arrived; HTTP frontends use it. 0 = off.
	DeferAccept int
	// KeepAlive is the TCP keepalive idle time set on the listening socket
	// and inherited by accepted ones; 0 = 60s, negative = off.
	KeepAlive time.Duration
}

// Binding is what a listener hands its connections to: a frontend and the
// connection gates it counts against. Listeners of one frontend share it; a
// reload swaps it (SetBinding) without touching the socket.
type Binding struct {
	Frontend *session.Frontend
	Gate     *Gate // the frontend's maxconn; nil = unlimited
	Global   *Gate // the process-wide maxconn; nil = unlimited
}

// release returns the slots a connection took.
func (b *Binding) release() {
	b.Gate.Release()
	b.Global.Release()
}

// Listener is one bound address running the generic accept loop.
type Listener struct {
	addr string
	ln   *net.TCPListener
	log  zerolog.Logger

	binding atomic.Pointer[Binding] // swapped by SetBinding (reload)
	stop    chan struct{}
	done    chan struct{}
}

// Listen binds addr with the flags in o. It does not accept yet: call Serve.
func Listen(addr string, o Options, log zerolog.Logger) (*Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listener: %s: %w", addr, err)
	}
	// An explicit "[::]" is IPv6 only, so it can sit beside "0.0.0.0" on
	// the same port; an empty host is dual-stack.
	v6only := host != "" && net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil
	keepAlive := o.KeepAlive
	if keepAlive == 0 {
		keepAlive = 60 * time.Second
	}
	lc := net.ListenConfig{
		// Keepalive is set on the listening socket and inherited; telling Go
		// not to set it again saves four setsockopt calls per accept.
		KeepAlive: -1,
		Control: func(network, address string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				s := int(fd)
				set := func(level, opt, v int) {
					if serr == nil {
						serr = unix.SetsockoptInt(s, level, opt, v)
					}
				}
				set(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
				set(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
				set(unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
				if keepAlive > 0 {
					set(unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
					set(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, int(keepAlive/time.Second))
					set(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, int(max(keepAlive/time.Second/5, 1)))
					set(unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 5)
				}
				if o.DeferAccept > 0 {
					set(unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, o.DeferAccept)
				}
				if network == "tcp6" && v6only {
					set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	tl := ln.(*net.TCPListener)
	if o.Backlog > 0 {
		// listen(2) again on a listening socket only resizes its queue.
		if rc, err := tl.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { _ = unix.Listen(int(fd), o.Backlog) })
		}
	}
	return &Listener{addr: addr, ln: tl, log: log,
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Addr returns the bound address (with the real port when ":0" was asked).
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// SetBinding points the listener at a (new) frontend. Connections already
// handed over keep the frontend they started with.
func (l *Listener) SetBinding(b *Binding) { l.binding.Store(b) }

// Serve starts the accept loop on its own goroutine with binding b.
func (l *Listener) Serve(b *Binding) {
	l.SetBinding(b)
	go l.acceptLoop()
}

// Close stops accepting and closes the listening socket; connections
// already accepted are not touched. It waits for the accept loop to exit.
// Connections still in the kernel backlog are reset by the kernel.
func (l *Listener) Close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.ln.Close()
	<-l.done
}

// acceptLoop is the generic accept: take a frontend slot and a process slot
// (waiting, without accepting, while either is full), accept, and hand the
// connection to the frontend's session supervisor.
func (l *Listener) acceptLoop() {
	defer close(l.done)
	var backoff time.Duration
	for {
		b := l.binding.Load()
		if !b.Gate.Acquire(l.stop) {
			return
		}
		if !b.Global.Acquire(l.stop) {
			b.Gate.Release()
			return
		}
		c, err := l.ln.AcceptTCP()
		if err != nil {
			b.Gate.Release()
			b.Global.Release()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE, ENFILE, ENOBUFS...: back off like net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Error().Err(err).Str("listener", l.addr).Dur("retry_in", backoff).Msg("accept failed")
			select {
			case <-time.After(backoff):
			case <-l.stop:
				return
			}
			continue
		}
		backoff = 0
		if nb := l.binding.Load(); nb != b {
			// A reload swapped the binding while we waited in accept: the
			// connection belongs to the new generation and its gates.
			b.release()
			if !nb.Gate.Acquire(l.stop) {
				c.Close()
				return
			}
			if !nb.Global.Acquire(l.stop) {
				nb.Gate.Release()
				c.Close()
				return
			}
			b = nb
		}
		b.Frontend.Start(c, b.release)
	}
}
