package session

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Client-side TLS: a transport under the client codec. The handshake runs
// off the loop (handshake.go); once it is complete, the session's front
// end reads and writes TLS records on its loop, through crypto/tls over an
// in-memory wire the loop feeds with what the socket delivered and drains
// to the socket: the loop's input is the decrypted bytes (tlsLoop), its
// output is encrypted as it is written. On the pumps, the same tls.Conn
// runs over the socket itself (tlsConn): its wire switches to blocking
// I/O, so no record is lost or decrypted twice across hand-offs. TLS ends
// never splice.
//
// After the handshake, crypto/tls treats a read error that is a
// temporary net.Error as non-fatal (the partial record stays buffered in
// the tls.Conn): that is what the wire returns when the loop has nothing
// more for it.

// errWouldBlock is the wire's "nothing buffered" on the loop.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "session: tls wire: would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// wire is the net.Conn under a front end's tls.Conn. It is fed and
// drained by the loop (loop mode), by the handshake worker and the loop
// (handshake mode, hs != nil), or runs over the socket (blocking mode,
// tcp != nil, on the pumps).
type wire struct {
	mu   sync.Mutex
	cond *sync.Cond // handshake mode: the loop fed bytes or closed
	in   []byte     // ciphertext read from the socket, not yet taken by tls (guarded by mu)
	out  []byte     // ciphertext tls wrote, not yet on the socket (guarded by mu)
	err  error      // closed: Read and Write fail with it (guarded by mu)
	hs   *handshake // handshake mode
	tcp  Conn       // blocking mode: the pumps' socket
	addr net.Addr   // the client's
}

func newWire(addr net.Addr) *wire {
	w := &wire{addr: addr}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// feed appends bytes read from the socket. Loop only.
func (w *wire) feed(b []byte) {
	w.mu.Lock()
	w.in = append(w.in, b...)
	w.mu.Unlock()
	if w.hs != nil {
		w.cond.Broadcast()
	}
}

// close fails every later Read and Write with err and wakes a waiting
// handshake.
func (w *wire) close(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cond.Broadcast()
}

// Read implements net.Conn for crypto/tls.
func (w *wire) Read(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.in) == 0 && w.err == nil {
		switch {
		case w.tcp != nil:
			w.mu.Unlock()
			return w.tcp.Read(p)
		case w.hs == nil:
			w.mu.Unlock()
			return 0, errWouldBlock
		}
		w.mu.Unlock()
		w.hs.wait(w) // off the CPU slot until the loop feeds more
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if len(w.in) == 0 {
		return 0, w.err
	}
	n := copy(p, w.in)
	w.in = w.in[:copy(w.in, w.in[n:])]
	return n, nil
}

// Write implements net.Conn for crypto/tls: on the loop and in the
// handshake, the records are queued for the loop to write; on the pumps
// they go to the socket, after what was queued.
func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.err != nil {
		defer w.mu.Unlock()
		return 0, w.err
	}
	if w.tcp == nil {
		w.out = append(w.out, p...)
		w.mu.Unlock()
		return len(p), nil
	}
	w.mu.Unlock()
	if err := w.drain(); err != nil {
		return 0, err
	}
	return w.tcp.Write(p)
}

// drain writes the queued records to the pumps' socket. Pumps only.
func (w *wire) drain() error {
	w.mu.Lock()
	out := w.out
	w.out = nil
	w.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	_, err := w.tcp.Write(out)
	return err
}

// flushTo writes the queued records to the socket fd without waiting; it
// reports whether some are left (the socket is full).
func (w *wire) flushTo(fd int) (left bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.out) > 0 {
		n, e := unix.Write(fd, w.out)
		switch e {
		case nil:
			w.out = w.out[:copy(w.out, w.out[n:])]
		case unix.EINTR:
		case unix.EAGAIN:
			return true, nil
		default:
			return true, e
		}
	}
	if cap(w.out) > maxWireKeep {
		w.out = nil
	}
	return false, nil
}

// backlog reports whether records wait for the socket.
func (w *wire) backlog() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.out) > 0
}

// maxWireKeep is the largest output buffer a wire keeps between writes.
const maxWireKeep = 64 << 10

func (w *wire) Close() error                  { w.close(net.ErrClosed); return nil }
func (w *wire) LocalAddr() net.Addr           { return nil }
func (w *wire) RemoteAddr() net.Addr          { return w.addr }
func (w *wire) SetDeadline(t time.Time) error { return w.deadline(t, Conn.SetDeadline) }
func (w *wire) SetReadDeadline(t time.Time) error {
	return w.deadline(t, Conn.SetReadDeadline)
}
func (w *wire) SetWriteDeadline(t time.Time) error {
	return w.deadline(t, Conn.SetWriteDeadline)
}

