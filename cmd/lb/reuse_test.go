package main

import (
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
