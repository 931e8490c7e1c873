package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDrain: a server set to DRAIN through the runtime API gets no new
// sessions, and the request it is serving finishes.
func TestDrain(t *testing.T) {
	release := make(chan struct{})
	a := startHTTPBackend(t, func(r *http.Request, _ []byte) string {
		if r.URL.Path == "/slow" {
			<-release
		}
		return ok("a")
	})
	b := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("b") })
	cfg := "[admin]\nbind = \"127.0.0.1:0\"\n" + httpConfig("", "balance = \"first\"", srv("a", a.addr()), srv("b", b.addr()))
	p := startLB(t, cfg)
	inflight := make(chan string, 1)
	go func() {
		got, _ := rawExchange(t, p.addr("fe"), "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n", time.Second)
		inflight <- got
	}()
	waitFor(t, "request in flight on a", func() bool { return len(a.requests()) == 1 })
	resp, err := http.Post("http://"+p.inst.adminAddr()+"/api/backends/be/servers/a/state", "text/plain", strings.NewReader("drain"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("drain: %v %v", resp, err)
	}
	resp.Body.Close()
	for i := 0; i < 5; i++ {
		if got := get(t, "http://"+p.addr("fe")+"/"); got != "b" {
			t.Fatalf("request %d after drain went to %q; want b", i, got)
		}
	}
	close(release)
	if got := <-inflight; !strings.HasSuffix(got, "a") {
		t.Errorf("in-flight request on the drained server: %q; want its answer", got)
	}
	_ = io.EOF
}
