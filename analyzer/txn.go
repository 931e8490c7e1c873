package analyzer

import "time"

import "net/netip"

// Txn is one HTTP transaction (a request and its response) as the
// analyzers see it: the parsed heads, the body framing of each direction,
// and the plan the analyzers decided. It belongs to one session's event
// loop and is not safe for concurrent use.
//
// Every field is reset by Reset and by nothing else; the session calls it
// when a transaction starts, so nothing of one transaction (and one
// client) can reach the next one. Reset keeps the capacity of the internal
// slices, so a warm Txn runs without allocating.
type Txn struct {
	// Req and Res are the parsed heads. Their slices alias the buffer of
	// the Parse call that completed them and are valid only during the
	// analyzer call that completed them.
	Req Request
	Res Response
	// ReqBody and ResBody are the framing of each body.
	ReqBody, ResBody Body
	// Plan is what the session set and the analyzers decided.
	Plan

	target []byte // a copy of the request-target, for the log
}

// Plan is the part of a transaction the analyzers decide (and the two
// facts the session gives them), reset as a whole.
type Plan struct {
	// PriorityClass and PriorityOffset are where the request queues for a
	// server slot (set-priority-class, set-priority-offset rules).
	PriorityClass  int
	PriorityOffset time.Duration
	// Src is the client's address (balance "source", X-Forwarded-For,
	// Forwarded). Set by the session after Reset.
	Src netip.Addr
	// Close asks that the client connection close after this transaction
	// whatever the messages say (a draining or stopping process). Set by
	// the session.
	Close bool

	// The plan of http_lb_req, valid once it returned Continue or Answer.

	// Route is the index of the route that matched, or -1 for the
	// frontend's default backend.
	Route int
	// Key is the balance hash key of the request (see KeySpec).
	Key uint64
	// ReqMask and ResMask are the request and response header rules that
	// apply (bit i is rule i); ResDeny is the index of the response deny
	// rule that applies, or -1.
	ReqMask, ResMask uint64
	ResDeny          int
	// Held is how many body bytes after the request head, in the buffer
	// of the call that returned Continue, were validated and may be
	// forwarded with the head.
	Held int
	// ReqKeepAlive, Upgrade and HTTP10 are facts of the request kept for
	// the response (its buffer is gone by then).
	ReqKeepAlive, Upgrade, HTTP10 bool

	// The plan of http_lb_resp, valid once it returned Continue.

	// KeepAlive reports that the client connection is kept after this
	// response: the request and the response both allow it, the response
	// is delimited without closing, and Close is not set.
	KeepAlive bool
	// Tunnel reports a switch to a tunnel after the response head (101
	// Switching Protocols, or a 2xx to CONNECT).
	Tunnel bool
	// Interim reports that the last head http_lb_resp passed was a 1xx
	// interim response; the final head follows.
	Interim bool
	// Status is the status of the final response head, 0 before one.
	Status int

	// HeadAt and ResHeadAt are when http_lb_req and http_lb_resp found
	// the request and the final response head complete (unix ns, 0 before).
	HeadAt, ResHeadAt int64

	// Answer is the rule lb answers with (verdict Answer), nil otherwise.
	Answer *Rule
	// RetryAfter is the Retry-After (seconds) of an answer to a request
	// over a limit, 0 otherwise.
	RetryAfter int
	// Err is why a message was refused (verdict Fail), nil otherwise.
	Err *Error

	method    [16]byte
	methodLen uint8
	location  []byte // a scheme redirect's Location, made by http_lb_req

	// For the access log, copied by http_lb_req (the head's bytes do not
	// outlive the transaction's input): the Host (at most maxLogField
	// bytes), the User-Agent (idem) and the request ID (the client's, in
	// Config.RequestIDHeader, else made by lb; see SetRequestID).
	host, userAgent []byte
	requestID       []byte
	clientID        bool // requestID came from the client
}

// maxLogField bounds the request fields the access log copies.
const maxLogField = 256

// Host, UserAgent and RequestID return the access log's copies (valid
// until Reset).
func (t *Txn) Host() []byte      { return t.host }
func (t *Txn) UserAgent() []byte { return t.userAgent }
func (t *Txn) RequestID() []byte { return t.requestID }

// RequestIDBuf returns the request ID's buffer, emptied, for SetRequestID
// (no allocation once it has grown).
func (t *Txn) RequestIDBuf() []byte { return t.requestID[:0] }

