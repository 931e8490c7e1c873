package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Each timeout cuts what it names (issue 8; spec 4), driven by a fake
// clock: lb is brought into the state whose timeout is tested, the test
// waits for the exact timer (fireAt) or for an observable effect, advances
// the clock past it, then reads the outcome. Timeouts the test is not about
// are set to hours, so that only the one named can expire, and so that a
// timeout still running on the real clock cannot expire within the real
// guards either.

// checkLog checks an access-log line's status and term.
func checkLog(t *testing.T, what string, l map[string]any, status int, term string) {
	t.Helper()
	if l["status"] != float64(status) || l["term"] != term {
		t.Errorf("%s: got log status %v term %v; want %d %s (log line %v)", what, l["status"], l["term"], status, term, l)
	}
}

// TestHTTPTimeoutRequest: a partial request head is answered 408 after
// timeout.http_request, the connection closes, the log says cR.
func TestHTTPTimeoutRequest(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "http_request", "21s", "client", "1h", "http_keep_alive", "2h"), "", srv("s", hb.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET /partial HTTP/1.1\r\nHost: h\r\n")
	fireAt(t, clock, fakeStart.Add(21*time.Second))
	got, closed := cl.rest()
	if want := lbAnswer(408, "Request Timeout"); got != want || !closed {
		t.Errorf("partial head: got %s (closed %v); want %s and a close", clip(got), closed, clip(want))
	}
	checkLog(t, "partial head", p.logOf(t, cl), 408, "cR")
	if n := len(hb.requests()); n != 0 {
		t.Errorf("server got %d requests; want 0", n)
	}
}

// TestHTTPTimeoutKeepAlive: a connection idle after a response is closed
// silently after timeout.http_keep_alive, with no log line of its own.
func TestHTTPTimeoutKeepAlive(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "http_keep_alive", "22s", "http_request", "1h", "client", "2h"), "", srv("s", hb.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if r, err := cl.response("GET"); r.summary != "HTTP/1.1 200 OK x" {
		t.Fatalf("got %s (%v); want 200 x", clip(r.raw), err)
	}
	fireAt(t, clock, fakeStart.Add(22*time.Second))
	if got, closed := cl.rest(); got != "" || !closed {
		t.Errorf("idle keep-alive connection: got %s (closed %v); want a silent close", clip(got), closed)
	}
	p.stop(t) // every log line is written
	if ls := p.linesOf(t, cl); len(ls) != 1 || ls[0]["status"] != 200.0 {
		t.Errorf("got log lines %v; want only the request's (200)", ls)
	}
}

