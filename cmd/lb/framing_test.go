package main

import (
	"strings"
	"testing"
)

// TestHTTPCanonicalFraming: framing fields reach the other side in
// canonical form (issue 8; spec 2): one Content-Length without leading
// zeros, written "Content-Length", at the position of the received one;
// a Transfer-Encoding without empty list elements; a response's two
// Transfer-Encoding lines as one at the first line's position. Framing
// fields that are already canonical are forwarded exactly as received.
// The corpus harness (corpus_test.go) checks the bytes on both sides and
// that the connection stays usable.
func TestHTTPCanonicalFraming(t *testing.T) {
	const H = "Host: h"
	reqs := []struct{ name, raw, up string }{
		{"content-length with leading zeros, in place",
			"POST /a HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 007\r\nX-B: 2\r\n\r\nsevenb!",
			fwd("POST /a HTTP/1.1", H, "X-A: 1", "Content-Length: 7", "X-B: 2") + "sevenb!"},
		{"content-length zero written 0000",
			"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0000\r\n\r\n",
			fwd("POST /b HTTP/1.1", H, "Content-Length: 0")},
		{"lowercase content-length with leading zeros gets the canonical name",
			"POST /c HTTP/1.1\r\nHost: h\r\ncontent-length: 05\r\n\r\nhello",
			fwd("POST /c HTTP/1.1", H, "Content-Length: 5") + "hello"},
		{"transfer-encoding with a trailing empty element, in place",
			"POST /d HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\nX-B: 2\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			fwd("POST /d HTTP/1.1", H, "Transfer-Encoding: chunked", "X-B: 2") + "3\r\nabc\r\n0\r\n\r\n"},
		{"transfer-encoding with a leading empty element",
			"POST /e HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
			fwd("POST /e HTTP/1.1", H, "Transfer-Encoding: chunked") + "0\r\n\r\n"},
		{"canonical lowercase content-length kept as received",
			"POST /f HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\nhello",
			fwd("POST /f HTTP/1.1", H, "content-length: 5") + "hello"},
		{"canonical uppercase content-length kept as received",
			"POST /g HTTP/1.1\r\nHost: h\r\nCONTENT-LENGTH: 5\r\n\r\nhello",
			fwd("POST /g HTTP/1.1", H, "CONTENT-LENGTH: 5") + "hello"},
		{"canonical lowercase transfer-encoding kept as received",
			"POST /h HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
			fwd("POST /h HTTP/1.1", H, "transfer-encoding: chunked") + "0\r\n\r\n"},
	}
	reqSrv := startCorpusServer(t, requestAnswer)
	addr := startLB(t, corpusConfig(reqSrv.addr())).addr("fe")
	fence(addr)
	for _, c := range reqs {
		from := len(reqSrv.received())
		resps, conn := exchange(t, addr, c.raw, "POST", 1)
		fence(addr)
		if got, want := summaries(resps), srvd(strings.TrimSuffix(firstLine(c.raw), " HTTP/1.1")); len(got) != 1 || got[0] != want || conn != connOpen {
			t.Errorf("%s: got responses %s, connection %s; want [%q], open\n\tinput: %s", c.name, clipAll(got), conn, want, clip(c.raw))
		}
		if up := serverGot(reqSrv.received(), from); up != c.up {
			t.Errorf("%s: got server received %s; want %s\n\tinput: %s", c.name, clip(up), clip(c.up), clip(c.raw))
		}
	}

	res := []struct{ name, target, resp, want string }{
		{"content-length with leading zeros, in place", "/r/cl",
			"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0005\r\nX-B: 2\r\n\r\nhello",
			"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\nX-B: 2\r\n\r\nhello"},
		{"lowercase content-length with leading zeros gets the canonical name", "/r/cl-lower",
			"HTTP/1.1 200 OK\r\ncontent-length: 02\r\n\r\nhi",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"},
		{"two transfer-encoding lines become one at the first", "/r/te2",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1\r\n\r\n2\r\nhi\r\n0\r\n\r\n"},
		{"canonical lowercase content-length kept as received", "/r/cl-canon",
			"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
			"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi"},
		{"canonical transfer-encoding kept as received", "/r/te-canon",
			"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"},
	}
	canned := map[string]string{}
	for _, c := range res {
		canned[c.target] = c.resp
	}
	resSrv := startCorpusServer(t, func(_, target string) (string, bool) {
		if r, ok := canned[target]; ok {
			return r, false
		}
		return ok("GET " + target), false // the probe and the fence
	})
	addr = startLB(t, corpusConfig(resSrv.addr())).addr("fe")
	fence(addr)
	for _, c := range res {
		resps, conn := exchange(t, addr, getReq(c.target), "GET", 1)
		if got := rawOf(resps); got != c.want || conn != connOpen {
			t.Errorf("%s: got client received %s, connection %s; want %s, open\n\tserver sent: %s", c.name, clip(got), conn, clip(c.want), clip(c.resp))
		}
	}
}
