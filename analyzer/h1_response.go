package analyzer

// Response is a parsed HTTP/1.x response head. It is reusable like Request:
// Reset it between messages (including after an interim 1xx) and it parses
// without allocating once warm. It is not safe for concurrent use.
//
// Every field below is set only by the Parse call that returns nil; before
// that, and after Reset, they hold their zero values. Byte slices alias the
// buffer passed to that Parse call (their capacity is clipped): they are
// valid until the buffer's bytes are overwritten or the Response is Reset.
//
// The body framing (RFC 9112 6.3) is exactly one of: NoBody, Tunnel,
// Chunked, BodyUntilClose, or ContentLength >= 0.
type Response struct {
	// Proto is HTTP10 or HTTP11.
	Proto Version
	// Status is the status code, 100 to 599.
	Status int
	// Reason is the reason phrase; it may be empty.
	Reason []byte
	// Headers are the field lines in order, repeated fields not combined.
	Headers []Header
	// HeadLen is the length of the head in the buffer, ignored empty lines
	// included. The body, or the next head after an interim response,
	// starts at buf[HeadLen].
	HeadLen int
	// Skip is how many of the HeadLen bytes are empty lines (CRLF) received
	// before the status line; the session should not forward them.
	Skip int
	// ContentLength is the body length when Content-Length delimits the
	// body, else -1 (no field, or a field that the framing rules ignore:
	// responses to HEAD, 1xx, 204, 304 and tunnels).
	ContentLength int64
	// Chunked reports a body in the chunked coding; read it with a
	// ChunkedScanner whose Status is 502.
	Chunked bool
	// BodyUntilClose reports a body delimited by the server closing the
	// connection: no Content-Length, or a Transfer-Encoding whose final
	// coding is not chunked (RFC 9112 6.3, rules 4 and 8). KeepAlive is
	// then false.
	BodyUntilClose bool
	// NoBody reports a response without content whatever its fields say:
	// to a HEAD request, or with status 1xx, 204 or 304 (RFC 9112 6.3,
	// rule 1).
	NoBody bool
	// Tunnel reports a 2xx response to CONNECT: after the head, the
	// connection carries opaque bytes both ways (RFC 9112 6.3, rule 2).
	Tunnel bool
	// Upgrade reports a 101 (Switching Protocols): after the head, the
	// connection speaks the protocol named by the Upgrade field, which
	// must be present (RFC 9110 15.2.2). Whether the request asked for it
	// is for the session to check.
	Upgrade bool
	// Interim reports a 1xx other than 101 (100 Continue, 103 Early
	// Hints...): another head follows at buf[HeadLen] (RFC 9110 15.2).
	Interim bool
	// KeepAlive reports whether the server keeps the connection after this
	// response (RFC 9112 9.3): HTTP/1.1 unless "close", HTTP/1.0 only with
	// "keep-alive"; never with BodyUntilClose. The request's own wish is
	// for the session to combine.
	KeepAlive bool
	// ConnOptions are the options of the Connection fields, in order; see
	// Request.ConnOptions.
	ConnOptions [][]byte

	p parser
}

// Reset prepares r for the next message, keeping its slices' capacity and
// dropping their references to the previous buffer.
func (r *Response) Reset() {
	clear(r.Headers)
	clear(r.ConnOptions)
	headers, options := r.Headers[:0], r.ConnOptions[:0]
	r.p.reset()
	p := r.p
	*r = Response{Headers: headers, ConnOptions: options, p: p}
}

// Parse parses the response head at the start of buf, resuming where the
// previous call stopped, with the preconditions and results of
// Request.Parse. reqMethod is the method of the request this response
// answers; it is only compared with "HEAD" and "CONNECT" and is not kept, so
// a constant will do. Every error has Status 502.
//
// Validation is as strict as for requests: the status line is "HTTP/1.0" or
// "HTTP/1.1", SP, three digits from 100 to 599, then SP and a reason phrase
// of visible characters, SP and HTAB. A status line ending right after the
// code ("HTTP/1.1 200\r\n") is accepted with an empty reason, as nginx and
// HAProxy do. Field lines follow the request rules. Content-Length together
// with Transfer-Encoding, or repeated, fails; so does Transfer-Encoding in
// an HTTP/1.0 response (RFC 9112 6.1), chunked listed twice or not last,
// and a 101 without Upgrade field. Codings other than chunked are allowed
// and make the body last until close.
func (r *Response) Parse(buf []byte, reqMethod []byte, lim Limits) error {
	r.p.resp = true
	lim = lim.orDefault()
	first, err := r.p.advance(buf, &lim)
	if err != nil {
		return err
	}
	if first && r.p.status == 101 && !r.p.upgrade {
		r.p.fail(502, "101 without upgrade header")
		return r.p.err
	}
	r.fill(buf, reqMethod)
	return nil
}

