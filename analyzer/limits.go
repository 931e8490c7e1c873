package analyzer

import (
	"errors"
	"strconv"
)

// Limits bounds what the HTTP/1.x head parsers accept. The same Limits must
// be passed to every Parse call of one message. A zero or negative field
// means the DefaultLimits value for that field, so Limits{} behaves like
// DefaultLimits.
type Limits struct {
	// MaxHead is the largest head accepted, in bytes: everything Parse
	// reports in HeadLen (ignored leading empty lines, start line, field
	// lines and the final CRLF). As soon as MaxHead bytes are buffered
	// without the end of the head, Parse fails: 431 for a request (RFC 6585
	// 5), 502 for a response. Zero means 15360, HAProxy's tune.bufsize 16384
	// minus tune.maxrewrite 1024. HAProxy lets responses use the whole
	// buffer, so the session may pass 16384 for responses.
	MaxHead int
	// MaxHeaders is the largest number of field lines in a head (the start
	// line is not counted). One more fails with 431 (request) or 502
	// (response). Zero means 101, HAProxy's tune.http.maxhdr.
	MaxHeaders int
	// MaxTarget is the longest request-target accepted, in bytes. A longer
	// one fails with 414 (RFC 9110 15.5.15) as soon as its first excess
	// byte arrives. Responses ignore it. Zero means 8192 (RFC 9112 3
	// recommends supporting at least 8000 octets).
	MaxTarget int
}

// The defaults behind DefaultLimits and behind a zero field of Limits.
const (
	defaultMaxHead    = 16384 - 1024
	defaultMaxHeaders = 101
	defaultMaxTarget  = 8192
)

// DefaultLimits are HAProxy-like limits: MaxHead 15360 (bufsize 16384 -
// maxrewrite 1024), MaxHeaders 101 (tune.http.maxhdr), MaxTarget 8192.
// Parse never reads this variable; a zero Limits field uses the same
// values.
var DefaultLimits = Limits{MaxHead: defaultMaxHead, MaxHeaders: defaultMaxHeaders, MaxTarget: defaultMaxTarget}

// orDefault returns lim with every zero or negative field replaced by its
// default.
func (lim Limits) orDefault() Limits {
	if lim.MaxHead <= 0 {
		lim.MaxHead = defaultMaxHead
	}
	if lim.MaxHeaders <= 0 {
		lim.MaxHeaders = defaultMaxHeaders
	}
	if lim.MaxTarget <= 0 {
		lim.MaxTarget = defaultMaxTarget
	}
	return lim
}

// ErrIncomplete is returned by the head parsers while the bytes given so far
// are a valid, within-limits prefix of a head that has not ended yet: call
// Parse again once more bytes have arrived.
var ErrIncomplete = errors.New("analyzer: incomplete message")

// Error is why a message was rejected. The parsers return it as *Error; one
// is allocated per rejected message (never on success).
type Error struct {
	// Status is the HTTP status to answer with: 400, 414, 417, 431, 501 or
	// 505 for a request (500 for a caller bug, see Request.Parse), always
	// 502 for a response, and the ChunkedScanner's Status for a body.
	Status int
	// Reason is a short lowercase phrase naming the rule or limit that was
	// hit, for logs ("header count over limit 101"). It never contains
	// bytes of the message.
	Reason string
}

// Error returns "analyzer: <reason> (<status>)".
func (e *Error) Error() string {
	return "analyzer: " + e.Reason + " (" + strconv.Itoa(e.Status) + ")"
}
