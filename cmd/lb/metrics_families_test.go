package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var updateFamilies = flag.Bool("update-families", false, "rewrite testdata/metric_families.txt")

// TestMetricFamilies: the lb_ metric families on /metrics, after traffic
// that fills every kind of series (TLS and health checks included), are
// exactly those of testdata/metric_families.txt, so none disappears
// unnoticed (run with -update-families after adding one on purpose); and
// the new counters count: denied requests, request errors, max sessions,
// hand-offs, pool reuses and dials.
func TestMetricFamilies(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.issue(t, t.TempDir(), "a.pem", false, time.Time{}, "a.example")
	big := bytes.Repeat([]byte("b"), 1<<20)
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string {
		if r.URL.Path == "/big" {
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
		}
		return ok("x")
	})
	cfg := "[admin]\nbind = \"127.0.0.1:0\"\n" + httpConfig(`[[frontend.fe.http_request]]
path_prefix = "/deny"
action = "deny"
`+tlsTable("", cert), "[backend.be.health]\nkind = \"http\"\ninterval = \"50ms\"\n", srv("s", hb.addr()))
	cfg = strings.Replace(cfg, "[global]\n", "[global]\nevent_loops = 1\n", 1)
	cfg += "\n[limit.l]\nrate = 1000\n\n[[frontend.fe.http_request]]\nlimit = \"l\"\naction = \"deny\"\n"
	p := startLB(t, cfg)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.client("a.example")}}
	for _, path := range []string{"/", "/", "/deny", "/big"} {
		resp, err := client.Get("https://" + p.addr("fe") + path)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	rawExchange(t, p.addr("fe"), "not http at all\r\n\r\n", 300*time.Millisecond) // a failed handshake
	admin := "http://" + p.inst.adminAddr()
	var m string
	waitFor(t, "the denied request on /metrics", func() bool {
		m = get(t, admin+"/metrics")
		return strings.Contains(m, `lb_frontend_requests_denied_total{proxy="fe"} 1`)
	})
	var got []string
	for _, l := range regexp.MustCompile(`(?m)^# HELP (lb_\S+)`).FindAllStringSubmatch(m, -1) {
		got = append(got, l[1])
	}
	slices.Sort(got)
	path := filepath.Join("testdata", "metric_families.txt")
	if *updateFamilies {
		os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644)
	}
	wantB, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-families to create it)", err)
	}
	want := strings.Fields(string(wantB))
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("family %s disappeared from /metrics", f)
		}
	}
	for _, f := range got {
		if !slices.Contains(want, f) {
			t.Errorf("new family %s: add it to %s (-update-families)", f, path)
		}
	}
	for _, series := range []string{`lb_frontend_max_sessions{proxy="fe"}`, `lb_process_handoffs_total`,
		`lb_process_pool_reuses_total`, `lb_process_server_dials_total`, `lb_frontend_max_session_rate{proxy="fe"}`} {
		if metricValue(t, m, series) < 1 {
			t.Errorf("%s < 1 after the traffic\n%s", series, grepLines(m, "max_session,handoffs,pool_reuses,dials"))
		}
	}
	if n := metricValue(t, m, `lb_frontend_tls_handshake_failures_total{proxy="fe",reason="protocol"}`); n != 1 {
		t.Errorf("TLS failures (protocol) = %d; want 1", n)
	}
}
