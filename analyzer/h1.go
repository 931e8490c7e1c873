package analyzer

import (
	"encoding/binary"
	"strconv"
)

// HTTP/1.x head parsing shared by Request and Response.
//
// Both parsers are resumable state machines: a call validates the bytes it
// has not seen yet, left to right, records what it learnt as offsets, and
// stops at the end of the buffer (ErrIncomplete), at the first invalid byte
// (*Error), or at the CRLF that ends the head (nil). Every verdict depends
// only on the bytes up to the position where it is taken, so feeding a head
// in any number of pieces gives exactly the result of feeding it whole, and a
// prefix either fails the same way or is incomplete. Offsets rather than
// slices are kept between calls, so the caller may move or grow its buffer;
// the public slices are made from the buffer of the call that completes.

// Version is an HTTP/1.x protocol version. The zero value means "not parsed".
type Version uint8

// The versions the parsers accept.
const (
	// HTTP10 is HTTP/1.0.
	HTTP10 Version = 10
	// HTTP11 is HTTP/1.1.
	HTTP11 Version = 11
)

// String returns "HTTP/1.0", "HTTP/1.1", or "HTTP/?" for the zero value.
func (v Version) String() string {
	switch v {
	case HTTP10:
		return "HTTP/1.0"
	case HTTP11:
		return "HTTP/1.1"
	}
	return "HTTP/?"
}

// TargetForm is the form of a request-target (RFC 9112 3.2).
type TargetForm uint8

// The request-target forms.
const (
	// FormOrigin is absolute-path ["?" query]: "/index.html?x=1" (3.2.1).
	FormOrigin TargetForm = iota
	// FormAbsolute is an absolute URI: "http://example.com/x" (3.2.2).
	// Only the http and https schemes are accepted.
	FormAbsolute
	// FormAuthority is host ":" port, used only by CONNECT (3.2.3).
	FormAuthority
	// FormAsterisk is "*", used only by OPTIONS (3.2.4).
	FormAsterisk
)

var formNames = [...]string{FormOrigin: "origin-form", FormAbsolute: "absolute-form", FormAuthority: "authority-form", FormAsterisk: "asterisk-form"}

// String names the form as RFC 9112 does ("origin-form"...).
func (f TargetForm) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return "form(?)"
}

// Header is one field line of a parsed head. Name and Value alias the buffer
// passed to the Parse call that returned nil: they are valid until that
// buffer's bytes are overwritten, and must be copied to be kept longer. Their
// capacity is clipped, so appending to them never writes into the buffer.
type Header struct {
	// Name is the field name as received (case preserved); never empty.
	Name []byte
	// Value is the field value without its leading and trailing whitespace;
	// it may be empty. Repeated fields are not combined.
	Value []byte
}

// state is the position of the head parsers' state machine. The start-line
// states differ between requests and responses; the field-line states are
// shared. Transitions only move forward through a line, except that
// sLeadLF returns to sStart (an ignored empty line) and sValueLF returns to
// sLineStart (next field line). sDone is final; an error is kept in
// parser.err instead of a state.
type state uint8

const (
	sStart  state = iota // before the start line; CR here begins an empty line
	sLeadLF              // CR of an empty line before the start line seen

	// Request line.
	sMethod       // in the method
	sTargetStart  // SP after the method seen; first target byte next
	sPath         // in the path of origin-form or absolute-form
	sPathPct1     // '%' seen in the path; first hex digit next
	sPathPct2     // second hex digit next
	sQuery        // after '?' in the target
	sAsterisk     // "*" seen; SP next
	sScheme       // in the scheme of absolute-form
	sSlash1       // "scheme:" seen; first '/' next
	sSlash2       // second '/' next
	sAuthority    // in the authority of absolute-form or authority-form
	sReqVersion   // in "HTTP/x.y" of the request line
	sReqVersionCR // version complete; CR next
	sReqLineLF    // CR ending the request line seen; LF next

	// Status line.
	sResVersion   // in "HTTP/x.y" of the status line
	sResVersionSP // version complete; SP next
	sStatus       // in the three status digits
	sStatusEnd    // three digits seen; SP or CR next
	sReason       // in the reason phrase
	sResLineLF    // CR ending the status line seen; LF next

	// Field lines, shared.
	sLineStart // at the start of a field line, or of the final empty line
	sName      // in a field name
	sValue     // after the colon, until CR
	sValueLF   // CR ending a field line seen; LF next
	sFinalLF   // CR of the final empty line seen; LF next
	sDone      // the head is complete
)