// TestHTTPTimeoutQueue: a request queued behind a server's maxconn gets 503
// after timeout.queue, logged sQ, and its connection serves the next
// request.
func TestHTTPTimeoutQueue(t *testing.T) {
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	hung := startRecorder(t, nil)
	clock := newClock()
	p := startLBClock(t, routed(good.addr(), routedBackend{name: "q", options: timeouts("backend.q", "queue", "23s", "server", "1h", "connect", "2h"), servers: []string{hung.addr()}, serverExtra: "maxconn = 1"}), clock)
	holder := dialClient(t, p.addr("fe"))
	holder.send(t, "GET /q/holder HTTP/1.1\r\nHost: h\r\n\r\n")
	waitFor(t, "the holder's request at the server", func() bool { got, _ := hung.conn(0); return strings.Contains(got, "\r\n\r\n") })
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET /q/queued HTTP/1.1\r\nHost: h\r\n\r\n")
	fireAt(t, clock, fakeStart.Add(23*time.Second))
	r, err := cl.response("GET")
	if !strings.HasPrefix(r.raw, "HTTP/1.1 503 ") || header(r.raw, "Connection") != "" {
		t.Errorf("queued: got %s (%v); want 503 without Connection: close", clip(r.raw), err)
	}
	cl.send(t, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	if r, err := cl.response("GET"); r.summary != "HTTP/1.1 200 OK good" {
		t.Errorf("next request after the 503: got %s (%v); want 200 good", clip(r.raw), err)
	}
	checkLog(t, "queued", p.waitLog(t, func(m map[string]any) bool { return m["target"] == "/q/queued" }), 503, "sQ")
	if n := hung.nconns(); n != 1 {
		t.Errorf("server got %d connections; want only the holder's", n)
	}
}

// TestHTTPTimeoutConnect: a server that never answers the SYN gets 503
// after timeout.connect (no retry), logged sC.
func TestHTTPTimeoutConnect(t *testing.T) {
	bh := blackhole(t)
	clock := newClock()
	p := startLBClock(t, httpConfig("", "retries = 0\nredispatch = false\n"+timeouts("backend.be", "connect", "24s", "server", "1h", "queue", "2h"), srv("bh", bh)), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
	fireAt(t, clock, fakeStart.Add(24*time.Second))
	if r, err := cl.response("GET"); !strings.HasPrefix(r.raw, "HTTP/1.1 503 ") {
		t.Errorf("connect timeout: got %s (%v); want 503", clip(r.raw), err)
	}
	checkLog(t, "connect timeout", p.logOf(t, cl), 503, "sC")
}

// TestHTTPTimeoutServerBeforeHead: a server silent after the request gets
// 504 after timeout.server, logged sH with Tr -1.
func TestHTTPTimeoutServerBeforeHead(t *testing.T) {
	rec := startRecorder(t, nil)
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "client", "1h"), timeouts("backend.be", "server", "25s", "connect", "2h"), srv("s", rec.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET /h HTTP/1.1\r\nHost: h\r\n\r\n")
	waitFor(t, "the request at the server", func() bool { got, _ := rec.conn(0); return strings.HasSuffix(got, "\r\n\r\n") })
	fireAt(t, clock, fakeStart.Add(25*time.Second))
	if r, err := cl.response("GET"); !strings.HasPrefix(r.raw, "HTTP/1.1 504 ") {
		t.Errorf("silent server: got %s (%v); want 504", clip(r.raw), err)
	}
	l := p.logOf(t, cl)
	checkLog(t, "silent server", l, 504, "sH")
	if l["Tr"] != -1.0 {
		t.Errorf("silent server: got log Tr %v; want -1 (no response head)", l["Tr"])
	}
	rec.waitEOF(t, 0, "after the 504")
}

// TestHTTPTimeoutServerMidBody: a server that stalls mid response body is
// cut after timeout.server (not timeout.tunnel): the client gets the
// partial response, then a close (never a completed one); the log says sD
// with status 200. With client = server = 6s and tunnel = 15s, advancing
// 7s must cut it (lb used to cut at 15s and log cD).
func TestHTTPTimeoutServerMidBody(t *testing.T) {
	const partial = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"
	stalled := startServer(t, func(c net.Conn) {
		readHead(c)
		io.WriteString(c, partial)
		io.Copy(io.Discard, c)
	})
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "client", "6s", "http_keep_alive", "1h", "http_request", "2h"),
		timeouts("backend.be", "server", "6s", "tunnel", "15s"), srv("s", stalled.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET /stall HTTP/1.1\r\nHost: h\r\n\r\n")
	buf := make([]byte, len(partial))
	cl.SetReadDeadline(time.Now().Add(guard))
	if _, err := io.ReadFull(cl.br, buf); err != nil || string(buf) != partial {
		t.Fatalf("got %q (%v); want the partial response %q", buf, err, partial)
	}
	fireAt(t, clock, fakeStart.Add(6*time.Second))
	if got, closed := cl.rest(); got != "" || !closed {
		t.Errorf("after the stall: got %s more (closed %v); want a close and nothing more", clip(got), closed)
	}
	checkLog(t, "stalled response", p.logOf(t, cl), 200, "sD")
}

// TestHTTPTimeoutClientMidBody: a client that stalls mid request body
// (the server got the head and part of the body) is answered 408 with
// Connection: close after timeout.client; the server connection is closed;
// the log says cD with status 408.
func TestHTTPTimeoutClientMidBody(t *testing.T) {
	rec := startRecorder(t, nil)
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "client", "4s", "http_request", "1h", "http_keep_alive", "2h"),
		timeouts("backend.be", "server", "3h", "tunnel", "4h"), srv("s", rec.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789")
	waitFor(t, "the head and 10 body bytes at the server", func() bool { got, _ := rec.conn(0); return strings.HasSuffix(got, "\r\n\r\n0123456789") })
	fireAt(t, clock, fakeStart.Add(4*time.Second))
	got, closed := cl.rest()
	if want := lbAnswer(408, "Request Timeout"); got != want || !closed {
		t.Errorf("stalled upload: got %s (closed %v); want %s and a close", clip(got), closed, clip(want))
	}
	rec.waitEOF(t, 0, "stalled upload")
	checkLog(t, "stalled upload", p.logOf(t, cl), 408, "cD")
}

// TestHTTPBodyMinRate: timeout.http_body (default 10s) and
// http_body_min_rate (default 512 bytes/s): once a body has been arriving
// for longer than http_body, it must average min_rate (deadline = body
// start + http_body + received/min_rate), or it is cut: 408 with a close,
// the server connection closed, cD. The client sends 1 body byte, and once
// the server has it the clock advances.
func TestHTTPBodyMinRate(t *testing.T) {
	cases := []struct {
		name    string
		fe      string        // frontend options
		advance time.Duration // after the body byte reached the server
	}{
		// deadline = start + 10s + 1/512 s; timeout.client is 30s.
		{"defaults, then 29s", timeouts("frontend.fe", "client", "30s", "http_request", "1h", "http_keep_alive", "2h"), 29 * time.Second},
		// deadline = start + 3s + 1/1024 s.
		{"http_body 3s and min rate 1k, then 5s", "http_body_min_rate = \"1k\"\n" + timeouts("frontend.fe", "http_body", "3s", "client", "30s", "http_request", "1h", "http_keep_alive", "2h"), 5 * time.Second},
		{"min rate 512 written out, then 29s", "http_body_min_rate = \"512\"\n" + timeouts("frontend.fe", "http_body", "10s", "client", "30s", "http_request", "1h", "http_keep_alive", "2h"), 29 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := startRecorder(t, nil)
			clock := newClock()
			p := startLBClock(t, httpConfig(c.fe, timeouts("backend.be", "server", "3h", "tunnel", "4h"), srv("s", rec.addr())), clock)
			cl := dialClient(t, p.addr("fe"))
			cl.send(t, "POST /trickle HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nx")
			waitFor(t, "the body byte at the server", func() bool { got, _ := rec.conn(0); return strings.HasSuffix(got, "\r\n\r\nx") })
			clock.Advance(c.advance)
			got, closed := cl.rest()
			if want := lbAnswer(408, "Request Timeout"); got != want || !closed {
				t.Errorf("got %s (closed %v); want %s and a close", clip(got), closed, clip(want))
			}
			rec.waitEOF(t, 0, c.name)
			checkLog(t, c.name, p.logOf(t, cl), 408, "cD")
		})
	}
}

// TestHTTPBodyMinRateDisabled: http_body_min_rate = "0" disables the rate:
// a body idle for 29s (client = 30s) is not cut; it still accepts bytes;
// timeout.client then cuts it, 30s after its last byte.
func TestHTTPBodyMinRateDisabled(t *testing.T) {
	rec := startRecorder(t, nil)
	clock := newClock()
	p := startLBClock(t, httpConfig("http_body_min_rate = \"0\"\n"+timeouts("frontend.fe", "client", "30s", "http_request", "1h", "http_keep_alive", "2h"),
		timeouts("backend.be", "server", "3h", "tunnel", "4h"), srv("s", rec.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "POST /trickle HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nx")
	waitFor(t, "the first body byte at the server", func() bool { got, _ := rec.conn(0); return strings.HasSuffix(got, "\r\n\r\nx") })
	clock.Advance(29 * time.Second)
	cl.send(t, "y")
	waitFor(t, "the second body byte at the server (the body was not cut)", func() bool { got, _ := rec.conn(0); return strings.HasSuffix(got, "\r\n\r\nxy") })
	clock.Advance(31 * time.Second) // 30s after the last byte, and 1
	got, closed := cl.rest()
	if want := lbAnswer(408, "Request Timeout"); got != want || !closed {
		t.Errorf("got %s (closed %v); want %s and a close", clip(got), closed, clip(want))
	}
	rec.waitEOF(t, 0, "rate disabled")
	checkLog(t, "rate disabled", p.logOf(t, cl), 408, "cD")
}

// TestHTTPBodyAboveMinRate: a body that keeps above http_body_min_rate
// (10 KB per second of fake time, 40 s, past the 10s timeout.http_body)
// is not cut and completes.
func TestHTTPBodyAboveMinRate(t *testing.T) {
	const step, steps = 10 << 10, 40
	rec := startRecorder(t, answerComplete("done"))
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "client", "30s", "http_request", "1h", "http_keep_alive", "2h"),
		timeouts("backend.be", "server", "3h", "tunnel", "4h"), srv("s", rec.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, fmt.Sprintf("POST /steady HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", step*steps))
	piece := strings.Repeat("b", step)
	for i := 1; i <= steps; i++ {
		cl.send(t, piece)
		waitFor(t, fmt.Sprintf("%d body bytes at the server", i*step), func() bool {
			got, _ := rec.conn(0)
			_, body, _ := strings.Cut(got, "\r\n\r\n")
			return len(body) == i*step
		})
		if i < steps {
			clock.Advance(time.Second)
		}
	}
	if r, err := cl.response("POST"); r.summary != "HTTP/1.1 200 OK done" {
		t.Errorf("steady body over %ds: got %s (%v); want the server's 200 done", steps, clip(r.raw), err)
	}
	checkLog(t, "steady body", p.logOf(t, cl), 200, "--")
}

// TestHTTPTimeoutClientNotReading: a client that does not read a large
// response (its socket buffers fill, lb cannot write, the server is
// blocked writing) is cut after timeout.client: cD, and the server
// connection is closed.
func TestHTTPTimeoutClientNotReading(t *testing.T) {
	const size = 256 << 20
	var written atomic.Int64
	werr := make(chan error, 1)
	big := startServer(t, func(c net.Conn) {
		readHead(c)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
		chunk := make([]byte, 64<<10)
		for written.Load() < size {
			n, err := c.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	})
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "client", "1h", "http_request", "5h", "http_keep_alive", "6h"),
		timeouts("backend.be", "server", "2h", "tunnel", "3h"), srv("s", big.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.SetReadBuffer(16 << 10)
	cl.send(t, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	// Wait until nothing moves (the buffers are full), advance past
	// timeout.client, and expect lb to close the server connection. If
	// the stall was only apparent (the machine was busy) and lb moved
	// bytes after the advance, its deadline moved too: try again.
	for attempt := 1; ; attempt++ {
		stalledAt := waitStalled(t, &written)
		clock.Advance(time.Hour + time.Second)
		select {
		case err := <-werr:
			if err == nil {
				t.Fatalf("the server wrote all %d bytes to a client that reads nothing", size)
			}
		case <-time.After(guard):
			if written.Load() != stalledAt && attempt < 3 {
				continue
			}
			t.Fatalf("the server connection is still open %s after timeout.client passed on a stalled client (server wrote %d bytes)", guard, written.Load())
		}
		break
	}
	got, closed := cl.rest()
	if !closed || len(got) >= size {
		t.Errorf("client read %d bytes (closed %v); want a partial response then a close", len(got), closed)
	}
	checkLog(t, "client not reading", p.logOf(t, cl), 200, "cD")
}

// waitStalled waits until *n stays the same for 300ms (polled) and returns
// it.
func waitStalled(t *testing.T, n *atomic.Int64) int64 {
	t.Helper()
	deadline := time.Now().Add(guard)
	last, same := int64(-1), 0
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		v := n.Load()
		if v == last && v > 0 {
			if same++; same == 15 {
				return v
			}
			continue
		}
		last, same = v, 0
	}
	t.Fatalf("the transfer never stalled (%d bytes moved)", n.Load())
	return 0
}

// TestHTTPTimeoutTunnel: after a 101, timeout.tunnel (not client or
// server) bounds inactivity: advancing tunnel - 1s leaves the tunnel open
// (an echo crosses it), advancing past it from the last activity closes it.
func TestHTTPTimeoutTunnel(t *testing.T) {
	ws := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(c, br)
	})
	clock := newClock()
	p := startLBClock(t, httpConfig(timeouts("frontend.fe", "client", "1h", "http_request", "2h", "http_keep_alive", "3h"),
		timeouts("backend.be", "server", "4h", "tunnel", "40s"), srv("s", ws.addr())), clock)
	cl := dialClient(t, p.addr("fe"))
	cl.send(t, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if r, err := cl.response("GET"); !strings.HasPrefix(r.raw, "HTTP/1.1 101 ") {
		t.Fatalf("upgrade: got %s (%v); want 101", clip(r.raw), err)
	}
	echo := func(msg string) error {
		cl.send(t, msg)
		b := make([]byte, len(msg))
		cl.SetReadDeadline(time.Now().Add(guard))
		_, err := io.ReadFull(cl.br, b)
		if err == nil && string(b) != msg {
			err = fmt.Errorf("echo %q", b)
		}
		return err
	}
	if err := echo("ping"); err != nil {
		t.Fatalf("echo through the new tunnel: %v", err)
	}
	clock.Advance(39 * time.Second)
	if err := echo("pong"); err != nil {
		t.Fatalf("echo after tunnel - 1s idle: %v; want the tunnel open", err)
	}
	clock.Advance(41 * time.Second)
	if got, closed := cl.rest(); got != "" || !closed {
		t.Errorf("after tunnel + 1s idle: got %s (closed %v); want a close", clip(got), closed)
	}
}

// TestTCPTimeoutsFakeClock: in TCP mode, without timeout.tunnel, an idle
// session is cut by timeout.client (cD) or timeout.server (sD), whichever
// is shorter; timeout.tunnel, when set, replaces both. Each case exchanges
// a ping at the start, checks the session is still open one second before
// its timeout (another ping), then idles one second past it.
func TestTCPTimeoutsFakeClock(t *testing.T) {
	cases := []struct {
		name, fe, be string
		timeout      time.Duration
		term         string
	}{
		{"client idle, tunnel unset", timeouts("frontend.fe", "client", "26s"), timeouts("backend.be", "server", "1h", "tunnel", "0s", "connect", "2h"), 26 * time.Second, "cD"},
		{"server idle, tunnel unset", timeouts("frontend.fe", "client", "1h"), timeouts("backend.be", "server", "27s", "tunnel", "0s", "connect", "2h"), 27 * time.Second, "sD"},
		{"tunnel longer than client and server", timeouts("frontend.fe", "client", "26s"), timeouts("backend.be", "server", "27s", "tunnel", "40s", "connect", "2h"), 40 * time.Second, "cD"},
		{"tunnel shorter than client and server", timeouts("frontend.fe", "client", "1h"), timeouts("backend.be", "server", "2h", "tunnel", "28s", "connect", "3h"), 28 * time.Second, "cD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := startRecorder(t, func(got string) string {
				if strings.HasSuffix(got, "ping") {
					return "pong"
				}
				return ""
			})
			clock := newClock()
			p := startLBClock(t, tcpConfig(c.fe, c.be, srv("s", rec.addr())), clock)
			cl := dialClient(t, p.addr("fe"))
			ping := func(when string) {
				t.Helper()
				cl.send(t, "ping")
				b := make([]byte, 4)
				cl.SetReadDeadline(time.Now().Add(guard))
				if _, err := io.ReadFull(cl.br, b); err != nil || string(b) != "pong" {
					t.Fatalf("ping %s: got %q (%v); want pong (the session open)", when, b, err)
				}
			}
			ping("at the start")
			clock.Advance(c.timeout - time.Second)
			ping(fmt.Sprintf("after %v idle", c.timeout-time.Second))
			clock.Advance(c.timeout + time.Second)
			if got, closed := cl.rest(); got != "" || !closed {
				t.Errorf("after %v idle: got %s (closed %v); want a close", c.timeout+time.Second, clip(got), closed)
			}
			if l := p.logOf(t, cl); l["term"] != c.term {
				t.Errorf("got term %v; want %s (log line %v)", l["term"], c.term, l)
			}
		})
	}
}

