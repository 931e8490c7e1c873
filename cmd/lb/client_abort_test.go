package main

import (
	"bufio"
	"io"
	"net/http"
	"testing"
)

// TestHTTPClientAbortLogged: a client that leaves in the middle of its
// request head gets one log line, CR (HAProxy logs it too); one that
// leaves between two requests, or without sending anything, gets none.
func TestHTTPClientAbortLogged(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig("", "", srv("s", hb.addr())))

	partial := dial(t, p.addr("fe"))
	io.WriteString(partial, "GET /partial HTTP/1.1\r\nHost:")
	waitFor(t, "lb to see the partial head", func() bool { return p.inst.current().env.Current() == 1 })
	partial.Close()
	l := p.waitLog(t, func(m map[string]any) bool { return m["term"] == "CR" })
	if l["status"] != 0.0 || l["server"] != "<NOSRV>" {
		t.Errorf("partial head then close: log %v; want status 0, <NOSRV>, CR", l)
	}

	idle := dial(t, p.addr("fe"))
	io.WriteString(idle, "GET /done HTTP/1.1\r\nHost: h\r\n\r\n")
	if r, err := readResponse(bufio.NewReader(idle), "GET"); err != nil || r.summary != "HTTP/1.1 200 OK x" {
		t.Fatalf("/done: %q, %v; want 200 x", r.raw, err)
	}
	idle.Close()
	silent := dial(t, p.addr("fe"))
	silent.Close()
	waitFor(t, "both sessions to end", func() bool { return p.inst.current().env.Current() == 0 })
	p.stop(t)
	if n := len(p.stdout.lines(t)); n != 2 {
		t.Errorf("got %d log lines; want 2 (the partial request's and /done's):\n%s", n, p.stdout.String())
	}
}
