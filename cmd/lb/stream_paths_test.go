package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Paths of the stream engine that the loop and the pumps share (issue 8:
// one forwarding logic, two ways to move bytes).

// TestHTTPEarlyResponseDuringUpload: a server that answers (and closes)
// while the client is still uploading a large body, on the pumps: the
// client gets the whole response, then a close (the connection cannot
// carry another request: the rest of the body was never read), and the
// log has the server's status.
func TestHTTPEarlyResponseDuringUpload(t *testing.T) {
	early := startServer(t, func(c net.Conn) {
		readHead(c)
		io.CopyN(io.Discard, c, 64<<10)
		io.WriteString(c, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!")
	})
	p := startLB(t, httpConfig("", "", srv("s", early.addr())))
	c := dialClient(t, p.addr("fe"))
	const size = 32 << 20
	c.send(t, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", size))
	go io.Copy(c, io.LimitReader(zeros{}, size)) // stops when lb closes
	r, err := c.response("POST")
	if err != nil || !strings.HasPrefix(r.raw, "HTTP/1.1 413 ") || !strings.HasSuffix(r.raw, "big!") || header(r.raw, "Connection") != "close" {
		t.Fatalf("got %s (%v); want the server's 413 with Connection: close", clip(r.raw), err)
	}
	if _, closed := c.rest(); !closed {
		t.Errorf("connection still open after an answer to an unfinished upload")
	}
	l := p.logOf(t, c)
	if l["status"] != 413.0 || l["server"] != "s" {
		t.Errorf("log line %v; want status 413 from server s", l)
	}
}

// TestHTTPUpgradeHalfClose: a WebSocket-style tunnel after a 101 relays
// a half-close both ways: the client's FIN reaches the server, which can
// still answer, and the server's answer and FIN reach the client.
func TestHTTPUpgradeHalfClose(t *testing.T) {
	ws := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		got, _ := io.ReadAll(br) // until the client's FIN comes through
		io.WriteString(c, "got:"+string(got))
		c.(*net.TCPConn).CloseWrite()
	})
	p := startLB(t, httpConfig("", "", srv("s", ws.addr())))
	c := dialClient(t, p.addr("fe"))
	c.send(t, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	r, err := c.response("GET")
	if err != nil || !strings.HasPrefix(r.raw, "HTTP/1.1 101 ") {
		t.Fatalf("got %s (%v); want 101", clip(r.raw), err)
	}
	c.send(t, "hello")
	c.CloseWrite()
	got, closed := c.rest()
	if got != "got:hello" || !closed {
		t.Errorf("after the half-close: got %q (closed %v); want got:hello then the server's FIN", got, closed)
	}
}

// TestTCPDataAndFINBeforeConnect: in TCP mode, what a client sends and its
// FIN, both before the server connection exists, reach the server once it
// does, and the server's answer reaches the client.
func TestTCPDataAndFINBeforeConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The server accepts only once the client has sent and half-closed:
	// lb's connect completes in the kernel backlog, lb forwards when the
	// client already left its half.
	release := make(chan struct{})
	s := serveOn(t, &gatedListener{Listener: ln, gate: release}, func(c net.Conn) {
		got, _ := io.ReadAll(c)
		io.WriteString(c, "echo:"+string(got))
		c.(*net.TCPConn).CloseWrite()
	})
	p := startLB(t, tcpConfig("", "", srv("s", s.addr())))
	c := dialClient(t, p.addr("fe"))
	c.send(t, "early bytes")
	c.CloseWrite()
	time.Sleep(50 * time.Millisecond) // pace: lb sees the FIN before the server accepts
	close(release)
	got, closed := c.rest()
	if got != "echo:early bytes" || !closed {
		t.Errorf("got %q (closed %v); want echo:early bytes then the server's FIN", got, closed)
	}
}

// gatedListener accepts only once gate is closed.
type gatedListener struct {
	net.Listener
	gate chan struct{}
}

func (l *gatedListener) Accept() (net.Conn, error) {
	<-l.gate
	return l.Listener.Accept()
}

// TestHTTPPipelinedLocalAnswers: many pipelined requests that lb answers
// itself (a return rule: no server event paces them) are all answered,
// in order, without the client sending anything more.
func TestHTTPPipelinedLocalAnswers(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig("", "", srv("s", hb.addr()))+`
[[frontend.fe.http_request]]
path_prefix = "/ping"
action = "return"
body = "pong"
`)
	const n = 300
	c := dialClient(t, p.addr("fe"))
	c.send(t, strings.Repeat("GET /ping HTTP/1.1\r\nHost: h\r\n\r\n", n))
	for i := 0; i < n; i++ {
		r, err := c.response("GET")
		if err != nil || !strings.HasPrefix(r.raw, "HTTP/1.1 200 ") || !strings.HasSuffix(r.raw, "pong") {
			t.Fatalf("answer %d of %d: %s (%v); want 200 pong", i+1, n, clip(r.raw), err)
		}
	}
}

// TestHTTPAnswerToHEAD: lb's own answer to a HEAD request has no body (RFC
// 9110 9.3.2), so the connection it keeps stays in step: the next request
// on it is answered correctly.
func TestHTTPAnswerToHEAD(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	p := startLB(t, routed(hb.addr(), routedBackend{name: "dead", options: "retries = 0\n", servers: []string{deadAddr(t)}})+`
[[frontend.fe.http_request]]
path_prefix = "/deny"
action = "deny"
`)
	for _, target := range []string{"/dead/x", "/deny"} {
		c := dialClient(t, p.addr("fe"))
		c.send(t, "HEAD "+target+" HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		r, err := c.response("HEAD")
		if err != nil || !strings.HasPrefix(r.raw, "HTTP/1.1 5") && !strings.HasPrefix(r.raw, "HTTP/1.1 4") {
			t.Fatalf("HEAD %s: got %s (%v); want lb's answer", target, clip(r.raw), err)
		}
		if r, err := c.response("GET"); err != nil || r.summary != "HTTP/1.1 200 OK good" {
			t.Errorf("GET after HEAD %s: got %s (%v); want 200 good (the HEAD answer must carry no body)", target, clip(r.raw), err)
		}
	}
}