// methodKind is what the parsers need to know about a request method.
type methodKind uint8

const (
	mOther methodKind = iota
	mConnect
	mOptions
	mHead
)

func methodOf(m []byte) methodKind {
	// string(m) == "..." does not allocate.
	switch {
	case string(m) == "CONNECT":
		return mConnect
	case string(m) == "OPTIONS":
		return mOptions
	case string(m) == "HEAD":
		return mHead
	}
	return mOther
}

// span is [off, end) in the message buffer.
type span struct{ off, end int }

// fieldSpan locates one field line's name and trimmed value.
type fieldSpan struct{ name, value span }

// parser is the state shared by Request and Response: where the scan is, and
// everything learnt so far, as offsets into the caller's buffer.
type parser struct {
	pos   int    // bytes of the buffer validated so far
	state state  // what pos is expected to hold
	err   *Error // set once; every later call returns it
	resp  bool   // parsing a response: every error is a 502

	skip int // offset of the start line (bytes of ignored empty lines)

	// Request line.
	mEnd       int        // end of the method (it starts at skip)
	method     methodKind // set at the end of the method
	target     span       // request-target
	authority  span       // authority of absolute-form / authority-form
	form       TargetForm // set at the first target byte
	vi         uint8      // bytes of "HTTP/x.y" seen
	major      byte       // version digits as read; '1' once the start line passed
	minor      byte       // '0' or '1' once the start line passed
	status     int        // status code (responses)
	statusLen  uint8      // status digits seen
	reasonSpan span       // reason phrase (responses)

	// Field lines.
	lineStart int // start of the current field line
	nameEnd   int // offset of the colon of the current field line
	fields    []fieldSpan
	options   []span // Connection options, in order

	// Framing and connection semantics, from the fields seen so far.
	clSeen      bool  // a Content-Length field was seen
	cl          int64 // its value
	teSeen      bool  // a Transfer-Encoding field was seen
	chunked     bool  // "chunked" was its last coding (anything after it fails)
	otherCoding bool  // a coding other than chunked was seen
	hostSeen    bool
	host        span
	connClose   bool // Connection: close
	connKeep    bool // Connection: keep-alive
	connUpgrade bool // Connection: upgrade
	upgrade     bool // a non-empty Upgrade field was seen
	expect100   bool // Expect: 100-continue
	teTrailers  bool // TE: trailers
}

// reset empties p for a new message, keeping the capacity of its slices.
func (p *parser) reset() {
	fields, options := p.fields[:0], p.options[:0]
	*p = parser{fields: fields, options: options}
}

// advance runs the start line (request line, or status line for a
// response) and then the field lines over buf, as far as buf and
// lim.MaxHead allow; lim has its defaults applied. It is the part of
// Request.Parse and Response.Parse they share, with their contract: it
// returns nil once the head is complete (first is true on the call that
// completed it), ErrIncomplete, or the message's *Error, which later calls
// return again.
func (p *parser) advance(buf []byte, lim *Limits) (first bool, err error) {
	if p.err != nil {
		return false, p.err
	}
	if len(buf) < p.pos {
		p.fail(500, "buffer shrank between parse calls")
		return false, p.err
	}
	if p.state == sDone {
		return false, nil
	}
	head := buf
	if len(head) > lim.MaxHead {
		head = head[:lim.MaxHead]
	}
	if p.state < sLineStart {
		if p.resp {
			p.statusLine(head)
		} else {
			p.requestLine(head, lim)
		}
	}
	if p.err == nil && p.state >= sLineStart {
		p.fieldLines(head, lim)
	}
	switch {
	case p.err != nil:
		return false, p.err
	case p.state == sDone:
		return true, nil
	case p.pos >= lim.MaxHead:
		p.fail(431, "head over limit "+strconv.Itoa(lim.MaxHead)+" bytes") // 502 for a response
		return false, p.err
	}
	return false, ErrIncomplete
}

// fail records the first error of the message. Responses always fail with
// 502 (RFC 9112 and HAProxy: an invalid response is a bad gateway).
func (p *parser) fail(status int, reason string) {
	if p.resp {
		status = 502
	}
	p.err = &Error{Status: status, Reason: reason}
}

