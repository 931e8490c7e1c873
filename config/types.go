package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is one fully loaded, defaulted and validated configuration
// generation. It is immutable once Load returns it: the running process
// swaps whole *Config values on reload and never edits one in place.
type Config struct {
	Global    Global               `toml:"global"`
	Admin     Admin                `toml:"admin"`
	Defaults  Defaults             `toml:"defaults"`
	Frontends map[string]*Frontend `toml:"frontend"`
	Backends  map[string]*Backend  `toml:"backend"`
	// Limits are the per-key limit tables ([limit.NAME]) that
	// http_request rules name.
	Limits map[string]*Limit `toml:"limit"`

	// Files lists the files this generation was read from, in load order.
	Files []string `toml:"-"`

	// src says where each key was written, for Validate's messages. It is
	// nil for a Config built in Go.
	src *source
}

// Global holds process-wide settings ([global]).
type Global struct {
	// MaxConn is the process-wide limit on concurrent client connections.
	// Above it listeners stop accepting; new connections wait in the kernel
	// backlog. Default 50000.
	MaxConn int `toml:"maxconn"`
	// EventLoops is the number of event loops; 0 means GOMAXPROCS. Default 0.
	EventLoops int `toml:"event_loops"`
	// HardStopAfter bounds a graceful stop (and the life of an old config
	// generation after a reload): what is still open then is closed.
	// Default "30s"; "0s" means wait forever.
	HardStopAfter Duration `toml:"hard_stop_after"`
	// AccessLog is "stdout", "stderr", "off" or a file path. Default "stdout".
	AccessLog string `toml:"access_log"`
}

// Admin configures the admin listener (stats, metrics, runtime API).
type Admin struct {
	// Bind is the admin listener's address. Default "" (no admin listener).
	Bind string `toml:"bind"`
	// TokenFile names a file holding the bearer token that mutating runtime
	// API calls must present. Required when Bind is not a loopback address;
	// optional (but then enforced) otherwise. Default "".
	TokenFile string `toml:"token_file"`
	// Hosts are the names clients may reach the admin listener by (its
	// Host field), besides "localhost" and IP addresses: a request for any
	// other name is refused, so that a web page whose name resolves to a
	// loopback address (DNS rebinding) cannot drive the runtime API.
	// Default none.
	Hosts []string `toml:"hosts"`
	// Pprof serves Go's profiler under /debug/pprof/ (token-protected
	// whenever a token is configured). Default true.
	Pprof bool `toml:"pprof"`

	// Token is TokenFile's content, read by validation (a reload reads it
	// again). Not a key.
	Token string `toml:"-"`
}

// Mode is a proxy mode.
type Mode string

// The proxy modes.
const (
	ModeHTTP Mode = "http"
	ModeTCP  Mode = "tcp"
)

// Timeouts groups every timeout, each a single purpose. A zero Duration
// means "no timeout" (explicitly written as "0s"). Defaults are applied by
// the loader from [defaults.timeout], itself defaulted as documented below.
type Timeouts struct {
	// Connect bounds one TCP connect attempt to a server. Default "5s".
	Connect Duration `toml:"connect"`
	// Client is the client-side inactivity timeout. Default "30s".
	Client Duration `toml:"client"`
	// Server is the server-side inactivity timeout (HTTP: also the time to
	// the response head). Default "30s".
	Server Duration `toml:"server"`
	// HTTPRequest bounds the arrival of a whole request head. Default "10s".
	HTTPRequest Duration `toml:"http_request"`
	// HTTPBody is the grace a request body gets before the frontend's
	// http_body_min_rate applies (HTTP, client side): once a body has been
	// arriving for longer than this, its average rate must stay at least
	// http_body_min_rate bytes per second. "0s" means the rate rule never
	// applies (timeout.client still bounds each silence). Default "10s".
	HTTPBody Duration `toml:"http_body"`
	// HTTPKeepAlive bounds idle time between two requests. Default "5s".
	HTTPKeepAlive Duration `toml:"http_keep_alive"`
	// Queue bounds the wait for a server slot. Default "5s".
	Queue Duration `toml:"queue"`
	// Tunnel is the inactivity timeout once a tunnel is established (TCP
	// mode after connect, WebSocket); it overrides Client and Server.
	// Default "1h".
	Tunnel Duration `toml:"tunnel"`
}

