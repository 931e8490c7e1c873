package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue returns the value of the series line starting with series
// (name and labels exactly as exposed), 0 when absent.
func metricValue(t *testing.T, metrics, series string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+]+)$`).FindStringSubmatch(metrics)
	if m == nil {
		return 0
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return int64(f)
}

// TestByteCountersMatchLog: after mixed traffic (small requests on the
// loop, a large response and a large upload through the pumps, answers lb
// makes itself: 400, 403, a redirect, 503), the bytes on /metrics for the
// frontend, the backend and the server equal the sums of the access log's
// bytes_in and bytes_out, and lb's own answers count.
func TestByteCountersMatchLog(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 2<<20)
	hb := startHTTPBackend(t, func(r *http.Request, body []byte) string {
		if r.URL.Path == "/big" {
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
		}
		return ok(fmt.Sprintf("got %d", len(body)))
	})
	cfg := "[admin]\nbind = \"127.0.0.1:0\"\n" + httpConfig(`[[frontend.fe.http_request]]
path_prefix = "/deny"
action = "deny"
[[frontend.fe.http_request]]
path_prefix = "/moved"
action = "redirect"
location = "https://example.com/"
[[frontend.fe.route]]
path_prefix = "/down"
backend = "down"
`, "", srv("s", hb.addr())) + "\n[backend.down]\n[[backend.down.server]]\nname = \"d\"\naddress = \"" + deadAddr(t) + "\"\n"
	cfg = strings.Replace(cfg, "[backend.down]\n", "[backend.down]\nretries = 0\n", 1)
	p := startLB(t, cfg)
	fe := "http://" + p.addr("fe")
	n := 0
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/a", "/b", "/deny", "/moved", "/down"} {
		resp, err := noFollow.Get(fe + path)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		n++
	}
	resp, err := http.Get(fe + "/big")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); len(b) != len(big) {
		t.Fatalf("big: %d bytes", len(b))
	}
	resp.Body.Close()
	n++
	resp, err = http.Post(fe+"/up", "application/octet-stream", bytes.NewReader(bytes.Repeat([]byte("u"), 3<<20)))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	n++
	if got, _ := rawExchange(t, p.addr("fe"), "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 300*time.Millisecond); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Fatalf("two Host fields: %q", clip(got))
	}
	n++

	var lines []map[string]any
	waitFor(t, fmt.Sprintf("%d access log lines", n), func() bool {
		lines = nil
		for _, l := range p.stdout.lines(t) {
			if l["frontend"] == "fe" {
				lines = append(lines, l)
			}
		}
		return len(lines) >= n
	})
	sum := map[string][2]int64{}
	add := func(key string, l map[string]any) {
		s := sum[key]
		s[0] += int64(l["bytes_in"].(float64))
		s[1] += int64(l["bytes_out"].(float64))
		sum[key] = s
	}
	for _, l := range lines {
		add("fe", l)
		if l["Tw"].(float64) >= 0 { // the backend was asked for a server
			add("be:"+l["backend"].(string), l)
		}
		if l["server"] != "<NOSRV>" {
			add("srv:"+l["backend"].(string)+"/"+l["server"].(string), l)
		}
		if st := int(l["status"].(float64)); st >= 300 && l["bytes_out"].(float64) == 0 {
			t.Errorf("a %d answer logged bytes_out 0: %v", st, l)
		}
	}
	m := get(t, "http://"+p.inst.adminAddr()+"/metrics")
	for key, series := range map[string][2]string{
		"fe":         {`lb_frontend_bytes_in_total{proxy="fe"}`, `lb_frontend_bytes_out_total{proxy="fe"}`},
		"be:be":      {`lb_backend_bytes_in_total{proxy="be"}`, `lb_backend_bytes_out_total{proxy="be"}`},
		"srv:be/s":   {`lb_server_bytes_in_total{proxy="be",server="s"}`, `lb_server_bytes_out_total{proxy="be",server="s"}`},
		"be:down":    {`lb_backend_bytes_in_total{proxy="down"}`, `lb_backend_bytes_out_total{proxy="down"}`},
		"srv:down/d": {`lb_server_bytes_in_total{proxy="down",server="d"}`, `lb_server_bytes_out_total{proxy="down",server="d"}`},
	} {
		for i := range 2 {
			if got, want := metricValue(t, m, series[i]), sum[key][i]; got != want {
				t.Errorf("%s = %d; the access log sums to %d", series[i], got, want)
			}
		}
	}
	for _, l := range lines {
		if l["status"] == 503.0 && (l["server"] != "d" || l["term"] != "SC") {
			t.Errorf("the refused connect's line: %v; want server d (the one tried, as HAProxy logs it) and term SC", l)
		}
	}
	if sum["fe"][1] < int64(len(big)) || sum["fe"][0] < 3<<20 {
		t.Errorf("the log's sums %v miss the large bodies", sum["fe"])
	}
}
