package listener

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/lb-proxy/lb/session"
)

// readBufferCap is each event loop's read buffer: the most one read(2)
// moves. A read that fills it marks a bulk flow (session.bulkRead).
const readBufferCap = 64 << 10

// MaxWaiting bounds each listener's waiting room: the connections accepted
// above maxconn that wait, unread, for a slot. One more is closed at once
// (shed, counted).
const MaxWaiting = 4096

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
	// Waiting bounds the waiting room (fixed at Listen); 0 = MaxWaiting.
	Waiting int
}

// Binding is what a listener hands its connections to: a frontend and the
// connection gates it counts against. Listeners of one frontend share it; a
// reload swaps it (SetBinding) without touching the sockets.
type Binding struct {
	Frontend *session.Frontend
	Gate     *Gate // the frontend's maxconn; nil = unlimited
	Global   *Gate // the process-wide maxconn; nil = unlimited

	release func() // returns a connection's slots; built once (no allocation per connection)
}

// NewBinding returns the binding of fe under its gates.
func NewBinding(fe *session.Frontend, gate, global *Gate) *Binding {
	b := &Binding{Frontend: fe, Gate: gate, Global: global}
	b.release = func() {
		b.Gate.Release()
		b.Global.Release()
	}
	return b
}

// tryAcquire takes a frontend slot and a process slot, or neither.
func (b *Binding) tryAcquire() bool {
	if !b.Gate.TryAcquire() {
		return false
	}
	if !b.Global.TryAcquire() {
		b.Gate.Release()
		return false
	}
	return true
}

// acquire takes both slots, waiting while either gate is full; false if
// stop closed first (then it holds none).
func (b *Binding) acquire(stop <-chan struct{}) bool {
	if !b.Gate.Acquire(stop) {
		return false
	}
	if !b.Global.Acquire(stop) {
		b.Gate.Release()
		return false
	}
	return true
}

// Stats are a listener's own counters.
type Stats struct {
	Waiting int64 // connections waiting for a slot now
	Shed    int64 // connections closed because the waiting room was full
}

// Listener is one bound address. Its connections are accepted by the event
// loops themselves: one gnet engine per loop, each with its own listening
// socket on the address (SO_REUSEPORT, so the kernel spreads new
// connections across the loops), and a connection is served on the loop
// that accepted it, with no hand-off and no goroutine (HAProxy's model:
// every thread accepts on its own).
//
// gnet cannot stop polling a listening socket, so maxconn is enforced after
// accept: a connection that finds its frontend or the process full is
// handed, unread, to the waiting room (the loop closes its own copy of the
// socket, which sends nothing); the kernel's socket buffer and TCP flow
// control hold the client exactly as its accept queue would. The room's
// goroutine starts each one, in arrival order, as slots free. Connections
// arrive there first while the room is not empty, so nobody overtakes.
//
// A Listener's sockets live across reloads (SetBinding swaps the frontend);
// with no binding the address refuses connections (accepts and closes
// them) until Close.
type Listener struct {
	addr  string // as configured
	opts  Options
	bound net.Addr // with the real port
	log   zerolog.Logger

	cur atomic.Pointer[bound] // swapped by SetBinding (reload); nil: refuse
	// starting is held (read) while a connection is handed to a session,
	// and taken (write) by Unlisten: once it returns, no session starts
	// here any more (Env.Wait may begin).
	starting sync.RWMutex
	closed   bool         // Unlisten ran; guarded by starting
	sessions atomic.Int64 // sessions started here and not ended, on any path
	shards   []*shard
	next     atomic.Uint32 // the shard the next waiting-room session goes to

	room    chan session.Conn // the waiting room (bounded: Options.Waiting)
	waiting atomic.Int64      // connections in the room, or taken from it and waiting for a slot
	shed    atomic.Int64
	stop    chan struct{}
	done    chan struct{} // the room goroutine ended
	stopped sync.Once
}