// Defaults holds what frontends and backends inherit ([defaults]).
type Defaults struct {
	// Mode is the default frontend mode. Default "http".
	Mode Mode `toml:"mode"`
	// MaxConn is the default per-frontend connection limit; 0 means only the
	// global limit applies. Default 0.
	MaxConn int `toml:"maxconn"`
	// Retries is the number of connect retries after the first attempt.
	// Default 3.
	Retries int `toml:"retries"`
	// HTTPBodyMinRate is the default of the frontends' http_body_min_rate
	// (bytes per second; 0 disables the rate rule). Default 512.
	HTTPBodyMinRate Size `toml:"http_body_min_rate"`
	// Redispatch: on the last retry, pick another server. Default true.
	Redispatch bool `toml:"redispatch"`
	// Balance is the default balance algorithm. Default "roundrobin".
	Balance string `toml:"balance"`
	// Timeout holds the default timeouts.
	Timeout Timeouts `toml:"timeout"`
}

// Frontend is one [frontend.NAME] section, with defaults applied.
type Frontend struct {
	Name string `toml:"-"`
	// Bind lists listen addresses ("host:port", "[v6]:port", ":port").
	// Required, at least one.
	Bind []string `toml:"bind"`
	// Mode is "http" or "tcp". Default: [defaults] mode.
	Mode Mode `toml:"mode"`
	// DefaultBackend names the backend used when no route matches. Required.
	DefaultBackend string `toml:"default_backend"`
	// MaxConn limits this frontend's concurrent connections; 0 = only the
	// global limit. Default: [defaults] maxconn.
	MaxConn int `toml:"maxconn"`
	// Timeout: client-side timeouts (client, http_request, http_body,
	// http_keep_alive, tunnel) are read from here. Default:
	// [defaults.timeout].
	Timeout Timeouts `toml:"timeout"`
	// Route lists routes, first match wins: HTTP routes match requests
	// (host, path_prefix, header); TCP routes match the TLS server name a
	// client asks for (sni), read from its ClientHello without terminating
	// TLS.
	Route []Route `toml:"route"`
	// InspectDelay (TCP mode with sni routes) is the most lb waits for a
	// whole ClientHello before it routes with what it has (the default
	// backend). Default "5s".
	InspectDelay Duration `toml:"inspect_delay"`
	// AcceptProxy makes the frontend read a PROXY protocol header (v1 or
	// v2) from the connections of AcceptProxyFrom, and take its source as
	// the client's address. Default false.
	AcceptProxy bool `toml:"accept_proxy"`
	// AcceptProxyFrom lists the networks ("10.0.0.0/8", "192.0.2.7") of
	// the proxies trusted to send it; from them the header is required.
	// Required with AcceptProxy.
	AcceptProxyFrom []string `toml:"accept_proxy_from"`
	// AcceptProxyUntrusted is what happens to a connection from any other
	// source: "plain" (served as a connection without a header) or
	// "refuse" (closed at once). Default "plain".
	AcceptProxyUntrusted string `toml:"accept_proxy_untrusted"`
	// TLS makes the frontend terminate TLS. Default nil (plain).
	TLS *TLS `toml:"tls"`
	// HTTPRequest lists request rules, evaluated in order on each request
	// before routing ([[frontend.NAME.http_request]]). HTTP mode only.
	HTTPRequest []Rule `toml:"http_request"`
	// HTTPResponse lists response rules, whose conditions are evaluated on
	// the request ([[frontend.NAME.http_response]]). HTTP mode only.
	HTTPResponse []Rule `toml:"http_response"`
	// ForwardedFor adds "X-Forwarded-For: <client address>" to every
	// request (HTTP mode; a new line, so servers read the last one).
	// Default true.
	ForwardedFor bool `toml:"forwarded_for"`
	// ForwardedProto adds "X-Forwarded-Proto: http|https". Default true.
	ForwardedProto bool `toml:"forwarded_proto"`
	// RequestIDHeader (HTTP) names the field that carries each request's
	// ID to the server (HAProxy's unique-id-header), e.g. "X-Request-ID":
	// the client's own when it sent a valid one, else the one lb made. Every
	// request's ID is logged (request_id) either way. Default "" (not
	// forwarded).
	RequestIDHeader string `toml:"request_id_header"`
	// Forwarded adds the RFC 7239 "Forwarded: for=...;proto=..." field.
	// Default false.
	Forwarded bool `toml:"forwarded"`
	// HTTPBodyMinRate is the lowest average rate, in bytes per second, a
	// request body may keep once it has been arriving for longer than
	// timeout.http_body (HTTP mode). Its deadline is body start +
	// timeout.http_body + received/HTTPBodyMinRate seconds, where received
	// counts the body bytes read so far; time lb spends blocked writing the
	// body to a slow server does not count. A body that falls below the
	// rate is cut with 408 (log cD) when no response has started; so is a
	// body with no byte for timeout.client. 0 disables the rate rule (and
	// so does timeout.http_body = "0s"). At most 1g. Default: [defaults]
	// http_body_min_rate, itself 512 by default.
	HTTPBodyMinRate Size `toml:"http_body_min_rate"`

	// Request limits (HTTP mode). A request over one is refused before
	// anything reaches a server, and the connection is closed.
	//
	// MaxBodySize bounds a request body: a larger Content-Length gets 413
	// at once; a chunked body gets 413 (and the server connection is
	// aborted) as soon as its chunk sizes add up past it. Default 0
	// (no limit; bodies stream through in bounded memory either way).
	MaxBodySize Size `toml:"max_body_size"`
	// MaxHeadSize bounds a request head (request line, fields and the
	// final CRLF): 431 beyond it. 1k to 64k. Default 15k (15360, HAProxy's
	// tune.bufsize minus tune.maxrewrite).
	MaxHeadSize Size `toml:"max_head_size"`
	// MaxHeaders bounds the number of header fields: 431 beyond it. 1 to
	// 1000. Default 101 (HAProxy's tune.http.maxhdr).
	MaxHeaders int `toml:"max_headers"`
	// MaxTargetSize bounds the request-target: 414 beyond it. 256 bytes to
	// max_head_size. Default 8k (8192).
	MaxTargetSize Size `toml:"max_target_size"`
}

