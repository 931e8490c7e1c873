package session

import (
	"net/netip"

	"context"
	"crypto/tls"
	"errors"
	"github.com/lb-proxy/lb/analyzer"
	"net"
	"runtime"
	"sync/atomic"
	"time"
)

// TLS handshakes, before a TLS front end's session exists (HAProxy's
// client-side HTTPS: the protocol accept runs once the handshake is
// complete). crypto/tls's handshake blocks, so it runs on a goroutine of
// its own, fed by the loop that accepted the socket; the loop stays the
// socket's only reader and writer. The goroutine starts only once the
// ClientHello has arrived whole (a client that never sends one costs the
// loop connection and its bytes, bounded by maxHelloBytes), and it
// computes only while it holds one of the process's handshake slots
// (HandshakeSlots): a flood of handshakes waits for slots instead of
// taking the CPU from established traffic, and what waits is counted.
// Waiting for the client's next flight releases the slot. The whole
// handshake is bounded by the frontend's timeout.client.

// maxHelloBytes bounds what a client may send before its handshake
// completes.
const maxHelloBytes = 64 << 10

// HandshakeSlots bounds the TLS handshakes computing at once.
type HandshakeSlots struct {
	sem     chan struct{}
	Waiting atomic.Int64 // atomic: handshakes waiting for a slot (metrics)
	Active  atomic.Int64 // atomic: handshakes in progress, slot or not (metrics)
}

// NewHandshakeSlots makes n slots (n <= 0: GOMAXPROCS).
func NewHandshakeSlots(n int) *HandshakeSlots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &HandshakeSlots{sem: make(chan struct{}, n)}
}

func (h *HandshakeSlots) acquire() {
	select {
	case h.sem <- struct{}{}:
		return
	default:
	}
	h.Waiting.Add(1)
	h.sem <- struct{}{}
	h.Waiting.Add(-1)
}

func (h *HandshakeSlots) release() { <-h.sem }

// TLSCounters are a TLS frontend's handshake counters (atomic: read by
// the metrics collector).
type TLSCounters struct {
	InProgress atomic.Int64 // started (a connection accepted) and not ended yet
	Handshakes atomic.Int64 // completed
	Resumed    atomic.Int64 // of which resumed a session
	// Failures by reason.
	FailTimeout  atomic.Int64 // not complete within timeout.client
	FailClosed   atomic.Int64 // the client closed or reset first
	FailProtocol atomic.Int64 // a TLS error (no shared version or cipher, bad record, bad certificate...)
}

// Handshake failure reasons, as logged.
const (
	hsTimeout  = "timeout"
	hsClosed   = "client closed"
	hsTooLarge = "client hello too large"
)

// handshake is one TLS handshake in progress: the loop handler of the
// socket until it completes. Loop-owned, but for what the comments say.
type handshake struct {
	f       *Frontend
	lc      LoopConn
	loop    Loop
	release func()
	wire    *wire
	tc      *tls.Conn
	timer   Timer
	started bool // the goroutine runs
	done    bool // finished, failed or given up: the socket is no longer the handshake's
	// proxy: a PROXY protocol header comes first (before the ClientHello);
	// client is its source once read.
	proxy       bool
	client, dst netip.AddrPort
	// flushing: a task to write what the handshake queued is posted
	// (atomic: the handshake goroutine posts it).
	flushing atomic.Bool
	flushFn  func()
	result   func() // the goroutine's end, on the loop
	err      error  // the handshake's outcome (written by the goroutine before result is posted)
	slots    *HandshakeSlots
	// lo is the Env's state on the loop, where the handshake is listed
	// (OnOpen) until it ends; counted: it still counts in Env.active.
	lo      *local
	counted bool
}

// newHandshake makes the handshake of a client connection of a TLS
// frontend; its OnOpen starts it, and the session starts once it
// completes. release is as for Open.
func (f *Frontend) newHandshake(release func()) *handshake {
	// It counts as a session from now on: a generation retiring waits for
	// it, and the session it becomes is counted before it lets go (end).
	f.Env.active.Add(1)
	f.TLSStats.InProgress.Add(1)
	h := &handshake{f: f, release: release, slots: f.Env.HandshakeSlots, counted: true}
	h.flushFn = h.flush
	h.result = h.finish
	return h
}

