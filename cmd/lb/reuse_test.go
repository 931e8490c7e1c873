package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session/sessiontest"
)

// TestHTTPServerConnectionReuse: a server connection goes back to the
// loop's pool after a response and serves the next client's first request
// (idempotent, bodiless), even when the first client closed.
func TestHTTPServerConnectionReuse(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	// One event loop: pools are per loop (a connection is driven by one).
	cfg := strings.Replace(httpConfig("", "", srv("s", hb.addr())), "[global]\n", "[global]\nevent_loops = 1\n", 1)
	p := startLB(t, cfg)
	for i := 0; i < 3; i++ {
		got, _ := rawExchange(t, p.addr("fe"), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	n := 0
	waitFor(t, "3 log lines", func() bool {
		lines := p.stdout.lines(t)
		n = 0
		for _, l := range lines {
			if l["reused"] == true {
				n++
			}
		}
		return len(lines) >= 3
	})
	if n != 2 {
		t.Errorf("%d of 3 requests reused a pooled server connection; want 2\n%s", n, p.stdout.String())
	}
	if c := strings.Count(hb.received(), "GET /"); c != 3 {
		t.Errorf("server got %d requests; want 3", c)
	}
}

// TestHTTPPoolPurge: an idle pooled server connection is closed after the
// backend's pool_purge_delay even though no request asks for one: on a
// fake clock, it is still open once the clock has moved just under the
// delay since the response, and closed once it has moved past it. With
// pool_max_conn = 0 nothing is pooled at all: the connection is closed
// after the response without the clock moving.
func TestHTTPPoolPurge(t *testing.T) {
	// exchange serves one request through lb (with beExtra in its backend)
	// on a fake clock; closed gets the server connection's EOF.
	exchange := func(t *testing.T, beExtra string) (clock *sessiontest.Clock, closed chan struct{}) {
		t.Helper()
		closed = make(chan struct{}, 1)
		be := startServer(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, ok("x"))
			c.SetReadDeadline(time.Now().Add(2 * guard))
			if _, err := br.ReadByte(); err == io.EOF {
				closed <- struct{}{}
			}
		})
		clock = newClock()
		p := startLBClock(t, httpConfig("", beExtra, srv("s", be.addr())), clock)
		got, _ := rawExchange(t, p.addr("fe"), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("got %q", got)
		}
		return clock, closed
	}
	t.Run("purged", func(t *testing.T) {
		const delay = 300 * time.Millisecond
		clock, closed := exchange(t, "pool_purge_delay = \"300ms\"\n")
		if !clock.WaitArmedAt(fakeStart.Add(delay), guard) {
			t.Fatalf("no purge armed at pool_purge_delay (%v) after the response: is the connection pooled?", delay)
		}
		clock.Advance(delay - time.Millisecond)
		select {
		case <-closed:
			t.Fatalf("server connection closed by lb %v after the response; want it kept until pool_purge_delay (%v)", delay-time.Millisecond, delay)
		case <-time.After(200 * time.Millisecond): // lb had the time to close it, had the purge been due
		}
		clock.Advance(2 * time.Millisecond)
		select {
		case <-closed:
		case <-time.After(guard):
			t.Fatalf("lb never closed the idle server connection %v after the response (pool_purge_delay %v)", delay+time.Millisecond, delay)
		}
	})
	t.Run("no reuse", func(t *testing.T) {
		_, closed := exchange(t, "pool_max_conn = 0\n")
		select {
		case <-closed:
		case <-time.After(guard):
			t.Fatalf("lb never closed the server connection (pool_max_conn = 0, the clock not moved)")
		}
	})
}
