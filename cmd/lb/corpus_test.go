package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The HTTP corpus: raw HTTP/1.x exchanges sent through a running lb (HTTP
// mode) to a test server, each checked on three things: the responses the
// client reads, whether lb closed the client connection, and exactly what
// the server received.
//
// The expectations come from RFC 9112 / RFC 9110, from request smuggling
// write-ups and from HAProxy and nginx regressions. Where lb documents a
// stricter choice than the RFCs allow (duplicate identical Content-Length,
// bare LF, 505 for HTTP/1.2, 414 and 431 limits, see analyzer.Request.Parse)
// the case expects lb's choice. Where lb disagrees with the RFC, the case
// keeps the RFC's expectation and says why in knownBug: such a case is
// logged, not failed, and fails once lb is fixed so that the mark goes.
//
// What the server must receive is the request as lb rewrites it: the
// request line as received, each field line as "Name: value" (OWS around the
// value is not part of it, RFC 9110 5.5; a non-canonical Content-Length or
// Transfer-Encoding in its canonical form, issue 8) in the received order, minus the
// hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
// Upgrade unless the request upgrades, Proxy-Authenticate,
// Proxy-Authorization and every field Connection names), then
// X-Forwarded-For and X-Forwarded-Proto, the final CRLF, and the body bytes
// exactly as received (chunked framing untouched). A rejected request must
// not reach the server at all.
//
// The harness never waits for silence: after the expected responses it
// sends a probe request on the same connection. An answer to the probe
// proves the connection stayed open and that nothing (a smuggled response,
// bytes beyond a body's framing) came in between; an end of stream proves
// lb closed it. Each case then sends a fence request on a new connection,
// so that whatever lb forwarded for the case has reached the server before
// its bytes are compared. Timeouts (corpusPatience) only run out when lb
// misbehaves.

// corpusPatience bounds every read; it is only reached when lb hangs.
const corpusPatience = time.Second

// The probe and the fence. The probe's answer is the same from both test
// servers and lb passes it on unchanged (HTTP/1.1, keep-alive).
const (
	probeReq    = "GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n"
	probeAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nGET /probe"
	fenceReq    = "GET /fence HTTP/1.1\r\nHost: fence\r\nConnection: close\r\n\r\n"
)

var (
	probeFwd = fwd("GET /probe HTTP/1.1", "Host: probe")
	fenceFwd = fwd("GET /fence HTTP/1.1", "Host: fence")
)

// Status lines lb answers with.
const (
	st400 = "HTTP/1.1 400 Bad Request"
	st414 = "HTTP/1.1 414 URI Too Long"
	st417 = "HTTP/1.1 417 Expectation Failed"
	st431 = "HTTP/1.1 431 Request Header Fields Too Large"
	st501 = "HTTP/1.1 501 Not Implemented"
	st505 = "HTTP/1.1 505 HTTP Version Not Supported"
)

// srvHead summarises the server's answer to HEAD (no body).
const srvHead = "HTTP/1.1 200 OK"

// srvd summarises the request-side server's normal answer to a request
// (its body is the method and the request-target): what the client must
// read when the request was served.
func srvd(methodTarget string) string { return "HTTP/1.1 200 OK " + methodTarget }

// fwd is the head the server must receive for a request whose forwarded
// request line and field lines are given (without CRLF).
func fwd(line string, fields ...string) string {
	var b strings.Builder
	b.WriteString(line + "\r\n")
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n")
	return b.String()
}

// lbAnswer is the complete error response lb writes itself.
func lbAnswer(status int, text string) string {
	body := fmt.Sprintf("%d %s\n", status, text)
	return fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n%s", status, text, len(body), body)
}

// lbAnswerKA is lbAnswer for an answer that keeps the connection (a
// server failure answered to a request read completely).
func lbAnswerKA(status int, text string) string {
	return strings.Replace(lbAnswer(status, text), "Connection: close\r\n", "", 1)
}

// reqCase is one request-side case.
type reqCase struct {
	name     string
	raw      string   // what the client sends, in one write
	resps    []string // the responses the client must read, in order (see summary)
	closed   bool     // lb must close the client connection after them
	up       string   // exactly what the server must receive
	knownBug string   // why lb currently disagrees with the expectation
}

// bad is a request lb must refuse with status before anything reaches the
// server, closing the connection.
func bad(name, raw, status string) reqCase {
	return reqCase{name: name, raw: raw, resps: []string{status}, closed: true}
}

// resCase is one response-side case: the server answers the request with
// resp (raw bytes), then closes if srvCloses.
type resCase struct {
	name      string
	req       string // what the client sends; its target selects resp
	resp      string
	srvCloses bool
	want      string // exactly what the client must read before the probe
	closed    bool
	up        string
	knownBug  string
}

type reqGroup struct {
	area  string
	cases []reqCase
}

type resGroup struct {
	area  string
	cases []resCase
}

func getReq(target string) string { return "GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n" }

func fwdGet(target string) string { return fwd("GET "+target+" HTTP/1.1", "Host: h") }

// requestHead returns a GET head of exactly n bytes (n >= 36), padded in an
// X-Pad field, and the forwarded form of that field.
func requestHead(n int) (raw, pad string) {
	pad = "X-Pad: " + strings.Repeat("p", n-36)
	return "GET / HTTP/1.1\r\nHost: h\r\n" + pad + "\r\n\r\n", pad
}

// manyFields returns n field lines: Host then X-Fnnn.
func manyFields(n int) []string {
	f := []string{"Host: h"}
	for i := 1; i < n; i++ {
		f = append(f, fmt.Sprintf("X-F%03d: v", i))
	}
	return f
}

func head(line string, fields ...string) string {
	return line + "\r\n" + strings.Join(fields, "\r\n") + "\r\n\r\n"
}

func requestCorpus() []reqGroup {
	const H = "Host: h"
	body := func(n int) string { return strings.Repeat("b", n) }
	head15360, pad15360 := requestHead(15360)
	head15361, _ := requestHead(15361)
	target8192 := "/" + strings.Repeat("a", 8191)
	chunkedHead := fwd("POST / HTTP/1.1", H, "Transfer-Encoding: chunked")
	teReq := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	return []reqGroup{
		// Ordinary requests: forwarded with the documented rewriting,
		// answered, connection kept (HTTP/1.1 persistence, RFC 9112 9.3).
		{"basics", []reqCase{
			{name: "get", raw: getReq("/"), resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "head", raw: "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvHead}, up: fwd("HEAD / HTTP/1.1", H)},
			{name: "host with port", raw: "GET / HTTP/1.1\r\nHost: h:8080\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", "Host: h:8080")},
			{name: "host ipv4", raw: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", "Host: 127.0.0.1")},
			{name: "host ipv6 literal", raw: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", "Host: [::1]:8080")},
			// RFC 9112 3.2: an empty Host is what a client sends when the
			// target URI has no authority.
			{name: "empty host", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", "Host: ")},
			{name: "OWS around values trimmed", raw: "GET / HTTP/1.1\r\nHost:h\r\nX-A:   a b \t\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-A: a b")},
			{name: "field name case kept", raw: "GET / HTTP/1.1\r\nhOsT: h\r\nx-LoWeR: v\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", "hOsT: h", "x-LoWeR: v")},
			{name: "obs-text in value", raw: "GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9 \xff\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-A: caf\xc3\xa9 \xff")},
			{name: "HTAB inside value", raw: "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-A: a\tb")},
			{name: "empty value", raw: "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-Empty: ")},
			{name: "repeated fields kept in order", raw: "GET / HTTP/1.1\r\nAccept: a\r\nHost: h\r\nAccept: b\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", "Accept: a", H, "Accept: b")},
			{name: "client X-Forwarded-For kept, lb appends", raw: "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-Forwarded-For: 192.0.2.1")},
			// RFC 9112 2.2: a server SHOULD ignore empty lines before the
			// request line; lb does not forward them.
			{name: "leading empty line", raw: "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "two leading empty lines", raw: "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			// Methods are case-sensitive tokens (RFC 9110 9.1); a proxy
			// forwards those it does not know.
			{name: "extension method", raw: "PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("PURGE /x")}, up: fwd("PURGE /x HTTP/1.1", H)},
			{name: "lowercase method is another method", raw: "get / HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("get /")}, up: fwd("get / HTTP/1.1", H)},
			{name: "delete", raw: "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("DELETE /x")}, up: fwd("DELETE /x HTTP/1.1", H)},
			{name: "put with body", raw: "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", resps: []string{srvd("PUT /x")}, up: fwd("PUT /x HTTP/1.1", H, "Content-Length: 3") + "abc"},
			{name: "options origin-form", raw: "OPTIONS /x HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("OPTIONS /x")}, up: fwd("OPTIONS /x HTTP/1.1", H)},
			{name: "trace", raw: "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("TRACE /")}, up: fwd("TRACE / HTTP/1.1", H)},
		}},

		// Connection persistence (RFC 9112 9.3, 9.6).
		{"persistence", []reqCase{
			{name: "connection close", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwdGet("/")},
			{name: "connection Close mixed case", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwdGet("/")},
			{name: "connection keep-alive, close", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwdGet("/")},
			// RFC 9110 5.6.1: empty list elements are ignored.
			{name: "connection with empty elements", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: , close ,\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwdGet("/")},
			{name: "http/1.0 without host", raw: "GET / HTTP/1.0\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwd("GET / HTTP/1.0")},
			{name: "http/1.0 with host", raw: "GET / HTTP/1.0\r\nHost: h\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwd("GET / HTTP/1.0", H)},
			{name: "http/1.0 keep-alive", raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.0")},
			{name: "http/1.0 keep-alive and close", raw: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwd("GET / HTTP/1.0")},
			{name: "http/1.0 post with body", raw: "POST / HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody", resps: []string{srvd("POST /")}, closed: true, up: fwd("POST / HTTP/1.0", "Content-Length: 4") + "body"},
		}},

		// The request line (RFC 9112 3): SP separated, version
		// case-sensitive, 1.0 and 1.1 only (lb: 505 for other versions).
		{"request line", []reqCase{
			bad("HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", st505),
			bad("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", st505),
			bad("HTTP/0.9 (no version)", "GET /\r\n\r\n", st400),
			bad("HTTP/1.10", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", st400),
			bad("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", st400),
			bad("space after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", st400),
			bad("two spaces after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("tab as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("space inside target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("no method", " / HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("method not a token", "GE@T / HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("method with NUL", "G\x00ET / HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", st400),
			bad("bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", st400),
			bad("bare CR after request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", st400),
		}},

		// Request-target forms (RFC 9112 3.2) and RFC 3986 syntax.
		{"request target", []reqCase{
			{name: "absolute-form", raw: "GET http://h/x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET http://h/x?y=1")}, up: fwd("GET http://h/x?y=1 HTTP/1.1", H)},
			{name: "absolute-form https", raw: "GET https://h/ HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET https://h/")}, up: fwd("GET https://h/ HTTP/1.1", H)},
			{name: "absolute-form with port", raw: "GET http://h:8080/x HTTP/1.1\r\nHost: h:8080\r\n\r\n", resps: []string{srvd("GET http://h:8080/x")}, up: fwd("GET http://h:8080/x HTTP/1.1", "Host: h:8080")},
			{name: "absolute-form without path", raw: "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET http://h")}, up: fwd("GET http://h HTTP/1.1", H)},
			{name: "absolute-form host mismatch", raw: "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", resps: []string{st400}, closed: true},
			bad("absolute-form without host field", "GET http://h/ HTTP/1.1\r\n\r\n", st400),
			bad("absolute-form userinfo", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("absolute-form ftp scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("absolute-form empty authority", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("authority-form with GET", "GET h:80 HTTP/1.1\r\nHost: h:80\r\n\r\n", st400),
			// A 2xx to CONNECT turns the session into a tunnel: the probe
			// crosses it unparsed.
			{name: "connect", raw: "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", resps: []string{"HTTP/1.1 200 Connection Established"}, up: fwd("CONNECT h:443 HTTP/1.1", "Host: h:443") + probeReq},
			{name: "connect host mismatch", raw: "CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n", resps: []string{st400}, closed: true},
			bad("connect without port", "CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("connect origin-form", "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("connect with content", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 5\r\n\r\nhello", st400),
			{name: "options asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("OPTIONS *")}, up: fwd("OPTIONS * HTTP/1.1", H)},
			bad("asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			{name: "dot segments forwarded as received", raw: "GET /a/../b HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET /a/../b")}, up: fwdGet("/a/../b")},
			{name: "percent-encoded path", raw: "GET /a%2Fb%20c HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET /a%2Fb%20c")}, up: fwdGet("/a%2Fb%20c")},
			{name: "browser characters in query", raw: "GET /s?q={x}|^[y]<z>\" HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET /s?q={x}|^[y]<z>\"")}, up: fwdGet("/s?q={x}|^[y]<z>\"")},
			bad("bad percent-encoding", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("truncated percent-encoding", "GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("raw utf-8 in path", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("NUL in target", "GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("DEL in target", "GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("backslash in path", "GET /a\\b HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			bad("angle bracket in path", "GET /<script> HTTP/1.1\r\nHost: h\r\n\r\n", st400),
			{name: "target of 8192 bytes", raw: "GET " + target8192 + " HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("GET " + target8192)}, up: fwdGet(target8192)},
			bad("target of 8193 bytes", "GET "+target8192+"a HTTP/1.1\r\nHost: h\r\n\r\n", st414),
		}},

		// Host (RFC 9112 3.2: exactly one, valid, in HTTP/1.1).
		{"host", []reqCase{
			bad("missing host", "GET / HTTP/1.1\r\n\r\n", st400),
			bad("two different hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", st400),
			bad("two identical hosts", "GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n", st400),
			bad("two hosts, names in different case", "GET / HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", st400),
			bad("host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", st400),
			bad("host userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", st400),
			bad("host with path", "GET / HTTP/1.1\r\nHost: h/x\r\n\r\n", st400),
			bad("host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", st400),
			bad("host port out of range", "GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n", st400),
			bad("host port not numeric", "GET / HTTP/1.1\r\nHost: h:abc\r\n\r\n", st400),
			bad("host bad ipv6", "GET / HTTP/1.1\r\nHost: [::1::2]\r\n\r\n", st400),
		}},

		// Field syntax (RFC 9112 5, RFC 9110 5.5): lb rejects rather than
		// repairs.
		{"field syntax", []reqCase{
			bad("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", st400),
			bad("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", st400),
			bad("obs-fold with space", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", st400),
			bad("obs-fold with tab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", st400),
			bad("whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", st400),
			bad("empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", st400),
			bad("field name with @", "GET / HTTP/1.1\r\nHost: h\r\nX@Y: v\r\n\r\n", st400),
			bad("field name with parenthesis", "GET / HTTP/1.1\r\nHost: h\r\nX(Y): v\r\n\r\n", st400),
			bad("field name with obs-text", "GET / HTTP/1.1\r\nHost: h\r\nX\xe9: v\r\n\r\n", st400),
			bad("field line without colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n", st400),
			bad("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", st400),
			bad("NUL in name", "GET / HTTP/1.1\r\nHost: h\r\nX\x00A: v\r\n\r\n", st400),
			bad("bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", st400),
			bad("bare LF ending a field", "GET / HTTP/1.1\r\nHost: h\nX-A: v\r\n\r\n", st400),
			bad("bare LF everywhere", "GET / HTTP/1.1\nHost: h\n\n", st400),
			bad("bare LF ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", st400),
			bad("bare CR ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\rX", st400),
			bad("CTL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", st400),
			bad("DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fb\r\n\r\n", st400),
			bad("VT in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x0bb\r\n\r\n", st400),
			bad("FF in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x0cb\r\n\r\n", st400),
		}},

		// Limits: head 15360 bytes, 101 fields (431), target 8192 (414,
		// in "request target").
		{"limits", []reqCase{
			{name: "head of 15360 bytes", raw: head15360, resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, pad15360)},
			bad("head of 15361 bytes", head15361, st431),
			bad("head of 20000 bytes", "GET / HTTP/1.1\r\nHost: h\r\nX-A: "+strings.Repeat("a", 20000)+"\r\n\r\n", st431),
			{name: "101 fields", raw: head("GET / HTTP/1.1", manyFields(101)...), resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", manyFields(101)...)},
			bad("102 fields", head("GET / HTTP/1.1", manyFields(102)...), st431),
		}},

		// Content-Length (RFC 9112 6.2, 6.3; RFC 9110 8.6): 1*DIGIT, once.
		{"content-length", []reqCase{
			{name: "post with body", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 5") + "hello"},
			{name: "post with zero length", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 0")},
			{name: "get with body", raw: "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "Content-Length: 5") + "hello"},
			{name: "leading zeros", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\nsevenb!", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 7") + "sevenb!"},
			{name: "many leading zeros", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 000000000000000000000005\r\n\r\nhello", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 5") + "hello"},
			{name: "OWS around value", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \t 5 \t\r\n\r\nhello", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 5") + "hello"},
			{name: "body of 1 byte", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nb", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 1") + "b"},
			{name: "body of 4096 bytes", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4096\r\n\r\n" + body(4096), resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 4096") + body(4096)},
			{name: "body of 65536 bytes", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\n" + body(65536), resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 65536") + body(65536)},
			{name: "body of 300000 bytes, then close", raw: "POST / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 300000\r\n\r\n" + body(300000), resps: []string{srvd("POST /")}, closed: true, up: fwd("POST / HTTP/1.1", H, "Content-Length: 300000") + body(300000)},
			bad("plus sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello", st400),
			bad("minus sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\nhello", st400),
			bad("space inside", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\nhello", st400),
			bad("list of equal values", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello", st400),
			bad("hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\nhello", st400),
			bad("decimal point", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5.0\r\n\r\nhello", st400),
			bad("exponent", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5e0\r\n\r\nhello", st400),
			bad("empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\nhello", st400),
			bad("int64 overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\nhello", st400),
			bad("uint64 overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\nhello", st400),
			bad("VT before value", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\x0b5\r\n\r\nhello", st400),
			bad("duplicate identical", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", st400),
			bad("duplicate, names in different case", "POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\nCONTENT-LENGTH: 5\r\n\r\nhello", st400),
			bad("duplicate different (CL.CL)", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", st400),
			bad("space before colon", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello", st400),
			// HAProxy CVE-2021-40346: a 270-byte name starting with
			// "Content-Length" overflowed an 8-bit length and became a
			// second Content-Length. It is just another field.
			{name: "long name starting with content-length", raw: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length0" + strings.Repeat("a", 255) + ":\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("POST /")},
				up: fwd("POST / HTTP/1.1", H, "Content-Length0"+strings.Repeat("a", 255)+": ", "Content-Length: 5") + "hello"},
			// Not Content-Length: forwarded as an ordinary field, no body.
			{name: "underscore is another field", raw: "GET / HTTP/1.1\r\nHost: h\r\nContent_Length: 5\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "Content_Length: 5")},
		}},

		// Transfer-Encoding and request smuggling (RFC 9112 6.1, 6.3,
		// 11.2): chunked must be the final coding, once; anything
		// ambiguous is refused before a byte reaches the server.
		{"transfer-encoding", []reqCase{
			{name: "chunked", raw: teReq + "5\r\nhello\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "5\r\nhello\r\n0\r\n\r\n"},
			{name: "chunked name and value case", raw: "POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: Chunked\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "transfer-encoding: Chunked") + "0\r\n\r\n"},
			{name: "chunked with leading spaces", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:   chunked\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0\r\n\r\n"},
			{name: "chunked with trailing tab", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0\r\n\r\n"},
			{name: "get with chunked body", raw: "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "Transfer-Encoding: chunked") + "3\r\nabc\r\n0\r\n\r\n"},
			// RFC 9110 5.6.1: a recipient MUST ignore empty list elements.
			{name: "chunked with trailing empty element", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0\r\n\r\n"},
			{name: "chunked with leading empty element", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0\r\n\r\n"},
			bad("xchunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", st400),
			bad("chunkedx", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n", st400),
			bad("VT before chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", st400),
			bad("FF before chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\x0cchunked\r\n\r\n0\r\n\r\n", st400),
			bad("chunked on an obs-fold line", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", st400),
			bad("space before colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", st400),
			bad("quoted chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", st400),
			bad("chunked with parameter", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", st400),
			bad("chunked, chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", st400),
			bad("duplicate TE lines", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", st400),
			bad("TE.TE chunked then identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", st400),
			bad("TE.TE chunked then x", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n", st400),
			bad("identity then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", st501),
			bad("gzip, chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", st501),
			bad("chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", st400),
			bad("CL.TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED", st400),
			bad("TE.CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", st400),
			bad("CL.TE with zero length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", st400),
			bad("CL.TE obfuscated xchunked", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\nhello", st400),
			// Not Transfer-Encoding: no body, so "0\r\n\r\n" is the next
			// request, and an invalid one.
			{name: "underscore is another field", raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /"), st400}, closed: true, up: fwd("POST / HTTP/1.1", H, "Transfer_Encoding: chunked")},
		}},

		// Chunked bodies (RFC 9112 7.1) pass through untouched; bad
		// framing in the body bytes that came with the head is found
		// while the request is held: 400, a close, and nothing reaches
		// the server (issue 8).
		{"chunked body", []reqCase{
			{name: "hex sizes with leading zeros", raw: teReq + "00A\r\n0123456789\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "00A\r\n0123456789\r\n0\r\n\r\n"},
			{name: "many leading zeros in chunk size", raw: teReq + "000000000000000000000005\r\nhello\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "000000000000000000000005\r\nhello\r\n0\r\n\r\n"},
			{name: "several chunks", raw: teReq + "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n"},
			{name: "chunk extension", raw: teReq + "5;ext=1\r\nhello\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "5;ext=1\r\nhello\r\n0\r\n\r\n"},
			{name: "quoted chunk extension", raw: teReq + "5;a=\"b c\";d\r\nhello\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "5;a=\"b c\";d\r\nhello\r\n0\r\n\r\n"},
			{name: "BWS before chunk extension", raw: teReq + "5 ;a\r\nhello\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "5 ;a\r\nhello\r\n0\r\n\r\n"},
			{name: "last-chunk extension", raw: teReq + "0;x=y\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0;x=y\r\n\r\n"},
			{name: "trailer fields", raw: teReq + "5\r\nhello\r\n0\r\nX-T: v\r\nX-U: w\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "5\r\nhello\r\n0\r\nX-T: v\r\nX-U: w\r\n\r\n"},
			{name: "content-length in trailer untouched", raw: teReq + "5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n"},
			{name: "body of 70000 bytes in chunks", raw: teReq + "8000\r\n" + body(0x8000) + "\r\n8000\r\n" + body(0x8000) + "\r\n1170\r\n" + body(0x1170) + "\r\n0\r\n\r\n", resps: []string{srvd("POST /")},
				up: chunkedHead + "8000\r\n" + body(0x8000) + "\r\n8000\r\n" + body(0x8000) + "\r\n1170\r\n" + body(0x1170) + "\r\n0\r\n\r\n"},
			{name: "chunk size overflow", raw: teReq + "10000000000000000\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "chunk size with 0x", raw: teReq + "0x5\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "negative chunk size", raw: teReq + "-5\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "empty chunk size", raw: teReq + "\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "space after chunk size", raw: teReq + "5 \r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "chunk longer than its size", raw: teReq + "3\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "no CRLF after chunk data", raw: teReq + "5\r\nhello0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "bare LF in chunked framing", raw: teReq + "5\nhello\n0\n\n", resps: []string{st400}, closed: true, up: ""},
			{name: "CTL in chunk extension", raw: teReq + "5;a\x01\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "bare CR in chunk extension", raw: teReq + "5;a\rb\r\nhello\r\n0\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "obs-fold in trailer", raw: teReq + "0\r\nX-T: a\r\n b\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "space before colon in trailer", raw: teReq + "0\r\nX-T : a\r\n\r\n", resps: []string{st400}, closed: true, up: ""},
			{name: "bare LF ending the trailers", raw: teReq + "0\r\nX-T: a\r\n\n", resps: []string{st400}, closed: true, up: ""},
		}},

		// Expect (RFC 9110 10.1.1): only 100-continue; lb forwards it and
		// lets the server answer; anything else is 417.
		{"expect", []reqCase{
			{name: "100-continue with body", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Expect: 100-continue", "Content-Length: 5") + "hello"},
			{name: "100-continue any case", raw: "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Expect: 100-Continue", "Content-Length: 5") + "hello"},
			{name: "100-continue without body", raw: "GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "Expect: 100-continue")},
			{name: "empty expect", raw: "GET / HTTP/1.1\r\nHost: h\r\nExpect:\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "Expect: ")},
			{name: "100-continue in HTTP/1.0 ignored", raw: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("POST /")}, closed: true, up: fwd("POST / HTTP/1.0", "Expect: 100-continue", "Content-Length: 5") + "hello"},
			bad("unknown expectation", "GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", st417),
			bad("100-continue and unknown", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, magic\r\nContent-Length: 5\r\n\r\nhello", st417),
			bad("100-continue with parameter", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue;x=1\r\nContent-Length: 5\r\n\r\nhello", st417),
		}},

		// Hop-by-hop fields (RFC 9110 7.6.1) are removed, with every field
		// Connection names; framing fields stay.
		{"hop-by-hop", []reqCase{
			{name: "nominated field and keep-alive", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nX-Kept: k\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-Kept: k")},
			{name: "nominated any case", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: x-secret\r\nX-SECRET: s\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "two connection fields", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: X-A\r\nX-A: 1\r\nConnection: X-B\r\nX-B: 2\r\nX-C: 3\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "X-C: 3")},
			{name: "proxy-connection", raw: "GET / HTTP/1.1\r\nHost: h\r\nProxy-Connection: keep-alive\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "proxy-authorization", raw: "GET / HTTP/1.1\r\nHost: h\r\nProxy-Authorization: Basic YTpi\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "proxy-authenticate", raw: "GET / HTTP/1.1\r\nHost: h\r\nProxy-Authenticate: Basic\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "TE", raw: "GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nConnection: TE\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "trailer", raw: teReq[:len(teReq)-2] + "Trailer: X-T\r\n\r\n0\r\nX-T: v\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0\r\nX-T: v\r\n\r\n"},
			{name: "upgrade without connection option", raw: "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			// An upgrade request keeps Upgrade; lb writes its own
			// Connection. The server declines (200): plain HTTP goes on.
			{name: "upgrade request", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", resps: []string{srvd("GET /")}, up: fwd("GET / HTTP/1.1", H, "Upgrade: websocket", "Connection: upgrade")},
			{name: "upgrade in HTTP/1.0 ignored", raw: "GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", resps: []string{srvd("GET /")}, closed: true, up: fwd("GET / HTTP/1.0")},
			{name: "nominated X-Forwarded-For replaced", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 192.0.2.66\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			{name: "nominated content-length kept", raw: "POST / HTTP/1.1\r\nHost: h\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello", resps: []string{srvd("POST /")}, up: fwd("POST / HTTP/1.1", H, "Content-Length: 5") + "hello"},
			{name: "nominated transfer-encoding kept", raw: "POST / HTTP/1.1\r\nHost: h\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /")}, up: chunkedHead + "0\r\n\r\n"},
			// RFC 9112 3.2: an HTTP/1.1 request MUST carry Host; a proxy
			// cannot drop it because the client nominated it.
			{name: "nominated host kept", raw: "GET / HTTP/1.1\r\nHost: h\r\nConnection: Host\r\n\r\n", resps: []string{srvd("GET /")}, up: fwdGet("/")},
			bad("invalid connection option", "GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n", st400),
		}},

		// Pipelining (RFC 9112 9.3.2): requests sent back to back are
		// answered in order; each is rewritten; nothing after a close.
		{"pipelining", []reqCase{
			{name: "two gets", raw: getReq("/a") + getReq("/b"), resps: []string{srvd("GET /a"), srvd("GET /b")}, up: fwdGet("/a") + fwdGet("/b")},
			{name: "post then get", raw: "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + getReq("/b"), resps: []string{srvd("POST /a"), srvd("GET /b")}, up: fwd("POST /a HTTP/1.1", H, "Content-Length: 5") + "hello" + fwdGet("/b")},
			{name: "chunked post then get", raw: "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + getReq("/b"), resps: []string{srvd("POST /a"), srvd("GET /b")}, up: fwd("POST /a HTTP/1.1", H, "Transfer-Encoding: chunked") + "5\r\nhello\r\n0\r\n\r\n" + fwdGet("/b")},
			{name: "rewriting applies to each", raw: "GET /a HTTP/1.1\r\nHost: h\r\nConnection: X-S\r\nX-S: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nKeep-Alive: 5\r\n\r\n", resps: []string{srvd("GET /a"), srvd("GET /b")}, up: fwdGet("/a") + fwdGet("/b")},
			{name: "empty line between requests", raw: getReq("/a") + "\r\n" + getReq("/b"), resps: []string{srvd("GET /a"), srvd("GET /b")}, up: fwdGet("/a") + fwdGet("/b")},
			{name: "three, the last closes", raw: getReq("/a") + getReq("/b") + "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", resps: []string{srvd("GET /a"), srvd("GET /b"), srvd("GET /c")}, closed: true, up: fwdGet("/a") + fwdGet("/b") + fwdGet("/c")},
			{name: "nothing after connection close", raw: "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + getReq("/b"), resps: []string{srvd("GET /a")}, closed: true, up: fwdGet("/a")},
			{name: "nothing after HTTP/1.0", raw: "GET /a HTTP/1.0\r\n\r\n" + getReq("/b"), resps: []string{srvd("GET /a")}, closed: true, up: fwd("GET /a HTTP/1.0")},
			{name: "two HTTP/1.0 keep-alive", raw: "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", resps: []string{srvd("GET /a"), srvd("GET /b")}, up: fwd("GET /a HTTP/1.0") + fwd("GET /b HTTP/1.0")},
			{name: "valid then invalid", raw: getReq("/a") + "GET /b HTTP/1.1\r\nHost : h\r\n\r\n", resps: []string{srvd("GET /a"), st400}, closed: true, up: fwdGet("/a")},
			{name: "valid then CL.TE", raw: getReq("/a") + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", resps: []string{srvd("GET /a"), st400}, closed: true, up: fwdGet("/a")},
			{name: "body longer than content-length is the next request", raw: "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: h\r\n\r\n", resps: []string{srvd("POST /a"), srvd("GET /b")}, up: fwd("POST /a HTTP/1.1", H, "Content-Length: 2") + "hi" + fwdGet("/b")},
			{name: "smuggled request in a chunked body stays body", raw: "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n20\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n\r\n0\r\n\r\n", resps: []string{srvd("POST /a")}, up: fwd("POST /a HTTP/1.1", H, "Transfer-Encoding: chunked") + "20\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n\r\n0\r\n\r\n"},
		}},
	}
}

func responseCorpus() []resGroup {
	const ok2 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	// A response lb refuses is answered 502 and, the request having been
	// read completely, the client connection stays for the next one
	// (issue 8); the server connection is never reused.
	bad502KA := lbAnswerKA(502, "Bad Gateway")
	chunkedOK := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	upgradeReq := "GET /r/upgrade HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	return []resGroup{
		// Well-formed responses are passed on as received (hop-by-hop
		// fields removed) and the connection is kept.
		{"response framing", []resCase{
			{name: "content-length", req: getReq("/r/cl"), resp: ok2, want: ok2, up: fwdGet("/r/cl")},
			{name: "content-length zero", req: getReq("/r/cl0"), resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", up: fwdGet("/r/cl0")},
			{name: "no reason phrase", req: getReq("/r/noreason"), resp: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi", want: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi", up: fwdGet("/r/noreason")},
			{name: "server error passed on", req: getReq("/r/503"), resp: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown", want: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown", up: fwdGet("/r/503")},
			{name: "empty line before status line", req: getReq("/r/crlf"), resp: "\r\n" + ok2, want: ok2, up: fwdGet("/r/crlf")},
			{name: "chunked passed through", req: getReq("/r/chunked"), resp: chunkedOK + "5\r\nhello\r\n0\r\n\r\n", want: chunkedOK + "5\r\nhello\r\n0\r\n\r\n", up: fwdGet("/r/chunked")},
			{name: "chunked with extensions and trailers", req: getReq("/r/chunked-ext"), resp: chunkedOK + "5;e=1\r\nhello\r\n0;z\r\nX-T: v\r\n\r\n", want: chunkedOK + "5;e=1\r\nhello\r\n0;z\r\nX-T: v\r\n\r\n", up: fwdGet("/r/chunked-ext")},
			{name: "hop-by-hop removed", req: getReq("/r/hop"), resp: "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\nX-Internal: secret\r\nProxy-Authenticate: Basic\r\nX-Kept: k\r\nContent-Length: 2\r\n\r\nhi",
				want: "HTTP/1.1 200 OK\r\nX-Kept: k\r\nContent-Length: 2\r\n\r\nhi", up: fwdGet("/r/hop")},
			{name: "until close", req: getReq("/r/eof"), resp: "HTTP/1.1 200 OK\r\n\r\nuntil close", srvCloses: true, want: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", closed: true, up: fwdGet("/r/eof")},
			{name: "HTTP/1.0 until close", req: getReq("/r/eof10"), resp: "HTTP/1.0 200 OK\r\n\r\nold", srvCloses: true, want: "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nold", closed: true, up: fwdGet("/r/eof10")},
			{name: "HTTP/1.0 with content-length", req: getReq("/r/cl10"), resp: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", want: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", closed: true, up: fwdGet("/r/cl10")},
			// RFC 9112 6.3 rule 4: a final coding other than chunked is
			// delimited by the close.
			{name: "unknown coding until close", req: getReq("/r/gzip"), resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nGZ", srvCloses: true, want: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nGZ", closed: true, up: fwdGet("/r/gzip")},
			{name: "server closes", req: getReq("/r/close"), resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", srvCloses: true, want: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", closed: true, up: fwdGet("/r/close")},
		}},

		// 1xx (RFC 9110 15.2): interim heads are passed on before the
		// final one; 101 only answers an upgrade request.
		{"interim responses", []resCase{
			{name: "100 then 200", req: getReq("/r/100"), resp: "HTTP/1.1 100 Continue\r\n\r\n" + ok2, want: "HTTP/1.1 100 Continue\r\n\r\n" + ok2, up: fwdGet("/r/100")},
			{name: "103 then 200", req: getReq("/r/103"), resp: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + ok2, want: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + ok2, up: fwdGet("/r/103")},
			{name: "100, 103 then 204", req: getReq("/r/100-103"), resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", want: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", up: fwdGet("/r/100-103")},
			{name: "101 to an upgrade request", req: upgradeReq, resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
				want: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", up: fwd("GET /r/upgrade HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: upgrade") + probeReq},
			{name: "101 without upgrade field", req: upgradeReq[:len("GET /r/upgrade")] + "-nofield" + upgradeReq[len("GET /r/upgrade"):], resp: "HTTP/1.1 101 Switching Protocols\r\n\r\n", want: bad502KA,
				up: fwd("GET /r/upgrade-nofield HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: upgrade")},
			{name: "101 to a request without upgrade", req: getReq("/r/101"), resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", want: bad502KA, up: fwdGet("/r/101")},
		}},

		// No body whatever the fields say (RFC 9112 6.3 rule 1), and no
		// byte beyond a body's framing, may reach the client.
		{"bytes beyond framing", []resCase{
			{name: "HEAD with content-length and a tail", req: "HEAD /r/head HTTP/1.1\r\nHost: h\r\n\r\n", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", want: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", up: fwd("HEAD /r/head HTTP/1.1", "Host: h")},
			{name: "HEAD with chunked and a tail", req: "HEAD /r/head-chunked HTTP/1.1\r\nHost: h\r\n\r\n", resp: chunkedOK + "0\r\n\r\n", want: chunkedOK, up: fwd("HEAD /r/head-chunked HTTP/1.1", "Host: h")},
			{name: "204 with a tail", req: getReq("/r/204"), resp: "HTTP/1.1 204 No Content\r\n\r\nhello", want: "HTTP/1.1 204 No Content\r\n\r\n", up: fwdGet("/r/204")},
			{name: "204 with content-length and a tail", req: getReq("/r/204cl"), resp: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", want: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", up: fwdGet("/r/204cl")},
			{name: "304 with content-length and a tail", req: getReq("/r/304"), resp: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello", want: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", up: fwdGet("/r/304")},
			{name: "extra bytes after content-length body", req: getReq("/r/extra"), resp: ok2 + "EXTRA", want: ok2, up: fwdGet("/r/extra")},
			{name: "second response after content-length body", req: getReq("/r/split"), resp: ok2 + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil", want: ok2, up: fwdGet("/r/split")},
			{name: "extra bytes after chunked body", req: getReq("/r/chunked-extra"), resp: chunkedOK + "2\r\nhi\r\n0\r\n\r\nEXTRA", want: chunkedOK + "2\r\nhi\r\n0\r\n\r\n", up: fwdGet("/r/chunked-extra")},
		}},

		// Truncated or broken bodies: the client connection closes without
		// a complete response (a truncated response is never completed).
		{"broken bodies", []resCase{
			{name: "truncated content-length body", req: getReq("/r/trunc"), resp: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", srvCloses: true, want: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", closed: true, up: fwdGet("/r/trunc")},
			{name: "truncated chunked body", req: getReq("/r/trunc-chunked"), resp: chunkedOK + "5\r\nhel", srvCloses: true, want: chunkedOK + "5\r\nhel", closed: true, up: fwdGet("/r/trunc-chunked")},
			{name: "bad chunk framing", req: getReq("/r/bad-chunk"), resp: chunkedOK + "5\r\nhelloXX0\r\n\r\n", want: chunkedOK, closed: true, up: fwdGet("/r/bad-chunk")},
			{name: "chunk size overflow", req: getReq("/r/chunk-overflow"), resp: chunkedOK + "10000000000000000\r\nhello\r\n0\r\n\r\n", want: chunkedOK, closed: true, up: fwdGet("/r/chunk-overflow")},
		}},

		// Invalid response heads (RFC 9112 4, 5, 6.3): 502, nothing of
		// them reaches the client; the request was read completely, so
		// the client connection stays (issue 8).
		{"invalid response heads", []resCase{
			{name: "four-digit status", req: getReq("/r/2000"), resp: "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/2000")},
			{name: "two-digit status", req: getReq("/r/20"), resp: "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/20")},
			{name: "status 600", req: getReq("/r/600"), resp: "HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/600")},
			{name: "no space after status", req: getReq("/r/200ok"), resp: "HTTP/1.1 200OK\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/200ok")},
			{name: "HTTP/2 status line", req: getReq("/r/h2"), resp: "HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/h2")},
			{name: "lowercase version", req: getReq("/r/lower"), resp: "http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/lower")},
			{name: "not HTTP", req: getReq("/r/icy"), resp: "ICY 200 OK\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/icy")},
			{name: "bare LF", req: getReq("/r/lf"), resp: "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", want: bad502KA, up: fwdGet("/r/lf")},
			{name: "obs-fold", req: getReq("/r/fold"), resp: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/fold")},
			{name: "space before colon", req: getReq("/r/colon"), resp: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/colon")},
			{name: "NUL in value", req: getReq("/r/nul"), resp: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/nul")},
			{name: "content-length and transfer-encoding", req: getReq("/r/clte"), resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", want: bad502KA, up: fwdGet("/r/clte")},
			{name: "duplicate identical content-length", req: getReq("/r/clcl"), resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/clcl")},
			{name: "duplicate different content-length", req: getReq("/r/clcl2"), resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!", want: bad502KA, up: fwdGet("/r/clcl2")},
			{name: "invalid content-length", req: getReq("/r/clbad"), resp: "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/clbad")},
			{name: "chunked in HTTP/1.0", req: getReq("/r/te10"), resp: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", want: bad502KA, up: fwdGet("/r/te10")},
			{name: "chunked not last", req: getReq("/r/te-notlast"), resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nhi\r\n0\r\n\r\n", want: bad502KA, up: fwdGet("/r/te-notlast")},
			{name: "head over the limit", req: getReq("/r/bighead"), resp: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\nContent-Length: 2\r\n\r\nhi", want: bad502KA, up: fwdGet("/r/bighead")},
			{name: "too many fields", req: getReq("/r/manyfields"), resp: head("HTTP/1.1 200 OK", append(manyFields(101), "Content-Length: 2")...) + "hi", want: bad502KA, up: fwdGet("/r/manyfields")},
			// Response bytes came, so this is not the dead pooled
			// connection lb may retry on (design.md: "before any
			// response byte"): one attempt, then 502.
			{name: "truncated head", req: getReq("/r/trunc-head"), resp: "HTTP/1.1 200 OK\r\nContent-Le", srvCloses: true, want: bad502KA, up: fwdGet("/r/trunc-head")},
			// No byte at all on a reused connection: lb sends the
			// idempotent request again once on a new connection
			// (design.md, RFC 9112 9.3.1), then answers 502.
			{name: "closed without a byte", req: getReq("/r/empty"), resp: "", srvCloses: true, want: bad502KA, up: fwdGet("/r/empty") + fwdGet("/r/empty")},
		}},
	}
}

// corpusServer is the test server of the corpus: it records every byte it
// receives and answers each request with answer(method, target). Its parser
// trusts the framing lb sends (Content-Length, or chunked when
// Transfer-Encoding is present) so that what lb forwards is observed rather
// than judged.
type corpusServer struct {
	*server
	mu  sync.Mutex
	raw bytes.Buffer
}

func startCorpusServer(t *testing.T, answer func(method, target string) (resp string, closeAfter bool)) *corpusServer {
	t.Helper()
	cs := &corpusServer{}
	cs.server = startServer(t, func(c net.Conn) {
		br := bufio.NewReader(io.TeeReader(c, writerFunc(func(p []byte) (int, error) {
			cs.mu.Lock()
			defer cs.mu.Unlock()
			return cs.raw.Write(p)
		})))
		for {
			method, target, err := skipRequest(br)
			if err != nil {
				return
			}
			resp, closeAfter := answer(method, target)
			if _, err := io.WriteString(c, resp); err != nil || closeAfter {
				return
			}
		}
	})
	return cs
}

// received returns everything received so far, all connections.
func (cs *corpusServer) received() string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.raw.String()
}

// skipRequest reads one request (head and body) and returns its method and
// target.
func skipRequest(br *bufio.Reader) (method, target string, err error) {
	line := ""
	for line == "" {
		if line, err = readLine(br); err != nil {
			return "", "", err
		}
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) != 3 {
		return "", "", fmt.Errorf("request line %q", line)
	}
	method, target = parts[0], parts[1]
	cl, chunked := int64(0), false
	for {
		l, err := readLine(br)
		if err != nil {
			return "", "", err
		}
		if l == "" {
			break
		}
		name, value, _ := strings.Cut(l, ":")
		switch strings.ToLower(name) {
		case "content-length":
			cl, _ = strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		case "transfer-encoding":
			chunked = true
		}
	}
	switch {
	case method == "CONNECT":
	case chunked:
		err = skipChunked(br)
	default:
		_, err = io.CopyN(io.Discard, br, cl)
	}
	return method, target, err
}

// readLine reads a line and returns it without its line ending.
func readLine(br *bufio.Reader) (string, error) {
	l, err := br.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}

// skipChunked reads a chunked body, trailers included.
func skipChunked(br *bufio.Reader) error {
	for {
		l, err := readLine(br)
		if err != nil {
			return err
		}
		end := strings.IndexAny(l, "; \t")
		if end < 0 {
			end = len(l)
		}
		size, err := strconv.ParseInt(l[:end], 16, 64)
		if err != nil {
			return err
		}
		if size == 0 {
			for {
				if l, err = readLine(br); err != nil || l == "" {
					return err
				}
			}
		}
		if _, err := io.CopyN(io.Discard, br, size+2); err != nil {
			return err
		}
	}
}

// requestAnswer is how the request-side server answers: the method and
// target as the body; head only for HEAD; a tunnel for CONNECT (the
// server then reads requests from the tunnel).
func requestAnswer(method, target string) (string, bool) {
	switch method {
	case "HEAD":
		return "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", false
	case "CONNECT":
		return "HTTP/1.1 200 Connection Established\r\n\r\n", false
	}
	return ok(method + " " + target), false
}

// corpusConfig is an HTTP lb in front of addr with a single event loop, so
// that server connection reuse is the same on every run.
func corpusConfig(addr string) string { return corpusConfigWith(addr, "") }

// corpusConfigWith is corpusConfig with an extra frontend table.
func corpusConfigWith(addr, table string) string {
	return strings.Replace(httpConfig(table, "", srv("s", addr)), "[global]\n", "[global]\nevent_loops = 1\naccess_log = \"off\"\n", 1)
}

// response is one response read by the client.
type response struct {
	raw     string // the bytes read
	summary string // the status line, then the body for a 2xx with one
}

// readResponse reads one response to a request with method, delimited as
// RFC 9112 6.3 says. On error the bytes read so far are returned too.
func readResponse(br *bufio.Reader, method string) (response, error) {
	var raw, body strings.Builder
	line, err := br.ReadString('\n')
	raw.WriteString(line)
	status := strings.TrimRight(line, "\r\n")
	if err != nil {
		return response{raw.String(), status}, err
	}
	code := 0
	if f := strings.SplitN(status, " ", 3); len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		code, _ = strconv.Atoi(f[1])
	}
	if code < 100 {
		return response{raw.String(), status}, errors.New("not a status line")
	}
	cl, chunked := int64(-1), false
	for {
		l, err := br.ReadString('\n')
		raw.WriteString(l)
		if err != nil {
			return response{raw.String(), status}, err
		}
		if l == "\r\n" || l == "\n" {
			break
		}
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			cl, _ = strconv.ParseInt(value, 10, 64)
		case "transfer-encoding":
			chunked = strings.HasSuffix(strings.ToLower(value), "chunked")
		}
	}
	switch {
	case method == "HEAD" || code < 200 || code == 204 || code == 304 || method == "CONNECT" && code < 300:
	case chunked:
		for err == nil {
			var l string
			l, err = br.ReadString('\n')
			raw.WriteString(l)
			if err != nil {
				break
			}
			size, perr := strconv.ParseInt(strings.TrimRight(strings.SplitN(l, ";", 2)[0], "\r\n"), 16, 64)
			if perr != nil {
				err = perr
				break
			}
			if size == 0 {
				for err == nil && l != "\r\n" {
					l, err = br.ReadString('\n')
					raw.WriteString(l)
				}
				break
			}
			data := make([]byte, size+2)
			n, rerr := io.ReadFull(br, data)
			raw.Write(data[:n])
			body.Write(data[:min(n, int(size))])
			err = rerr
		}
	case cl >= 0:
		data := make([]byte, cl)
		n, rerr := io.ReadFull(br, data)
		raw.Write(data[:n])
		body.Write(data[:n])
		err = rerr
	default:
		data, rerr := io.ReadAll(br)
		raw.Write(data)
		body.Write(data)
		err = rerr
	}
	s := status
	if code/100 == 2 && body.Len() > 0 {
		s += " " + body.String()
	}
	return response{raw.String(), s}, err
}

// What became of the client connection after an exchange.
const (
	connOpen    = "open"    // the probe was answered
	connClosed  = "closed"  // lb closed the connection
	connStalled = "stalled" // lb neither answered nor closed within corpusPatience
)

// connState is the state a case expects.
func connState(closed bool) string {
	if closed {
		return connClosed
	}
	return connOpen
}

// exchange sends raw on a new connection, reads n responses to method,
// then sends the probe and reads until its answer or the end of the
// connection. It returns the responses read before the probe's answer
// (unexpected ones included; an incomplete one is marked) and what became
// of the connection.
func exchange(t *testing.T, addr, raw, method string, n int) (resps []response, state string) {
	t.Helper()
	c, err := corpusDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, raw) // an error shows as a close below
	br := bufio.NewReader(c)
	// next reads one response; it returns false when the connection
	// ended or stalled (state says which).
	next := func(method string) (response, bool) {
		c.SetReadDeadline(time.Now().Add(corpusPatience))
		r, err := readResponse(br, method)
		switch {
		case err == nil:
			return r, true
		case r.raw != "" && (isEOF(err) || isTimeout(err)):
			r.summary += " <incomplete>"
		case r.raw != "":
			// Not HTTP: keep what follows, to the end.
			c.SetReadDeadline(time.Now().Add(corpusPatience))
			rest, rerr := io.ReadAll(br)
			r.raw += string(rest)
			r.summary += fmt.Sprintf(" <%v>", err)
			err = rerr
		}
		state = connStalled
		if err == nil || isEOF(err) {
			state = connClosed
		}
		if r.raw != "" {
			resps = append(resps, r)
		}
		return r, false
	}
	for i := 0; i < n; i++ {
		r, ok := next(method)
		if !ok {
			return resps, state
		}
		resps = append(resps, r)
	}
	io.WriteString(c, probeReq)
	for {
		r, ok := next("GET")
		if !ok {
			return resps, state
		}
		if r.raw == probeAnswer {
			return resps, connOpen
		}
		resps = append(resps, r)
	}
}

// corpusDial connects to lb's frontend: with TLS when addr is
// "tls://host:port" (the corpus over TLS).
func corpusDial(addr string) (net.Conn, error) {
	if a, ok := strings.CutPrefix(addr, "tls://"); ok {
		d := &net.Dialer{Timeout: 5 * time.Second}
		return tls.DialWithDialer(d, "tcp", a, &tls.Config{InsecureSkipVerify: true})
	}
	return net.DialTimeout("tcp", addr, 5*time.Second)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// fence sends a request on a new connection and waits for its answer: what
// lb forwarded before has then reached the server.
func fence(addr string) {
	c, err := corpusDial(addr)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(corpusPatience))
	io.WriteString(c, fenceReq)
	io.Copy(io.Discard, c)
}

// serverGot returns what the server received from offset from on, without
// the fence and the probe (when lb forwarded it as a request).
func serverGot(all string, from int) string {
	s := all[from:]
	for _, h := range []string{fenceFwd, probeFwd} {
		for _, h := range []string{h, strings.Replace(h, "Proto: http\r\n", "Proto: https\r\n", 1)} {
			if i := strings.LastIndex(s, h); i >= 0 {
				s = s[:i] + s[i+len(h):]
				break
			}
		}
	}
	return s
}

// countResponses counts the responses (the last one maybe partial) in raw,
// the bytes a client must read for a request with method.
func countResponses(raw, method string) int {
	br := bufio.NewReader(strings.NewReader(raw))
	n := 0
	for {
		r, err := readResponse(br, method)
		if r.raw != "" {
			n++
		}
		if err != nil {
			return n
		}
	}
}

func summaries(rs []response) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.summary)
	}
	return out
}

func rawOf(rs []response) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.raw)
	}
	return b.String()
}

// clip quotes s, eliding the middle of long strings.
func clip(s string) string {
	if len(s) <= 400 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s...(%d bytes)...%s", strconv.Quote(s[:300]), len(s)-360, strconv.Quote(s[len(s)-60:]))
}

func clipAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = clip(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// method is the method of the first request in raw.
func method(raw string) string {
	m, _, _ := strings.Cut(strings.TrimLeft(raw, "\r\n"), " ")
	return m
}

// corpusVerdict reports a case's mismatches: errors, or logs when the case
// is a known bug; a known bug that no longer shows is an error too, so
// that its mark is removed.
func corpusVerdict(t *testing.T, name, input, knownBug string, mismatches []string, bugs *[]string) {
	t.Helper()
	switch {
	case len(mismatches) > 0 && knownBug != "":
		*bugs = append(*bugs, name)
		t.Logf("KNOWN BUG %s\n\twhy: %s\n\tinput: %s", strings.Join(mismatches, "\n\t"), knownBug, clip(input))
	case len(mismatches) > 0:
		t.Errorf("%s\n\tinput: %s", strings.Join(mismatches, "\n\t"), clip(input))
	case knownBug != "":
		t.Errorf("case %s: marked as a known bug but lb now behaves as expected; remove knownBug %q", name, knownBug)
	}
}

// TestHTTPCorpus runs the request and response corpora above through one
// lb each (see the comment at the top of this file).
func TestHTTPCorpus(t *testing.T) { runCorpus(t, "", "") }

// TestHTTPCorpusTLS: the whole corpus through an HTTPS frontend; the
// server is told X-Forwarded-Proto https, everything else is the same.
func TestHTTPCorpusTLS(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.issue(t, t.TempDir(), "corpus.pem", false, time.Time{}, "corpus.example")
	runCorpus(t, "tls://", tlsTable("", cert))
}

// runCorpus runs the corpus against an lb whose frontend has the extra
// table (its tls table), reached at scheme+address.
func runCorpus(t *testing.T, scheme, table string) {
	var bugs []string
	xfp := func(up string) string { return up }
	if scheme != "" {
		xfp = func(up string) string {
			return strings.ReplaceAll(up, "X-Forwarded-Proto: http\r\n", "X-Forwarded-Proto: https\r\n")
		}
	}
	counts := map[string]int{}

	reqSrv := startCorpusServer(t, requestAnswer)
	addr := scheme + startLB(t, corpusConfigWith(reqSrv.addr(), table)).addr("fe")
	fence(addr)
	for _, g := range requestCorpus() {
		for _, c := range g.cases {
			counts[g.area]++
			name := g.area + "/" + c.name
			from := len(reqSrv.received())
			resps, conn := exchange(t, addr, c.raw, method(c.raw), len(c.resps))
			fence(addr)
			up := serverGot(reqSrv.received(), from)
			var mm []string
			if got := summaries(resps); strings.Join(got, "\x00") != strings.Join(c.resps, "\x00") {
				mm = append(mm, fmt.Sprintf("case %s: got responses %s; want %s", name, clipAll(got), clipAll(c.resps)))
			}
			if want := connState(c.closed); conn != want {
				mm = append(mm, fmt.Sprintf("case %s: got connection %s; want %s", name, conn, want))
			}
			if want := xfp(c.up); up != want {
				mm = append(mm, fmt.Sprintf("case %s: got server received %s; want %s", name, clip(up), clip(want)))
			}
			corpusVerdict(t, name, c.raw, c.knownBug, mm, &bugs)
		}
	}

	canned := map[string]resCase{}
	for _, g := range responseCorpus() {
		for _, c := range g.cases {
			_, target, _ := strings.Cut(c.req, " ")
			target, _, _ = strings.Cut(target, " ")
			canned[target] = c
		}
	}
	resSrv := startCorpusServer(t, func(_, target string) (string, bool) {
		if c, ok := canned[target]; ok {
			return c.resp, c.srvCloses
		}
		return ok("GET " + target), false // the probe and the fence
	})
	addr = scheme + startLB(t, corpusConfigWith(resSrv.addr(), table)).addr("fe")
	fence(addr) // every case's request then reuses a pooled connection
	for _, g := range responseCorpus() {
		for _, c := range g.cases {
			counts[g.area]++
			name := g.area + "/" + c.name
			from := len(resSrv.received())
			resps, conn := exchange(t, addr, c.req, method(c.req), countResponses(c.want, method(c.req)))
			fence(addr)
			up := serverGot(resSrv.received(), from)
			var mm []string
			if got := rawOf(resps); got != c.want {
				mm = append(mm, fmt.Sprintf("case %s: got client received %s; want %s", name, clip(got), clip(c.want)))
			}
			if want := connState(c.closed); conn != want {
				mm = append(mm, fmt.Sprintf("case %s: got connection %s; want %s", name, conn, want))
			}
			if want := xfp(c.up); up != want {
				mm = append(mm, fmt.Sprintf("case %s: got server received %s; want %s", name, clip(up), clip(want)))
			}
			corpusVerdict(t, name, c.req+" <- server "+c.resp, c.knownBug, mm, &bugs)
		}
	}

	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d cases by area %v; %d known bugs: %v", total, counts, len(bugs), bugs)
}
