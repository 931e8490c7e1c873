package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Keep-alive after error answers (issue 8; spec 3): when the request was
// read completely and the client allows keep-alive, lb's 502, 503 and 504
// keep the client connection (no Connection: close) and the next request
// on it is served; the failed server connection is never reused. With
// Connection: close in the request, or a request body not fully received,
// the answer closes.

// failing is a test server that fails each request its own way and then
// reports, on eof, that lb closed the connection.
func failing(t *testing.T, fail func(net.Conn)) (addr string, eof chan struct{}) {
	eof = make(chan struct{}, 16)
	s := startServer(t, func(c net.Conn) {
		fail(c)
		io.Copy(io.Discard, c)
		eof <- struct{}{}
	})
	return s.addr(), eof
}

// TestHTTPKeepAliveAfterErrorAnswers: each server fault gets its 502, 503
// or 504 without Connection: close, and a second request on the same
// client connection (routed to a good backend) is served. A server
// connection that failed is closed by lb (never pooled).
func TestHTTPKeepAliveAfterErrorAnswers(t *testing.T) {
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	garbage, garbageEOF := failing(t, func(c net.Conn) { readHead(c); io.WriteString(c, "SSH-2.0-nope\r\n\r\n") })
	silent, silentEOF := failing(t, func(c net.Conn) { readHead(c) })
	empty := startServer(t, func(c net.Conn) { readHead(c) }).addr()
	reset := startServer(t, func(c net.Conn) { readHead(c); c.(*net.TCPConn).SetLinger(0) }).addr()
	hung := startRecorder(t, nil)
	const (
		serverTimeout = 7 * time.Second
		queueTimeout  = 6 * time.Second
	)
	cases := []struct {
		name   string
		be     routedBackend
		status int
		fire   time.Duration                 // the timeout to fire on the fake clock (0: none)
		before func(t *testing.T, p *lbProc) // brings lb to the fault
		eof    chan struct{}                 // the failed server connection's close, when the server can see it
	}{
		{name: "502 garbage", be: routedBackend{name: "garbage", options: "retries = 0", servers: []string{garbage}}, status: 502, eof: garbageEOF},
		{name: "502 closed without answering", be: routedBackend{name: "empty", options: "retries = 0", servers: []string{empty}}, status: 502},
		{name: "502 reset", be: routedBackend{name: "reset", options: "retries = 0", servers: []string{reset}}, status: 502},
		{name: "503 connection refused", be: routedBackend{name: "refused", options: "retries = 0", servers: []string{deadAddr(t)}}, status: 503},
		{name: "503 no server", be: routedBackend{name: "nosrv", options: "retries = 0", servers: []string{good.addr()}}, status: 503,
			before: func(t *testing.T, p *lbProc) {
				resp, err := http.Post("http://"+p.inst.adminAddr()+"/api/backends/nosrv/servers/nosrv0/state", "text/plain", strings.NewReader("maint"))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("maint: %v %v", resp, err)
				}
				resp.Body.Close()
			}},
		{name: "503 queue timeout", be: routedBackend{name: "queued", options: fmt.Sprintf("retries = 0\n[backend.queued.timeout]\nqueue = %q\nserver = \"1h\"", queueTimeout), servers: []string{hung.addr()}, serverExtra: "maxconn = 1"}, status: 503, fire: queueTimeout,
			before: func(t *testing.T, p *lbProc) {
				holder := dialClient(t, p.addr("fe"))
				holder.send(t, "GET /queued/holder HTTP/1.1\r\nHost: h\r\n\r\n")
				waitFor(t, "the holder's request at the hung server", func() bool {
					got, _ := hung.conn(0)
					return strings.Contains(got, "\r\n\r\n")
				})
			}},
		{name: "504 server timeout", be: routedBackend{name: "silent", options: fmt.Sprintf("retries = 0\n[backend.silent.timeout]\nserver = %q", serverTimeout), servers: []string{silent}}, status: 504, fire: serverTimeout, eof: silentEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newClock()
			p := startLBClock(t, routed(good.addr(), c.be)+"\n[admin]\nbind = \"127.0.0.1:0\"\n", clock)
			if c.before != nil {
				c.before(t, p)
			}
			cl := dialClient(t, p.addr("fe"))
			cl.send(t, "GET /"+c.be.name+"/x HTTP/1.1\r\nHost: h\r\n\r\n")
			if c.fire > 0 {
				fireAt(t, clock, fakeStart.Add(c.fire))
			}
			first, err := cl.response("GET")
			if want := fmt.Sprintf("HTTP/1.1 %d ", c.status); !strings.HasPrefix(first.raw, want) || header(first.raw, "Connection") != "" {
				t.Errorf("got %s (%v); want %s... without Connection: close", clip(first.raw), err, want)
			}
			cl.send(t, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
			second, err := cl.response("GET")
			if second.summary != "HTTP/1.1 200 OK good" {
				t.Errorf("next request on the same connection: got %s (%v); want the good backend's 200", clip(second.raw), err)
			}
			if c.eof != nil {
				select {
				case <-c.eof:
				case <-time.After(guard):
					t.Errorf("the failed server connection was left open; want lb to close it (never reused)")
				}
			}
		})
	}
}

// TestHTTPErrorAnswerCloses: the same server faults close the client
// connection when the client asked for it, or when the request body was
// not fully received.
func TestHTTPErrorAnswerCloses(t *testing.T) {
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	garbage := startServer(t, func(c net.Conn) { readHead(c); io.WriteString(c, "SSH-2.0-nope\r\n\r\n"); io.Copy(io.Discard, c) }).addr()
	midUpload := func(fail func(net.Conn)) string {
		return startServer(t, func(c net.Conn) {
			got := readHead(c)
			for !strings.HasSuffix(got, "0123456789") {
				buf := make([]byte, 4096)
				n, err := c.Read(buf)
				got += string(buf[:n])
				if err != nil {
					return
				}
			}
			fail(c)
		}).addr()
	}
	upGarbage := midUpload(func(c net.Conn) { io.WriteString(c, "SSH-2.0-nope\r\n\r\n"); io.Copy(io.Discard, c) })
	upClosed := midUpload(func(net.Conn) {})
	upReset := midUpload(func(c net.Conn) { c.(*net.TCPConn).SetLinger(0) })
	cases := []struct{ name, backend, addr, raw string }{
		{"connection close in the request", "garbage", garbage, "GET /garbage HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"},
		{"http/1.0 without keep-alive", "garbage", garbage, "GET /garbage HTTP/1.0\r\n\r\n"},
		{"garbage mid-upload", "up", upGarbage, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"},
		{"server closed mid-upload", "up", upClosed, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"},
		{"server reset mid-upload", "up", upReset, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startLBClock(t, routed(good.addr(), routedBackend{name: c.backend, options: "retries = 0", servers: []string{c.addr}}), newClock())
			cl := dialClient(t, p.addr("fe"))
			cl.send(t, c.raw)
			got, closed := cl.rest()
			if want := lbAnswer(502, "Bad Gateway"); got != want || !closed {
				t.Errorf("got %s (closed %v); want %s and a close\n\tinput: %s", clip(got), closed, clip(want), clip(c.raw))
			}
		})
	}
}