// Listen binds addr on loops event loops (at least one) with the flags in
// o and starts accepting; connections are refused until SetBinding.
func Listen(addr string, o Options, loops int, log zerolog.Logger) (*Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listener: %s: %w", addr, err)
	}
	if o.Waiting <= 0 {
		o.Waiting = MaxWaiting
	}
	l := &Listener{addr: addr, opts: o, log: log,
		room: make(chan session.Conn, o.Waiting), stop: make(chan struct{}), done: make(chan struct{})}
	for i := range max(loops, 1) {
		// The first socket picks the port when addr asks for any (":0");
		// the others join it there.
		sh, err := l.startShard(net.JoinHostPort(host, port))
		if err != nil {
			l.stopShards()
			return nil, fmt.Errorf("listener: %s: %w", addr, err)
		}
		l.shards = append(l.shards, sh)
		if i == 0 {
			sa, err := unix.Getsockname(sh.lfd)
			if err != nil {
				l.stopShards()
				return nil, fmt.Errorf("listener: %s: %w", addr, err)
			}
			l.bound = sockaddrTCP(sa)
			port = strconv.Itoa(l.bound.(*net.TCPAddr).Port)
		}
	}
	go l.waitingRoom()
	return l, nil
}

// sockaddrTCP converts a bound address.
func sockaddrTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)))
	case *unix.SockaddrInet6:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)))
	}
	return &net.TCPAddr{}
}

// Addr returns the bound address (with the real port when ":0" was asked).
func (l *Listener) Addr() net.Addr { return l.bound }

// bound is a binding as one listener uses it: release also counts the
// listener's session out (made once per binding, not per connection).
type bound struct {
	*Binding
	release func()
}

// SetBinding points the listener at a (new) frontend; nil refuses new
// connections. Connections already handed over keep the frontend they
// started with.
func (l *Listener) SetBinding(b *Binding) {
	if b == nil {
		l.cur.Store(nil)
		return
	}
	l.cur.Store(&bound{Binding: b, release: func() {
		b.release()
		l.sessions.Add(-1)
	}})
}

// Sessions returns how many sessions started on this listener have not
// ended yet (wherever they run: on its loops or on the pumps).
func (l *Listener) Sessions() int64 { return l.sessions.Load() }

// SetOptions applies o to the listening sockets (a reload may change them).
func (l *Listener) SetOptions(o Options) error {
	for _, sh := range l.shards {
		if sh.lfd < 0 {
			continue
		}
		if err := applyOptions(sh.lfd, o); err != nil {
			return fmt.Errorf("listener: %s: %w", l.addr, err)
		}
	}
	l.opts = o
	return nil
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	return Stats{Waiting: l.waiting.Load(), Shed: l.shed.Load()}
}

// Connections returns how many connections the listener's loops carry
// (client and server ones, pooled ones included).
func (l *Listener) Connections() int {
	n := 0
	for _, sh := range l.shards {
		if c := sh.eng.CountConnections(); c > 0 {
			n += c
		}
	}
	return n
}

// PerLoop returns how many connections each of the listener's loops
// carries (tests: the kernel spreads accepts across them).
func (l *Listener) PerLoop() []int {
	out := make([]int, len(l.shards))
	for i, sh := range l.shards {
		out[i] = sh.eng.CountConnections()
	}
	return out
}

// Close stops the listener: the waiting room's connections are closed,
// then the loops stop, closing every connection they still carry; call it
// once the sessions on them ended (or to kill them).
func (l *Listener) Close() {
	l.stopped.Do(func() {
		close(l.stop)
		<-l.done
		l.stopShards()
	})
}

// Loops returns the listener's loops that have carried a connection (a
// loop that never had one cannot be stuck in a callback).
func (l *Listener) Loops() []session.Loop {
	var out []session.Loop
	for _, sh := range l.shards {
		if lp := sh.known.Load(); lp != nil {
			out = append(out, *lp)
		}
	}
	return out
}