// SetRequestID sets the ID lb made for this request (before http_lb_req;
// a client's own, in Config.RequestIDHeader, replaces it), typically
// appended to RequestIDBuf.
func (t *Txn) SetRequestID(id []byte) {
	t.requestID = id
	t.clientID = false
}

// copyBounded copies at most maxLogField bytes of b into dst.
func copyBounded(dst, b []byte) []byte {
	if len(b) > maxLogField {
		b = b[:maxLogField]
	}
	return append(dst[:0], b...)
}

// Reset prepares t for a new transaction, in place, keeping the capacity
// of its slices.
func (t *Txn) Reset() {
	t.Req.Reset()
	t.Res.Reset()
	t.ReqBody, t.ResBody = t.ReqBody.reset(), t.ResBody.reset()
	// The Plan's buffers keep their capacity (no allocation per request).
	loc, host, ua, id := t.location[:0], t.host[:0], t.userAgent[:0], t.requestID[:0]
	t.Plan = Plan{Route: -1, ResDeny: -1}
	t.location, t.host, t.userAgent, t.requestID = loc, host, ua, id
	t.target = t.target[:0]
}

// Method returns the request's method (a copy; at most 16 bytes are kept),
// empty before http_lb_req parsed a request line. The slice is valid until
// the next Reset.
func (t *Txn) Method() []byte { return t.method[:t.methodLen] }

// Target returns a copy of the request-target, empty before http_lb_req
// parsed a request line. The slice is valid until the next Reset.
func (t *Txn) Target() []byte { return t.target }

// Idempotent reports whether the request's method is idempotent (RFC 9110
// 9.2.2): a request with such a method and no body may be sent again on a
// new connection when a reused one failed before any response byte.
func (t *Txn) Idempotent() bool {
	switch string(t.Method()) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// Body is the framing of one message body, as the analyzers track it
// while the body streams. The zero value is "no body".
type Body struct {
	kind bodyKind
	left int64          // kindLength: bytes left
	ck   ChunkedScanner // kindChunked
	// Bytes counts the body bytes accepted so far (framing included for
	// a chunked body).
	Bytes int64
}

type bodyKind uint8

const (
	kindNone    bodyKind = iota // no body (or it ended)
	kindLength                  // Content-Length countdown
	kindChunked                 // chunked coding, scanned
	kindClose                   // until the server closes (responses only)
)

// reset returns an empty Body keeping the scanner's settings.
func (b *Body) reset() Body {
	return Body{ck: ChunkedScanner{Status: b.ck.Status, MaxLine: b.ck.MaxLine, MaxTrailer: b.ck.MaxTrailer}}
}

// setLength, setChunked and setClose start a body.
func (b *Body) setLength(n int64) {
	b.kind, b.left = kindLength, n
	if n == 0 {
		b.kind = kindNone
	}
}

func (b *Body) setChunked(status int, maxData int64) {
	b.kind = kindChunked
	b.ck.Reset()
	b.ck.Status, b.ck.MaxData = status, maxData
}

func (b *Body) setClose() { b.kind = kindClose }

// Done reports that the body has ended (or there is none).
func (b *Body) Done() bool { return b.kind == kindNone }

// UntilClose reports a body that ends when the server closes.
func (b *Body) UntilClose() bool { return b.kind == kindClose }

// Passthrough returns how many of the body's next bytes may be forwarded
// without being looked at: the rest of a Content-Length body; -1 for a body
// that lasts until close; 0 for a chunked body (every byte is scanned) or
// no body.
func (b *Body) Passthrough() int64 {
	switch b.kind {
	case kindLength:
		return b.left
	case kindClose:
		return -1
	}
	return 0
}

// Passed records n bytes forwarded without analysis (at most
// Passthrough()); a Content-Length body that reaches its end is done.
func (b *Body) Passed(n int64) {
	b.Bytes += n
	if b.kind == kindLength {
		b.left -= n
		if b.left <= 0 {
			b.kind = kindNone
		}
	}
}

// span validates the body bytes at the start of buf and returns how many
// belong to the body, and whether they end it.
func (b *Body) span(buf []byte) (n int, done bool, err error) {
	switch b.kind {
	case kindNone:
		return 0, true, nil
	case kindChunked:
		n, done, err = b.ck.Scan(buf)
		b.Bytes += int64(n)
		if done {
			b.kind = kindNone
		}
		return n, done, err
	case kindClose:
		b.Bytes += int64(len(buf))
		return len(buf), false, nil
	}
	n = len(buf)
	if int64(n) > b.left {
		n = int(b.left)
	}
	b.Passed(int64(n))
	return n, b.kind == kindNone, nil
}
