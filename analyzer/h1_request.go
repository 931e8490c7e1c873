package analyzer

import (
	"bytes"
	"strconv"
)

// Request is a parsed HTTP/1.x request head. It is reusable: Reset it
// between messages and its slices keep their capacity, so after a warm-up a
// Request parses without allocating. A Request is not safe for concurrent
// use; it belongs to one session's event loop.
//
// Every field below is set only by the Parse call that returns nil; before
// that, and after Reset, they hold their zero values. Byte slices alias the
// buffer passed to that Parse call (their capacity is clipped): they are
// valid until the buffer's bytes are overwritten or the Request is Reset,
// and must be copied to be kept longer.
type Request struct {
	// ClientCert and ClientCN are the connection's verified TLS client
	// certificate (and its common name), set by the session before
	// parsing; rules match them (Match.ClientCN).
	ClientCert bool
	ClientCN   string
	// Method is the method token, case-sensitive (RFC 9110 9.1).
	Method []byte
	// Target is the request-target exactly as received.
	Target []byte
	// Form is the form of Target. CONNECT always has FormAuthority and
	// FormAsterisk always comes with OPTIONS; any other pairing is
	// rejected.
	Form TargetForm
	// Proto is HTTP10 or HTTP11.
	Proto Version
	// Headers are the field lines in order, repeated fields not combined.
	// The slice itself is reused by the next Parse after Reset.
	Headers []Header
	// HeadLen is the length of the head in the buffer: ignored empty lines
	// (Skip), the request line, the field lines and the final CRLF. The
	// body, or the next pipelined request, starts at buf[HeadLen].
	HeadLen int
	// Skip is how many of the HeadLen bytes are empty lines (CRLF) received
	// before the request line, which RFC 9112 2.2 says to ignore; the
	// request line starts at buf[Skip]. The session should not forward
	// them.
	Skip int
	// ContentLength is the value of the Content-Length field, or -1 when
	// there is none. A request with neither Content-Length nor Chunked has
	// no body (RFC 9112 6.3, rule 6).
	ContentLength int64
	// Chunked reports that the body is in the chunked coding (then
	// ContentLength is -1); read it with a ChunkedScanner.
	Chunked bool
	// Host is the authority the request is for: the target's authority in
	// absolute-form and authority-form (RFC 9112 3.2.2: it wins over the
	// Host field), else the Host field's value, which may be empty. It is
	// nil for an HTTP/1.0 request without Host field.
	Host []byte
	// KeepAlive reports whether the client asks to keep the connection
	// after this exchange (RFC 9112 9.3): true for HTTP/1.1 unless
	// Connection has "close"; for HTTP/1.0 only with "keep-alive" and
	// without "close".
	KeepAlive bool
	// Upgrade reports an HTTP/1.1 request asking to switch protocols: a
	// Connection "upgrade" option and a non-empty Upgrade field (RFC 9110
	// 7.8; an HTTP/1.0 Upgrade is ignored). The protocols are in the
	// Upgrade field of Headers.
	Upgrade bool
	// Expect100 reports "Expect: 100-continue" in an HTTP/1.1 request (RFC
	// 9110 10.1.1; ignored in HTTP/1.0). Any other expectation fails
	// with 417.
	Expect100 bool
	// TETrailers reports that a TE field lists "trailers": the client
	// accepts trailer fields in a chunked response (RFC 9110 10.1.4).
	TETrailers bool
	// ConnOptions are the options of the Connection fields, in order,
	// empty elements skipped. Besides close, keep-alive and upgrade, each
	// names a hop-by-hop field that RFC 9110 7.6.1 requires an
	// intermediary to remove before forwarding.
	ConnOptions [][]byte

	p parser
}

// Reset prepares r for the next message, keeping its slices' capacity and
// dropping their references to the previous buffer.
func (r *Request) Reset() {
	clear(r.Headers)
	clear(r.ConnOptions)
	headers, options := r.Headers[:0], r.ConnOptions[:0]
	r.p.reset()
	p := r.p
	*r = Request{Headers: headers, ConnOptions: options, p: p}
}