// Probe runs a no-op on each of the listener's loops that has carried a
// connection and reports whether all ran it within timeout: a loop stuck
// in a callback never does (the systemd watchdog's check).
func (l *Listener) Probe(timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, lp := range l.Loops() {
		done := make(chan struct{})
		if lp.Execute(func() { close(done) }) != nil {
			continue // stopped
		}
		select {
		case <-done:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// AttachOne implements session.Loops: c goes to the listener's loops in
// turn (gnet's Register: a duplicate of the socket is enrolled on the loop,
// c is closed).
func (l *Listener) AttachOne(c session.Conn, h session.LoopHandler) error {
	sh := l.shards[int(l.next.Add(1))%len(l.shards)]
	ch, err := sh.eng.Register(gnet.NewNetConnContext(gnet.NewContext(context.Background(), h), c))
	if err != nil {
		c.Close()
		return err
	}
	return (<-ch).Err
}

// accept runs on a loop for every connection its socket accepted: with
// slots free and nobody waiting it starts the session right there,
// otherwise the connection goes to the waiting room.
func (l *Listener) accept(sh *shard, c gnet.Conn) gnet.Action {
	// TryRLock: a failure means Unlisten waits to close the listener (the
	// loop must not wait behind it: the waiting room may be attaching a
	// session to this very loop while holding its read lock).
	if !l.starting.TryRLock() {
		return gnet.Close
	}
	defer l.starting.RUnlock()
	b := l.cur.Load()
	if b == nil || l.closed {
		return gnet.Close // refused: the address is going away
	}
	if l.waiting.Load() == 0 && b.tryAcquire() {
		l.sessions.Add(1)
		if b.Frontend.Open(c, sh.loopOf(c), b.release) {
			return gnet.Close
		}
		return gnet.None
	}
	l.wait(c)
	return gnet.Close
}

// wait moves c, unread, to the waiting room: a duplicate of its socket
// goes there, and the loop's copy is closed by the caller (which sends
// nothing). A full room sheds c.
func (l *Listener) wait(c gnet.Conn) {
	if l.waiting.Add(1) > int64(cap(l.room)) {
		l.waiting.Add(-1)
		l.shed.Add(1)
		return
	}
	fd, err := c.Dup()
	if err != nil {
		l.waiting.Add(-1)
		l.shed.Add(1)
		return
	}
	nc, err := session.FDConn(fd)
	if err != nil {
		l.waiting.Add(-1)
		l.shed.Add(1)
		return
	}
	l.room <- nc // never blocks: waiting bounds what is in it
}

// waitingRoom starts the waiting connections in arrival order, each once
// its frontend and the process have a slot. It owns the connections in
// the room; Close ends it (they are closed).
func (l *Listener) waitingRoom() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			for {
				select {
				case c := <-l.room:
					c.Close()
					l.waiting.Add(-1)
				default:
					return
				}
			}
		case c := <-l.room:
			b := l.cur.Load()
			for b != nil {
				if !b.acquire(l.stop) {
					b = nil
					break
				}
				if nb := l.cur.Load(); nb != b {
					// A reload swapped the binding while c waited: it
					// belongs to the new generation and its gates.
					b.Binding.release()
					b = nb
					continue
				}
				break
			}
			l.waiting.Add(-1)
			l.starting.RLock()
			if b != nil && l.closed {
				b.Binding.release()
				b = nil
			}
			if b == nil {
				l.starting.RUnlock()
				c.Close()
				continue
			}
			l.sessions.Add(1)
			b.Frontend.Start(c, l, b.release)
			l.starting.RUnlock()
		}
	}
}

// stopShards stops every loop (closing its connections) and its socket.
func (l *Listener) stopShards() {
	// gnet's Stop takes a while per engine: stop them all at once.
	var wg sync.WaitGroup
	for _, sh := range l.shards {
		wg.Add(1)
		go func() { defer wg.Done(); sh.stop(l.log) }() // ends with the engine's stop
	}
	wg.Wait()
	l.shards = nil
}

// shard is one event loop of a listener: a gnet engine with one loop and
// its own listening socket on the address.
type shard struct {
	l    *Listener
	eng  gnet.Engine
	lfd  int          // a duplicate of the engine's listening socket (options); -1 once unlistened
	gfd  int          // the engine's own descriptor of that socket; -1 if not found
	loop session.Loop // the engine's loop, once known (loop only)
	// known publishes loop for other goroutines (the watchdog's probe).
	known atomic.Pointer[loop]

	booted chan struct{} // closed once the loop runs (OnTick)
	ready  sync.Once
	done   chan error // the engine ended (gnet.Run returned)
}

// startShard starts one engine listening on addr.
func (l *Listener) startShard(addr string) (*shard, error) {
	sh := &shard{l: l, lfd: -1, gfd: -1, booted: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		sh.done <- gnet.Run(sh, "tcp://"+addr,
			gnet.WithNumEventLoop(1),
			gnet.WithReusePort(true),
			gnet.WithReuseAddr(true),
			gnet.WithReadBufferCap(readBufferCap),
			gnet.WithWriteBufferCap(4<<10), // lb never writes through gnet's buffers
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithTicker(true), // its first tick says the loop is registered (OnTick)
			gnet.WithLogger(gnetLogger{l.log}),
		)
	}()
	select {
	case <-sh.booted:
	case err := <-sh.done:
		if err == nil {
			err = errors.New("event loop ended at start")
		}
		return nil, err
	}
	fd, err := sh.eng.DupListener("tcp", addr)
	if err == nil {
		sh.lfd = fd
		err = applyOptions(fd, l.opts)
	}
	if err != nil {
		sh.stop(l.log)
		return nil, err
	}
	if sh.gfd, err = twinFD(fd); err != nil {
		l.log.Warn().Err(err).Str("listener", l.addr).
			Msg("cannot close this listening socket before its loop stops: a stop or reload will refuse its connections instead")
	}
	return sh, nil
}

