package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session/sessiontest"
)

// httpBackend is an HTTP/1.1 server written for the tests: it records the
// raw bytes each connection received and answers with respond (raw bytes).
type httpBackend struct {
	*server
	mu   sync.Mutex
	raw  bytes.Buffer // everything received, all connections
	reqs []*http.Request
}

func startHTTPBackend(t *testing.T, respond func(r *http.Request, body []byte) string) *httpBackend {
	t.Helper()
	hb := &httpBackend{}
	hb.server = startServer(t, func(c net.Conn) {
		tee := io.TeeReader(c, writerFunc(func(p []byte) (int, error) {
			hb.mu.Lock()
			defer hb.mu.Unlock()
			return hb.raw.Write(p)
		}))
		br := bufio.NewReader(tee)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(r.Body)
			hb.mu.Lock()
			hb.reqs = append(hb.reqs, r)
			hb.mu.Unlock()
			if _, err := io.WriteString(c, respond(r, body)); err != nil {
				return
			}
		}
	})
	return hb
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (hb *httpBackend) received() string {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return hb.raw.String()
}

func (hb *httpBackend) requests() []*http.Request {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return append([]*http.Request(nil), hb.reqs...)
}

func ok(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func httpConfig(feExtra, beExtra string, servers ...string) string {
	return strings.Replace(tcpConfig(feExtra, beExtra, servers...), `mode = "tcp"`, `mode = "http"`, 1)
}

// rawExchange sends raw on a new connection and reads until the server
// closes or quiet passes without bytes; it returns what came back and
// whether the connection was closed.
func rawExchange(t *testing.T, addr, raw string, quiet time.Duration) (string, bool) {
	t.Helper()
	c := dial(t, addr)
	io.WriteString(c, raw)
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return out.String(), false
			}
			return out.String(), true
		}
	}
}

// TestHTTPKeepAliveAndHeaders: requests on one connection are balanced,
// answered in order; the server sees the client's Host, X-Forwarded-For and
// -Proto, and no hop-by-hop field.
func TestHTTPKeepAliveAndHeaders(t *testing.T) {
	a := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("a" + r.URL.Path) })
	b := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("b" + r.URL.Path) })
	p := startLB(t, httpConfig("", "", srv("a", a.addr()), srv("b", b.addr())))
	req := "GET /1 HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Kept: k\r\n\r\n"
	got, closed := rawExchange(t, p.addr("fe"), req+strings.Replace(req, "/1", "/2", 1), 300*time.Millisecond)
	if closed {
		t.Errorf("connection closed after two keep-alive requests")
	}
	if n := strings.Count(got, "HTTP/1.1 200 OK"); n != 2 || !strings.Contains(got, "a/1") || !strings.Contains(got, "b/2") || strings.Index(got, "/1") > strings.Index(got, "/2") {
		t.Errorf("responses = %q; want a/1 then b/2", got)
	}
	for _, hb := range []*httpBackend{a, b} {
		rs := hb.requests()
		if len(rs) != 1 {
			t.Fatalf("server got %d requests; want 1", len(rs))
		}
		r := rs[0]
		if r.Host != "example.com" || r.Header.Get("X-Forwarded-For") != "127.0.0.1" || r.Header.Get("X-Forwarded-Proto") != "http" || r.Header.Get("X-Kept") != "k" {
			t.Errorf("server saw Host %q XFF %q XFP %q X-Kept %q; want example.com 127.0.0.1 http k", r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Kept"))
		}
		for _, h := range []string{"X-Secret", "Keep-Alive", "Te", "Connection"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("server saw hop-by-hop %s: %q", h, v)
			}
		}
	}
}

// TestHTTPBodies: Content-Length and chunked request bodies reach the
// server exactly; a large response arrives intact.
func TestHTTPBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	hb := startHTTPBackend(t, func(r *http.Request, body []byte) string {
		if r.URL.Path == "/big" {
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
		}
		return ok(fmt.Sprintf("%d:%x", len(body), sha256.Sum256(body)))
	})
	p := startLB(t, httpConfig("", "", srv("s", hb.addr())))
	body := strings.Repeat("x", 100000)
	want := fmt.Sprintf("%d:%x", len(body), sha256.Sum256([]byte(body)))
	got, _ := rawExchange(t, p.addr("fe"), "POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"+body, 300*time.Millisecond)
	if !strings.HasSuffix(got, want) {
		t.Errorf("Content-Length body: got %q; want a response ending in %q", got, want)
	}
	chunked := "POST /ch HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
	got, _ = rawExchange(t, p.addr("fe"), chunked, 300*time.Millisecond)
	if want := fmt.Sprintf("11:%x", sha256.Sum256([]byte("hello world"))); !strings.HasSuffix(got, want) {
		t.Errorf("chunked body: got %q; want a response ending in %q", got, want)
	}
	resp, err := http.Get("http://" + p.addr("fe") + "/big")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(b, big) {
		t.Errorf("16 MiB response: %d bytes, err %v, identical %v", len(b), err, bytes.Equal(b, big))
	}
}