// OnOpen implements LoopHandler: the socket is on loop l; the handshake's
// clock starts.
func (h *handshake) OnOpen(c LoopConn, l Loop) bool {
	h.lc, h.loop = c, l
	h.wire = newWire(c.RemoteAddr())
	h.wire.hs = h
	h.tc = tls.Server(h.wire, h.f.TLS)
	c.SetContext(h)
	d := h.f.Timeouts.Client.Duration
	if d <= 0 {
		d = 30 * time.Second
	}
	h.timer = h.f.Env.Clock.AfterFunc(d, func() { _ = l.Execute(h.expire) })
	h.lo = h.f.Env.localFor(l)
	if h.lo.handshakes == nil {
		h.lo.handshakes = make(map[*handshake]struct{})
	}
	h.lo.handshakes[h] = struct{}{}
	if h.f.Env.killed.Load() {
		h.fail(errKilled, &h.f.TLSStats.FailClosed)
		return true
	}
	return false
}

// errKilled is why a handshake a hard stop ended failed.
var errKilled = errors.New("killed")

// kill ends a handshake still in progress (Env.Kill). Loop only.
func (h *handshake) kill() {
	if !h.done {
		h.fail(errKilled, &h.f.TLSStats.FailClosed)
		h.loop.CloseNow(h.lc)
	}
}

// end forgets the handshake: off the loop's list, and no longer counted
// in Env.active (after the session it became is). Exactly once per
// handshake; on its loop, or before it reached one.
func (h *handshake) end() {
	if h.lo != nil {
		delete(h.lo.handshakes, h)
	}
	if h.counted {
		h.counted = false
		h.f.TLSStats.InProgress.Add(-1)
		h.f.Env.active.Done()
	}
}

// OnTraffic feeds the handshake what the client sent, and starts its
// goroutine once the ClientHello is whole.
func (h *handshake) OnTraffic(c LoopConn) bool {
	if h.done {
		return true
	}
	n := c.InboundBuffered()
	b, _ := c.Peek(-1)
	h.wire.feed(b)
	c.Discard(n)
	if h.started {
		return false
	}
	h.wire.mu.Lock()
	if h.proxy {
		ph, n, err := analyzer.ParseProxyHeader(h.wire.in)
		switch {
		case err == analyzer.ErrProxyIncomplete:
			h.wire.mu.Unlock()
			return false
		case err != nil:
			h.wire.mu.Unlock()
			h.f.ProxyErrors.Add(1)
			h.fail(err, &h.f.TLSStats.FailProtocol)
			return true
		}
		h.wire.in = h.wire.in[:copy(h.wire.in, h.wire.in[n:])]
		h.proxy = false
		if !ph.Local && ph.Src.IsValid() {
			h.client, h.dst = ph.Src, ph.Dst
		}
	}
	in := len(h.wire.in)
	_, whole := analyzer.ClientHelloSNI(h.wire.in) // whole, or not one at all
	h.wire.mu.Unlock()
	switch {
	case whole:
		h.started = true
		h.slots.Active.Add(1)
		go h.run()
	case in > maxHelloBytes:
		h.fail(errors.New(hsTooLarge), &h.f.TLSStats.FailProtocol)
		return true
	}
	return false
}

// OnClose: the client went away during the handshake.
func (h *handshake) OnClose(c LoopConn, err error) {
	if h.done {
		return
	}
	h.fail(errors.New(hsClosed), &h.f.TLSStats.FailClosed)
}

// run is the handshake goroutine: the handshake, under a slot while it
// computes; it ends with it.
func (h *handshake) run() {
	h.slots.acquire()
	h.err = h.tc.HandshakeContext(context.Background())
	h.slots.release()
	h.slots.Active.Add(-1)
	if h.loop.Execute(h.result) != nil {
		h.wire.close(net.ErrClosed)
	}
}