// Parse parses the request head at the start of buf. It may be called again
// and again as bytes arrive: each call resumes where the previous one
// stopped, so the total work is linear in the head's length.
//
// Preconditions: buf starts at the first byte of the message (after
// whatever earlier messages consumed), and holds every byte given to earlier
// Parse calls of this message, unchanged; it may have moved or grown. lim is
// the same for every call of the message. A buffer shorter than what earlier
// calls saw fails with Status 500.
//
// Parse returns:
//   - nil: the head is complete and valid; the exported fields are set and
//     alias buf. Bytes from buf[HeadLen:] were not looked at. Further calls
//     return nil again and re-point the fields at the buffer given.
//   - ErrIncomplete: buf is a valid prefix of a head within lim; call again
//     with more bytes.
//   - *Error: the head is invalid (Status 400, 414, 417, 431, 501 or 505).
//     Further calls return the same error until Reset.
//
// Validation is strict (RFC 9112, RFC 9110) and fails at the first byte that
// makes the head invalid, without waiting for its end: single SP between the
// request line's parts; method a token; CONNECT only with authority-form and
// authority-form only with CONNECT; "*" only with OPTIONS; absolute-form
// only for http and https, with a non-empty host and no userinfo; no
// fragment; every line ends in CRLF (bare LF and bare CR fail); field names
// are tokens followed directly by the colon; values hold no control
// characters but HTAB; obs-fold fails; Content-Length is 1*DIGIT within
// int64 and appears once; Transfer-Encoding excludes Content-Length, needs
// HTTP/1.1, lists chunked once and last (else 400), and only chunked (else
// 501); HTTP/1.1 needs exactly one valid Host field. Versions other than
// 1.0 and 1.1 fail with 505.
//
// The path of a target is checked against RFC 3986 (pchar and "/", with
// well-formed percent-encoding). The query is only required to be visible
// ASCII without "#": browsers send "{", "}", "|", "^", "[", "]" and stray
// "%" there unescaped (WHATWG URL), and none of them can confuse framing or
// path-based routing.
func (r *Request) Parse(buf []byte, lim Limits) error {
	lim = lim.orDefault()
	first, err := r.p.advance(buf, &lim)
	if err != nil {
		return err
	}
	if first {
		r.endOfHead(buf)
		if r.p.err != nil {
			return r.p.err
		}
	}
	r.fill(buf)
	return nil
}

// requestLine runs the request-line states over buf[p.pos:]. It stops at the
// end of buf, on error, or after the LF ending the request line.
func (p *parser) requestLine(buf []byte, lim *Limits) {
	for p.pos < len(buf) {
		b := buf[p.pos]
		if p.state >= sPath && p.state <= sAuthority && b != ' ' && p.pos-p.target.off >= lim.MaxTarget {
			p.fail(414, "request-target over limit "+strconv.Itoa(lim.MaxTarget)+" bytes")
			return
		}
		switch p.state {
		case sStart:
			switch {
			case isToken(b):
				p.skip = p.pos
				p.state = sMethod
			case b == '\r':
				p.state = sLeadLF
			case b == '\n':
				p.fail(400, "bare lf line ending")
				return
			default:
				p.fail(400, "invalid character in method")
				return
			}
		case sLeadLF:
			if b != '\n' {
				p.fail(400, "bare cr")
				return
			}
			p.state = sStart
		case sMethod:
			if isToken(b) {
				break
			}
			if b != ' ' {
				p.fail(400, "invalid character in method")
				return
			}
			p.mEnd = p.pos
			p.method = methodOf(buf[p.skip:p.pos])
			p.state = sTargetStart
		case sTargetStart:
			p.target.off = p.pos
			switch {
			case p.method == mConnect:
				// RFC 9112 3.2.3: CONNECT uses authority-form,
				// and only CONNECT does.
				if chars[b]&cAuth == 0 || b == '/' || b == '*' {
					p.fail(400, "connect target not in authority-form")
					return
				}
				p.form = FormAuthority
				p.authority.off = p.pos
				p.state = sAuthority
			case b == '/':
				p.form = FormOrigin
				p.state = sPath
			case b == '*':
				// RFC 9112 3.2.4; also rejects the HTTP/2
				// preface "PRI * HTTP/2.0".
				if p.method != mOptions {
					p.fail(400, "asterisk-form without options")
					return
				}
				p.form = FormAsterisk
				p.state = sAsterisk
			case chars[b]&cScheme != 0 && (b|0x20) >= 'a' && (b|0x20) <= 'z':
				p.form = FormAbsolute
				p.state = sScheme
			case b == ' ':
				p.fail(400, "extra space in request line")
				return
			default:
				p.fail(400, "invalid request-target")
				return
			}
		case sPath:
			switch {
			case chars[b]&cPath != 0:
			case b == '%':
				p.state = sPathPct1
			case b == '?':
				p.state = sQuery
			case b == ' ':
				p.endTarget()
			default:
				p.badTargetByte(b)
				return
			}
		case sPathPct1, sPathPct2:
			if chars[b]&cHex == 0 {
				p.fail(400, "invalid percent-encoding in request-target")
				return
			}
			if p.state == sPathPct1 {
				p.state = sPathPct2
			} else {
				p.state = sPath
			}
		case sQuery:
			switch {
			case chars[b]&cQuery != 0:
			case b == ' ':
				p.endTarget()
			default:
				p.badTargetByte(b)
				return
			}
		case sAsterisk:
			if b != ' ' {
				p.fail(400, "invalid asterisk-form")
				return
			}
			p.endTarget()
		case sScheme:
			switch {
			case chars[b]&cScheme != 0:
			case b == ':':
				s := buf[p.target.off:p.pos]
				if !eqFold(s, "http") && !eqFold(s, "https") {
					p.fail(400, "unsupported scheme in absolute-form")
					return
				}
				p.state = sSlash1
			default:
				p.badTargetByte(b)
				return
			}
		case sSlash1, sSlash2:
			if b != '/' {
				p.fail(400, "absolute-form without authority")
				return
			}
			if p.state == sSlash1 {
				p.state = sSlash2
			} else {
				p.authority.off = p.pos + 1
				p.state = sAuthority
			}
		case sAuthority:
			if chars[b]&cAuth != 0 {
				break
			}
			if b == '@' {
				// RFC 9110 4.2.4: userinfo is an error.
				p.fail(400, "userinfo in request-target")
				return
			}
			if b != ' ' && (p.form == FormAuthority || b != '/' && b != '?') {
				p.badTargetByte(b)
				return
			}
			if !validAuthority(buf[p.authority.off:p.pos], p.form == FormAuthority) {
				p.fail(400, "invalid authority in request-target")
				return
			}
			p.authority.end = p.pos
			switch b {
			case '/':
				p.state = sPath
			case '?':
				p.state = sQuery
			default:
				p.endTarget()
			}
		case sReqVersion:
			if !p.versionByte(b) {
				p.fail(400, "invalid http version")
				return
			}
			if p.vi == 8 {
				p.state = sReqVersionCR
			}
		case sReqVersionCR:
			switch {
			case b == '\n':
				p.fail(400, "bare lf line ending")
				return
			case b != '\r':
				p.fail(400, "invalid http version")
				return
			case !p.supported():
				// RFC 9110 15.6.6. 1.2 to 1.9 would be served as
				// 1.1 by the letter of RFC 9110 6.2; we forward
				// heads unchanged, so we refuse them too.
				p.fail(505, "unsupported http version")
				return
			}
			p.state = sReqLineLF
		case sReqLineLF:
			if b != '\n' {
				p.fail(400, "bare cr")
				return
			}
			p.pos++
			p.state = sLineStart
			return
		}
		p.pos++
	}
}

