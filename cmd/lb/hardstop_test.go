package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session/sessiontest"
)

// Hard stop (issue 8; spec 6): hard_stop_after, on the fake clock, after
// SIGTERM. Every in-flight HTTP request without a response head gets 503
// with Connection: close and one log line K<phase> (KQ queued, KC
// connecting, KH waiting for the head); a response in progress is cut
// (KD); a TCP session gets its one line with KD. Every session the hard
// stop ends has exactly one log line, and its term starts with K.

// hardStopConfig is an HTTP frontend fe (default backend good, plus the
// given routed backends) and a TCP frontend tcp in front of tcpAddr, with
// hard_stop_after 7s and every timeout an hour or more (queue 50m).
func hardStopConfig(good, tcpAddr string, extra ...routedBackend) string {
	cfg := routed(good, extra...)
	cfg = strings.Replace(cfg, "hard_stop_after = \"2s\"", "hard_stop_after = \"7s\"", 1)
	cfg = strings.Replace(cfg, "default_backend = \"be\"\n", "default_backend = \"be\"\n"+timeouts("frontend.fe", "client", "2h", "http_request", "3h", "http_keep_alive", "4h"), 1)
	return cfg + fmt.Sprintf(`
[frontend.tcp]
bind = ["127.0.0.1:0"]
mode = "tcp"
default_backend = "tcpbe"
[frontend.tcp.timeout]
client = "2h"

[backend.tcpbe]
[backend.tcpbe.timeout]
server = "5h"
tunnel = "7h"
[[backend.tcpbe.server]]
name = "echo"
address = %q
`, tcpAddr)
}

// longTimeouts are a backend's timeouts for the hard-stop tests.
func longTimeouts(be string) string {
	return timeouts("backend."+be, "server", "5h", "connect", "6h", "queue", "50m", "tunnel", "7h")
}

// hardStop sends SIGTERM and fires hard_stop_after (7s) on the fake
// clock.
func hardStop(t *testing.T, p *lbProc, clock *sessiontest.Clock) {
	t.Helper()
	p.sig <- sigTERM
	at := clock.Now().Add(7 * time.Second)
	if !clock.WaitArmedAt(at, 5*time.Second) {
		t.Errorf("hard_stop_after is not armed on the fake clock after SIGTERM; advancing anyway")
	}
	clock.Advance(8 * time.Second)
}

// killedCheck is a client the hard stop ends: what it must read before
// the close, and the term of its one log line.
type killedCheck struct {
	name string
	c    *client
	want string // what the client must read before the close
	term string
}

