package analyzer

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
)

// Config is what the HTTP analyzers of one frontend need. It is built once
// per configuration generation and never changed, so every session of the
// frontend shares it.
type Config struct {
	// Limits bound request heads (zero fields: DefaultLimits).
	Limits Limits
	// MaxBody bounds request bodies in bytes (0: no bound): 413 beyond it.
	MaxBody int64
	// Routes are the frontend's routes in order; the first match wins.
	Routes []Route
	// Keys says how to hash a request for the balance algorithm of each
	// possible target: Keys[0] for the default backend, Keys[i+1] for
	// Routes[i]. A missing entry means KeySource.
	Keys []KeySpec
	// ReqRules and ResRules are the http_request and http_response rules,
	// at most 64 each (config refuses more).
	ReqRules, ResRules []Rule
	// ForwardedFor, ForwardedProto and Forwarded add X-Forwarded-For,
	// X-Forwarded-Proto and the RFC 7239 Forwarded field to requests.
	ForwardedFor, ForwardedProto, Forwarded bool
	// Proto is the scheme clients use ("http"), for X-Forwarded-Proto and
	// Forwarded.
	Proto string
	// RequestIDHeader, when set, names the field that carries the request
	// ID to the server (HAProxy's unique-id-header): the client's own when
	// it sent one, else the one lb made (Txn.RequestID).
	RequestIDHeader string
}

// KeyKind is what a balance hash key is computed from.
type KeyKind uint8

// The key kinds.
const (
	// KeySource hashes the client's address (balance "source", and the
	// fallback of the others).
	KeySource KeyKind = iota
	// KeyURI hashes the request-target's path (balance "uri").
	KeyURI
	// KeyHeader hashes the value of a header (balance "hdr:<name>"); a
	// request without it falls back to KeySource.
	KeyHeader
)

// KeySpec is how requests to one backend are hashed.
type KeySpec struct {
	Kind   KeyKind
	Header string // KeyHeader: the field name
}

// KeyFor returns the KeySpec of a backend's balance setting.
func KeyFor(balance string) KeySpec {
	switch {
	case balance == "uri":
		return KeySpec{Kind: KeyURI}
	case strings.HasPrefix(balance, "hdr:"):
		return KeySpec{Kind: KeyHeader, Header: balance[4:]}
	}
	return KeySpec{Kind: KeySource}
}

// SourceKey is the hash of a client address for balance "source" (TCP
// mode uses it too).
func SourceKey(a netip.Addr) uint64 {
	b := a.As16()
	return fnv64(b[:])
}

// HTTPLBReq is the http_lb_req analyzer. It parses the request head at the
// start of buf (resuming where the previous call stopped), validates it
// and the body bytes that arrived with it, and decides what happens to the
// request. Preconditions: the AnHTTPLBReq bit is set in *an; t was Reset (and
// its Src set) before the first call of the transaction; buf holds the
// request from its first byte, as in Request.Parse.
//
// Verdicts:
//   - Wait: the head is incomplete and valid so far.
//   - Fail: the head, or the body bytes held with it, are invalid or over a
//     limit (t.Err: 400, 413, 414, 417, 431, 501 or 505). Nothing of the
//     request may reach a server.
//   - Answer: a terminal request rule matched (t.Answer).
//   - Continue: the request goes to a server. The plan is in t: Route,
//     Key, ReqMask/ResMask/ResDeny, the body framing (ReqBody), and Held,
//     the validated body bytes at buf[Req.HeadLen:]. The bit is cleared;
//     AnHTTPXferReqBody is set when the body goes on beyond Held.
//
// On Answer and Fail the bit is cleared too. The head's slices (t.Req)
// alias buf and are valid only until this call returns.
//
// lim counts the request in the limit tables of the rules that name one
// (nil: such rules never apply).
func HTTPLBReq(cfg *Config, t *Txn, an *Bits, buf []byte, now int64, lim Limiter) Verdict {
	err := t.Req.Parse(buf, cfg.Limits)
	if err == ErrIncomplete {
		return Wait
	}
	*an &^= AnHTTPLBReq
	if err != nil {
		return t.fail(err, 400)
	}
	t.HeadAt = now
	r := &t.Req
	t.methodLen = uint8(copy(t.method[:], r.Method))
	t.target = append(t.target[:0], r.Target...)
	t.host = copyBounded(t.host, r.Host)
	for _, f := range r.Headers {
		switch {
		case equalFold(f.Name, "user-agent"):
			t.userAgent = copyBounded(t.userAgent, f.Value)
		case cfg.RequestIDHeader != "" && equalFold(f.Name, cfg.RequestIDHeader) && validRequestID(f.Value):
			t.requestID = append(t.requestID[:0], f.Value...)
			t.clientID = true
		}
	}
	t.ReqKeepAlive, t.Upgrade, t.HTTP10 = r.KeepAlive, r.Upgrade, r.Proto == HTTP10
	if cfg.MaxBody > 0 && r.ContentLength > cfg.MaxBody {
		// RFC 9110 15.5.14; with Expect: 100-continue the body is never
		// asked for.
		return t.failStatus(413, "content-length over limit "+strconv.FormatInt(cfg.MaxBody, 10)+" bytes")
	}
	var terminal int
	t.Route = PickRoute(cfg.Routes, r) // before the rules: a limit may be keyed by it
	t.ReqMask, terminal = Eval(cfg.ReqRules, r, lim, t)
	for m, i := t.ReqMask, 0; m != 0; m, i = m>>1, i+1 {
		if m&1 != 0 {
			switch rl := &cfg.ReqRules[i]; rl.Action {
			case SetPriorityClass:
				t.PriorityClass = rl.Class
			case SetPriorityOffset:
				t.PriorityOffset = rl.Offset
			}
		}
	}
	t.ResMask, t.ResDeny = Eval(cfg.ResRules, r, nil, nil)
	if terminal >= 0 {
		rl := &cfg.ReqRules[terminal]
		if rl.Action == Redirect && rl.Scheme != "" {
			host := r.Host
			if h, _, ok := cutPort(host); ok {
				host = h
			}
			if len(host) == 0 {
				return t.failStatus(400, "no host to redirect to")
			}
			path := r.Target
			if r.Form == FormAbsolute {
				path = pathOfAbsolute(path)
			}
			t.location = append(append(append(append(t.location[:0], rl.Scheme...), "://"...), host...), path...)
		}
		t.Answer = rl
		return Answer
	}
	t.Key = requestKey(cfg, t)
	switch {
	case r.Chunked:
		t.ReqBody.setChunked(400, cfg.MaxBody)
	case r.ContentLength > 0:
		t.ReqBody.setLength(r.ContentLength)
	}
	// HOLD covers the body bytes that came with the head: they are
	// validated before any server is involved (issue 8).
	n, done, berr := t.ReqBody.span(buf[r.HeadLen:])
	if berr != nil {
		return t.fail(berr, 400)
	}
	t.Held = n
	if !done {
		*an |= AnHTTPXferReqBody
	}
	return Continue
}