func (w *wire) deadline(t time.Time, set func(Conn, time.Time) error) error {
	if w.tcp != nil {
		return set(w.tcp, t)
	}
	return nil
}

// tlsState is a front end's TLS session, for the whole connection.
type tlsState struct {
	tc   *tls.Conn
	wire *wire
	info TLSInfo
}

// TLSInfo is what the access log and the rules know of a client's TLS.
type TLSInfo struct {
	Version, Cipher, SNI, ALPN string
	Resumed                    bool
	// ClientCert: the client gave a certificate that verified; its
	// subject (an RFC 2253 string) and common name.
	ClientCert              bool
	ClientSubject, ClientCN string
}

// tlsLoop is a front end's loop connection under TLS: what the session
// reads is the decrypted input (plain); what it writes is encrypted.
type tlsLoop struct {
	LoopConn           // the socket's loop connection
	st       *tlsState // the connection's TLS
	plain    []byte    // decrypted, not consumed yet
	off      int
	eof      bool // the client sent close_notify
}

func (t *tlsLoop) Peek(n int) ([]byte, error) {
	b := t.plain[t.off:]
	if n > 0 && n < len(b) {
		b = b[:n]
	}
	return b, nil
}

func (t *tlsLoop) Discard(n int) (int, error) {
	if left := len(t.plain) - t.off; n <= 0 || n > left {
		n = left
	}
	t.off += n
	if t.off == len(t.plain) {
		t.plain, t.off = t.plain[:0], 0
		if cap(t.plain) > maxWireKeep {
			t.plain = nil
		}
	}
	return n, nil
}

func (t *tlsLoop) InboundBuffered() int { return len(t.plain) - t.off }

// decrypt moves what the socket delivered through TLS into plain. It
// returns a fatal TLS error (a bad record: the connection is done).
func (t *tlsLoop) decrypt() error {
	raw := t.LoopConn
	if n := raw.InboundBuffered(); n > 0 {
		b, _ := raw.Peek(-1)
		t.st.wire.feed(b)
		raw.Discard(n)
	}
	for {
		if len(t.plain)+maxPlainRecord > cap(t.plain) {
			t.plain = append(t.plain[:cap(t.plain)], make([]byte, maxPlainRecord)...)[:len(t.plain)]
		}
		n, err := t.st.tc.Read(t.plain[len(t.plain):cap(t.plain)])
		t.plain = t.plain[:len(t.plain)+n]
		switch {
		case err == nil:
		case errors.Is(err, errWouldBlock):
			return t.flush()
		case errors.Is(err, io.EOF):
			t.eof = true
			return t.flush()
		default:
			t.flush()
			return err
		}
	}
}

// maxPlainRecord is the most one TLS record decrypts to.
const maxPlainRecord = 16 << 10

// flush writes what TLS queued (a key update's answer, an alert).
func (t *tlsLoop) flush() error {
	_, err := t.st.wire.flushTo(t.LoopConn.Fd())
	return err
}

// writev encrypts a then b and writes the records; all of a and b is
// taken (n) unless an earlier write still waits for room (then none).
// backlog tells whether records wait.
func (t *tlsLoop) writev(a, b []byte) (int, error) {
	if left, err := t.st.wire.flushTo(t.LoopConn.Fd()); left || err != nil {
		return 0, err
	}
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			if _, err := t.st.tc.Write(p); err != nil {
				return 0, err
			}
		}
	}
	_, err := t.st.wire.flushTo(t.LoopConn.Fd())
	return len(a) + len(b), err
}

// closeNotify sends close_notify if the socket takes it now (the
// connection closes next).
func (t *tlsLoop) closeNotify() {
	t.st.tc.CloseWrite()
	t.flush()
}

// shutWrite sends close_notify, then the FIN.
func (t *tlsLoop) shutWrite() {
	t.st.tc.CloseWrite()
	t.flush()
	unix.Shutdown(t.LoopConn.Fd(), unix.SHUT_WR)
}

// loopWritev writes a then b to a loop connection (encrypted on a TLS
// end); see writev2 for what it returns.
func loopWritev(lc LoopConn, a, b []byte) (int, error) {
	if t, ok := lc.(*tlsLoop); ok {
		return t.writev(a, b)
	}
	return writev2(lc.Fd(), a, b)
}

// loopBacklog reports whether a loop connection holds bytes lb wrote that
// are not on the socket yet (TLS records).
func loopBacklog(lc LoopConn) bool {
	t, ok := lc.(*tlsLoop)
	return ok && t.st.wire.backlog()
}

// loopShutWrite half-closes a loop connection.
func loopShutWrite(lc LoopConn) {
	if t, ok := lc.(*tlsLoop); ok {
		t.shutWrite()
		return
	}
	unix.Shutdown(lc.Fd(), unix.SHUT_WR)
}

