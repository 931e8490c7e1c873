package session

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// Target is a backend as sessions see it: its servers, its settings, and
// the codec that carries requests to its servers.
type Target struct {
	BE  *backend.Backend
	Cfg *config.Backend
	// Codec writes requests to this backend's servers and reads their
	// responses (HTTP mode). Nil means HTTP/1 (H1Server).
	Codec ServerCodec
	// TLS, when set, makes connections to the servers TLS (client side):
	// ServerTLSConfig gives each server's.
	TLS *tls.Config
}

// codec returns the target's server codec.
func (t *Target) codec() ServerCodec {
	if t.Codec == nil {
		return H1Server{}
	}
	return t.Codec
}

// Frontend is the runtime form of one frontend, shared by its sessions and
// immutable once built (a reload builds a new one), but for its counters.
type Frontend struct {
	Name string
	Mode config.Mode
	// Timeouts: the client-side ones (client, http_request,
	// http_keep_alive, http_body) are read from here.
	Timeouts config.Timeouts
	// BodyMinRate is http_body_min_rate in bytes per second (0: off).
	BodyMinRate int64
	// Default is the default backend; Routes[i] is the backend of
	// HTTP.Routes[i].
	Default *Target
	Routes  []*Target
	// SNIRoutes (TCP mode) are the routes' server names: Routes[i] takes
	// the connections whose TLS ClientHello asks for SNIRoutes[i]
	// (analyzer.MatchSNI). Nil: no inspection, connect at once.
	SNIRoutes []string
	// InspectDelay (TCP mode with SNIRoutes) bounds the wait for a whole
	// ClientHello; then the default backend takes the connection.
	InspectDelay time.Duration
	// HTTP is the analyzers' configuration (routes, rules, limits); set in
	// HTTP mode, nil in TCP mode.
	HTTP *analyzer.Config
	// Limited: some request rule names a limit table (Env.Limits), so
	// http_lb_req gets the session as its analyzer.Limiter.
	Limited bool
	// Client is the client-side codec (HTTP mode). Nil means HTTP/1
	// (H1Client).
	Client ClientCodec
	// ProxyFrom, when set, are the networks whose connections start with
	// a PROXY protocol header (required from them); ProxyRefuse closes the
	// connections of other sources at once (else they are plain).
	ProxyFrom   []netip.Prefix
	ProxyRefuse bool
	// TLS, when set, makes the frontend terminate TLS: each connection's
	// handshake completes before its session starts (handshake.go).
	TLS *tls.Config
	Env *Env

	SessionsTotal   atomic.Int64 // atomic: read by the metrics collector
	SessionsCurrent atomic.Int64 // atomic: read by the metrics collector
	BytesIn         atomic.Int64 // atomic: client-to-server bytes, every path
	BytesOut        atomic.Int64 // atomic: server-to-client bytes (lb's own answers included)
	HTTPRequests    atomic.Int64 // atomic: HTTP requests received (parsed or refused)
	HTTPResponses   backend.ResponseCodes
	TLSStats        TLSCounters // a TLS frontend's handshakes
	// MaxSessions is the most sessions at once; SessionRate counts new
	// sessions per second. Written at each session's start.
	MaxSessions atomic.Int64
	SessionRate backend.Rate
	// DeniedRequests counts requests a deny rule refused, DeniedResponses
	// responses one replaced; RequestErrors requests refused as malformed
	// or not complete in time (HAProxy's dreq, dresp, ereq). atomic:
	// written at each transaction's end; read by the metrics collector.
	DeniedRequests, DeniedResponses, RequestErrors atomic.Int64
	// ProxyErrors counts connections closed for their PROXY header
	// (malformed, oversized, truncated, or missing from an untrusted
	// source with ProxyRefuse). atomic: read by the metrics collector.
	ProxyErrors atomic.Int64
}

// proxyTrust says what to do with a new connection from remote: expect a
// PROXY header, refuse it, or neither.
func (f *Frontend) proxyTrust(remote net.Addr) (expect, refuse bool) {
	if f.ProxyFrom == nil {
		return false, false
	}
	a := addrPort(remote).Addr().Unmap()
	for _, p := range f.ProxyFrom {
		if p.Contains(a) {
			return true, false
		}
	}
	if f.ProxyRefuse {
		f.ProxyErrors.Add(1)
		return false, true
	}
	return false, false
}

// target returns the backend of a route index (-1: the default one).
func (f *Frontend) target(route int) *Target {
	if route >= 0 && route < len(f.Routes) {
		return f.Routes[route]
	}
	return f.Default
}

// clientCodec returns the frontend's client codec.
func (f *Frontend) clientCodec() ClientCodec {
	if f.Client == nil {
		return H1Client{}
	}
	return f.Client
}

// Open starts a session on c, a client connection loop l has just
// accepted, right there; it reports whether c is to be closed at once.
// release is called once c is closed (it returns the listener's
// connection slots). An HTTP frontend has no other way to run than on the
// event loops with its analyzers: there is no raw fallback. Loop only.
func (f *Frontend) Open(c LoopConn, l Loop, release func()) bool {
	expect, refuse := f.proxyTrust(c.RemoteAddr())
	if refuse {
		return true
	}
	if f.TLS != nil {
		h := f.newHandshake(release)
		h.proxy = expect
		return h.OnOpen(c, l)
	}
	s := f.newSession(release, addrPort(c.RemoteAddr()))
	s.proxy, s.local = expect, addrPort(c.LocalAddr())
	c.SetContext(&s.fc)
	return s.fc.OnOpen(c, l)
}

// Start hands fc, accepted off the loops (it waited for a slot), to a new
// session on one of loops, and returns once the session runs there (or
// ended). release is as for Open. The session is counted before Start
// returns, so Env.Wait called afterwards waits for it.
func (f *Frontend) Start(fc Conn, loops Loops, release func()) {
	expect, refuse := f.proxyTrust(fc.RemoteAddr())
	if refuse {
		fc.Close()
		if release != nil {
			release()
		}
		return
	}
	if f.TLS != nil {
		h := f.newHandshake(release)
		h.proxy = expect
		if err := loops.AttachOne(fc, h); err != nil {
			if release != nil {
				release()
			}
			if h.lo == nil {
				h.end() // it never reached a loop (else its loop ends it)
			}
		}
		return
	}
	s := f.newSession(release, addrPort(fc.RemoteAddr()))
	s.proxy, s.local = expect, addrPort(fc.LocalAddr())
	s.attach(fc, loops)
}

// newSession makes and counts a session of f.
func (f *Frontend) newSession(release func(), client netip.AddrPort) *Session {
	env := f.Env
	env.active.Add(1)
	env.current.Add(1)
	f.SessionsTotal.Add(1)
	if n := f.SessionsCurrent.Add(1); n > f.MaxSessions.Load() {
		for m := f.MaxSessions.Load(); n > m && !f.MaxSessions.CompareAndSwap(m, n); m = f.MaxSessions.Load() {
		}
	}
	now := env.Clock.Now()
	f.SessionRate.Add(now)
	s := &Session{fe: f, env: env, release: release, accepted: now.UnixNano(), client: client}
	s.fc = end{s: s, side: sideFront}
	s.bc = end{s: s, side: sideBack}
	return s
}

// addrPort converts a connection's address.
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