// TestHTTPRejects: malformed or ambiguous requests get their 4xx, the
// connection closes, and the server receives nothing.
func TestHTTPRejects(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig("", "", srv("s", hb.addr())))
	cases := []struct{ name, raw, status string }{
		{"CL+TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"two CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"},
		{"CL with sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", "400"},
		{"TE not chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", "400"},
		{"TE gzip chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", "400"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "400"},
		{"bare LF", "GET / HTTP/1.1\nHost: h\n\n", "400"},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", "400"},
		{"bad version", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", "505"},
		{"target too long", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: h\r\n\r\n", "414"},
		{"too many fields", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: y\r\n", 120) + "\r\n", "431"},
		{"head too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 16000) + "\r\n\r\n", "431"},
		{"bad expect", "GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", "417"},
		{"fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", "400"},
	}
	for _, c := range cases {
		got, closed := rawExchange(t, p.addr("fe"), c.raw, 2*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 "+c.status+" ") || !closed {
			t.Errorf("%s: got %q (closed %v); want %s and a close", c.name, firstLine(got), closed, c.status)
		}
	}
	if r := hb.received(); r != "" {
		t.Errorf("server received %q from rejected requests; want nothing", r)
	}
}

func firstLine(s string) string {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// TestHTTPServerErrors: bad, empty, late and truncated responses. A
// complete keep-alive request answered 502, 503 or 504 keeps its client
// connection (issue 8): the next request on it is answered too. lb runs on
// a fake clock: "silent" is answered once the clock passes timeout.server.
func TestHTTPServerErrors(t *testing.T) {
	garbage := startServer(t, func(c net.Conn) { c.Read(make([]byte, 4096)); io.WriteString(c, "SSH-2.0-nope\r\n\r\n") })
	empty := startServer(t, func(c net.Conn) { c.Read(make([]byte, 4096)) })
	silent := startServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	truncated := startServer(t, func(c net.Conn) {
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly ten b")
	})
	// Each case's step that makes lb answer the request just sent: none
	// when the server's fault is answered at once (a refused connection
	// too: with retries = 1 and the default redispatch, the one retry is
	// the redispatch, which does not pause), a fake-clock step past
	// timeout.server for the silent server.
	atOnce := func(*testing.T, *sessiontest.Clock) {}
	serverTimeout := func(t *testing.T, clock *sessiontest.Clock) {
		fireAt(t, clock, clock.Now().Add(300*time.Millisecond))
	}
	cases := []struct {
		name, addr, beExtra, want string
		answer                    func(t *testing.T, clock *sessiontest.Clock)
	}{
		{"garbage", garbage.addr(), "", "HTTP/1.1 502 ", atOnce},
		{"empty", empty.addr(), "", "HTTP/1.1 502 ", atOnce},
		{"silent", silent.addr(), "[backend.be.timeout]\nserver = \"300ms\"\n", "HTTP/1.1 504 ", serverTimeout},
		{"dead", deadAddr(t), "retries = 1\n[backend.be.timeout]\nconnect = \"100ms\"\n", "HTTP/1.1 503 ", atOnce},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newClock()
			p := startLBClock(t, httpConfig("", c.beExtra, srv("s", c.addr)), clock)
			cl := dialClient(t, p.addr("fe"))
			cl.send(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			c.answer(t, clock)
			first, err := cl.response("GET")
			if !strings.HasPrefix(first.raw, c.want) || header(first.raw, "Connection") != "" {
				t.Errorf("got %q (%v); want %q without Connection: close", first.raw, err, c.want)
			}
			cl.send(t, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			c.answer(t, clock)
			second, closed := cl.rest()
			if !strings.HasPrefix(second, c.want) || !closed {
				t.Errorf("second request on the connection: got %q (closed %v); want %q then a close (the connection stays open after the first)", firstLine(second), closed, c.want)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		p := startLB(t, httpConfig("", "", srv("s", truncated.addr())))
		got, closed := rawExchange(t, p.addr("fe"), "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 5*time.Second)
		if !closed || !strings.HasSuffix(got, "only ten b") {
			t.Errorf("got %q (closed %v); want the partial body then a close", got, closed)
		}
	})
}

// TestHTTPRequestTimeout: a request head that trickles in is answered 408
// after timeout.http_request (slowloris), on a fake clock, then closed. A
// reset counts as the close: lb closes right after the 408, and a socket
// closed before lb read the partial head (the advance can come first)
// sends a reset.
func TestHTTPRequestTimeout(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	clock := newClock()
	p := startLBClock(t, httpConfig("[frontend.fe.timeout]\nhttp_request = \"300ms\"\n", "", srv("s", hb.addr())), clock)
	c := dialClient(t, p.addr("fe"))
	c.send(t, "GET / HTTP/1.1\r\nHost: h\r\n")
	fireAt(t, clock, fakeStart.Add(300*time.Millisecond))
	got, closed := c.rest()
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !closed {
		t.Errorf("got %q (closed %v); want 408 then a close", firstLine(got), closed)
	}
}

// TestHTTPPipelining: requests sent back to back are answered in order.
func TestHTTPPipelining(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok(r.URL.Path) })
	p := startLB(t, httpConfig("", "", srv("s", hb.addr())))
	var raw string
	for i := 0; i < 5; i++ {
		raw += fmt.Sprintf("GET /r%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
	}
	got, _ := rawExchange(t, p.addr("fe"), raw, 500*time.Millisecond)
	last := -1
	for i := 0; i < 5; i++ {
		at := strings.Index(got, fmt.Sprintf("/r%d", i))
		if at < last {
			t.Fatalf("responses out of order or missing: %q", got)
		}
		last = at
	}
}

// TestHTTPUpgrade: a 101 turns the connection into a tunnel.
func TestHTTPUpgrade(t *testing.T) {
	ws := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		r, err := http.ReadRequest(br)
		if err != nil || r.Header.Get("Upgrade") != "websocket" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(c, br)
	})
	p := startLB(t, httpConfig("", "", srv("s", ws.addr())))
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, "ping")
	b := make([]byte, 4)
	if _, err := io.ReadFull(br, b); err != nil || string(b) != "ping" {
		t.Errorf("tunnel echo %q, %v; want ping", b, err)
	}
}

// TestHTTPExpectContinue: a 100 Continue from the server reaches the
// client before the final response.
func TestHTTPExpectContinue(t *testing.T) {
	srvr := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		body, _ := io.ReadAll(r.Body)
		io.WriteString(c, ok(string(body)))
	})
	p := startLB(t, httpConfig("", "", srv("s", srvr.addr())))
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q; want 100 Continue", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello" {
		t.Errorf("final %d %q; want 200 hello", resp.StatusCode, b)
	}
}

// TestHTTPRoutes: the first matching route picks the backend.
func TestHTTPRoutes(t *testing.T) {
	api := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("api") })
	web := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("web") })
	cfg := httpConfig("", "", srv("web", web.addr())) + fmt.Sprintf(`
[[frontend.fe.route]]
host = "api.example.com"
path_prefix = "/v1/"
backend = "api"

[backend.api]
[[backend.api.server]]
name = "api"
address = %q
`, api.addr())
	p := startLB(t, cfg)
	for _, c := range []struct{ host, path, want string }{
		{"api.example.com", "/v1/x", "api"},
		{"API.example.com:80", "/v1/", "api"},
		{"api.example.com", "/v2/x", "web"},
		{"www.example.com", "/v1/x", "web"},
	} {
		got, _ := rawExchange(t, p.addr("fe"), fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", c.path, c.host), 2*time.Second)
		if !strings.HasSuffix(got, c.want) {
			t.Errorf("%s%s -> %q; want %s", c.host, c.path, got, c.want)
		}
	}
}