// TestTCPTimeoutQueueFakeClock: a TCP session queued behind a server's
// maxconn is closed after timeout.queue, logged sQ.
func TestTCPTimeoutQueueFakeClock(t *testing.T) {
	rec := startRecorder(t, nil)
	clock := newClock()
	p := startLBClock(t, tcpConfig(timeouts("frontend.fe", "client", "1h"), timeouts("backend.be", "queue", "23s", "server", "2h", "connect", "3h"), srv("s", rec.addr(), "maxconn = 1")), clock)
	holder := dialClient(t, p.addr("fe"))
	holder.send(t, "hold")
	rec.waitReceived(t, 0, "hold")
	cl := dialClient(t, p.addr("fe"))
	fireAt(t, clock, fakeStart.Add(23*time.Second))
	if got, closed := cl.rest(); got != "" || !closed {
		t.Errorf("queued session: got %s (closed %v); want a close", clip(got), closed)
	}
	if l := p.logOf(t, cl); l["term"] != "sQ" {
		t.Errorf("queued session: got term %v; want sQ (log line %v)", l["term"], l)
	}
	if n := rec.nconns(); n != 1 {
		t.Errorf("server got %d connections; want only the holder's", n)
	}
}

// TestTCPTimeoutConnectFakeClock: a TCP session whose server never
// answers the SYN is closed after timeout.connect (no retry), logged sC.
func TestTCPTimeoutConnectFakeClock(t *testing.T) {
	bh := blackhole(t)
	clock := newClock()
	p := startLBClock(t, tcpConfig(timeouts("frontend.fe", "client", "1h"), "retries = 0\nredispatch = false\n"+timeouts("backend.be", "connect", "24s", "server", "2h", "queue", "3h"), srv("bh", bh)), clock)
	cl := dialClient(t, p.addr("fe"))
	fireAt(t, clock, fakeStart.Add(24*time.Second))
	if got, closed := cl.rest(); got != "" || !closed {
		t.Errorf("connect timeout: got %s (closed %v); want a close", clip(got), closed)
	}
	if l := p.logOf(t, cl); l["term"] != "sC" {
		t.Errorf("connect timeout: got term %v; want sC (log line %v)", l["term"], l)
	}
}