// statusLine runs the status-line states over buf[p.pos:]. It stops at the
// end of buf, on error, or after the LF ending the status line.
func (p *parser) statusLine(buf []byte) {
	for p.pos < len(buf) {
		b := buf[p.pos]
		switch p.state {
		case sStart:
			switch b {
			case '\r':
				p.state = sLeadLF
			case '\n':
				p.fail(502, "bare lf line ending")
				return
			default:
				p.skip = p.pos
				p.state = sResVersion
				continue // read b as the first version byte
			}
		case sLeadLF:
			if b != '\n' {
				p.fail(502, "bare cr")
				return
			}
			p.state = sStart
		case sResVersion:
			if !p.versionByte(b) {
				p.fail(502, "invalid http version")
				return
			}
			if p.vi == 8 {
				p.state = sResVersionSP
			}
		case sResVersionSP:
			switch {
			case b != ' ':
				p.fail(502, "invalid http version")
				return
			case !p.supported():
				p.fail(502, "unsupported http version")
				return
			}
			p.state = sStatus
		case sStatus:
			if b < '0' || b > '9' {
				p.fail(502, "invalid status code")
				return
			}
			p.status = p.status*10 + int(b-'0')
			p.statusLen++
			if p.statusLen == 3 {
				if p.status < 100 || p.status > 599 {
					p.fail(502, "status code out of range")
					return
				}
				p.state = sStatusEnd
			}
		case sStatusEnd:
			switch b {
			case ' ':
				p.reasonSpan = span{p.pos + 1, p.pos + 1}
				p.state = sReason
			case '\r':
				p.reasonSpan = span{p.pos, p.pos}
				p.state = sResLineLF
			case '\n':
				p.fail(502, "bare lf line ending")
				return
			default:
				p.fail(502, "invalid status code")
				return
			}
		case sReason:
			i := p.pos
			for i < len(buf) && chars[buf[i]]&cValue != 0 {
				i++
			}
			p.pos = i
			if i == len(buf) {
				return
			}
			switch buf[i] {
			case '\r':
				p.reasonSpan.end = i
				p.state = sResLineLF
			case '\n':
				p.fail(502, "bare lf line ending")
				return
			default:
				p.fail(502, "control character in reason phrase")
				return
			}
		case sResLineLF:
			if b != '\n' {
				p.fail(502, "bare cr")
				return
			}
			p.pos++
			p.state = sLineStart
			return
		}
		p.pos++
	}
}

// fill sets the exported fields from the parser's offsets into buf and
// derives the framing from reqMethod (RFC 9112 6.3).
func (r *Response) fill(buf []byte, reqMethod []byte) {
	p := &r.p
	r.Proto = p.version()
	r.Status = p.status
	r.Reason = sub(buf, p.reasonSpan)
	r.Headers, r.ConnOptions = p.fill(buf, r.Headers, r.ConnOptions)
	r.HeadLen = p.pos
	r.Skip = p.skip
	r.Interim = p.status < 200 && p.status != 101
	r.Upgrade = p.status == 101
	r.ContentLength = -1
	r.NoBody, r.Tunnel, r.Chunked, r.BodyUntilClose = false, false, false, false
	m := methodOf(reqMethod)
	switch {
	case m == mHead || p.status < 200 || p.status == 204 || p.status == 304:
		r.NoBody = true
	case m == mConnect && p.status < 300:
		r.Tunnel = true
	case p.chunked:
		r.Chunked = true
	case p.teSeen:
		r.BodyUntilClose = true
	case p.clSeen:
		r.ContentLength = p.cl
	default:
		r.BodyUntilClose = true
	}
	r.KeepAlive = p.keepAlive() && !r.BodyUntilClose
}
