package analyzer

import "math"

// The field lines that matter to HTTP/1.x framing and connection handling
// (RFC 9112 6, RFC 9110 7.6, 8.6, 10.1): what each means for the parser's
// state, and the errors that no later byte can cure.

// fieldLine records the field line [p.lineStart, cr) and applies what it
// means for framing and connection handling. It may set p.err.
func (p *parser) fieldLine(buf []byte, cr int) {
	name := buf[p.lineStart:p.nameEnd]
	v0, v1 := trimOWS(buf, p.nameEnd+1, cr)
	p.fields = append(p.fields, fieldSpan{span{p.lineStart, p.nameEnd}, span{v0, v1}})
	value := buf[v0:v1]
	switch len(name) {
	case 2:
		if !p.resp && eqFold(name, "te") {
			p.teField(buf, v0, v1)
		}
	case 4:
		if !p.resp && eqFold(name, "host") {
			// RFC 9112 3.2: 400 for more than one Host field
			// line or an invalid value.
			if p.hostSeen {
				p.fail(400, "duplicate host header")
				return
			}
			if len(value) > 0 && !validAuthority(value, false) {
				p.fail(400, "invalid host header")
				return
			}
			p.hostSeen = true
			p.host = span{v0, v1}
		}
	case 6:
		if !p.resp && eqFold(name, "expect") {
			p.expectField(buf, v0, v1)
		}
	case 7:
		if eqFold(name, "upgrade") && v1 > v0 {
			p.upgrade = true
		}
	case 10:
		if eqFold(name, "connection") {
			p.connectionField(buf, v0, v1)
		}
	case 14:
		if eqFold(name, "content-length") {
			p.contentLength(value)
		}
	case 17:
		if eqFold(name, "transfer-encoding") {
			p.transferEncoding(buf, v0, v1)
		}
	}
}

// contentLength applies a Content-Length field (RFC 9112 6.2, RFC 9110 8.6).
// Duplicates and lists fail even when their values agree: RFC 9110 8.6 only
// allows accepting them by replacing them with one value, and the session
// forwards heads unchanged.
func (p *parser) contentLength(v []byte) {
	if p.teSeen {
		// RFC 9112 6.1: treat as an error (request smuggling, 11.2).
		p.fail(400, "content-length with transfer-encoding")
		return
	}
	if p.clSeen {
		p.fail(400, "duplicate content-length")
		return
	}
	if len(v) == 0 {
		p.fail(400, "empty content-length")
		return
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			p.fail(400, "invalid content-length")
			return
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			p.fail(400, "content-length overflow")
			return
		}
		n = n*10 + d
	}
	p.clSeen, p.cl = true, n
}

// transferEncoding applies a Transfer-Encoding field (RFC 9112 6.1). Errors
// that no later byte can cure are taken here; "is chunked final" and
// "unknown coding" are decided at the end of the head by the caller.
func (p *parser) transferEncoding(buf []byte, v0, v1 int) {
	if p.clSeen {
		p.fail(400, "transfer-encoding with content-length")
		return
	}
	if p.minor == '0' {
		// RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding
		// has faulty framing.
		p.fail(400, "transfer-encoding in http/1.0")
		return
	}
	p.teSeen = true
	codings := 0
	for i := v0; i <= v1; {
		e0, e1, next := nextElem(buf, i, v1)
		i = next
		coding := buf[e0:e1]
		if len(coding) == 0 {
			// RFC 9110 5.6.1: a recipient ignores empty list elements
			// ("chunked," is chunked); a value with no coding at all is
			// refused below.
			continue
		}
		codings++
		if !allTokens(coding) {
			// Also rejects parameters ("chunked;x=1").
			p.fail(400, "invalid transfer coding")
			return
		}
		isChunked := eqFold(coding, "chunked")
		switch {
		case isChunked && p.chunked:
			p.fail(400, "transfer coding chunked applied twice")
			return
		case p.chunked:
			p.fail(400, "chunked is not the final transfer coding")
			return
		case isChunked:
			p.chunked = true
		default:
			p.otherCoding = true
		}
	}
	if codings == 0 {
		p.fail(400, "empty transfer coding")
	}
}

// connectionField applies a Connection field (RFC 9110 7.6.1): every
// option is recorded; close, keep-alive and upgrade also set flags. Empty
// list elements are ignored (RFC 9110 5.6.1).
func (p *parser) connectionField(buf []byte, v0, v1 int) {
	for i := v0; i <= v1; {
		e0, e1, next := nextElem(buf, i, v1)
		i = next
		opt := buf[e0:e1]
		if len(opt) == 0 {
			continue
		}
		if !allTokens(opt) {
			p.fail(400, "invalid connection option")
			return
		}
		switch {
		case eqFold(opt, "close"):
			p.connClose = true
		case eqFold(opt, "keep-alive"):
			p.connKeep = true
		case eqFold(opt, "upgrade"):
			p.connUpgrade = true
		}
		p.options = append(p.options, span{e0, e1})
	}
}

// expectField applies an Expect field (RFC 9110 10.1.1): only 100-continue
// is known; any other expectation fails with 417. Empty elements are ignored.
func (p *parser) expectField(buf []byte, v0, v1 int) {
	for i := v0; i <= v1; {
		e0, e1, next := nextElem(buf, i, v1)
		i = next
		if e0 == e1 {
			continue
		}
		if !eqFold(buf[e0:e1], "100-continue") {
			p.fail(417, "unsupported expectation")
			return
		}
		p.expect100 = true
	}
}

// teField notes whether a TE field (RFC 9110 10.1.4) lists "trailers". It is
// read loosely and never fails: TE does not affect framing.
func (p *parser) teField(buf []byte, v0, v1 int) {
	for i := v0; i <= v1; {
		e0, e1, next := nextElem(buf, i, v1)
		i = next
		for j := e0; j < e1; j++ {
			if buf[j] == ';' {
				e1 = j
				break
			}
		}
		e0, e1 = trimOWS(buf, e0, e1)
		if eqFold(buf[e0:e1], "trailers") {
			p.teTrailers = true
		}
	}
}
