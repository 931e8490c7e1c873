package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
// backend's pool_purge_delay even though no request asks for one; with
// pool_max_conn = 0 nothing is pooled at all.
func TestHTTPPoolPurge(t *testing.T) {
	for _, tc := range []struct {
		name, beExtra string
		minIdle       time.Duration // the server connection stays open at least this long
		maxIdle       time.Duration // and is closed by lb within this
	}{
		{"purged", "pool_purge_delay = \"300ms\"\n", 250 * time.Millisecond, 3 * time.Second},
		{"no reuse", "pool_max_conn = 0\n", 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan time.Duration, 1)
			be := startServer(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, ok("x"))
				done := time.Now()
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := br.ReadByte(); err == io.EOF {
					closed <- time.Since(done)
				}
			})
			p := startLB(t, httpConfig("", tc.beExtra, srv("s", be.addr())))
			got, _ := rawExchange(t, p.addr("fe"), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", time.Second)
			if !strings.HasPrefix(got, "HTTP/1.1 200") {
				t.Fatalf("got %q", got)
			}
			select {
			case d := <-closed:
				if d < tc.minIdle || d > tc.maxIdle {
					t.Errorf("server connection closed by lb after %v; want between %v and %v", d, tc.minIdle, tc.maxIdle)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("lb never closed the idle server connection")
			}
		})
	}
}