// version returns the accepted version (valid once the start line passed).
func (p *parser) version() Version {
	if p.minor == '0' {
		return HTTP10
	}
	return HTTP11
}

// Byte classes, from RFC 9110 5.6.2 (tchar), 5.5 (field values) and RFC
// 3986 (URI parts).
const (
	cToken  uint8 = 1 << iota // tchar
	cValue                    // field-vchar / SP / HTAB: not a CTL except HTAB, obs-text allowed
	cPath                     // pchar / "/" except "%" (checked separately)
	cQuery                    // VCHAR except "#" (see the query note in Request.Parse)
	cAuth                     // bytes that may appear in an authority: unreserved / sub-delims / ":" / "[" / "]" / "%"
	cHost                     // reg-name bytes except "%": unreserved / sub-delims but not ","
	cHex                      // HEXDIG
	cScheme                   // ALPHA / DIGIT / "+" / "-" / "."
)

var chars = func() (t [256]uint8) {
	in := func(c int, set string) bool {
		for i := 0; i < len(set); i++ {
			if int(set[i]) == c {
				return true
			}
		}
		return false
	}
	for c := 0; c < 256; c++ {
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		digit := '0' <= c && c <= '9'
		unreserved := alpha || digit || in(c, "-._~")
		subDelim := in(c, "!$&'()*+,;=")
		if alpha || digit || in(c, "!#$%&'*+-.^_`|~") {
			t[c] |= cToken
		}
		if c == '\t' || c >= ' ' && c != 0x7f {
			t[c] |= cValue
		}
		if unreserved || subDelim || in(c, ":@/") {
			t[c] |= cPath
		}
		if c > ' ' && c < 0x7f && c != '#' {
			t[c] |= cQuery
		}
		if unreserved || subDelim || in(c, ":[]%") {
			t[c] |= cAuth
		}
		if (unreserved || subDelim) && c != ',' {
			t[c] |= cHost
		}
		if digit || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' {
			t[c] |= cHex
		}
		if alpha || digit || in(c, "+-.") {
			t[c] |= cScheme
		}
	}
	return t
}()

func isToken(b byte) bool { return chars[b]&cToken != 0 }

// versionChar reports whether b may be byte i of "HTTP/" DIGIT "." DIGIT
// (RFC 9112 2.3; the name is case-sensitive).
func versionChar(i uint8, b byte) bool {
	switch i {
	case 0:
		return b == 'H'
	case 1, 2:
		return b == 'T'
	case 3:
		return b == 'P'
	case 4:
		return b == '/'
	case 6:
		return b == '.'
	}
	return '0' <= b && b <= '9'
}

// versionByte feeds byte b of a version; it returns false when b is invalid.
func (p *parser) versionByte(b byte) bool {
	if !versionChar(p.vi, b) {
		return false
	}
	switch p.vi {
	case 5:
		p.major = b
	case 7:
		p.minor = b
	}
	p.vi++
	return true
}

// supported reports whether the version read is HTTP/1.0 or HTTP/1.1.
func (p *parser) supported() bool {
	return p.major == '1' && (p.minor == '0' || p.minor == '1')
}