// checkKilled reads each client to its close, waits for lb to exit, then
// checks each client's log lines.
func checkKilled(t *testing.T, p *lbProc, checks []killedCheck) {
	t.Helper()
	for _, k := range checks {
		got, closed := k.c.rest()
		if got != k.want || !closed {
			t.Errorf("%s: got %s (closed %v); want %s then a close", k.name, clip(got), closed, clip(k.want))
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	for _, k := range checks {
		ls := p.linesOf(t, k.c)
		var terms []string
		for _, l := range ls {
			terms = append(terms, fmt.Sprint(l["term"]))
		}
		if len(ls) != 1 || terms[0] != k.term {
			t.Errorf("%s: got log terms %v; want exactly one, %s", k.name, terms, k.term)
		}
	}
}

// TestHardStop: a request waiting for its response head (two of them, one
// holding the only slot of a maxconn = 1 server), one queued behind it, a
// response cut mid-body and a TCP session, all ended by the hard stop.
func TestHardStop(t *testing.T) {
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	hung := startRecorder(t, nil)
	q := startRecorder(t, nil)
	const partial = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"
	stream := startServer(t, func(c net.Conn) { readHead(c); io.WriteString(c, partial); io.Copy(io.Discard, c) })
	tcpEcho := startServer(t, echo)
	clock := newClock()
	p := startLBClock(t, hardStopConfig(good.addr(), tcpEcho.addr(),
		routedBackend{name: "hung", options: longTimeouts("hung"), servers: []string{hung.addr()}},
		routedBackend{name: "q", options: longTimeouts("q"), servers: []string{q.addr()}, serverExtra: "maxconn = 1"},
		routedBackend{name: "stream", options: longTimeouts("stream"), servers: []string{stream.addr()}},
	), clock)
	request := func(target string) *client {
		c := dialClient(t, p.addr("fe"))
		c.send(t, "GET "+target+" HTTP/1.1\r\nHost: h\r\n\r\n")
		return c
	}
	atServer := func(r *recorder, what string) {
		waitFor(t, what+" at its server", func() bool { got, _ := r.conn(0); return strings.HasSuffix(got, "\r\n\r\n") })
	}
	hungC := request("/hung/x")
	atServer(hung, "the hung request")
	holder := request("/q/holder")
	atServer(q, "the holder's request")
	queued := request("/q/queued")
	if !clock.WaitArmedAt(fakeStart.Add(50*time.Minute), 5*time.Second) {
		t.Errorf("no timer armed at timeout.queue (50m): is the request queued?")
	}
	streamC := request("/stream/x")
	buf := make([]byte, len(partial))
	streamC.SetReadDeadline(time.Now().Add(guard))
	if _, err := io.ReadFull(streamC.br, buf); err != nil {
		t.Fatalf("partial response: got %q (%v); want %q", buf, err, partial)
	}
	tcpC := dialClient(t, p.addr("tcp"))
	tcpC.send(t, "ping")
	tcpC.SetReadDeadline(time.Now().Add(guard))
	if _, err := io.ReadFull(tcpC.br, buf[:4]); err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("tcp echo: got %q (%v); want ping", buf[:4], err)
	}

	hardStop(t, p, clock)
	a503 := lbAnswer(503, "Service Unavailable")
	checkKilled(t, p, []killedCheck{
		{"waiting for the head", hungC, a503, "KH"},
		{"holding the server slot", holder, a503, "KH"},
		{"queued", queued, a503, "KQ"},
		{"response in progress", streamC, "", "KD"},
		{"tcp session", tcpC, "", "KD"},
	})
}

// TestHardStopConnecting: a request whose server never answers the SYN is
// answered 503 at the hard stop and logged KC.
func TestHardStopConnecting(t *testing.T) {
	bh := blackhole(t)
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	tcpEcho := startServer(t, echo)
	clock := newClock()
	p := startLBClock(t, hardStopConfig(good.addr(), tcpEcho.addr(),
		routedBackend{name: "bh", options: "retries = 0\n" + timeouts("backend.bh", "server", "5h", "connect", "50m", "queue", "6h", "tunnel", "7h"), servers: []string{bh}},
	), clock)
	c := dialClient(t, p.addr("fe"))
	c.send(t, "GET /bh/x HTTP/1.1\r\nHost: h\r\n\r\n")
	if !clock.WaitArmedAt(fakeStart.Add(50*time.Minute), 5*time.Second) {
		t.Errorf("no timer armed at timeout.connect (50m): is the request connecting?")
	}
	hardStop(t, p, clock)
	checkKilled(t, p, []killedCheck{{"connecting", c, lbAnswer(503, "Service Unavailable"), "KC"}})
}

// TestHardStopTLSHandshake: a TLS handshake in progress counts as a
// session of its generation: a graceful stop waits for it, and
// hard_stop_after ends it (logged "killed"). It used to count for nothing,
// so the stop went on without it, and a handshake that completed after
// the generation's wait had begun raced with it (found by -race).
func TestHardStopTLSHandshake(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.issue(t, t.TempDir(), "a.pem", false, time.Time{}, "a.example")
	s := startServer(t, nameServer("s"))
	cfg := httpConfig(tlsTable("", cert), "", srv("s", s.addr()))
	cfg = strings.Replace(cfg, "hard_stop_after = \"2s\"", "hard_stop_after = \"7s\"", 1)
	clock := newClock()
	p := startLBClock(t, cfg, clock)
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "\x16\x03\x01") // the start of a ClientHello, then nothing
	fe := p.inst.current().frontends[0]
	waitFor(t, "the handshake to start", func() bool { return fe.TLSStats.InProgress.Load() == 1 })
	p.sig <- sigTERM
	select {
	case code := <-p.done:
		p.done <- code
		t.Fatalf("lb exited (%d) with a handshake in progress, before hard_stop_after", code)
	case <-time.After(300 * time.Millisecond):
	}
	if !clock.WaitArmedAt(clock.Now().Add(7*time.Second), 5*time.Second) {
		t.Errorf("hard_stop_after is not armed after SIGTERM")
	}
	clock.Advance(8 * time.Second)
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(p.stdout.String(), `"tls_error":"killed"`) {
		t.Errorf("no handshake line with tls_error killed in:\n%s", p.stdout.String())
	}
	if got := readAll(t, c); got != "" {
		t.Errorf("the client read %q; want a close", got)
	}
	if n := fe.TLSStats.InProgress.Load(); n != 0 {
		t.Errorf("%d handshakes still in progress", n)
	}
}
