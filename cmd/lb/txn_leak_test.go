package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPNoTxnLeak: nothing of one client's transaction reaches another
// client's log line (issue 8; spec 5). Client A sends a DELETE with a
// query string and a body, gets its answer and keeps its connection idle;
// client B then sends only an empty line (or, in 3 tries, nothing) and gets 408 after
// timeout.http_request. B's log line must have an empty method and
// target, bytes_in 0, status 408 and cR: never A's. Transaction state is
// pooled, so this is tried 50 times with fresh connections, on one event
// loop.
func TestHTTPNoTxnLeak(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("deleted") })
	clock := newClock()
	cfg := httpConfig(timeouts("frontend.fe", "http_request", "3s", "http_keep_alive", "2h", "client", "3h"), timeouts("backend.be", "server", "4h"), srv("s", hb.addr()))
	cfg = strings.Replace(cfg, "[global]\n", "[global]\nevent_loops = 1\n", 1)
	p := startLBClock(t, cfg, clock)
	addr := p.addr("fe")
	str := func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	leaks := 0
	for i := 0; i < 50; i++ {
		a := dialClient(t, addr)
		a.send(t, "DELETE /secret?token=abc HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
		if r, err := a.response("DELETE"); r.summary != "HTTP/1.1 200 OK deleted" {
			t.Fatalf("try %d: A got %s (%v); want 200 deleted", i, clip(r.raw), err)
		}
		// B arrives one second later, so that its timer is its own.
		clock.Advance(time.Second)
		before := len(p.stdout.lines(t)) // the kernel may give B a port an earlier A had
		fe := p.inst.current().frontends[0]
		sessions := fe.SessionsTotal.Load()
		b := dialClient(t, addr)
		// A silent connection reaches lb only after the listener's
		// deferred accept (1s of real time): a few tries use it.
		probe := "\r\n"
		if i%16 == 15 {
			probe = ""
		}
		if probe != "" {
			b.send(t, probe)
		}
		// B's session must exist (its timer armed) before the clock moves:
		// another timer (the idle pool's purge) may be armed earlier.
		waitFor(t, "B's session", func() bool { return fe.SessionsTotal.Load() > sessions })
		fireAt(t, clock, clock.Now().Add(3*time.Second))
		got, closed := b.rest()
		if want := lbAnswer(408, "Request Timeout"); got != want || !closed {
			t.Errorf("try %d: B sent %q, got %s (closed %v); want %s and a close", i, probe, clip(got), closed, clip(want))
		}
		l := p.logOfAfter(t, b, before)
		if str(l["method"]) != "" || str(l["target"]) != "" || l["bytes_in"] != 0.0 || l["status"] != 408.0 || l["term"] != "cR" {
			leaks++
			t.Errorf("try %d: B sent %q; got log method %q target %q bytes_in %v status %v term %v; want empty method and target, bytes_in 0, 408, cR (A sent DELETE /secret?token=abc)",
				i, probe, str(l["method"]), str(l["target"]), l["bytes_in"], l["status"], l["term"])
		}
		a.Close()
		b.Close()
	}
	if leaks > 0 {
		t.Errorf("B's log line was wrong in %d of 50 tries", leaks)
	}
}
