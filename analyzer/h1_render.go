package analyzer

import (
	"strconv"
	"unsafe"
)

// HTTP/1 rendering: the heads lb sends, as the analyzers' plans say. The
// H1 codecs of package session call these; another codec (FastCGI to a
// server, HTTP/2 to a client) would render the same plan its own way.
//
// A forwarded head keeps the start line and the field lines as received
// (names and values byte for byte, in order), minus the hop-by-hop fields
// (RFC 9110 7.6.1), minus what the header rules delete, plus what they
// add; its framing fields (Content-Length, Transfer-Encoding) are written
// in canonical form at the position of the first one: one Content-Length
// without leading zeros, one Transfer-Encoding whose codings end in a
// single chunked. A framing field that is already canonical is kept as
// received.

// AppendRequestHead appends the head to send to the server for t's request
// to out. buf is the buffer of the http_lb_req call that returned Continue
// (t.Req's slices alias it); call it before that call's buffer changes.
func AppendRequestHead(out []byte, cfg *Config, t *Txn, buf []byte) []byte {
	r := &t.Req
	out = appendStartLine(out, buf[r.Skip:])
	out = appendFields(out, r.Headers, r.ConnOptions, r.Upgrade, &r.p, cfg.ReqRules, t.ReqMask)
	if t.ReqMask != 0 {
		out = AppendAdded(out, cfg.ReqRules, t.ReqMask)
	}
	if r.Upgrade {
		out = append(out, "Connection: upgrade\r\n"...)
	}
	if t.Src.IsValid() {
		ip := t.Src.Unmap()
		if cfg.ForwardedFor {
			out = append(out, "X-Forwarded-For: "...)
			out = ip.AppendTo(out)
			out = append(out, "\r\n"...)
		}
		if cfg.Forwarded {
			// RFC 7239 4: an IPv6 address is quoted and bracketed.
			out = append(out, "Forwarded: for="...)
			if ip.Is6() {
				out = append(out, "\"["...)
				out = ip.AppendTo(out)
				out = append(out, "]\""...)
			} else {
				out = ip.AppendTo(out)
			}
			out = append(out, ";proto="...)
			out = append(out, proto(cfg)...)
			out = append(out, "\r\n"...)
		}
	}
	if cfg.ForwardedProto {
		out = append(out, "X-Forwarded-Proto: "...)
		out = append(out, proto(cfg)...)
		out = append(out, "\r\n"...)
	}
	if cfg.RequestIDHeader != "" && !t.clientID && len(t.requestID) > 0 {
		out = append(out, cfg.RequestIDHeader...)
		out = append(out, ": "...)
		out = append(out, t.requestID...)
		out = append(out, "\r\n"...)
	}
	return append(out, "\r\n"...)
}

func proto(cfg *Config) string {
	if cfg.Proto == "" {
		return "http"
	}
	return cfg.Proto
}