// Route is one [[frontend.NAME.route]] entry. A request matches when it
// matches every condition that is set; a route with no condition matches
// every request.
type Route struct {
	// Host is compared with the request's host, case-insensitively and
	// without its port. Default "" (any host).
	Host string `toml:"host"`
	// PathPrefix must start the request's path; it starts with "/".
	// Default "" (any path).
	PathPrefix string `toml:"path_prefix"`
	// Header requires a request field of this name. Default "" (none).
	Header string `toml:"header"`
	// HeaderValue requires that field to have exactly this value.
	// Default "" (any value). Needs Header.
	HeaderValue string `toml:"header_value"`
	// SNI (TCP mode only, then required) is the TLS server name:
	// "api.example.com", or "*.example.com" for any one label in front of
	// example.com; compared case-insensitively.
	SNI string `toml:"sni"`
	// Backend names the backend of matching requests. Required.
	Backend string `toml:"backend"`
}

// Rule is one http_request or http_response rule: when every set condition
// holds, Action applies. Conditions are those of a Route.
type Rule struct {
	Host        string `toml:"host"`
	PathPrefix  string `toml:"path_prefix"`
	Header      string `toml:"header"`
	HeaderValue string `toml:"header_value"`
	// ClientCN (TLS frontends with verify): "*" a verified client
	// certificate, "-" none, else its exact common name. Default "" (any).
	ClientCN string `toml:"client_cn"`
	// Action is set-header, add-header, del-header (both kinds of rule),
	// redirect, deny, return (requests only) or deny (responses: 502).
	Action string `toml:"action"`
	// Name and Value: the field of a header action (Value not for
	// del-header).
	Name  string `toml:"name"`
	Value string `toml:"value"`
	// Location is the redirect target. For redirect, either Location or
	// Scheme is required.
	Location string `toml:"location"`
	// Scheme ("https" or "http") redirects to the same URL with this
	// scheme, on the request's host without its port (HAProxy's
	// "redirect scheme https"): a plain-HTTP frontend sends its clients to
	// HTTPS. Default "" (use Location).
	Scheme string `toml:"scheme"`
	// Status: redirect 301|302|303|307|308 (default 302); deny 4xx/5xx
	// (default 403); return 200-599 (default 200).
	Status int `toml:"status"`
	// Body is the answer of return (and deny). Default "".
	Body string `toml:"body"`
	// Class is set-priority-class's class, -2047..2047: a lower class is
	// served first when requests queue for a server. Default 0.
	Class int `toml:"class"`
	// Offset is set-priority-offset's duration ("2s", "-500ms"): within a
	// class, a request queues as if it arrived that much later. Default "".
	Offset string `toml:"offset"`
	// ContentType of Body. Default "text/plain".
	ContentType string `toml:"content_type"`
	// Limit names a [limit.NAME] table (http_request rules only): the
	// rule counts each request its conditions match in that table, and
	// its action (deny, tarpit or set-priority-class) applies only when
	// the request's key is over one of the table's limits. Default "".
	Limit string `toml:"limit"`
	// Tarpit is how long the tarpit action holds a request before it
	// answers Status (default 429, with Retry-After). Default "5s".
	Tarpit Duration `toml:"tarpit"`
}

