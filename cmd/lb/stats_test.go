package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestMetricsAfterTraffic: the counters on /metrics match the traffic sent,
// latency histograms fill, /stats and /stats.json answer, and a runtime
// state change shows at once.
func TestMetricsAfterTraffic(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string {
		if r.URL.Path == "/missing" {
			return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		}
		return ok("x")
	})
	cfg := "[admin]\nbind = \"127.0.0.1:0\"\n" + httpConfig("", "", srv("s", hb.addr()))
	p := startLB(t, cfg)
	for i := 0; i < 7; i++ {
		get(t, "http://"+p.addr("fe")+"/")
	}
	resp, err := http.Get("http://" + p.addr("fe") + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	admin := "http://" + p.inst.adminAddr()
	// A transaction is accounted once its last byte is written, so the
	// client may see its answer a moment before: poll.
	var m string
	waitFor(t, "8 requests on /metrics", func() bool {
		m = get(t, admin+"/metrics")
		return strings.Contains(m, `lb_backend_total_time_seconds_count{proxy="be"} 8`)
	})
	for _, want := range []string{
		`lb_frontend_http_requests_total{proxy="fe"} 8`,
		`lb_frontend_http_responses_total{code="2xx",proxy="fe"} 7`,
		`lb_frontend_http_responses_total{code="4xx",proxy="fe"} 1`,
		`lb_backend_http_requests_total{proxy="be"} 8`,
		`lb_server_status{proxy="be",server="s",state="UP"} 1`,
		`lb_backend_total_time_seconds_count{proxy="be"} 8`,
		`lb_server_response_time_seconds_count{proxy="be",server="s"} 8`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(m, "http_re,total_time_seconds_count,response_time_seconds_count"))
		}
	}
	if !strings.Contains(m, "lb_process_idle_server_connections ") || strings.Contains(m, "lb_process_idle_server_connections 0\n") {
		t.Errorf("/metrics: want a non-zero lb_process_idle_server_connections after keep-alive traffic\n%s", grepLines(m, "idle_server"))
	}
	if js := get(t, admin+"/stats.json"); !strings.Contains(js, `"be"`) {
		t.Errorf("/stats.json lacks backend be: %s", js)
	}
	if page := get(t, admin+"/stats"); !strings.Contains(page, "<html") {
		t.Errorf("/stats is not an HTML page")
	}
	resp, err = http.Post(admin+"/api/backends/be/servers/s/state", "text/plain", strings.NewReader("drain"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set drain: %v %v", resp, err)
	}
	resp.Body.Close()
	if m := get(t, admin+"/metrics"); !strings.Contains(m, `lb_server_status{proxy="be",server="s",state="DRAIN"} 1`) {
		t.Errorf("/metrics does not show the server DRAIN after the API call")
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		f := filepath.Join(t.TempDir(), "m.txt")
		os.WriteFile(f, []byte(m), 0o600)
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(m)
		if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
	_ = fmt.Sprint
}

func grepLines(s, alts string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, a := range strings.Split(alts, ",") {
			if strings.Contains(l, a) && !strings.HasPrefix(l, "#") {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
