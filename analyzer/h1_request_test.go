package analyzer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// reqCase is one raw request and the summary its parse must give (see
// reqSummary). lim's zero value means DefaultLimits.
type reqCase struct {
	name string
	in   string
	want string
	lim  Limits
}

const host = "Host: a.example\r\n"

// sizedRequest returns a valid request whose head is exactly n bytes.
func sizedRequest(n int) string {
	pre, post := "GET / HTTP/1.1\r\n"+host+"X-Fill: ", "\r\n\r\n"
	return pre + strings.Repeat("f", n-len(pre)-len(post)) + post
}

// fields returns n field lines "X-Nk: v".
func fields(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-N%d: v\r\n", i)
	}
	return b.String()
}

var reqCases = []reqCase{
	// Basics (RFC 9112 3, 5).
	{"get", "GET / HTTP/1.1\r\n" + host + "\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"get with query", "GET /a/b?x=1&y=%20 HTTP/1.1\r\n" + host + "\r\n", `GET /a/b?x=1&y=%20 HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", `GET / HTTP/1.0 origin-form host=nil hdrs=0 close`, Limits{}},
	{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", `GET / HTTP/1.0 origin-form host=nil hdrs=1 opts=keep-alive`, Limits{}},
	{"http/1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", `GET / HTTP/1.0 origin-form host=nil hdrs=1 close opts=keep-alive,close`, Limits{}},
	{"http/1.1 close", "GET / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=2 close opts=close`, Limits{}},
	{"connection options nominate fields", "GET / HTTP/1.1\r\n" + host + "Connection: X-Foo, , close\r\nConnection: Keep-Alive\r\nX-Foo: 1\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=4 close opts=X-Foo,close,Keep-Alive`, Limits{}},
	{"connection option not a token", "GET / HTTP/1.1\r\n" + host + "Connection: a b\r\n\r\n", "400 invalid connection option", Limits{}},
	{"extension method", "PURGE /x HTTP/1.1\r\n" + host + "\r\n", `PURGE /x HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"lowercase method is another method", "get / HTTP/1.1\r\n" + host + "\r\n", `get / HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"head", "HEAD /x HTTP/1.1\r\n" + host + "\r\n", `HEAD /x HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"ows around value trimmed", "GET / HTTP/1.1\r\nHost: \t a.example \t\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"empty field value", "GET / HTTP/1.1\r\n" + host + "X-Empty:\r\nX-Blank:   \r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=3`, Limits{}},
	{"obs-text in value", "GET / HTTP/1.1\r\n" + host + "X-Name: caf\xc3\xa9\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=2`, Limits{}},
	{"colon in value", "GET / HTTP/1.1\r\n" + host + "X-Time: 12:30:00\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=2`, Limits{}},
	{"tchar field name", "GET / HTTP/1.1\r\n" + host + "X-My_Header!#$%&'*+.^`|~: v\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=2`, Limits{}},
	{"field names are case-insensitive", "POST / HTTP/1.1\r\nhOST: a.example\r\ncontent-LENGTH: 3\r\n\r\nabc", `POST / HTTP/1.1 origin-form host="a.example" hdrs=2 cl=3 rest=3`, Limits{}},

	// Leading empty lines (RFC 9112 2.2) and line endings.
	{"leading crlf ignored", "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=1 skip=4`, Limits{}},
	{"leading bare lf", "\nGET / HTTP/1.1\r\n" + host + "\r\n", "400 bare lf line ending", Limits{}},
	{"leading bare cr", "\rGET / HTTP/1.1\r\n" + host + "\r\n", "400 bare cr", Limits{}},
	{"lf-only request line", "GET / HTTP/1.1\nHost: a.example\n\n", "400 bare lf line ending", Limits{}},
	{"lf-only field line", "GET / HTTP/1.1\r\nHost: a.example\n\r\n", "400 bare lf line ending", Limits{}},
	{"lf-only final line", "GET / HTTP/1.1\r\n" + host + "\n", "400 bare lf line ending", Limits{}},
	{"bare cr in request line", "GET / HTTP/1.1\rHost: a.example\r\n\r\n", "400 bare cr", Limits{}},
	{"bare cr in value", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", "400 bare cr", Limits{}},
	{"bare cr final line", "GET / HTTP/1.1\r\n" + host + "\rX", "400 bare cr", Limits{}},

	// Request line syntax (RFC 9112 3).
	{"double space after method", "GET  / HTTP/1.1\r\n" + host + "\r\n", "400 extra space in request line", Limits{}},
	{"double space after target", "GET /  HTTP/1.1\r\n" + host + "\r\n", "400 invalid http version", Limits{}},
	{"tab separator", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in method", Limits{}},
	{"leading space", " GET / HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in method", Limits{}},
	{"bad method char early", "G@T", "400 invalid character in method", Limits{}},
	{"tls client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "400 invalid character in method", Limits{}},
	{"http/0.9", "GET /\r\n\r\n", "400 request line without http version", Limits{}},
	{"missing version lf", "GET /\n", "400 request line without http version", Limits{}},
	{"lowercase version", "GET / http/1.1\r\n" + host + "\r\n", "400 invalid http version", Limits{}},
	{"version trailing space", "GET / HTTP/1.1 \r\n" + host + "\r\n", "400 invalid http version", Limits{}},
	{"version two-digit minor", "GET / HTTP/1.10\r\n" + host + "\r\n", "400 invalid http version", Limits{}},
	{"version without minor", "GET / HTTP/1\r\n" + host + "\r\n", "400 invalid http version", Limits{}},
	{"http/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", "505 unsupported http version", Limits{}},
	{"http/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", "505 unsupported http version", Limits{}},
	{"http/0.9 version", "GET / HTTP/0.9\r\n\r\n", "505 unsupported http version", Limits{}},
	{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "400 asterisk-form without options", Limits{}},

	// Request-target forms (RFC 9112 3.2).
	{"absolute-form", "GET http://b.example/p?q=1 HTTP/1.1\r\nHost: b.example\r\n\r\n", `GET http://b.example/p?q=1 HTTP/1.1 absolute-form host="b.example" hdrs=1`, Limits{}},
	{"absolute-form host differs", "GET http://b.example/p HTTP/1.1\r\nHost: other.example\r\n\r\n", "400 host header differs from the target's authority", Limits{}},
	{"absolute-form https port", "GET HTTPS://b.example:8443/ HTTP/1.1\r\nHost: b.example:8443\r\n\r\n", `GET HTTPS://b.example:8443/ HTTP/1.1 absolute-form host="b.example:8443" hdrs=1`, Limits{}},
	{"absolute-form no path", "GET http://b.example HTTP/1.1\r\nHost: b.example\r\n\r\n", `GET http://b.example HTTP/1.1 absolute-form host="b.example" hdrs=1`, Limits{}},
	{"absolute-form query without path", "GET http://b.example:80?x=1 HTTP/1.1\r\nHost: b.example:80\r\n\r\n", `GET http://b.example:80?x=1 HTTP/1.1 absolute-form host="b.example:80" hdrs=1`, Limits{}},
	{"absolute-form http/1.0", "GET http://b.example/ HTTP/1.0\r\n\r\n", `GET http://b.example/ HTTP/1.0 absolute-form host="b.example" hdrs=0 close`, Limits{}},
	{"absolute-form still needs host", "GET http://b.example/ HTTP/1.1\r\n\r\n", "400 missing host header", Limits{}},
	{"absolute-form ftp", "GET ftp://b.example/ HTTP/1.1\r\n" + host + "\r\n", "400 unsupported scheme in absolute-form", Limits{}},
	{"absolute-form userinfo", "GET http://user:pw@b.example/ HTTP/1.1\r\n" + host + "\r\n", "400 userinfo in request-target", Limits{}},
	{"absolute-form empty host", "GET http:///x HTTP/1.1\r\n" + host + "\r\n", "400 invalid authority in request-target", Limits{}},
	{"absolute-form one slash", "GET http:/x HTTP/1.1\r\n" + host + "\r\n", "400 absolute-form without authority", Limits{}},
	{"absolute-form bad port", "GET http://b.example:8x/ HTTP/1.1\r\n" + host + "\r\n", "400 invalid authority in request-target", Limits{}},
	{"authority-form without connect", "GET b.example:443 HTTP/1.1\r\n" + host + "\r\n", "400 unsupported scheme in absolute-form", Limits{}},
	{"connect", "CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n", `CONNECT b.example:443 HTTP/1.1 authority-form host="b.example:443" hdrs=1`, Limits{}},
	{"connect ipv6", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", `CONNECT [2001:db8::1]:443 HTTP/1.1 authority-form host="[2001:db8::1]:443" hdrs=1`, Limits{}},
	{"connect without port", "CONNECT b.example HTTP/1.1\r\nHost: b.example\r\n\r\n", "400 invalid authority in request-target", Limits{}},
	{"connect port over 65535", "CONNECT b.example:65536 HTTP/1.1\r\n" + host + "\r\n", "400 invalid authority in request-target", Limits{}},
	{"connect origin-form", "CONNECT / HTTP/1.1\r\n" + host + "\r\n", "400 connect target not in authority-form", Limits{}},
	{"connect asterisk", "CONNECT * HTTP/1.1\r\n" + host + "\r\n", "400 connect target not in authority-form", Limits{}},
	{"connect with path", "CONNECT b.example:443/x HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in request-target", Limits{}},
	{"connect with content", "CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\nContent-Length: 5\r\n\r\nhello", "400 connect request with content", Limits{}},
	{"connect with chunked", "CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\nTransfer-Encoding: chunked\r\n\r\n", "400 connect request with content", Limits{}},
	{"options asterisk", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", `OPTIONS * HTTP/1.1 asterisk-form host="a.example" hdrs=1`, Limits{}},
	{"options origin-form", "OPTIONS /x HTTP/1.1\r\n" + host + "\r\n", `OPTIONS /x HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"asterisk without options", "GET * HTTP/1.1\r\n" + host + "\r\n", "400 asterisk-form without options", Limits{}},
	{"asterisk with suffix", "OPTIONS *x HTTP/1.1\r\n" + host + "\r\n", "400 invalid asterisk-form", Limits{}},
	{"fragment", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", "400 fragment in request-target", Limits{}},
	{"fragment in query", "GET /a?x#b HTTP/1.1\r\n" + host + "\r\n", "400 fragment in request-target", Limits{}},
	{"bad percent-encoding", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", "400 invalid percent-encoding in request-target", Limits{}},
	{"truncated percent-encoding", "GET /a%4 HTTP/1.1\r\n" + host + "\r\n", "400 invalid percent-encoding in request-target", Limits{}},
	{"percent-encoding", "GET /%41%2f HTTP/1.1\r\n" + host + "\r\n", `GET /%41%2f HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"browser query bytes", "GET /s?q={a}|b^[1]%`\\ HTTP/1.1\r\n" + host + "\r\n", "GET /s?q={a}|b^[1]%`\\ HTTP/1.1 origin-form host=\"a.example\" hdrs=1", Limits{}},
	{"backslash in path", "GET /a\\..\\b HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in request-target", Limits{}},
	{"pipe in path", "GET /a|b HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in request-target", Limits{}},
	{"control byte in target", "GET /a\x01 HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in request-target", Limits{}},
	{"nul in target", "GET /\x00", "400 invalid character in request-target", Limits{}},
	{"non-ascii in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", "400 invalid character in request-target", Limits{}},
	{"target not a path", "GET ?x HTTP/1.1\r\n" + host + "\r\n", "400 invalid request-target", Limits{}},

	// Field line syntax (RFC 9112 5, RFC 9110 5.5).
	{"space before colon", "GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", "400 whitespace before colon", Limits{}},
	{"tab before colon", "GET / HTTP/1.1\r\n" + host + "Transfer-Encoding\t: chunked\r\n\r\n", "400 whitespace before colon", Limits{}},
	{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-Long: a\r\n b\r\n\r\n", "400 obs-fold or leading whitespace in field line", Limits{}},
	{"obs-fold tab", "GET / HTTP/1.1\r\n" + host + "X-Long: a\r\n\tb\r\n\r\n", "400 obs-fold or leading whitespace in field line", Limits{}},
	{"whitespace before first field", "GET / HTTP/1.1\r\n Host: a.example\r\n\r\n", "400 obs-fold or leading whitespace in field line", Limits{}},
	{"nul in value", "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n", "400 nul in field value", Limits{}},
	{"nul in name", "GET / HTTP/1.1\r\n" + host + "X\x00Y: a\r\n\r\n", "400 invalid character in field name", Limits{}},
	{"vertical tab in value", "GET / HTTP/1.1\r\n" + host + "X: a\x0bb\r\n\r\n", "400 control character in field value", Limits{}},
	{"del in value", "GET / HTTP/1.1\r\n" + host + "X: a\x7f\r\n\r\n", "400 control character in field value", Limits{}},
	{"empty field name", "GET / HTTP/1.1\r\n" + host + ": a\r\n\r\n", "400 empty field name", Limits{}},
	{"field without colon", "GET / HTTP/1.1\r\n" + host + "X-No-Colon\r\n\r\n", "400 field line without colon", Limits{}},
	{"separator in name", "GET / HTTP/1.1\r\n" + host + "X(Y): a\r\n\r\n", "400 invalid character in field name", Limits{}},
	{"non-ascii name", "GET / HTTP/1.1\r\n" + host + "X\xc3\xa9: a\r\n\r\n", "400 invalid character in field name", Limits{}},

	// Host (RFC 9112 3.2, RFC 9110 7.2).
	{"missing host", "GET / HTTP/1.1\r\n\r\n", "400 missing host header", Limits{}},
	{"duplicate host", "GET / HTTP/1.1\r\n" + host + host + "\r\n", "400 duplicate host header", Limits{}},
	{"duplicate host differing", "GET / HTTP/1.1\r\nHost: a.example\r\nhost: evil.example\r\n\r\n", "400 duplicate host header", Limits{}},
	{"duplicate host http/1.0", "GET / HTTP/1.0\r\n" + host + host + "\r\n", "400 duplicate host header", Limits{}},
	{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", `GET / HTTP/1.1 origin-form host="" hdrs=1`, Limits{}},
	{"host with port", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example:8080" hdrs=1`, Limits{}},
	{"host ipv6", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", `GET / HTTP/1.1 origin-form host="[::1]:8080" hdrs=1`, Limits{}},
	{"host with space", "GET / HTTP/1.1\r\nHost: a example\r\n\r\n", "400 invalid host header", Limits{}},
	{"host list", "GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", "400 invalid host header", Limits{}},
	{"host userinfo", "GET / HTTP/1.1\r\nHost: u@a.example\r\n\r\n", "400 invalid host header", Limits{}},
	{"host empty port", "GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n", "400 invalid host header", Limits{}},
	{"host port too big", "GET / HTTP/1.1\r\nHost: a.example:99999\r\n\r\n", "400 invalid host header", Limits{}},
	{"host with path", "GET / HTTP/1.1\r\nHost: a.example/x\r\n\r\n", "400 invalid host header", Limits{}},

	// Content-Length (RFC 9112 6.2, RFC 9110 8.6).
	{"content-length", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 cl=5 rest=5`, Limits{}},
	{"content-length zero", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 cl=0`, Limits{}},
	{"content-length leading zeros", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 007\r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 cl=7`, Limits{}},
	{"content-length ows", "POST /f HTTP/1.1\r\n" + host + "Content-Length:  5 \r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 cl=5`, Limits{}},
	{"content-length max", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775807\r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 cl=9223372036854775807`, Limits{}},
	{"content-length overflow", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775808\r\n\r\n", "400 content-length overflow", Limits{}},
	{"content-length huge", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999999\r\n\r\n", "400 content-length overflow", Limits{}},
	{"content-length plus", "POST /f HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello", "400 invalid content-length", Limits{}},
	{"content-length minus", "POST /f HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", "400 invalid content-length", Limits{}},
	{"content-length list differing", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 1,2\r\n\r\nab", "400 invalid content-length", Limits{}},
	{"content-length list identical", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 5, 5\r\n\r\nhello", "400 invalid content-length", Limits{}},
	{"content-length inner space", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 5 5\r\n\r\n", "400 invalid content-length", Limits{}},
	{"content-length hex", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 0x10\r\n\r\n", "400 invalid content-length", Limits{}},
	{"content-length empty", "POST /f HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n", "400 empty content-length", Limits{}},
	{"content-length duplicate identical", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "400 duplicate content-length", Limits{}},
	{"content-length duplicate differing", "POST /f HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400 duplicate content-length", Limits{}},

	// Transfer-Encoding and smuggling guards (RFC 9112 6.1, 6.3, 11.2).
	{"chunked", "POST /f HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 chunked rest=15`, Limits{}},
	{"chunked mixed case", "POST /f HTTP/1.1\r\n" + host + "Transfer-Encoding: ChUnKeD\r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 chunked`, Limits{}},
	{"chunked ows", "POST /f HTTP/1.1\r\n" + host + "Transfer-Encoding:\t chunked \r\n\r\n", `POST /f HTTP/1.1 origin-form host="a.example" hdrs=2 chunked`, Limits{}},
	{"cl.te", "POST / HTTP/1.1\r\n" + host + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", "400 transfer-encoding with content-length", Limits{}},
	{"te.cl", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", "400 content-length with transfer-encoding", Limits{}},
	{"te.te obfuscated second", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n", "400 chunked is not the final transfer coding", Limits{}},
	{"te space before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n", "400 whitespace before colon", Limits{}},
	{"te vertical tab", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\x0bchunked\r\n\r\n", "400 control character in field value", Limits{}},
	{"te obs-fold", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n , identity\r\n\r\n", "400 obs-fold or leading whitespace in field line", Limits{}},
	{"te folded empty first line", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n chunked\r\n\r\n", "400 empty transfer coding", Limits{}},
	{"xchunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n", "400 chunked is not the final transfer coding", Limits{}},
	{"chunked with trailing junk", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked-false\r\n\r\n", "400 chunked is not the final transfer coding", Limits{}},
	{"quoted chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \"chunked\"\r\n\r\n", "400 invalid transfer coding", Limits{}},
	{"chunked, identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n", "400 chunked is not the final transfer coding", Limits{}},
	{"identity, chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity, chunked\r\n\r\n", "501 unsupported transfer coding", Limits{}},
	{"gzip, chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", "501 unsupported transfer coding", Limits{}},
	{"gzip then chunked lines", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", "501 unsupported transfer coding", Limits{}},
	{"gzip only", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", "400 chunked is not the final transfer coding", Limits{}},
	{"chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", "400 transfer coding chunked applied twice", Limits{}},
	{"chunked twice lines", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "400 transfer coding chunked applied twice", Limits{}},
	{"chunked then gzip lines", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", "400 chunked is not the final transfer coding", Limits{}},
	{"chunked parameter", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;q=1\r\n\r\n", "400 invalid transfer coding", Limits{}},
	{"chunked trailing comma", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked,\r\n\r\n", `POST / HTTP/1.1 origin-form host="a.example" hdrs=2 chunked`, Limits{}},
	{"te empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n\r\n", "400 empty transfer coding", Limits{}},
	{"te in http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "400 transfer-encoding in http/1.0", Limits{}},
	{"te in http/1.0 with cl", "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "400 transfer-encoding with content-length", Limits{}},

	{"long name ending like content-length", "POST / HTTP/1.1\r\n" + host + "Content-Length" + strings.Repeat("a", 256) + ": 0\r\nContent-Length: 5\r\n\r\nhello", `POST / HTTP/1.1 origin-form host="a.example" hdrs=3 cl=5 rest=5`, Limits{}},
	{"space-prefixed content-length", "POST / HTTP/1.1\r\n" + host + " Content-Length: 5\r\n\r\nhello", "400 obs-fold or leading whitespace in field line", Limits{}},
	{"te with cr injection", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\rContent-Length: 5\r\n\r\n", "400 bare cr", Limits{}},

	// Expect, Upgrade, TE (RFC 9110 10.1.1, 7.8, 10.1.4).
	{"100-continue", "PUT /f HTTP/1.1\r\n" + host + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", `PUT /f HTTP/1.1 origin-form host="a.example" hdrs=3 cl=5 expect100`, Limits{}},
	{"100-continue mixed case", "PUT /f HTTP/1.1\r\n" + host + "Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n", `PUT /f HTTP/1.1 origin-form host="a.example" hdrs=3 cl=5 expect100`, Limits{}},
	{"100-continue http/1.0 ignored", "PUT /f HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", `PUT /f HTTP/1.0 origin-form host=nil hdrs=2 cl=5 close`, Limits{}},
	{"unknown expectation", "PUT /f HTTP/1.1\r\n" + host + "Expect: 200-ok\r\n\r\n", "417 unsupported expectation", Limits{}},
	{"100-continue plus unknown", "PUT /f HTTP/1.1\r\n" + host + "Expect: 100-continue, x\r\n\r\n", "417 unsupported expectation", Limits{}},
	{"websocket upgrade", "GET /chat HTTP/1.1\r\n" + host + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", `GET /chat HTTP/1.1 origin-form host="a.example" hdrs=5 upgrade opts=Upgrade`, Limits{}},
	{"h2c upgrade", "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=4 upgrade opts=Upgrade,HTTP2-Settings`, Limits{}},
	{"upgrade without connection option", "GET / HTTP/1.1\r\n" + host + "Upgrade: websocket\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=2`, Limits{}},
	{"connection upgrade without upgrade", "GET / HTTP/1.1\r\n" + host + "Connection: upgrade\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=2 opts=upgrade`, Limits{}},
	{"upgrade http/1.0 ignored", "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", `GET / HTTP/1.0 origin-form host=nil hdrs=2 close opts=upgrade`, Limits{}},
	{"te trailers", "GET / HTTP/1.1\r\n" + host + "TE: gzip;q=0.5, Trailers\r\nConnection: TE\r\n\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=3 te-trailers opts=TE`, Limits{}},

	// Pipelining: HeadLen stops at the first message.
	{"pipelined gets", "GET /a HTTP/1.1\r\n" + host + "\r\nGET /b HTTP/1.1\r\n" + host + "\r\n", `GET /a HTTP/1.1 origin-form host="a.example" hdrs=1 rest=36`, Limits{}},
	{"pipelined after body", "POST /a HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n", `POST /a HTTP/1.1 origin-form host="a.example" hdrs=2 cl=3 rest=22`, Limits{}},
	{"pipelined invalid second", "GET /a HTTP/1.1\r\n" + host + "\r\nGET /b\x00", `GET /a HTTP/1.1 origin-form host="a.example" hdrs=1 rest=7`, Limits{}},

	// Truncated heads.
	{"empty", "", "incomplete", Limits{}},
	{"method only", "GET", "incomplete", Limits{}},
	{"request line only", "GET / HTTP/1.1\r\n", "incomplete", Limits{}},
	{"no final crlf", "GET / HTTP/1.1\r\n" + host, "incomplete", Limits{}},
	{"final cr only", "GET / HTTP/1.1\r\n" + host + "\r", "incomplete", Limits{}},
	{"leading crlf only", "\r\n\r\n", "incomplete", Limits{}},

	// Limits.
	{"target at limit", "GET /" + strings.Repeat("a", 8191) + " HTTP/1.1\r\n" + host + "\r\n", `GET /` + strings.Repeat("a", 8191) + ` HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{}},
	{"target over limit", "GET /" + strings.Repeat("a", 8192) + " HTTP/1.1\r\n" + host + "\r\n", "414 request-target over limit 8192 bytes", Limits{}},
	{"target over small limit", "GET /abcd HTTP/1.1\r\n" + host + "\r\n", "414 request-target over limit 4 bytes", Limits{MaxTarget: 4}},
	{"target at small limit", "GET /abc HTTP/1.1\r\n" + host + "\r\n", `GET /abc HTTP/1.1 origin-form host="a.example" hdrs=1`, Limits{MaxTarget: 4}},
	{"headers at limit", "GET / HTTP/1.1\r\n" + host + fields(100) + "\r\n", `GET / HTTP/1.1 origin-form host="a.example" hdrs=101`, Limits{}},
	{"headers over limit", "GET / HTTP/1.1\r\n" + host + fields(101) + "\r\n", "431 header count over limit 101", Limits{}},
	{"headers over small limit", "GET / HTTP/1.1\r\n" + host + fields(2) + "\r\n", "431 header count over limit 2", Limits{MaxHeaders: 2}},
	{"head at limit", sizedRequest(15360), `GET / HTTP/1.1 origin-form host="a.example" hdrs=2`, Limits{}},
	{"head over limit", sizedRequest(15361), "431 head over limit 15360 bytes", Limits{}},
	{"head over small limit", "GET / HTTP/1.1\r\n" + host + "\r\n", "431 head over limit 20 bytes", Limits{MaxHead: 20}},
	{"leading crlf count in head limit", "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n", "431 head over limit 30 bytes", Limits{MaxHead: 30}},
}

// reqSummary renders a parse result for comparison: "incomplete", "<status>
// <reason>", or the parsed fields, where rest is the bytes after the head in
// a buffer of total bytes.
func reqSummary(r *Request, err error, total int) string {
	var e *Error
	switch {
	case err == ErrIncomplete:
		return "incomplete"
	case errors.As(err, &e):
		return fmt.Sprintf("%d %s", e.Status, e.Reason)
	case err != nil:
		return "unexpected error " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %s host=", r.Method, r.Target, r.Proto, r.Form)
	if r.Host == nil {
		b.WriteString("nil")
	} else {
		fmt.Fprintf(&b, "%q", r.Host)
	}
	fmt.Fprintf(&b, " hdrs=%d", len(r.Headers))
	if r.ContentLength >= 0 {
		fmt.Fprintf(&b, " cl=%d", r.ContentLength)
	}
	flags := []struct {
		on   bool
		name string
	}{{r.Chunked, "chunked"}, {!r.KeepAlive, "close"}, {r.Upgrade, "upgrade"}, {r.Expect100, "expect100"}, {r.TETrailers, "te-trailers"}}
	for _, f := range flags {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if len(r.ConnOptions) > 0 {
		fmt.Fprintf(&b, " opts=%s", bytes.Join(r.ConnOptions, []byte(",")))
	}
	if r.Skip > 0 {
		fmt.Fprintf(&b, " skip=%d", r.Skip)
	}
	if rest := total - r.HeadLen; rest != 0 {
		fmt.Fprintf(&b, " rest=%d", rest)
	}
	return b.String()
}

func TestRequestCorpus(t *testing.T) {
	for _, c := range reqCases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			var r Request
			if got := reqSummary(&r, r.Parse(in, c.lim), len(in)); got != c.want {
				t.Fatalf("Parse(%q)\n got %s\nwant %s", short(c.in), got, c.want)
			}
			// Asking again returns the same result.
			if got := reqSummary(&r, r.Parse(in, c.lim), len(in)); got != c.want {
				t.Errorf("second Parse(%q)\n got %s\nwant %s", short(c.in), got, c.want)
			}
			checkRequestSplits(t, in, c.lim, c.want)
		})
	}
}

// checkRequestSplits feeds in byte by byte to one Request, and in two
// pieces split at every point (the second in a moved buffer), and checks
// that every prefix is incomplete or already gives want.
func checkRequestSplits(t *testing.T, in []byte, lim Limits, want string) {
	t.Helper()
	var r Request
	got := "incomplete"
	for k := 0; k <= len(in) && got == "incomplete"; k++ {
		got = reqSummary(&r, r.Parse(in[:k], lim), len(in))
	}
	if got != want {
		t.Fatalf("byte by byte %q\n got %s\nwant %s", short(string(in)), got, want)
	}
	moved := make([]byte, len(in))
	for _, k := range splitPoints(len(in)) {
		r.Reset()
		if got := reqSummary(&r, r.Parse(in[:k], lim), len(in)); got != "incomplete" && got != want {
			t.Fatalf("prefix %q\n got %s\nwant incomplete or %s", short(string(in[:k])), got, want)
		}
		copy(moved, in)
		if got := reqSummary(&r, r.Parse(moved, lim), len(in)); got != want {
			t.Fatalf("split at %d of %q\n got %s\nwant %s", k, short(string(in)), got, want)
		}
	}
}

// splitPoints returns where to cut an input of n bytes in two: everywhere
// for inputs up to 2 KiB; for longer ones (the limit cases, made of one long
// run of identical bytes) the first and last 512 offsets and every 31st in
// between, which keeps the quadratic check fast under -race. The byte-by-byte
// feed still stops at every offset.
func splitPoints(n int) []int {
	var ks []int
	for k := 0; k <= n; k++ {
		if n <= 2048 || k < 512 || k > n-512 || k%31 == 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

// short abbreviates long inputs in failure messages.
func short(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%s...(%d bytes)...%s", s[:100], len(s), s[len(s)-60:])
	}
	return s
}

// TestRequestHeaderSlices checks what Headers, Method, Target and Host hold
// and that they alias the buffer of the completing call, not an earlier one.
func TestRequestHeaderSlices(t *testing.T) {
	in := "\r\nGET /p?q HTTP/1.1\r\nHost:  a.example \r\nX-Empty:\r\nX-Tab:\tv 1\t\r\n\r\nbody"
	var r Request
	first := []byte(in[:20])
	if err := r.Parse(first, Limits{}); err != ErrIncomplete {
		t.Fatalf("Parse(prefix) = %v; want ErrIncomplete", err)
	}
	buf := []byte(in)
	if err := r.Parse(buf, Limits{}); err != nil {
		t.Fatalf("Parse = %v; want nil", err)
	}
	want := []string{"Host", "a.example", "X-Empty", "", "X-Tab", "v 1"}
	var got []string
	for _, h := range r.Headers {
		got = append(got, string(h.Name), string(h.Value))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Headers = %q; want %q", got, want)
	}
	if string(r.Method) != "GET" || string(r.Target) != "/p?q" || string(r.Host) != "a.example" {
		t.Errorf("Method, Target, Host = %q, %q, %q; want GET, /p?q, a.example", r.Method, r.Target, r.Host)
	}
	if got, want := string(buf[r.HeadLen:]), "body"; got != want {
		t.Errorf("buf[HeadLen:] = %q; want %q", got, want)
	}
	if cap(r.Method) != len(r.Method) || cap(r.Headers[0].Value) != len(r.Headers[0].Value) {
		t.Errorf("cap(Method), cap(Value) = %d, %d; want clipped to %d, %d", cap(r.Method), cap(r.Headers[0].Value), len(r.Method), len(r.Headers[0].Value))
	}
	for i := range buf {
		buf[i] = 'Z'
	}
	if string(r.Method) != "ZZZ" || string(r.Headers[2].Name) != "ZZZZZ" {
		t.Errorf("after overwriting buf, Method, Headers[2].Name = %q, %q; want them to alias buf", r.Method, r.Headers[2].Name)
	}
	r.Reset()
	if r.Method != nil || len(r.Headers) != 0 || r.HeadLen != 0 || r.ContentLength != 0 {
		t.Errorf("after Reset: Method %q, %d headers, HeadLen %d, ContentLength %d; want zero values", r.Method, len(r.Headers), r.HeadLen, r.ContentLength)
	}
	if cap(r.Headers) == 0 {
		t.Errorf("after Reset: cap(Headers) = 0; want the slice kept for reuse")
	}
}

// TestRequestShrunkBuffer checks the precondition guard.
func TestRequestShrunkBuffer(t *testing.T) {
	var r Request
	in := []byte("GET / HTTP/1.1\r\n")
	if err := r.Parse(in, Limits{}); err != ErrIncomplete {
		t.Fatalf("Parse = %v; want ErrIncomplete", err)
	}
	var e *Error
	if err := r.Parse(in[:3], Limits{}); !errors.As(err, &e) || e.Status != 500 {
		t.Errorf("Parse(shorter buffer) = %v; want a 500 *Error", err)
	}
}

// TestRequestAgreesWithNetHTTP reads every accepted corpus request with
// net/http too: a second, independent parser must agree on the method,
// target, host and body framing.
func TestRequestAgreesWithNetHTTP(t *testing.T) {
	checked := 0
	for _, c := range reqCases {
		in := []byte(c.in)
		var r Request
		if r.Parse(in, c.lim) != nil || netHTTPStricter(&r) {
			continue
		}
		hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in[r.Skip:])))
		if err != nil {
			t.Errorf("%s: net/http rejects a request we accept: %v", c.name, err)
			continue
		}
		checked++
		wantCL := r.ContentLength
		switch {
		case r.Chunked:
			wantCL = -1
		case wantCL < 0:
			wantCL = 0
		}
		got := fmt.Sprintf("%s %s host=%s cl=%d chunked=%v close=%v", hr.Method, hr.RequestURI, hr.Host, hr.ContentLength, len(hr.TransferEncoding) > 0, hr.Close)
		want := fmt.Sprintf("%s %s host=%s cl=%d chunked=%v close=%v", r.Method, r.Target, r.Host, wantCL, r.Chunked, !r.KeepAlive)
		if got != want {
			t.Errorf("%s: net/http reads %s; we read %s", c.name, got, want)
		}
	}
	if checked < 50 {
		t.Errorf("compared %d requests with net/http; want at least 50", checked)
	}
}

func TestRequestAllocs(t *testing.T) {
	in := []byte(benchRequest)
	var r Request
	if err := r.Parse(in, DefaultLimits); err != nil {
		t.Fatalf("Parse = %v", err)
	}
	whole := testing.AllocsPerRun(100, func() {
		r.Reset()
		if err := r.Parse(in, DefaultLimits); err != nil {
			t.Fatalf("Parse = %v", err)
		}
	})
	byteByByte := testing.AllocsPerRun(20, func() {
		r.Reset()
		for k := 0; k <= len(in); k++ {
			if err := r.Parse(in[:k], DefaultLimits); err == nil {
				break
			}
		}
	})
	if whole != 0 || byteByByte != 0 {
		t.Errorf("allocations per parse: whole %v, byte by byte %v; want 0", whole, byteByByte)
	}
}

func TestNames(t *testing.T) {
	for f := FormOrigin; f <= FormAsterisk; f++ {
		if s := f.String(); strings.Contains(s, "?") {
			t.Errorf("TargetForm(%d).String() = %q; want a name", f, s)
		}
	}
	for _, v := range []Version{HTTP10, HTTP11} {
		if s := v.String(); strings.Contains(s, "?") {
			t.Errorf("Version(%d).String() = %q; want a name", v, s)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	if got, want := (Limits{}).orDefault(), DefaultLimits; got != want {
		t.Errorf("Limits{}.orDefault() = %+v; want %+v", got, want)
	}
	if got, want := DefaultLimits, (Limits{MaxHead: 15360, MaxHeaders: 101, MaxTarget: 8192}); got != want {
		t.Errorf("DefaultLimits = %+v; want %+v", got, want)
	}
}

func TestValidIPv6(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"::1", true}, {"::", true}, {"2001:db8::1", true}, {"2001:db8:0:0:0:0:0:1", true},
		{"fe80::1:2:3:4", true}, {"::ffff:192.0.2.1", true}, {"1:2:3:4:5:6:1.2.3.4", true},
		{"1::", true}, {"1:2:3:4:5:6:7::", true}, {"ABCD:ef01::", true},
		{"", false}, {":", false}, {":1", false}, {"1:", false}, {"1:2:3:4:5:6:7", false},
		{"1:2:3:4:5:6:7:8:9", false}, {"1::2::3", false}, {":::", false}, {"12345::", false},
		{"0000000:0", false}, {"1:2:3:4:5:6:7:1.2.3.4", false}, {"::1.2.3", false},
		{"::1.2.3.256", false}, {"::01.2.3.4", false}, {"::1.2.3.4.5", false}, {"::g", false},
		{"fe80::1%25eth0", false}, {"1:2:3:4:5:6:7::8", false},
	} {
		if got := validIPv6([]byte(c.in)); got != c.want {
			t.Errorf("validIPv6(%q) = %v; want %v", c.in, got, c.want)
		}
	}
}

// TestSkipValue checks the word-at-a-time scan against the byte table at
// every offset, for each byte value placed at every position of a word.
func TestSkipValue(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			buf := bytes.Repeat([]byte("v"), 20)
			buf[pos] = byte(c)
			for start := 0; start <= len(buf); start++ {
				want := start
				for want < len(buf) && chars[buf[want]]&cValue != 0 {
					want++
				}
				if got := skipValue(buf, start); got != want {
					t.Fatalf("skipValue(%q, %d) = %d; want %d", buf, start, got, want)
				}
			}
		}
	}
}