// Limit is a [limit.NAME] table: counters per key, with the limits a
// rule naming the table enforces. At least one limit is required.
type Limit struct {
	// Key is what requests are counted by: "src" (the client address,
	// after the PROXY protocol), "header:NAME" (that field's value;
	// requests without it are not counted) or "backend" (the backend the
	// request is routed to). Default "src".
	Key string `toml:"key"`
	// Size bounds the keys tracked, per event loop (the least recently
	// used key is evicted from a full table). Default 100000.
	Size int `toml:"size"`
	// Window is the period rates are counted over (a sliding window).
	// Default "10s".
	Window Duration `toml:"window"`
	// Rate: requests per window and key. Default 0 (none).
	Rate int `toml:"rate"`
	// BytesRate: bytes (request and response) per window and key.
	// Default 0 (none).
	BytesRate Size `toml:"bytes_rate"`
	// Conns: connections in progress per key. Default 0 (none).
	Conns int `toml:"conns"`
	// Requests: requests in progress per key. Default 0 (none).
	Requests int `toml:"requests"`
	// Expire drops a key idle that long. Default twice window.
	Expire Duration `toml:"expire"`
	// Sync is how often the event loops, and the instances sharing
	// Redis, exchange their counts: a limit holds within what arrives in
	// one interval. Default "100ms".
	Sync Duration `toml:"sync"`
	// Redis, a URL such as "redis://127.0.0.1:6379/0", shares the rate
	// counters (rate, bytes_rate) with every lb that names the same
	// server and table. Default "" (this instance only).
	Redis string `toml:"redis"`
	// RedisDown is what happens while Redis cannot be reached: "open"
	// (each instance counts alone) or "closed" (every tracked request is
	// over the limit). Default "open".
	RedisDown string `toml:"redis_down"`
}