// TestHTTPHashBalance: balance = "uri" and "hdr:<name>" send the same key
// to the same server every time, and spread keys over servers.
func TestHTTPHashBalance(t *testing.T) {
	for _, bal := range []string{"uri", "hdr:X-User"} {
		t.Run(bal, func(t *testing.T) {
			a := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("a") })
			b := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("b") })
			p := startLB(t, httpConfig("", fmt.Sprintf("balance = %q", bal), srv("a", a.addr()), srv("b", b.addr())))
			seen := map[string]bool{}
			for k := 0; k < 20; k++ {
				first := ""
				for i := 0; i < 3; i++ {
					got, _ := rawExchange(t, p.addr("fe"), fmt.Sprintf("GET /k%d?i=%d HTTP/1.1\r\nHost: h\r\nX-User: u%d\r\nConnection: close\r\n\r\n", k, i, k), time.Second)
					who := got[len(got)-1:]
					if i == 0 {
						first = who
					} else if who != first {
						t.Fatalf("key %d went to %s then %s", k, first, who)
					}
				}
				seen[first] = true
			}
			if len(seen) != 2 {
				t.Errorf("20 keys all went to %v; want both servers used", seen)
			}
		})
	}
}

// TestHTTPForwardedHeaders: the per-frontend switches.
func TestHTTPForwardedHeaders(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig("forwarded_for = false\nforwarded = true\n", "", srv("s", hb.addr())))
	rawExchange(t, p.addr("fe"), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", time.Second)
	r := hb.requests()[0]
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "for=127.0.0.1;proto=http" || r.Header.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("server saw XFF %q Forwarded %q XFP %q; want none, for=127.0.0.1;proto=http, http",
			r.Header.Get("X-Forwarded-For"), r.Header.Get("Forwarded"), r.Header.Get("X-Forwarded-Proto"))
	}
}

