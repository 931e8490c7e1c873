package main

import (
	"fmt"
	"strings"
	"testing"
)

// The HOLD covers the body bytes that arrived with the request head (issue
// 8; spec 1): they are validated as RFC 9112 7.1 frames a chunked body,
// within lb's bounds (4096-byte chunk-size line, 8192-byte trailer section,
// max_body_size), before any server is chosen. A malformed held body is
// answered 400 (413 over max_body_size) with Connection: close, logged PR
// with <NOSRV>, and no server sees a connection or a byte.

// chunk is a well-formed chunk of n bytes.
func chunk(n int) string { return fmt.Sprintf("%x\r\n%s\r\n", n, strings.Repeat("c", n)) }

// heldRefused are chunked bodies that RFC 9112 7.1 (and lb's bounds) make
// invalid, each entirely sent with its head. The grammar:
//
//	chunked-body   = *chunk last-chunk trailer-section CRLF
//	chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-size     = 1*HEXDIG
//	last-chunk     = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	trailer-section = *( field-line CRLF )
var heldRefused = []struct {
	name, body string
	status     int
}{
	// chunk-size = 1*HEXDIG, within int64, ended by CRLF (or BWS ";").
	{"empty chunk size", "\r\nhello\r\n0\r\n\r\n", 400},
	{"space before chunk size", " 5\r\nhello\r\n0\r\n\r\n", 400},
	{"plus sign", "+5\r\nhello\r\n0\r\n\r\n", 400},
	{"minus sign", "-5\r\nhello\r\n0\r\n\r\n", 400},
	{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400},
	{"not a hex digit", "g\r\nhello\r\n0\r\n\r\n", 400},
	{"hex digits then junk", "5x\r\nhello\r\n0\r\n\r\n", 400},
	{"NUL after chunk size", "5\x00\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size just over int64", "8000000000000000\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size of 17 hex digits", "10000000000000000\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size overflow after leading zeros", "0000000fffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
	{"space after chunk size", "5 \r\nhello\r\n0\r\n\r\n", 400},
	{"tab after chunk size", "5\t\r\nhello\r\n0\r\n\r\n", 400},
	{"space inside chunk size", "1 0\r\n0123456789abcdef\r\n0\r\n\r\n", 400},
	{"bare LF after chunk size", "5\nhello\r\n0\r\n\r\n", 400},
	{"bare CR after chunk size", "5\rhello\r\n0\r\n\r\n", 400},
	{"chunk-size line of 4097 bytes", strings.Repeat("0", 4096) + "5\r\nhello\r\n0\r\n\r\n", 400},
	// chunk-ext: no CTL (HTAB aside), no bare CR or LF, only BWS ";"
	// after the size, and within the chunk-size line bound.
	{"CTL in chunk extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", 400},
	{"NUL in chunk extension", "5;\x00\r\nhello\r\n0\r\n\r\n", 400},
	{"ESC in chunk extension value", "5;a=\x1b\r\nhello\r\n0\r\n\r\n", 400},
	{"DEL in chunk extension", "5;a\x7f\r\nhello\r\n0\r\n\r\n", 400},
	{"bare CR in chunk extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", 400},
	{"bare LF ending a chunk extension", "5;a\nhello\r\n0\r\n\r\n", 400},
	{"LF inside a quoted extension value", "5;a=\"\n\"\r\nhello\r\n0\r\n\r\n", 400},
	{"junk between BWS and extension", "5 x;a\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk-size line of 4097 bytes by its extension", "5;" + strings.Repeat("e", 4095) + "\r\nhello\r\n0\r\n\r\n", 400},
	// chunk-data is exactly chunk-size octets, then CRLF.
	{"data longer than its size", "3\r\nhello\r\n0\r\n\r\n", 400},
	{"data shorter than its size", "5\r\nhi\r\n0\r\n\r\n", 400},
	{"no CRLF after data", "5\r\nhello0\r\n\r\n", 400},
	{"LF only after data", "5\r\nhello\n0\r\n\r\n", 400},
	{"CR only after data", "5\r\nhello\r0\r\n\r\n", 400},
	{"bad chunk after a good one", "5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
	// last-chunk = 1*("0") [ chunk-ext ] CRLF.
	{"bare LF after last chunk", "0\n\r\n", 400},
	{"space after last chunk", "0 \r\n\r\n", 400},
	{"CTL in last-chunk extension", "0;\x01\r\n\r\n", 400},
	{"bare CR after last chunk", "0\rX\r\n\r\n", 400},
	// trailer-section = *( field-line CRLF ), then CRLF: token names, no
	// whitespace before the colon, no obs-fold, no CTL, CRLF endings,
	// at most 8192 bytes with the final CRLF.
	{"obs-fold in trailer (space)", "0\r\nX-T: a\r\n b\r\n\r\n", 400},
	{"obs-fold in trailer (tab)", "0\r\nX-T: a\r\n\tb\r\n\r\n", 400},
	{"whitespace before the first trailer", "0\r\n X-T: a\r\n\r\n", 400},
	{"space before colon in trailer", "0\r\nX-T : a\r\n\r\n", 400},
	{"tab before colon in trailer", "0\r\nX-T\t: a\r\n\r\n", 400},
	{"empty trailer name", "0\r\n: a\r\n\r\n", 400},
	{"trailer line without colon", "0\r\nX-T\r\n\r\n", 400},
	{"trailer name not a token", "0\r\nX@T: a\r\n\r\n", 400},
	{"obs-text in trailer name", "0\r\nX\xe9: a\r\n\r\n", 400},
	{"NUL in trailer value", "0\r\nX-T: a\x00b\r\n\r\n", 400},
	{"CTL in trailer value", "0\r\nX-T: a\x01b\r\n\r\n", 400},
	{"DEL in trailer value", "0\r\nX-T: a\x7fb\r\n\r\n", 400},
	{"bare CR in trailer value", "0\r\nX-T: a\rb\r\n\r\n", 400},
	{"bare LF ending a trailer", "0\r\nX-T: a\nX-U: b\r\n\r\n", 400},
	{"bare LF ending the trailer section", "0\r\nX-T: a\r\n\n", 400},
	{"bare LF ending an empty trailer section", "0\r\n\n", 400},
	{"bare CR ending the trailer section", "0\r\n\rX", 400},
	{"trailer section of 8193 bytes", "0\r\nX: " + strings.Repeat("v", 8186) + "\r\n\r\n", 400},
	// max_body_size (1k here) bounds the sum of the chunk sizes: 413.
	{"one chunk over max_body_size", chunk(1025) + "0\r\n\r\n", 413},
	{"chunks adding up past max_body_size", chunk(1000) + chunk(25) + "0\r\n\r\n", 413},
	{"huge chunk announced", "ffffffff\r\nhello", 413},
}

// heldAtBounds are the valid neighbours of the bounded cases above: they
// reach the server unchanged.
var heldAtBounds = []struct{ name, body string }{
	{"chunk-size line of 4096 bytes", strings.Repeat("0", 4095) + "5\r\nhello\r\n0\r\n\r\n"},
	{"chunk-size line of 4096 bytes by its extension", "5;" + strings.Repeat("e", 4094) + "\r\nhello\r\n0\r\n\r\n"},
	{"trailer section of 8192 bytes", "0\r\nX: " + strings.Repeat("v", 8185) + "\r\n\r\n"},
	{"body of max_body_size", chunk(1000) + chunk(24) + "0\r\n\r\n"},
}

var statusText = map[int]string{400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

// TestHTTPHeldChunkedBody: every malformed chunked body sent with its head
// gets lb's own 400 (413 over max_body_size) and a close, is logged PR with
// <NOSRV>, and the test server accepts no connection for it (a fence
// request through the same server after each case proves the accept queue
// was drained: lb dials in order, the server accepts in order).
func TestHTTPHeldChunkedBody(t *testing.T) {
	cs := startCorpusServer(t, func(method, target string) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", true
	})
	p := startLB(t, httpConfig("max_body_size = \"1k\"\n", "", srv("s", cs.addr())))
	addr := p.addr("fe")
	accepted := 0
	fenced := func(t *testing.T, why string) {
		t.Helper()
		got, _ := rawExchange(t, addr, "GET /fence HTTP/1.1\r\nHost: fence\r\nConnection: close\r\n\r\n", guard)
		if !strings.HasSuffix(got, "ok") {
			t.Fatalf("%s: fence request got %q; want the server's ok", why, got)
		}
		accepted++
	}
	fenced(t, "before the cases")
	for i, c := range heldRefused {
		target := fmt.Sprintf("/held/%d", i)
		raw := "POST " + target + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + c.body
		from := len(cs.received())
		got, closed := rawExchange(t, addr, raw, guard)
		if want := lbAnswer(c.status, statusText[c.status]); got != want || !closed {
			t.Errorf("%s: got %s (closed %v); want %s and a close\n\tinput: %s", c.name, clip(got), closed, clip(want), clip(raw))
		}
		fenced(t, c.name)
		if n := cs.accepts(); n != accepted {
			t.Errorf("%s: got %d server connections for the refused request; want 0\n\tinput: %s", c.name, n-accepted, clip(raw))
			accepted = n
		}
		if up := serverGot(cs.received(), from); up != "" {
			t.Errorf("%s: got server received %s; want nothing", c.name, clip(up))
		}
		l := p.waitLog(t, func(m map[string]any) bool { return m["target"] == target })
		if l["status"] != float64(c.status) || l["term"] != "PR" || l["server"] != "<NOSRV>" {
			t.Errorf("%s: got log status %v term %v server %v; want %d PR <NOSRV>", c.name, l["status"], l["term"], l["server"], c.status)
		}
	}
	for _, c := range heldAtBounds {
		raw := "POST /bound HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + c.body
		from := len(cs.received())
		got, _ := rawExchange(t, addr, raw, guard)
		if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
			t.Errorf("%s: got %s; want the server's 200\n\tinput: %s", c.name, clip(got), clip(raw))
		}
		accepted++
		if up := cs.received()[from:]; !strings.HasSuffix(up, "\r\n\r\n"+c.body) {
			t.Errorf("%s: got server received %s; want the body unchanged", c.name, clip(up))
		}
	}
}

// TestHTTPChunkedErrorAfterForward: a framing error in body bytes that
// arrive after the head went to the server gets 400 (no response started)
// with a close; the server connection is closed (never reused) and the
// log says PD.
func TestHTTPChunkedErrorAfterForward(t *testing.T) {
	cases := []struct{ name, later string }{
		{"bad chunk size", "zz\r\nhello\r\n0\r\n\r\n"},
		{"no CRLF after data", "3\r\nabcXY0\r\n\r\n"},
		{"obs-fold in trailer", "0\r\nX-T: a\r\n b\r\n\r\n"},
		{"bare LF ending the trailers", "0\r\nX-T: a\r\n\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := startRecorder(t, nil)
			p := startLB(t, httpConfig("", "", srv("s", rec.addr())))
			cl := dialClient(t, p.addr("fe"))
			cl.send(t, "POST /later HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			waitFor(t, "the head and first chunk at the server", func() bool {
				got, _ := rec.conn(0)
				return strings.HasSuffix(got, "\r\n\r\n5\r\nhello\r\n")
			})
			cl.send(t, c.later)
			got, closed := cl.rest()
			if want := lbAnswer(400, "Bad Request"); got != want || !closed {
				t.Errorf("after %s: got %s (closed %v); want %s and a close", clip(c.later), clip(got), closed, clip(want))
			}
			rec.waitEOF(t, 0, c.name)
			l := p.logOf(t, cl)
			if l["status"] != 400.0 || l["term"] != "PD" || l["server"] != "s" {
				t.Errorf("got log status %v term %v server %v; want 400 PD s", l["status"], l["term"], l["server"])
			}
		})
	}
}