// TLS is a frontend's [frontend.NAME.tls] table: the frontend terminates
// TLS (client-side HTTPS), and its analyzers (HTTP) or its server (TCP)
// see the decrypted bytes once the handshake is complete.
type TLS struct {
	// Cert lists PEM files, each holding a certificate chain and its
	// private key. The client's SNI picks the certificate whose names
	// match it (exact names first, then wildcards "*.example.com"); the
	// first file is the default. A relative path is relative to the
	// directory of the file that sets it. Required, at least one; each is
	// checked at load (readable, key matching, valid now).
	Cert []string `toml:"cert"`
	// ALPN lists the protocols offered in ALPN, in preference order; only
	// "http/1.1" exists today (HTTP/2 is not implemented, so "h2" is
	// refused). Default none (no ALPN).
	ALPN []string `toml:"alpn"`
	// MinVersion is the oldest TLS version accepted: "1.2" or "1.3".
	// Default "1.2".
	MinVersion string `toml:"min_version"`
	// Verify asks clients for a certificate (mTLS): "none", "optional"
	// (verified when given) or "required" (the handshake fails without a
	// valid one). Default "none".
	Verify string `toml:"verify"`
	// CA is the PEM file of the certificate authorities client
	// certificates must chain to. Required when Verify is not "none".
	CA string `toml:"ca"`
	// CAs is CA, loaded by validation. Not a key.
	CAs *x509.CertPool `toml:"-"`

	// Certs are Cert's certificates, loaded and checked by validation
	// (what was checked is what is served). Not a key.
	Certs []tls.Certificate `toml:"-"`
}

// Backend is one [backend.NAME] section, with defaults applied.
type Backend struct {
	Name string `toml:"-"`
	// Balance: roundrobin | static-rr | leastconn | random | first | source
	// | uri | hdr:<name> (uri and hdr:<name> need an http-mode frontend).
	// Default: [defaults] balance.
	Balance string `toml:"balance"`
	// Retries: connect retries after the first attempt. Default: [defaults].
	Retries int `toml:"retries"`
	// HashType is how source, uri and hdr map keys to servers:
	// "map-based" (any change of the server set remaps keys) or
	// "consistent" (only the keys of a changed server move). Default
	// "map-based".
	HashType string `toml:"hash_type"`
	// HashBalanceFactor bounds the load of consistent hashing: a server
	// takes a key only while its sessions stay under factor/100 times the
	// average (HAProxy's hash-balance-factor); 0 = unbounded, else >= 100.
	// Default 0.
	HashBalanceFactor int `toml:"hash_balance_factor"`
	// PoolMaxConn bounds the idle keep-alive connections kept per server
	// and event loop for reuse (HTTP mode; HAProxy's pool-max-conn); 0
	// disables reuse. Default 64.
	PoolMaxConn int `toml:"pool_max_conn"`
	// PoolPurgeDelay is how long an idle pooled server connection is
	// kept before it is closed (HAProxy's pool-purge-delay). At least
	// 100ms. Default 5s.
	PoolPurgeDelay Duration `toml:"pool_purge_delay"`
	// Redispatch: on the last retry, pick another server. Default: [defaults].
	Redispatch bool `toml:"redispatch"`
	// Timeout: server-side timeouts (connect, server, queue, tunnel) are read
	// from here. Default: [defaults.timeout].
	Timeout Timeouts `toml:"timeout"`
	// TLS makes lb speak TLS to the backend's servers; nil means plain.
	TLS *BackendTLS `toml:"tls"`
	// Health configures active health checks; nil means none (servers are
	// then always considered available, as in HAProxy without "check").
	Health *Health `toml:"health"`
	// Server lists the servers, in declaration order (which is also their id
	// order for balance = "first").
	Server []*Server `toml:"server"`
}

