package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAccessLogFields: the access-log line of a normal request, a 502, a
// 504 and a client abort carries the HAProxy timers, status, bytes and
// termination code. The 504 comes from timeout.server on a fake clock.
func TestAccessLogFields(t *testing.T) {
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("hello") })
	bad := startServer(t, func(c net.Conn) { c.Read(make([]byte, 4096)); io.WriteString(c, "garbage\r\n\r\n") })
	slow := startRecorder(t, nil)
	cfg := httpConfig("", "[backend.be.timeout]\nserver = \"300ms\"\n", srv("good", good.addr())) + `
[[frontend.fe.route]]
path_prefix = "/bad"
backend = "bad"
[[frontend.fe.route]]
path_prefix = "/slow"
backend = "slow"
[backend.bad]
[[backend.bad.server]]
name = "bad"
address = "` + bad.addr() + `"
[backend.slow]
[backend.slow.timeout]
server = "300ms"
[[backend.slow.server]]
name = "slow"
address = "` + slow.addr() + `"
`
	clock := newClock()
	p := startLBClock(t, cfg, clock)
	rawExchange(t, p.addr("fe"), "GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2*time.Second)
	badC := dialClient(t, p.addr("fe"))
	badC.send(t, "GET /bad HTTP/1.1\r\nHost: h\r\n\r\n")
	badC.response("GET")
	headAt := func(i int) func() bool {
		return func() bool { got, _ := slow.conn(i); return strings.HasSuffix(got, "\r\n\r\n") }
	}
	slowC := dialClient(t, p.addr("fe"))
	slowC.send(t, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	waitFor(t, "/slow at the slow server", headAt(0))
	fireAt(t, clock, clock.Now().Add(300*time.Millisecond))
	slowC.response("GET")
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "GET /slow/abort HTTP/1.1\r\nHost: h\r\n\r\n")
	waitFor(t, "/slow/abort at the slow server", headAt(1))
	c.Close()

	cases := []struct {
		target string
		status float64
		term   string
		server string
	}{
		{"/ok", 200, "--", "good"},
		{"/bad", 502, "PH", "bad"},
		{"/slow", 504, "sH", "slow"},
		{"/slow/abort", 0, "CH", "slow"},
	}
	for _, want := range cases {
		l := p.waitLog(t, func(m map[string]any) bool { return m["target"] == want.target })
		if l["status"] != want.status || l["term"] != want.term || l["server"] != want.server {
			t.Errorf("%s: status %v term %v server %v; want %v %s %s", want.target, l["status"], l["term"], l["server"], want.status, want.term, want.server)
		}
		for _, k := range []string{"client_ip", "client_port", "frontend", "backend", "TR", "Tw", "Tc", "Tr", "Ta", "Tt", "bytes_in", "bytes_out", "retries", "method"} {
			if _, ok := l[k]; !ok {
				t.Errorf("%s: log line lacks %s: %v", want.target, k, l)
			}
		}
		if want.status == 200 && (l["bytes_out"].(float64) <= 0 || l["Tr"].(float64) < 0) {
			t.Errorf("/ok: bytes_out %v Tr %v; want > 0 and >= 0", l["bytes_out"], l["Tr"])
		}
		if want.term == "sH" && l["Tr"] != -1.0 {
			t.Errorf("504: Tr = %v; want -1 (no response head)", l["Tr"])
		}
		if ts, _ := l["time"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`).MatchString(ts) {
			t.Errorf("%s: time %q; want RFC 3339 with milliseconds", want.target, ts)
		}
	}
	// A request refused before any server was asked for: the phases never
	// reached are -1.
	rawExchange(t, p.addr("fe"), "GET /refused HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 300*time.Millisecond)
	l := p.waitLog(t, func(m map[string]any) bool { return m["status"] == 400.0 })
	if l["Tw"] != -1.0 || l["Tc"] != -1.0 || l["Tr"] != -1.0 || l["server"] != "<NOSRV>" {
		t.Errorf("400: Tw %v Tc %v Tr %v server %v; want -1 -1 -1 <NOSRV>", l["Tw"], l["Tc"], l["Tr"], l["server"])
	}
}

// TestAccessLogPipelineFields: each HTTP line carries the client's IP and
// port apart, the HTTP version, Host, a bounded User-Agent and a request
// ID; with request_id_header the ID goes to the server (lb's own, or the
// client's when it sent one, which the log then shows).
func TestAccessLogPipelineFields(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("id=" + r.Header.Get("X-Request-ID")) })
	p := startLB(t, httpConfig("request_id_header = \"X-Request-ID\"\n", "", srv("s", hb.addr())))
	long := strings.Repeat("u", 1000)
	got, _ := rawExchange(t, p.addr("fe"), "GET /one HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: "+long+"\r\n\r\n"+
		"GET /two HTTP/1.0\r\nHost: h\r\nX-Request-ID: client-id-1\r\nConnection: keep-alive\r\n\r\n", 300*time.Millisecond)
	one := p.waitLog(t, func(m map[string]any) bool { return m["target"] == "/one" })
	two := p.waitLog(t, func(m map[string]any) bool { return m["target"] == "/two" })
	if one["client_ip"] != "127.0.0.1" || one["client_port"].(float64) <= 0 || one["http_version"] != "1.1" ||
		one["host"] != "example.com:8080" || len(one["user_agent"].(string)) != 256 {
		t.Errorf("first line: %v", one)
	}
	id, _ := one["request_id"].(string)
	if len(id) < 13 || !strings.Contains(got, "id="+id) {
		t.Errorf("request_id %q not what the server got: %q", id, clip(got))
	}
	if two["request_id"] != "client-id-1" || two["http_version"] != "1.0" || !strings.Contains(got, "id=client-id-1") {
		t.Errorf("a client's own ID: log %v; answers %q", two, clip(got))
	}
	rawExchange(t, p.addr("fe"), "GET /three HTTP/1.1\r\nHost: h\r\n\r\n", 300*time.Millisecond)
	three := p.waitLog(t, func(m map[string]any) bool { return m["target"] == "/three" })
	if three["request_id"] == id || three["request_id"] == "" {
		t.Errorf("request IDs repeat or are empty: %v and %v", id, three["request_id"])
	}
}