// twinFD finds the other descriptor of fd's socket in this process: the
// engine's own.
func twinFD(fd int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return -1, err
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, err
	}
	twin := -1
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == fd {
			continue
		}
		var o unix.Stat_t
		if unix.Fstat(n, &o) == nil && o.Dev == st.Dev && o.Ino == st.Ino {
			if twin >= 0 {
				return -1, errors.New("listener: the listening socket has more than two descriptors")
			}
			twin = n
		}
	}
	if twin < 0 {
		return -1, errors.New("listener: the engine's listening descriptor was not found")
	}
	return twin, nil
}

// unlisten closes the shard's listening socket while its loop goes on
// carrying its connections (gnet can only close a listener by stopping
// the loop, which closes them all). The engine's descriptor is pointed at
// an idle listening unix socket (dup3 replaces it atomically: an accept
// the loop makes on it meanwhile finds nothing, EAGAIN), then the last
// descriptor of the TCP socket closes: the kernel stops accepting on the
// address (a new connection is refused), and the socket leaves the loop's
// epoll set. The loop closes the placeholder when it stops.
func (sh *shard) unlisten() error {
	if sh.lfd < 0 || sh.gfd < 0 {
		return errors.New("listener: no descriptor to close the listening socket with")
	}
	x, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(x)
	// An unnamed bind autobinds a unique abstract address.
	if err := unix.Bind(x, &unix.SockaddrUnix{}); err != nil {
		return err
	}
	if err := unix.Listen(x, 1); err != nil {
		return err
	}
	if err := unix.Dup3(x, sh.gfd, unix.O_CLOEXEC); err != nil {
		return err
	}
	unix.Close(sh.lfd)
	sh.lfd = -1
	return nil
}

// stop stops the engine and waits for it.
func (sh *shard) stop(log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sh.eng.Stop(ctx); err != nil {
		log.Warn().Err(err).Msg("event loop did not stop")
	} else {
		<-sh.done
	}
	if sh.lfd >= 0 {
		unix.Close(sh.lfd)
		sh.lfd = -1
	}
}

// Unlisten stops accepting on the address: new connections are refused by
// the kernel, while the sessions that started here go on on its loops
// until they end (then Close). Where a socket cannot be closed early, its
// connections are refused by lb instead (accepted and closed). It clears
// the binding.
func (l *Listener) Unlisten() {
	l.starting.Lock()
	l.closed = true
	l.starting.Unlock()
	l.SetBinding(nil)
	for _, sh := range l.shards {
		if err := sh.unlisten(); err != nil && sh.lfd >= 0 {
			l.log.Warn().Err(err).Str("listener", l.addr).Msg("listening socket left open; its connections are refused")
		}
	}
}

// loopOf returns the shard's loop (c's), made once.
func (sh *shard) loopOf(c gnet.Conn) session.Loop {
	if sh.loop == nil {
		l := loop{c.EventLoop()}
		sh.loop = l
		sh.known.Store(&l)
	}
	return sh.loop
}

// applyOptions sets o on a listening socket; accepted sockets inherit
// keepalive and TCP_NODELAY.
func applyOptions(fd int, o Options) error {
	keepAlive := o.KeepAlive
	if keepAlive == 0 {
		keepAlive = 60 * time.Second
	}
	set := func(level, opt, v int) error { return unix.SetsockoptInt(fd, level, opt, v) }
	errs := []error{set(unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)}
	if keepAlive > 0 {
		errs = append(errs,
			set(unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1),
			set(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, int(keepAlive/time.Second)),
			set(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, int(max(keepAlive/time.Second/5, 1))),
			set(unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 5))
	} else {
		errs = append(errs, set(unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0))
	}
	errs = append(errs, set(unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, o.DeferAccept))
	if o.Backlog > 0 {
		// listen(2) again on a listening socket only resizes its queue.
		errs = append(errs, unix.Listen(fd, o.Backlog))
	}
	return errors.Join(errs...)
}