// endTarget closes the request-target at p.pos (an SP).
func (p *parser) endTarget() {
	p.target.end = p.pos
	p.vi = 0
	p.state = sReqVersion
}

// badTargetByte fails on byte b, which cannot continue the request-target.
func (p *parser) badTargetByte(b byte) {
	switch b {
	case '#':
		p.fail(400, "fragment in request-target")
	case '\r', '\n':
		p.fail(400, "request line without http version")
	default:
		p.fail(400, "invalid character in request-target")
	}
}

// endOfHead applies the rules that need the whole head.
func (r *Request) endOfHead(buf []byte) {
	p := &r.p
	switch {
	case (p.form == FormAbsolute || p.form == FormAuthority) && p.hostSeen &&
		!bytes.EqualFold(buf[p.host.off:p.host.end], buf[p.authority.off:p.authority.end]):
		// RFC 9112 3.2: Host must be identical to the target's authority;
		// a request naming two hosts is refused rather than guessed at
		// (HAProxy does the same).
		p.fail(400, "host header differs from the target's authority")
	case p.minor == '1' && !p.hostSeen:
		p.fail(400, "missing host header") // RFC 9112 3.2
	case p.teSeen && !p.chunked:
		p.fail(400, "chunked is not the final transfer coding") // RFC 9112 6.3, rule 4
	case p.teSeen && p.otherCoding:
		p.fail(501, "unsupported transfer coding") // RFC 9112 6.1
	case p.method == mConnect && (p.teSeen || p.clSeen && p.cl != 0):
		// RFC 9110 9.3.6: a CONNECT request has no content.
		p.fail(400, "connect request with content")
	}
}

// fill sets the exported fields from the parser's offsets into buf.
func (r *Request) fill(buf []byte) {
	p := &r.p
	r.Method = sub(buf, span{p.skip, p.mEnd})
	r.Target = sub(buf, p.target)
	r.Form = p.form
	r.Proto = p.version()
	r.Headers, r.ConnOptions = p.fill(buf, r.Headers, r.ConnOptions)
	r.HeadLen = p.pos
	r.Skip = p.skip
	r.ContentLength = -1
	if p.clSeen {
		r.ContentLength = p.cl
	}
	r.Chunked = p.chunked
	switch {
	case p.form == FormAbsolute || p.form == FormAuthority:
		r.Host = sub(buf, p.authority)
	case p.hostSeen:
		r.Host = sub(buf, p.host)
	default:
		r.Host = nil
	}
	r.KeepAlive = p.keepAlive()
	http11 := p.minor == '1'
	r.Upgrade = http11 && p.connUpgrade && p.upgrade
	r.Expect100 = http11 && p.expect100
	r.TETrailers = p.teTrailers
}

// Header returns the value of the first field named name (compared
// case-insensitively), and whether there is one.
func (r *Request) Header(name string) ([]byte, bool) {
	for _, f := range r.Headers {
		if equalFold(f.Name, name) {
			return f.Value, true
		}
	}
	return nil, false
}