// rawLoopConn returns the socket's own loop connection under lc.
func rawLoopConn(lc LoopConn) LoopConn {
	if t, ok := lc.(*tlsLoop); ok {
		return t.LoopConn
	}
	return lc
}

// tlsEnd is the loop handler of a TLS front end's socket: it decrypts,
// then hands the session's end the decrypted connection.
type tlsEnd struct {
	e *end
	w *tlsLoop
}

func (h *tlsEnd) OnOpen(c LoopConn, l Loop) bool {
	h.w.LoopConn = c
	if h.e.OnOpen(h.w, l) {
		return true
	}
	return h.traffic()
}

func (h *tlsEnd) OnTraffic(c LoopConn) bool {
	if h.w.LoopConn != c {
		return true
	}
	return h.traffic()
}

// traffic decrypts and lets the session read; it reports whether the
// socket's loop connection is to close (the session let go of it).
func (h *tlsEnd) traffic() bool {
	e, w := h.e, h.w
	if e.lc != w {
		return true
	}
	err := w.decrypt()
	if w.InboundBuffered() > 0 {
		if e.OnTraffic(w) {
			return true // the session closed the connection, or handed it off
		}
		if e.lc != w {
			return false // the session passed it on (the idle pool): no longer ours
		}
	}
	switch {
	case err != nil:
		e.OnClose(w, err) // a bad record: as a reset
		return e.lc != w
	case w.eof:
		w.eof = false
		e.OnClose(w, io.EOF) // close_notify: as a FIN
		return e.lc != w
	}
	return false
}

func (h *tlsEnd) OnClose(c LoopConn, err error) {
	if h.w.LoopConn == c {
		h.e.OnClose(h.w, err)
	}
}

// tlsConn is a TLS front end on the pumps: the tls.Conn over the socket.
type tlsConn struct {
	Conn // the socket (a duplicate the pumps own)
	st   *tlsState
}

func (c *tlsConn) Read(b []byte) (int, error) {
	n, err := c.st.tc.Read(b)
	if errors.Is(err, io.EOF) && n == 0 {
		return 0, io.EOF
	}
	return n, err
}

func (c *tlsConn) Write(b []byte) (int, error) { return c.st.tc.Write(b) }

// CloseWrite sends close_notify, then the FIN.
func (c *tlsConn) CloseWrite() error {
	if err := c.st.tc.CloseWrite(); err != nil {
		return err
	}
	return c.Conn.CloseWrite()
}

// flush writes the records the loop left queued.
func (c *tlsConn) flush() error { return c.st.wire.drain() }

// toPumpsTLS makes the pumps' connection of a TLS front end whose socket
// duplicate is nc.
func (st *tlsState) toPumps(nc Conn) Conn {
	st.wire.mu.Lock()
	st.wire.tcp = nc
	st.wire.mu.Unlock()
	return &tlsConn{Conn: nc, st: st}
}

// toLoop gives the wire back to the loop (the pumps are stopped).
func (st *tlsState) toLoop() {
	st.wire.mu.Lock()
	st.wire.tcp = nil
	st.wire.mu.Unlock()
}

// ServerTLSConfig is cfg for the server at addr: its server name is cfg's,
// else the address's host (an IP address is then verified against the
// certificate's IP addresses, and no SNI is sent).
func ServerTLSConfig(cfg *tls.Config, addr string) *tls.Config {
	if cfg.ServerName != "" {
		return cfg
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c := cfg.Clone()
	c.ServerName = host
	return c
}

// clientHandshake runs a TLS client handshake to a server over c, a
// connected socket, on the dial's goroutine; the session then goes on with
// the returned state (the wire is left for the loop).
func clientHandshake(ctx context.Context, c Conn, cfg *tls.Config, addr string) (*tlsState, error) {
	w := newWire(c.RemoteAddr())
	w.tcp = c
	tc := tls.Client(w, ServerTLSConfig(cfg, addr))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.tcp = nil // the loop feeds it from now on
	w.mu.Unlock()
	cs := tc.ConnectionState()
	return &tlsState{tc: tc, wire: w, info: TLSInfo{
		Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite),
		SNI: cs.ServerName, ALPN: cs.NegotiatedProtocol, Resumed: cs.DidResume,
	}}, nil
}

// attachBack makes c (a new or pooled server connection, a tlsLoop for a
// TLS server) the back end's loop connection. Loop only.
func (s *Session) attachBack(c LoopConn) {
	if w, ok := c.(*tlsLoop); ok {
		w.LoopConn.SetContext(&tlsEnd{e: &s.bc, w: w})
		s.bc.tls = w.st
	} else {
		c.SetContext(&s.bc)
	}
	s.bc.lc, s.bc.open, s.bc.eof = c, true, false
}
