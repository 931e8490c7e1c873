package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/session/sessiontest"
)

// TestHTTPLimitsConfigured: max_head_size, max_headers and
// max_target_size are the frontend's own; requests within them pass, one
// byte or field over is refused before any server hears of it.
func TestHTTPLimitsConfigured(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig("max_head_size = \"2k\"\nmax_headers = 5\nmax_target_size = 300\n", "", srv("s", hb.addr())))
	head := func(target string, fields int, pad int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: h\r\n", target)
		for i := 1; i < fields; i++ {
			fmt.Fprintf(&b, "X-%d: y\r\n", i)
		}
		if pad > 0 {
			b.WriteString("X-Pad: " + strings.Repeat("p", pad) + "\r\n")
		}
		return b.String() + "\r\n"
	}
	cases := []struct {
		name, raw, status string
		closed            bool
	}{
		{"within", head("/"+strings.Repeat("a", 299), 5, 0), "200", false},
		{"target over", head("/"+strings.Repeat("a", 300), 1, 0), "414", true},
		{"fields over", head("/", 6, 0), "431", true},
		{"head within", head("/", 1, 2048-len(head("/", 1, 0))-9), "200", false},
		{"head over", head("/", 1, 2048-len(head("/", 1, 0))-8), "431", true},
	}
	for _, c := range cases {
		expectAnswer(t, p.addr("fe"), c.name, c.raw, "HTTP/1.1 "+c.status+" ", c.closed)
	}
	if n := len(hb.requests()); n != 2 {
		t.Errorf("server saw %d requests; want the 2 within the limits", n)
	}
}

// expectAnswer sends raw on a new connection and checks that the answer
// starts with want, and whether lb then closed the connection.
func expectAnswer(t *testing.T, addr, name, raw, want string, closed bool) {
	t.Helper()
	got, gotClosed := rawExchange(t, addr, raw, 500*time.Millisecond)
	if !strings.HasPrefix(got, want) || gotClosed != closed {
		t.Errorf("%s: got %q (closed %v); want %q (closed %v)", name, got, gotClosed, want, closed)
	}
}

// TestHTTPLimitsRefused: limits out of range are refused with their key.
func TestHTTPLimitsRefused(t *testing.T) {
	for _, extra := range []string{"max_head_size = \"128k\"", "max_headers = 0", "max_target_size = 100", "max_body_size = -1", "max_body_size = \"1x\""} {
		key := strings.Fields(extra)[0]
		_, err := config.Parse("lb.toml", []byte(httpConfig(extra, "", srv("s", "127.0.0.1:1"))))
		if err == nil || !strings.Contains(err.Error(), "frontend.fe."+key) {
			t.Errorf("%s: err = %v; want one naming frontend.fe.%s", extra, err, key)
		}
	}
}