// BackendTLS is a backend's [backend.NAME.tls] table: lb connects to its
// servers with TLS.
type BackendTLS struct {
	// Verify checks the server's certificate against CA (or the system's
	// authorities) and the server name. Default true; false must be
	// written.
	Verify bool `toml:"verify"`
	// CA is a PEM file of the authorities servers' certificates chain to.
	// Default "" (the system's).
	CA string `toml:"ca"`
	// SNI is the server name sent and verified. Default "": the host of
	// the server's address (an IP address is verified against the
	// certificate's IP addresses and sends no SNI).
	SNI string `toml:"sni"`
	// Cert is a PEM file (chain and key) lb presents as its client
	// certificate. Default "" (none).
	Cert string `toml:"cert"`

	// Loaded by validation. Not keys.
	CAs        *x509.CertPool    `toml:"-"`
	ClientCert []tls.Certificate `toml:"-"`
}

// Health is a [backend.NAME.health] table.
type Health struct {
	// Kind is "tcp" (connect only) or "http". Default "tcp".
	Kind string `toml:"kind"`
	// Path is the HTTP check path. Default "/".
	Path string `toml:"path"`
	// Method is the HTTP check method. Default "GET".
	Method string `toml:"method"`
	// ExpectStatus is the status range an HTTP check must get: "200",
	// "200-399". Default "200-399" (HAProxy: 2xx and 3xx pass).
	ExpectStatus string `toml:"expect_status"`
	// Interval between two checks of one server. Default "2s".
	Interval Duration `toml:"interval"`
	// Timeout bounds one check. Default: Interval.
	Timeout Duration `toml:"timeout"`
	// Rise consecutive successes mark a server UP. Default 2, minimum 1.
	Rise int `toml:"rise"`
	// Fall consecutive failures mark a server DOWN. Default 3, minimum 1.
	Fall int `toml:"fall"`
}

// Server is one [[backend.NAME.server]] entry.
type Server struct {
	// Name is unique within its backend. Required.
	Name string `toml:"name"`
	// Address is "host:port". Required.
	Address string `toml:"address"`
	// Weight is 0..256; 0 drains the server. Default 1.
	Weight int `toml:"weight"`
	// Backup servers receive traffic only when no active server is up.
	Backup bool `toml:"backup"`
	// MaxConn limits concurrent sessions on this server; 0 = unlimited.
	// Over it, sessions queue for up to timeout.queue.
	MaxConn int `toml:"maxconn"`
	// SendProxy makes lb open each connection to this server with a PROXY
	// protocol header naming the client: "v1" or "v2". Such connections
	// carry one client's address, so they are never pooled. Default ""
	// (none).
	SendProxy string `toml:"send_proxy"`
}

// Duration is a time.Duration written as a Go duration string ("250ms",
// "5s", "1h") in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string; negative values are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"250ms\", \"5s\", \"1h\", \"1d\")", string(b))
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", string(b))
	}
	d.Duration = v
	return nil
}

// Size is a byte count, written as an integer number of bytes or as a
// string with a binary unit: "512k", "16KiB", "10m", "1g" (k = 1024).
type Size int64

// UnmarshalText parses a size string; negative values are refused.
func (z *Size) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	num := strings.TrimRight(s, "kmgib")
	mult, ok := sizeUnits[s[len(num):]]
	if !ok {
		return fmt.Errorf("invalid size %q (want bytes or e.g. \"512k\", \"10m\", \"1g\")", string(b))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q (want bytes or e.g. \"512k\", \"10m\", \"1g\")", string(b))
	}
	*z = Size(n * mult)
	return nil
}

var sizeUnits = map[string]int64{"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}

// MarshalText writes the size in bytes.
func (z Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(z), 10)), nil }

// MarshalText writes the duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// parseDuration is time.ParseDuration plus days ("1d", "1d12h"), as
// HAProxy's time format has them.
func parseDuration(s string) (time.Duration, error) {
	days, rest, found := strings.Cut(s, "d")
	if !found {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseUint(days, 10, 16)
	if err != nil || days == "" {
		return 0, fmt.Errorf("invalid days in %q", s)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d + r, nil
}