// HTTPXferReqBody is the http_xfer_req_body analyzer: it validates the
// request body bytes at the start of buf (those that follow the ones
// already accepted) and returns how many belong to the body. Verdicts:
// Continue when they end the body (the bit is cleared), Wait when more of
// the body is due, Fail on a framing error or the body limit (t.Err; n is
// the count of valid bytes before the error, which must not be forwarded
// without closing the server connection after them).
func HTTPXferReqBody(t *Txn, an *Bits, buf []byte) (n int, v Verdict) {
	return xferBody(t, &t.ReqBody, an, AnHTTPXferReqBody, buf, 400)
}

// HTTPXferResBody is the http_xfer_res_body analyzer: HTTPXferReqBody for
// the response body (errors are 502).
func HTTPXferResBody(t *Txn, an *Bits, buf []byte) (n int, v Verdict) {
	return xferBody(t, &t.ResBody, an, AnHTTPXferResBody, buf, 502)
}

func xferBody(t *Txn, b *Body, an *Bits, bit Bits, buf []byte, def int) (int, Verdict) {
	n, done, err := b.span(buf)
	switch {
	case err != nil:
		*an &^= bit
		return n, t.fail(err, def)
	case done:
		*an &^= bit
		return n, Continue
	}
	return n, Wait
}

// fail records err (an *Error, or another error with status def) and
// returns Fail.
func (t *Txn) fail(err error, def int) Verdict {
	if e, ok := err.(*Error); ok {
		t.Err = e
		return Fail
	}
	return t.failStatus(def, err.Error())
}

func (t *Txn) failStatus(status int, reason string) Verdict {
	t.Err = &Error{Status: status, Reason: reason}
	return Fail
}

// requestKey is the balance hash key of t's request for its route's
// backend: the path for "uri", a header's value for "hdr:<name>" (the
// source when the request has none), else the client's address.
func requestKey(cfg *Config, t *Txn) uint64 {
	spec := KeySpec{}
	if i := t.Route + 1; i < len(cfg.Keys) {
		spec = cfg.Keys[i]
	}
	r := &t.Req
	switch spec.Kind {
	case KeyURI:
		p := r.Target
		if i := bytes.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return fnv64(p)
	case KeyHeader:
		for _, f := range r.Headers {
			if equalFold(f.Name, spec.Header) {
				return fnv64(f.Value)
			}
		}
	}
	return SourceKey(t.Src)
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// PassReqBody records n request body bytes forwarded without analysis (at
// most ReqBody.Passthrough(), as a pump moves them); it clears
// AnHTTPXferReqBody when they end the body.
func PassReqBody(t *Txn, an *Bits, n int64) {
	t.ReqBody.Passed(n)
	if t.ReqBody.Done() {
		*an &^= AnHTTPXferReqBody
	}
}

// PassResBody is PassReqBody for the response body (AnHTTPXferResBody).
func PassResBody(t *Txn, an *Bits, n int64) {
	t.ResBody.Passed(n)
	if t.ResBody.Done() {
		*an &^= AnHTTPXferResBody
	}
}

// cutPort splits "host:port" (and "[v6]:port"); ok is false without a
// port.
func cutPort(hostport []byte) (host, port []byte, ok bool) {
	i := len(hostport) - 1
	for i >= 0 && hostport[i] >= '0' && hostport[i] <= '9' {
		i--
	}
	if i < 0 || hostport[i] != ':' || i == len(hostport)-1 {
		return hostport, nil, false
	}
	if hostport[0] == '[' && (i == 0 || hostport[i-1] != ']') {
		return hostport, nil, false // a bare IPv6 address
	}
	return hostport[:i], hostport[i+1:], true
}

// pathOfAbsolute returns the path and query of an absolute-form target
// ("http://h/p?q" -> "/p?q"; "/" when it has none).
func pathOfAbsolute(target []byte) []byte {
	rest := target
	if i := indexOf(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	for i, c := range rest {
		if c == '/' || c == '?' {
			if c == '?' {
				return append([]byte("/"), rest[i:]...)
			}
			return rest[i:]
		}
	}
	return []byte("/")
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// validRequestID accepts a client's request ID: 1 to 128 visible ASCII
// characters (anything else is replaced by one lb makes).
func validRequestID(v []byte) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