// TestHTTPBodyLimit: max_body_size answers 413 for a Content-Length over
// it (before connecting, and instead of 100 Continue) and for a chunked
// body whose chunks add up past it, on the event loop and after a
// hand-off to the pumps (a server slower than the client).
func TestHTTPBodyLimit(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, body []byte) string { return ok(fmt.Sprint(len(body))) })
	p := startLB(t, httpConfig("max_body_size = \"1k\"\n", "", srv("s", hb.addr())))
	chunk := func(n int) string { return fmt.Sprintf("%x\r\n%s\r\n", n, strings.Repeat("c", n)) }
	cases := []struct {
		name, raw, want string
		closed          bool
	}{
		{"CL at limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1024\r\n\r\n" + strings.Repeat("b", 1024), "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n1024", false},
		{"CL over", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1025\r\n\r\n" + strings.Repeat("b", 1025), "HTTP/1.1 413 ", true},
		{"CL over, expect", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n", "HTTP/1.1 413 ", true},
		{"chunked at limit", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(1000) + chunk(24) + "0\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n1024", false},
		{"chunked over", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(1000) + chunk(25) + "0\r\n\r\n", "HTTP/1.1 413 ", true},
	}
	for _, c := range cases {
		expectAnswer(t, p.addr("fe"), c.name, c.raw, c.want, c.closed)
	}
	for _, r := range hb.requests() {
		if r.ContentLength > 1024 {
			t.Errorf("server got a request with Content-Length %d", r.ContentLength)
		}
	}
	// The chunked body over the limit came with its head: it is refused
	// while the request is held, before any server is chosen (issue 8).
	l := p.waitLog(t, func(m map[string]any) bool { return m["status"] == float64(413) && m["term"] == "PR" })
	if l["backend"] != "be" || l["server"] != "<NOSRV>" {
		t.Errorf("413 log line %v; want backend be, server <NOSRV>", l)
	}
}

// TestHTTPBodyLimitHandoff: a chunked body over max_body_size, sent faster
// than the server reads it (so the transaction is on the pumps), still
// gets 413 once its chunks pass the limit; the server connection is cut.
func TestHTTPBodyLimitHandoff(t *testing.T) {
	cut := make(chan int64, 1)
	slow := startServer(t, func(c net.Conn) {
		time.Sleep(300 * time.Millisecond) // let buffers fill: lb hands off
		n, _ := io.Copy(io.Discard, c)
		cut <- n
	})
	p := startLB(t, httpConfig("max_body_size = \"4m\"\n", "", srv("s", slow.addr())))
	c := dial(t, p.addr("fe"))
	go func() {
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
		blk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("c", 64<<10))
		for i := 0; i < 128; i++ { // 8 MiB
			if _, err := io.WriteString(c, blk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(got), "HTTP/1.1 413 ") {
		t.Fatalf("got %q; want 413", firstLine(string(got)))
	}
	select {
	case n := <-cut:
		if n > 4<<20+64<<10 {
			t.Errorf("server read %d bytes; want at most the limit and one chunk's framing", n)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the server connection was not cut")
	}
	p.waitLog(t, func(m map[string]any) bool { return m["status"] == float64(413) })
}

// TestHTTPHandoffErrors: a transaction moved to the pumps by a large body
// still gets a complete 502 or 504 when its server fails before the
// response head, as one on the event loop does. lb runs on a fake clock:
// the silent server's 504 comes once the clock passes timeout.server,
// after the server has read the whole request.
func TestHTTPHandoffErrors(t *testing.T) {
	const size = 8 << 20
	readAllThen := func(after func(net.Conn)) func(net.Conn) {
		return func(c net.Conn) {
			time.Sleep(300 * time.Millisecond) // let buffers fill: lb hands off
			buf := make([]byte, 64<<10)
			total := 0
			for total < size {
				n, err := c.Read(buf)
				total += n
				if err != nil {
					return
				}
			}
			after(c)
		}
	}
	silentRead := make(chan struct{}, 1)
	closer := startServer(t, readAllThen(func(net.Conn) {}))
	silent := startServer(t, readAllThen(func(c net.Conn) { silentRead <- struct{}{}; io.Copy(io.Discard, c) }))
	// Each case reads lb's answer: at once when the server closes; for
	// the silent server, once it has read the request, with the fake
	// clock moved past timeout.server.
	answered := func(_ *testing.T, c *client, _ *sessiontest.Clock) (response, error) { return c.response("POST") }
	serverTimeout := func(t *testing.T, c *client, clock *sessiontest.Clock) (response, error) {
		select {
		case <-silentRead:
		case <-time.After(guard):
			t.Fatalf("the silent server did not get the whole request")
		}
		return answerPast(t, c, "POST", clock, 500*time.Millisecond)
	}
	for _, tc := range []struct {
		name, addr, want string
		answer           func(t *testing.T, c *client, clock *sessiontest.Clock) (response, error)
	}{
		{"server closes", closer.addr(), "HTTP/1.1 502 ", answered},
		{"server silent", silent.addr(), "HTTP/1.1 504 ", serverTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			p := startLBClock(t, httpConfig("", "[backend.be.timeout]\nserver = \"500ms\"\n", srv("s", tc.addr)), clock)
			c := dialClient(t, p.addr("fe"))
			go func() {
				fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", size)
				io.Copy(c, io.LimitReader(zeros{}, size))
			}()
			got, err := tc.answer(t, c, clock)
			if !strings.HasPrefix(got.raw, tc.want) {
				t.Fatalf("got %q (%v); want %q", firstLine(got.raw), err, tc.want)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