// wait is the wire's Read blocking for the client's next flight: what the
// handshake queued goes out first, and the slot is free meanwhile.
// Handshake goroutine only.
func (h *handshake) wait(w *wire) {
	if w.backlog() && !h.flushing.Swap(true) {
		_ = h.loop.Execute(h.flushFn)
	}
	h.slots.release()
	w.mu.Lock()
	for len(w.in) == 0 && w.err == nil {
		w.cond.Wait()
	}
	w.mu.Unlock()
	h.slots.acquire()
}

// flush writes what the handshake queued. Loop only.
func (h *handshake) flush() {
	h.flushing.Store(false)
	if h.done {
		return
	}
	if left, err := h.wire.flushTo(h.lc.Fd()); left || err != nil {
		// A handshake flight that does not fit an empty socket buffer
		// (or a reset): give up.
		h.fail(errors.New(hsClosed), &h.f.TLSStats.FailClosed)
		h.loop.CloseNow(h.lc)
	}
}

// expire gives up a handshake that did not complete in time. Loop only.
func (h *handshake) expire() {
	if h.done {
		return
	}
	h.fail(errors.New(hsTimeout), &h.f.TLSStats.FailTimeout)
	h.loop.CloseNow(h.lc)
}

// fail ends the handshake: counted, logged once, the goroutine woken to
// end, the connection's slot returned. The caller closes the socket.
func (h *handshake) fail(reason error, counter *atomic.Int64) {
	h.done = true
	h.timer.Stop()
	h.wire.close(net.ErrClosed)
	counter.Add(1)
	ap := addrPort(h.lc.RemoteAddr())
	h.f.Env.AccessLog.Info().
		Str("client_ip", ap.Addr().Unmap().String()).
		Int("client_port", int(ap.Port())).
		Str("frontend", h.f.Name).
		Str("mode", string(h.f.Mode)).
		Str("term", "tls").
		Str("tls_error", reason.Error()).
		Send()
	if h.release != nil {
		h.release()
		h.release = nil
	}
	h.end()
}

// finish runs on the loop when the handshake goroutine ended: the session
// starts on the socket, or the failure is counted and the socket closed.
func (h *handshake) finish() {
	if h.done {
		return // already given up (timeout, client gone)
	}
	left, ferr := h.wire.flushTo(h.lc.Fd())
	if h.err == nil && (left || ferr != nil) {
		h.err = errors.New(hsClosed)
	}
	if h.err != nil {
		h.fail(h.err, &h.f.TLSStats.FailProtocol)
		h.loop.CloseNow(h.lc)
		return
	}
	h.done = true
	h.timer.Stop()
	h.wire.mu.Lock()
	h.wire.hs = nil // the loop feeds it from now on
	h.wire.mu.Unlock()
	cs := h.tc.ConnectionState()
	st := &tlsState{tc: h.tc, wire: h.wire, info: TLSInfo{
		Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite),
		SNI: cs.ServerName, ALPN: cs.NegotiatedProtocol, Resumed: cs.DidResume,
	}}
	if len(cs.VerifiedChains) > 0 {
		leaf := cs.VerifiedChains[0][0]
		st.info.ClientCert, st.info.ClientSubject, st.info.ClientCN = true, leaf.Subject.String(), leaf.Subject.CommonName
	}
	h.f.TLSStats.Handshakes.Add(1)
	if cs.DidResume {
		h.f.TLSStats.Resumed.Add(1)
	}
	client := addrPort(h.lc.RemoteAddr())
	if h.client.IsValid() {
		client = netip.AddrPortFrom(h.client.Addr().Unmap(), h.client.Port())
	}
	s := h.f.newSession(h.release, client)
	s.local = addrPort(h.lc.LocalAddr())
	if h.dst.IsValid() {
		s.local = h.dst
	}
	s.fc.tls = st
	h.end() // the session counts now
	th := &tlsEnd{e: &s.fc, w: &tlsLoop{st: st}}
	h.lc.SetContext(th)
	if th.OnOpen(h.lc, h.loop) {
		h.loop.CloseNow(h.lc)
	}
}