// AppendResponseHead appends the head to send to the client for t's last
// response head (interim or final) to out. buf is the buffer of the
// http_lb_resp call that returned Continue.
func AppendResponseHead(out []byte, cfg *Config, t *Txn, buf []byte) []byte {
	r := &t.Res
	out = appendStartLine(out, buf[r.Skip:])
	interim, mask := t.Interim, t.ResMask
	if interim {
		mask = 0 // rules apply to the final head
	}
	out = appendFields(out, r.Headers, r.ConnOptions, r.Upgrade, &r.p, cfg.ResRules, mask)
	if mask != 0 {
		out = AppendAdded(out, cfg.ResRules, mask)
	}
	switch {
	case interim:
	case r.Upgrade:
		out = append(out, "Connection: upgrade\r\n"...)
	case !t.KeepAlive:
		out = append(out, "Connection: close\r\n"...)
	case t.HTTP10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

// LocalAnswer is what lb answers a request with, itself.
type LocalAnswer struct {
	Status int
	// Extra holds field lines to add, each ending in CRLF.
	Extra string
	// Body and ContentType: default the status and its reason, text/plain
	// (when Extra is empty too).
	Body, ContentType string
	// KeepAlive: the connection stays for the next request.
	KeepAlive bool
}

// AppendAnswer appends a complete response lb makes itself to t's
// request: the status line (with RFC 9110's reason phrase), a's extra
// field lines, Content-Type, Content-Length, Cache-Control: no-cache, the
// Connection field the connection's fate needs (close; keep-alive for an
// HTTP/1.0 client that keeps it), and the body, except to a HEAD request
// (RFC 9110 9.3.2: the fields are those of a GET, the body is not sent, so
// a connection kept after it stays in step).
func AppendAnswer(out []byte, a LocalAnswer, t *Txn) []byte {
	text := StatusText(a.Status)
	body := a.Body
	if body == "" && a.Extra == "" {
		body = strconv.Itoa(a.Status) + " " + text + "\n"
	}
	ctype := a.ContentType
	if ctype == "" {
		ctype = "text/plain"
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(a.Status), 10)
	out = append(out, ' ')
	out = append(out, text...)
	out = append(out, "\r\n"...)
	out = append(out, a.Extra...)
	out = append(out, "Content-Type: "...)
	out = append(out, ctype...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\nCache-Control: no-cache\r\n"...)
	switch {
	case !a.KeepAlive:
		out = append(out, "Connection: close\r\n"...)
	case t.HTTP10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, "\r\n"...)
	if string(t.Method()) == "HEAD" {
		return out
	}
	return append(out, body...)
}

// RuleStatus is the status a terminal rule answers with: its own, or the
// action's default (redirect 302, deny 403 for requests and 502 for
// responses, return 200).
func RuleStatus(rl *Rule, response bool) int {
	switch {
	case rl.Status != 0:
		return rl.Status
	case rl.Action == Redirect:
		return 302
	case rl.Action == Deny && response:
		return 502
	case rl.Action == Deny && rl.Limit != 0, rl.Action == Tarpit:
		return 429
	case rl.Action == Deny:
		return 403
	}
	return 200
}

// RuleAnswer is the answer of a terminal rule to t's request.
func RuleAnswer(rl *Rule, response, keepAlive bool, t *Txn) LocalAnswer {
	a := LocalAnswer{Status: RuleStatus(rl, response), Body: rl.Body, ContentType: rl.ContentType, KeepAlive: keepAlive}
	if rl.Action == Redirect {
		loc := rl.Location
		if rl.Scheme != "" {
			loc = string(t.location)
		}
		a.Extra = "Location: " + loc + "\r\n"
	}
	if t.RetryAfter > 0 && !response {
		a.Extra = "Retry-After: " + strconv.Itoa(t.RetryAfter) + "\r\n"
		if a.Body == "" {
			a.Body = strconv.Itoa(a.Status) + " " + StatusText(a.Status) + "\n"
		}
	}
	return a
}

// appendFields appends a head's field lines to forward: as received, but
// the hop-by-hop ones (Upgrade stays when upgrade), those the rules in mask
// delete, and the framing fields, written once in canonical form.
func appendFields(out []byte, headers []Header, options [][]byte, upgrade bool, p *parser, rules []Rule, mask uint64) []byte {
	framing := false
	for _, f := range headers {
		switch {
		case isFraming(f.Name):
			if !framing {
				framing = true
				out = appendFraming(out, f, headers, p.clSeen, p.cl)
			}
			continue
		case hopByHop(f.Name, options) && !(upgrade && equalFold(f.Name, "upgrade")):
			continue
		case mask != 0 && Dropped(rules, mask, f.Name):
			continue
		}
		out = appendField(out, f.Name, f.Value)
	}
	return out
}

// appendStartLine appends the first line of line (with its CRLF).
func appendStartLine(out, line []byte) []byte {
	for i := 0; i+1 < len(line); i++ {
		if line[i] == '\r' && line[i+1] == '\n' {
			return append(out, line[:i+2]...)
		}
	}
	return out
}

func appendField(out, name, value []byte) []byte {
	out = append(out, name...)
	out = append(out, ": "...)
	out = append(out, value...)
	return append(out, "\r\n"...)
}

func isFraming(name []byte) bool {
	return equalFold(name, "content-length") || equalFold(name, "transfer-encoding")
}

// appendFraming writes the message's framing in canonical form in place of
// f, its first framing field: the parser guarantees there is either one
// Content-Length (value cl) or Transfer-Encoding lines, never both.
func appendFraming(out []byte, f Header, headers []Header, clSeen bool, cl int64) []byte {
	if clSeen {
		if len(f.Value) > 0 && (f.Value[0] != '0' || len(f.Value) == 1) {
			return appendField(out, f.Name, f.Value) // already canonical
		}
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, cl, 10)
		return append(out, "\r\n"...)
	}
	// Transfer-Encoding: the codings of every line, in order, without the
	// empty list elements RFC 9110 5.6.1 tells recipients to ignore.
	lines, canonical := 0, true
	for _, h := range headers {
		if equalFold(h.Name, "transfer-encoding") {
			lines++
			if !canonicalList(h.Value) {
				canonical = false
			}
		}
	}
	if lines == 1 && canonical {
		return appendField(out, f.Name, f.Value)
	}
	out = append(out, "Transfer-Encoding: "...)
	first := true
	for _, h := range headers {
		if !equalFold(h.Name, "transfer-encoding") {
			continue
		}
		v := h.Value
		for i := 0; i <= len(v); {
			e0, e1, next := nextElem(v, i, len(v))
			i = next
			if e0 == e1 {
				continue
			}
			if !first {
				out = append(out, ", "...)
			}
			first = false
			out = append(out, v[e0:e1]...)
		}
	}
	return append(out, "\r\n"...)
}

// canonicalList reports whether a list value is written as its non-empty
// elements joined by ", ".
func canonicalList(v []byte) bool {
	n := 0
	for i := 0; i <= len(v); {
		e0, e1, next := nextElem(v, i, len(v))
		if e0 == e1 {
			return false
		}
		// The element must start right after ", " (or at 0) and end at
		// the comma (or the end).
		if e0 != i || (next <= len(v) && e1 != next-1) || (next > len(v) && e1 != len(v)) {
			return false
		}
		n++
		i = next
		if i < len(v) {
			if v[i] != ' ' {
				return false
			}
			i++
		}
	}
	return n > 0
}

// hopByHop reports whether a field must not be forwarded: the fields RFC
// 9110 7.6.1 and RFC 9112 name as connection-specific, and every field the
// message's Connection field nominates, except the framing fields (lb
// passes bodies on without re-framing them) and Host (RFC 9112 3.2: an
// HTTP/1.1 request must carry it), which a client cannot have removed.
func hopByHop(name []byte, nominated [][]byte) bool {
	for _, h := range hopFields {
		if equalFold(name, h) {
			return true
		}
	}
	for _, n := range nominated {
		if equalFoldBytes(name, n) && !equalFold(n, "transfer-encoding") && !equalFold(n, "content-length") &&
			!equalFold(n, "host") {
			return true
		}
	}
	return false
}

// hopFields are the connection-specific fields of RFC 9110 7.6.1 (and
// Keep-Alive, Proxy-Connection of old HTTP/1.0 practice).
var hopFields = [...]string{"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
	"proxy-authenticate", "proxy-authorization"}

func equalFoldBytes(a, b []byte) bool {
	return equalFold(a, unsafe.String(unsafe.SliceData(b), len(b)))
}

// StatusText returns RFC 9110's reason phrase for status ("Status" for a
// code it does not name).
func StatusText(status int) string {
	if s, ok := statusText[status]; ok {
		return s
	}
	return "Status"
}

// statusText holds the reason phrases of RFC 9110 section 15 (and RFC 6585
// for 429 and 431).
var statusText = map[int]string{
	100: "Continue", 101: "Switching Protocols",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
	205: "Reset Content", 206: "Partial Content",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
	408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
	413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
	417: "Expectation Failed", 421: "Misdirected Request", 422: "Unprocessable Content", 426: "Upgrade Required",
	428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}