// fieldLines runs the shared field-line states over buf[p.pos:], which is
// clipped by the caller to MaxHead. It stops at the end of buf, on error, or
// once the final CRLF is consumed (state sDone): bytes after the head are
// never looked at.
func (p *parser) fieldLines(buf []byte, lim *Limits) {
	for p.pos < len(buf) {
		switch p.state {
		case sLineStart:
			b := buf[p.pos]
			switch {
			case isToken(b):
				if len(p.fields) >= lim.MaxHeaders {
					p.fail(431, "header count over limit "+strconv.Itoa(lim.MaxHeaders))
					return
				}
				p.lineStart = p.pos
				p.state = sName
			case b == '\r':
				p.state = sFinalLF
			case b == ' ' || b == '\t':
				// RFC 9112 5.2 (obs-fold) and 2.2 (whitespace
				// between the start line and the first field):
				// reject rather than unfold.
				p.fail(400, "obs-fold or leading whitespace in field line")
				return
			case b == '\n':
				p.fail(400, "bare lf line ending")
				return
			case b == ':':
				p.fail(400, "empty field name")
				return
			default:
				p.fail(400, "invalid character in field name")
				return
			}
			p.pos++
		case sName:
			i := p.pos
			for i < len(buf) && isToken(buf[i]) {
				i++
			}
			p.pos = i
			if i == len(buf) {
				return
			}
			switch buf[i] {
			case ':':
				p.nameEnd = i
				p.state = sValue
				p.pos++
			case ' ', '\t':
				// RFC 9112 5.1: MUST reject with 400.
				p.fail(400, "whitespace before colon")
				return
			case '\r', '\n':
				p.fail(400, "field line without colon")
				return
			default:
				p.fail(400, "invalid character in field name")
				return
			}
		case sValue:
			i := skipValue(buf, p.pos)
			p.pos = i
			if i == len(buf) {
				return
			}
			switch buf[i] {
			case '\r':
				p.state = sValueLF
				p.pos++
			case '\n':
				p.fail(400, "bare lf line ending")
				return
			case 0:
				p.fail(400, "nul in field value")
				return
			default:
				p.fail(400, "control character in field value")
				return
			}
		case sValueLF:
			if buf[p.pos] != '\n' {
				p.fail(400, "bare cr")
				return
			}
			p.fieldLine(buf, p.pos-1)
			if p.err != nil {
				return
			}
			p.pos++
			p.state = sLineStart
		case sFinalLF:
			if buf[p.pos] != '\n' {
				p.fail(400, "bare cr")
				return
			}
			p.pos++
			p.state = sDone
			return
		default:
			return
		}
	}
}

// skipValue returns the offset of the first byte from buf[i:] that cannot
// be in a field value (CR ends a valid one), or len(buf). Eight bytes are
// checked at a time: a word without bytes below 0x20 or equal to 0x7f is all
// value bytes; the filter may flag a valid word (HTAB, or a borrow), which
// is then checked byte by byte.
func skipValue(buf []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for {
		for i+8 <= len(buf) {
			x := binary.LittleEndian.Uint64(buf[i:])
			y := x ^ 0x7f*ones
			if (x-0x20*ones)&^x&highs|(y-ones)&^y&highs != 0 {
				break
			}
			i += 8
		}
		end := min(i+8, len(buf))
		for ; i < end; i++ {
			if chars[buf[i]]&cValue == 0 {
				return i
			}
		}
		if i == len(buf) {
			return i
		}
	}
}

// trimOWS returns [i, j) without leading and trailing SP and HTAB.
func trimOWS(buf []byte, i, j int) (int, int) {
	for i < j && (buf[i] == ' ' || buf[i] == '\t') {
		i++
	}
	for j > i && (buf[j-1] == ' ' || buf[j-1] == '\t') {
		j--
	}
	return i, j
}

// nextElem splits the comma-separated list buf[i:end] (RFC 9110 5.6.1): it
// returns the first element's bounds without OWS, and where the rest starts
// (end+1 when there is no rest). Quoted strings are not understood; callers
// only use it on lists whose elements cannot contain commas, or loosely.
func nextElem(buf []byte, i, end int) (e0, e1, next int) {
	j := i
	for j < end && buf[j] != ',' {
		j++
	}
	e0, e1 = trimOWS(buf, i, j)
	return e0, e1, j + 1
}

// eqFold reports whether b equals the lowercase ASCII string s, ignoring
// ASCII case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func allTokens(b []byte) bool {
	for _, c := range b {
		if !isToken(c) {
			return false
		}
	}
	return len(b) > 0
}

// keepAlive is the connection persistence the message asks for (RFC 9112
// 9.3): HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive"
// and without "close".
func (p *parser) keepAlive() bool {
	if p.connClose {
		return false
	}
	return p.minor == '1' || p.connKeep
}

// fill copies the recorded spans into the public slices, aliasing buf.
func (p *parser) fill(buf []byte, headers []Header, options [][]byte) ([]Header, [][]byte) {
	clear(headers)
	headers = headers[:0]
	for _, f := range p.fields {
		headers = append(headers, Header{Name: sub(buf, f.name), Value: sub(buf, f.value)})
	}
	clear(options)
	options = options[:0]
	for _, o := range p.options {
		options = append(options, sub(buf, o))
	}
	return headers, options
}

// sub returns buf[s.off:s.end] with its capacity clipped.
func sub(buf []byte, s span) []byte { return buf[s.off:s.end:s.end] }