// TestHTTPHealthCheck: a server whose health path answers outside
// expect_status goes DOWN after fall checks and traffic moves; when it
// answers well again it comes back after rise checks.
func TestHTTPHealthCheck(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	a := startHTTPBackend(t, func(r *http.Request, _ []byte) string {
		if r.URL.Path == "/healthz" {
			if r.Method != "HEAD" {
				return "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"
			}
			if healthy.Load() {
				return "HTTP/1.1 204 No Content\r\n\r\n"
			}
			return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
		}
		return ok("a")
	})
	b := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("b") })
	p := startLB(t, httpConfig("", "balance = \"first\"\n[backend.be.health]\nkind = \"http\"\nmethod = \"HEAD\"\npath = \"/healthz\"\nexpect_status = \"200-299\"\ninterval = \"30ms\"\nrise = 2\nfall = 2\n",
		srv("a", a.addr()), srv("b", b.addr())))
	be := p.inst.backend("be")
	waitFor(t, "a checked L7OK", func() bool {
		return be.Servers()[0].Counters().CheckStatus.Load() != 0 && be.Servers()[0].State().String() == "UP"
	})
	if got := get(t, "http://"+p.addr("fe")+"/"); got != "a" {
		t.Fatalf("healthy: %q; want a", got)
	}
	healthy.Store(false)
	waitFor(t, "a DOWN", func() bool { return be.Servers()[0].State().String() == "DOWN" })
	if got := get(t, "http://"+p.addr("fe")+"/"); got != "b" {
		t.Errorf("a down: %q; want b", got)
	}
	healthy.Store(true)
	waitFor(t, "a UP", func() bool { return be.Servers()[0].State().String() == "UP" })
	if got := get(t, "http://"+p.addr("fe")+"/"); got != "a" {
		t.Errorf("a back: %q; want a", got)
	}
	if sc := be.Servers()[0].Counters(); sc.Downtime.Load() <= 0 || sc.CheckDuration.Load() <= 0 || sc.DownSince.Load() != 0 {
		t.Errorf("downtime %d ns, last check %d ns, down since %d; want the DOWN spell counted, a duration, and up", sc.Downtime.Load(), sc.CheckDuration.Load(), sc.DownSince.Load())
	}
	// The state changes are logged with their own check's words, each
	// key once.
	var down, up string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if !strings.Contains(line, `"event":"server_state"`) || !strings.Contains(line, `"server":"a"`) {
			continue
		}
		if n := strings.Count(line, `"backend":`); n != 1 {
			t.Errorf("%d backend keys in %s", n, line)
		}
		switch {
		case strings.Contains(line, `"to":"DOWN"`):
			down = line
		case strings.Contains(line, `"to":"UP"`) && strings.Contains(line, `"from":"DOWN"`):
			up = line
		}
	}
	if !strings.Contains(down, `"check_status":"L7STS"`) || !strings.Contains(down, `Layer7 wrong status`) {
		t.Errorf("DOWN line: %s", down)
	}
	if !strings.Contains(up, `"check_status":"L7OK"`) || !strings.Contains(up, `"reason":"Layer7 check passed"`) {
		t.Errorf("UP line: %s", up)
	}
}

