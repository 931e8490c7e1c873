package stats

import (
	"time"

	"github.com/lb-proxy/lb/backend"
)

// Source is the running configuration generation as stats sees it. The
// caller (cmd/lb) implements it over whatever it keeps per generation, and
// switches generations behind it on reload, so that every scrape, page and
// API call reads the current one.
//
// Its methods are called on every scrape and admin request, from the
// admin server's goroutines, concurrently: they must be safe for concurrent
// use and cheap (read atomics, copy a few slices; no I/O, no waiting).
type Source interface {
	// Process returns the process-wide figures, read now.
	Process() Process
	// Frontends returns one entry per frontend, its counters read now. The
	// slice belongs to the caller of Frontends.
	Frontends() []Frontend
	// Backends returns the generation's backends, in any order. The slice
	// belongs to the caller of Backends; the backends are live and stats
	// reads their counters and changes their servers through backend's
	// concurrency-safe methods.
	Backends() []*backend.Backend
}

// Process is the process-wide part of a Source, a snapshot of values.
type Process struct {
	// Version is the build version shown on the page and as the version
	// label of lb_process_build_info. Empty means "(devel)".
	Version string
	// StartTime is when the process started (not the current generation);
	// uptime is measured from it. The zero time reports uptime 0.
	StartTime time.Time
	// CurrentConnections is the number of client connections open now
	// (the global maxconn gate's count).
	CurrentConnections int64
	// MaxConnections is global.maxconn; 0 means unlimited.
	MaxConnections int64
	// ConnectionsTotal counts client connections accepted since the
	// process started (or since the generation started, if that is all the
	// caller keeps: Prometheus treats a drop as a counter reset).
	ConnectionsTotal int64
	// IdleServerConnections is the number of idle keep-alive server
	// connections pooled for reuse.
	IdleServerConnections int64
	// WaitingConnections is the number of client connections accepted
	// above maxconn that wait, unread, for a slot (the listeners' waiting
	// rooms).
	WaitingConnections int64
	// ShedConnections counts client connections closed at once because a
	// listener's waiting room was full.
	ShedConnections int64
	// TLSHandshakesActive is the number of TLS handshakes in progress;
	// TLSHandshakesWaiting, of those, the ones waiting for one of the
	// process's handshake slots to compute.
	TLSHandshakesActive, TLSHandshakesWaiting int64
	// DroppedLogs counts access-log lines dropped because the log writer's
	// buffer was full (the destination could not keep up).
	DroppedLogs int64
	// Handoffs counts sessions moved from an event loop to the pumps;
	// PoolReuses requests sent on a pooled server connection; ServerDials
	// new server connection attempts.
	Handoffs, PoolReuses, ServerDials int64
}

// Frontend is one frontend's figures, a snapshot of values read by the
// Source (for example from session.Frontend's atomic counters).
type Frontend struct {
	// Name is the frontend's configured name.
	Name string
	// Mode is "http" or "tcp".
	Mode string
	// CurrentSessions is the number of client sessions open now.
	CurrentSessions int64
	// LimitSessions is the frontend's maxconn; 0 means only the global
	// limit applies.
	LimitSessions int64
	// SessionsTotal counts sessions accepted by this frontend.
	SessionsTotal int64
	// BytesIn counts request bytes sent on to servers, BytesOut bytes
	// sent to clients (lb's own answers included), as the access log's
	// bytes_in and bytes_out.
	BytesIn, BytesOut int64
	// HTTPRequests counts HTTP requests received (HTTP mode).
	HTTPRequests int64
	// HTTPResponses counts HTTP responses sent to clients by status class,
	// indexed by backend.CodeClass (HTTP mode).
	HTTPResponses [backend.NumCodeClasses]int64
	// TLS is set on a frontend that terminates TLS; then TLSHandshakes
	// counts completed handshakes, TLSResumed those that resumed a
	// session, and TLSFailures failed ones by reason (TLSFailureReasons).
	// MaxSessions is the most sessions at once; SessionRate and
	// MaxSessionRate new sessions per second, now and at most.
	MaxSessions, SessionRate, MaxSessionRate int64
	// DeniedRequests, DeniedResponses and RequestErrors: refused by a deny
	// rule (requests, responses), and requests refused as malformed or
	// late (HAProxy's dreq, dresp, ereq).
	DeniedRequests, DeniedResponses, RequestErrors int64
	// ProxyErrors counts connections closed for their PROXY header.
	ProxyErrors               int64
	TLS                       bool
	TLSHandshakes, TLSResumed int64
	TLSFailures               [len(TLSFailureReasons)]int64
}

// TLSFailureReasons are the reason label values of
// lb_frontend_tls_handshake_failures_total, in TLSFailures order.
var TLSFailureReasons = [...]string{"timeout", "client_closed", "protocol"}
