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

// resCase is one raw response, the method of the request it answers, and
// the summary its parse must give (see resSummary).
type resCase struct {
	name   string
	method string
	in     string
	want   string
	lim    Limits
}

var resCases = []resCase{
	// Status line (RFC 9112 4).
	{"200 with length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", `200 "OK" HTTP/1.1 hdrs=1 cl=5 rest=5`, Limits{}},
	{"reason with spaces", "GET", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", `404 "Not Found" HTTP/1.1 hdrs=1 cl=0`, Limits{}},
	{"reason with tab and obs-text", "GET", "HTTP/1.1 200 \tOK caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", "200 \"\\tOK caf\\u00e9\" HTTP/1.1 hdrs=1 cl=0", Limits{}},
	{"empty reason", "GET", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", `200 "" HTTP/1.1 hdrs=1 cl=0`, Limits{}},
	{"no reason no space", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", `200 "" HTTP/1.1 hdrs=1 cl=0`, Limits{}},
	{"status 599", "GET", "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n", `599 "X" HTTP/1.1 hdrs=1 cl=0`, Limits{}},
	{"status 099", "GET", "HTTP/1.1 099 X\r\n\r\n", "502 status code out of range", Limits{}},
	{"status 600", "GET", "HTTP/1.1 600 X\r\n\r\n", "502 status code out of range", Limits{}},
	{"status two digits", "GET", "HTTP/1.1 20 OK\r\n\r\n", "502 invalid status code", Limits{}},
	{"status four digits", "GET", "HTTP/1.1 2000 OK\r\n\r\n", "502 invalid status code", Limits{}},
	{"status iis sub-code", "GET", "HTTP/1.1 403.1 Forbidden\r\n\r\n", "502 invalid status code", Limits{}},
	{"double space", "GET", "HTTP/1.1  200 OK\r\n\r\n", "502 invalid status code", Limits{}},
	{"control in reason", "GET", "HTTP/1.1 200 O\x01K\r\n\r\n", "502 control character in reason phrase", Limits{}},
	{"http/2.0", "GET", "HTTP/2.0 200 OK\r\n\r\n", "502 unsupported http version", Limits{}},
	{"http/1.2", "GET", "HTTP/1.2 200 OK\r\n\r\n", "502 unsupported http version", Limits{}},
	{"lowercase version", "GET", "http/1.1 200 OK\r\n\r\n", "502 invalid http version", Limits{}},
	{"html instead of head", "GET", "<html>", "502 invalid http version", Limits{}},
	{"http/0.9 body", "GET", "hello world", "502 invalid http version", Limits{}},
	{"leading crlf", "GET", "\r\nHTTP/1.1 204 No Content\r\n\r\n", `204 "No Content" HTTP/1.1 hdrs=0 nobody skip=2`, Limits{}},
	{"lf-only", "GET", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", "502 bare lf line ending", Limits{}},
	{"lf-only after code", "GET", "HTTP/1.1 200\n", "502 bare lf line ending", Limits{}},
	{"bare cr", "GET", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "502 bare cr", Limits{}},

	// Framing (RFC 9112 6.3).
	{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=1 chunked rest=5`, Limits{}},
	{"until close", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody...", `200 "OK" HTTP/1.1 hdrs=1 until-close close rest=7`, Limits{}},
	{"http/1.0 until close", "GET", "HTTP/1.0 200 OK\r\n\r\n", `200 "OK" HTTP/1.0 hdrs=0 until-close close`, Limits{}},
	{"http/1.0 keep-alive", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", `200 "OK" HTTP/1.0 hdrs=2 cl=2 opts=keep-alive rest=2`, Limits{}},
	{"http/1.0 no keep-alive", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", `200 "OK" HTTP/1.0 hdrs=1 cl=2 close rest=2`, Limits{}},
	{"close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=2 cl=0 close opts=close`, Limits{}},
	{"gzip until close", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=1 until-close close`, Limits{}},
	{"gzip, chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=1 chunked`, Limits{}},
	{"chunked, gzip", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "502 chunked is not the final transfer coding", Limits{}},
	{"chunked twice", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "502 transfer coding chunked applied twice", Limits{}},
	{"te in http/1.0", "GET", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "502 transfer-encoding in http/1.0", Limits{}},
	{"te and cl", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "502 content-length with transfer-encoding", Limits{}},
	{"cl and te", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "502 transfer-encoding with content-length", Limits{}},
	{"duplicate cl", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", "502 duplicate content-length", Limits{}},
	{"cl list", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", "502 invalid content-length", Limits{}},
	{"cl plus", "GET", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "502 invalid content-length", Limits{}},
	{"cl overflow", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", "502 content-length overflow", Limits{}},
	{"head with length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 52311\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=1 nobody`, Limits{}},
	{"head with chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=1 nobody`, Limits{}},
	{"head without framing", "HEAD", "HTTP/1.1 200 OK\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=0 nobody`, Limits{}},
	{"head still rejects te and cl", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "502 transfer-encoding with content-length", Limits{}},
	{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n", `204 "No Content" HTTP/1.1 hdrs=0 nobody rest=17`, Limits{}},
	{"204 with cl 0", "DELETE", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", `204 "No Content" HTTP/1.1 hdrs=1 nobody`, Limits{}},
	{"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n", `304 "Not Modified" HTTP/1.1 hdrs=2 nobody`, Limits{}},
	{"100 continue", "PUT", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", `100 "Continue" HTTP/1.1 hdrs=0 nobody interim rest=43`, Limits{}},
	{"103 early hints", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n", `103 "Early Hints" HTTP/1.1 hdrs=1 nobody interim`, Limits{}},
	{"1xx ignores te", "GET", "HTTP/1.1 102 Processing\r\nTransfer-Encoding: chunked\r\n\r\n", `102 "Processing" HTTP/1.1 hdrs=1 nobody interim`, Limits{}},
	{"101 websocket", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello", `101 "Switching Protocols" HTTP/1.1 hdrs=3 nobody upgrade opts=Upgrade rest=7`, Limits{}},
	{"101 without upgrade", "GET", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", "502 101 without upgrade header", Limits{}},
	{"connect 200 tunnel", "CONNECT", "HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01", `200 "Connection Established" HTTP/1.1 hdrs=0 tunnel rest=3`, Limits{}},
	{"connect 200 ignores length", "CONNECT", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=1 tunnel`, Limits{}},
	{"connect 407", "CONNECT", "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", `407 "Proxy Authentication Required" HTTP/1.1 hdrs=1 cl=0`, Limits{}},
	{"lowercase head is not head", "head", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", `200 "OK" HTTP/1.1 hdrs=1 cl=1 rest=1`, Limits{}},

	// Field lines.
	{"space before colon", "GET", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", "502 whitespace before colon", Limits{}},
	{"obs-fold", "GET", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", "502 obs-fold or leading whitespace in field line", Limits{}},
	{"nul in value", "GET", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", "502 nul in field value", Limits{}},
	{"response host not checked", "GET", "HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nExpect: x\r\nContent-Length: 0\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=4 cl=0`, Limits{}},
	{"set-cookie repeated", "GET", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=3 cl=0`, Limits{}},
	{"headers over limit", "GET", "HTTP/1.1 200 OK\r\n" + fields(102) + "\r\n", "502 header count over limit 101", Limits{}},
	{"head over limit", "GET", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", 20000) + "\r\n\r\n", "502 head over limit 15360 bytes", Limits{}},
	{"head within response limit", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: " + strings.Repeat("v", 16000) + "\r\n\r\n", `200 "OK" HTTP/1.1 hdrs=2 cl=0`, Limits{MaxHead: 16384}},

	// Truncated.
	{"empty", "GET", "", "incomplete", Limits{}},
	{"version only", "GET", "HTTP/1.1", "incomplete", Limits{}},
	{"status line only", "GET", "HTTP/1.1 200 OK\r\n", "incomplete", Limits{}},
	{"no final crlf", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "incomplete", Limits{}},
}

// resSummary renders a response parse result like reqSummary.
func resSummary(r *Response, err error, total int) string {
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
	fmt.Fprintf(&b, "%d %+q %s hdrs=%d", r.Status, r.Reason, r.Proto, len(r.Headers))
	if r.ContentLength >= 0 {
		fmt.Fprintf(&b, " cl=%d", r.ContentLength)
	}
	flags := []struct {
		on   bool
		name string
	}{{r.Chunked, "chunked"}, {r.BodyUntilClose, "until-close"}, {r.NoBody, "nobody"}, {r.Tunnel, "tunnel"}, {r.Upgrade, "upgrade"}, {r.Interim, "interim"}, {!r.KeepAlive, "close"}}
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

func TestResponseCorpus(t *testing.T) {
	for _, c := range resCases {
		t.Run(c.name, func(t *testing.T) {
			in, m := []byte(c.in), []byte(c.method)
			var r Response
			if got := resSummary(&r, r.Parse(in, m, c.lim), len(in)); got != c.want {
				t.Fatalf("Parse(%q) for %s\n got %s\nwant %s", short(c.in), c.method, got, c.want)
			}
			if got := resSummary(&r, r.Parse(in, m, c.lim), len(in)); got != c.want {
				t.Errorf("second Parse(%q)\n got %s\nwant %s", short(c.in), got, c.want)
			}
			checkResponseSplits(t, in, m, c.lim, c.want)
		})
	}
}

// checkResponseSplits is checkRequestSplits for responses.
func checkResponseSplits(t *testing.T, in, method []byte, lim Limits, want string) {
	t.Helper()
	var r Response
	got := "incomplete"
	for k := 0; k <= len(in) && got == "incomplete"; k++ {
		got = resSummary(&r, r.Parse(in[:k], method, lim), len(in))
	}
	if got != want {
		t.Fatalf("byte by byte %q\n got %s\nwant %s", short(string(in)), got, want)
	}
	moved := make([]byte, len(in))
	for _, k := range splitPoints(len(in)) {
		r.Reset()
		if got := resSummary(&r, r.Parse(in[:k], method, lim), len(in)); got != "incomplete" && got != want {
			t.Fatalf("prefix %q\n got %s\nwant incomplete or %s", short(string(in[:k])), got, want)
		}
		copy(moved, in)
		if got := resSummary(&r, r.Parse(moved, method, lim), len(in)); got != want {
			t.Fatalf("split at %d of %q\n got %s\nwant %s", k, short(string(in)), got, want)
		}
	}
}

// TestResponseInterimThenFinal parses a 100 and the final response after it
// from one buffer, the way the session will.
func TestResponseInterimThenFinal(t *testing.T) {
	buf := []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	var r Response
	var got []string
	for off := 0; ; {
		r.Reset()
		if err := r.Parse(buf[off:], []byte("GET"), Limits{}); err != nil {
			t.Fatalf("Parse at %d = %v", off, err)
		}
		got = append(got, fmt.Sprint(r.Status, r.Interim))
		off += r.HeadLen
		if !r.Interim {
			if rest := string(buf[off:]); rest != "ok" {
				t.Errorf("body = %q; want %q", rest, "ok")
			}
			break
		}
	}
	if want := "[100 true 103 true 200 false]"; fmt.Sprint(got) != want {
		t.Errorf("statuses = %v; want %v", got, want)
	}
}

// TestResponseAgreesWithNetHTTP checks accepted responses with a body
// against net/http's reading of their framing.
func TestResponseAgreesWithNetHTTP(t *testing.T) {
	checked := 0
	for _, c := range resCases {
		in := []byte(c.in)
		var r Response
		if r.Parse(in, []byte(c.method), c.lim) != nil || r.NoBody || r.Tunnel || onlyChunkedSupported(&r) {
			continue
		}
		hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in[r.Skip:])), &http.Request{Method: c.method})
		if err != nil {
			t.Errorf("%s: net/http rejects a response we accept: %v", c.name, err)
			continue
		}
		checked++
		got := fmt.Sprintf("%d cl=%d chunked=%v close=%v", hr.StatusCode, hr.ContentLength, len(hr.TransferEncoding) > 0 && hr.TransferEncoding[len(hr.TransferEncoding)-1] == "chunked", hr.Close)
		want := fmt.Sprintf("%d cl=%d chunked=%v close=%v", r.Status, r.ContentLength, r.Chunked, !r.KeepAlive)
		if got != want {
			t.Errorf("%s: net/http reads %s; we read %s", c.name, got, want)
		}
	}
	if checked < 10 {
		t.Errorf("compared %d responses with net/http; want at least 10", checked)
	}
}

// onlyChunkedSupported reports a Transfer-Encoding other than "chunked",
// which net/http refuses to read (it implements no other coding).
func onlyChunkedSupported(r *Response) bool {
	for _, h := range r.Headers {
		if strings.EqualFold(string(h.Name), "transfer-encoding") && !strings.EqualFold(string(h.Value), "chunked") {
			return true
		}
	}
	return false
}

func TestResponseAllocs(t *testing.T) {
	in, m := []byte(benchResponse), []byte("GET")
	var r Response
	if err := r.Parse(in, m, DefaultLimits); err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if n := testing.AllocsPerRun(100, func() {
		r.Reset()
		if err := r.Parse(in, m, DefaultLimits); err != nil {
			t.Fatalf("Parse = %v", err)
		}
	}); n != 0 {
		t.Errorf("allocations per parse = %v; want 0", n)
	}
}