// TestHTTPRules: request and response rules, and routing on a header.
func TestHTTPRules(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string {
		return "HTTP/1.1 200 OK\r\nServer: secret/1.0\r\nContent-Length: 2\r\n\r\nok"
	})
	canary := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("canary") })
	cfg := httpConfig("", "", srv("s", hb.addr())) + fmt.Sprintf(`
[[frontend.fe.route]]
header = "X-Canary"
header_value = "1"
backend = "canary"

[[frontend.fe.http_request]]
path_prefix = "/old/"
action = "redirect"
location = "https://example.com/new/"
status = 301

[[frontend.fe.http_request]]
path_prefix = "/admin"
action = "deny"

[[frontend.fe.http_request]]
path_prefix = "/ping"
action = "return"
body = "pong"

[[frontend.fe.http_request]]
action = "set-header"
name = "X-Env"
value = "prod"

[[frontend.fe.http_request]]
action = "del-header"
name = "X-Debug"

[[frontend.fe.http_response]]
action = "del-header"
name = "Server"

[[frontend.fe.http_response]]
action = "add-header"
name = "X-Frame-Options"
value = "DENY"

[backend.canary]
[[backend.canary.server]]
name = "c"
address = %q
`, canary.addr())
	p := startLB(t, cfg)
	cases := []struct{ req, wantPrefix, wantIn, wantOut string }{
		{"GET /old/x HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 301 ", "Location: https://example.com/new/", ""},
		{"GET /admin HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 403 ", "", ""},
		{"GET /ping HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 ", "pong", ""},
		{"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ", "X-Frame-Options: DENY", "Server: secret"},
		{"GET /x HTTP/1.1\r\nHost: h\r\nX-Canary: 1\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ", "canary", ""},
	}
	for _, c := range cases {
		got, _ := rawExchange(t, p.addr("fe"), c.req, time.Second)
		if !strings.HasPrefix(got, c.wantPrefix) || !strings.Contains(got, c.wantIn) || (c.wantOut != "" && strings.Contains(got, c.wantOut)) {
			t.Errorf("%q -> %q; want %q containing %q and not %q", firstLine(c.req), got, c.wantPrefix, c.wantIn, c.wantOut)
		}
	}
	rawExchange(t, p.addr("fe"), "GET /x HTTP/1.1\r\nHost: h\r\nX-Debug: 1\r\nConnection: close\r\n\r\n", time.Second)
	rs := hb.requests()
	last := rs[len(rs)-1]
	if last.Header.Get("X-Env") != "prod" || last.Header.Get("X-Debug") != "" {
		t.Errorf("server saw X-Env %q X-Debug %q; want prod and none", last.Header.Get("X-Env"), last.Header.Get("X-Debug"))
	}
	if len(rs) != 2 {
		t.Errorf("server got %d requests; want 2 (redirect, deny and return never reach it; the canary went elsewhere)", len(rs))
	}
}

// TestHTTPPipelinedSlowReader: pipelined requests from a client that does
// not read for a while; its socket buffers fill, a response write comes up
// short, and the rest of that response must still arrive whole and in
// order, followed by every later response on the same connection.
func TestHTTPPipelinedSlowReader(t *testing.T) {
	body := func(path string) string { return strings.Repeat(path[1:]+".", 12<<10)[:12<<10] }
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok(body(r.URL.Path)) })
	p := startLB(t, httpConfig("", "", srv("s", hb.addr())))
	c := dial(t, p.addr("fe"))
	const n = 1500 // 18 MiB of responses: more than the socket buffers hold
	var raw strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&raw, "GET /%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
	}
	go io.WriteString(c, raw.String())
	time.Sleep(500 * time.Millisecond) // not reading: lb's writes to this client block
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, err := io.ReadAll(res.Body)
		if err != nil || string(b) != body(fmt.Sprintf("/%d", i)) {
			t.Fatalf("response %d: body of %d bytes (%v) is not the one asked for", i, len(b), err)
		}
	}
}

// TestHTTPPipelinedSlowServer: pipelined requests with bodies larger than
// the socket buffers, to a server that reads slowly (so each body moves to
// the pumps), followed by more requests: every one is answered, in order.
func TestHTTPPipelinedSlowServer(t *testing.T) {
	slow := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			time.Sleep(200 * time.Millisecond) // the body backs up: lb hands off
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, r.Body)
			if _, err := io.WriteString(c, ok(fmt.Sprintf("%s %d", r.URL.Path, n))); err != nil {
				return
			}
		}
	})
	p := startLB(t, httpConfig("", "", srv("s", slow.addr())))
	c := dial(t, p.addr("fe"))
	const size = 4 << 20
	go func() {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(c, "POST /p%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", i, size)
			io.Copy(c, io.LimitReader(zeros{}, size))
		}
		io.WriteString(c, "GET /g1 HTTP/1.1\r\nHost: h\r\n\r\nGET /g2 HTTP/1.1\r\nHost: h\r\n\r\n")
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for _, want := range []string{"/p0 4194304", "/p1 4194304", "/p2 4194304", "/g1 0", "/g2 0"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != want {
			t.Fatalf("got %q; want %q", b, want)
		}
	}
}
