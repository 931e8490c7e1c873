package stats_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/stats"
)

// Counters driven through backend's API show up with their values.
func TestMetricsValues(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	a1, a2 := f.app.Server("a1"), f.app.Server("a2")
	// roundrobin over a1, a2: four sessions, two each; a1 is then full
	// (maxconn 2), so a fifth goes to a2.
	var held []*backend.Server
	for range 5 {
		s, err := f.app.Acquire(0, nil, nil)
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		held = append(held, s)
	}
	// One released: a2 is left with 2 sessions.
	for i, s := range held {
		if s == a2 {
			s.Release()
			held = append(held[:i], held[i+1:]...)
			break
		}
	}
	// A sixth session queues: nothing is free on a1 and the queue is FIFO.
	a2.SetAdmin(backend.AdminDrain)
	w := &backend.Waiter{Ready: func(*backend.Server) {}}
	if _, err := f.app.Acquire(0, nil, w); err != backend.ErrQueued {
		t.Fatalf("Acquire with a1 full and a2 draining: %v; want ErrQueued", err)
	}
	a1.ConnFailed()
	a1.ConnFailed()
	bc := f.app.Counters()
	bc.Retries.Add(3)
	bc.Redispatches.Add(1)

	wantMetrics(t, f.metrics(t), map[string]float64{
		`lb_process_current_connections`:                                   7,
		`lb_process_max_connections`:                                       50000,
		`lb_process_connections_total`:                                     1234,
		`lb_process_start_time_seconds`:                                    float64(startTime.Unix()),
		`lb_process_build_info{version="v1.2.3"}`:                          1,
		`lb_frontend_current_sessions{proxy="web"}`:                        5,
		`lb_frontend_limit_sessions{proxy="web"}`:                          10000,
		`lb_frontend_sessions_total{proxy="web"}`:                          1200,
		`lb_frontend_bytes_in_total{proxy="web"}`:                          4096,
		`lb_frontend_bytes_out_total{proxy="web"}`:                         1 << 20,
		`lb_backend_status{proxy="app",state="UP"}`:                        1,
		`lb_backend_status{proxy="app",state="DOWN"}`:                      0,
		`lb_backend_current_sessions{proxy="app"}`:                         4,
		`lb_backend_sessions_total{proxy="app"}`:                           5,
		`lb_backend_current_queue{proxy="app"}`:                            1,
		`lb_backend_max_queue{proxy="app"}`:                                1,
		`lb_backend_connection_errors_total{proxy="app"}`:                  2,
		`lb_backend_retry_warnings_total{proxy="app"}`:                     3,
		`lb_backend_redispatch_warnings_total{proxy="app"}`:                1,
		`lb_backend_active_servers{proxy="app"}`:                           1,
		`lb_backend_backup_servers{proxy="app"}`:                           1,
		`lb_backend_weight{proxy="app"}`:                                   1,
		`lb_server_status{proxy="app",server="a1",state="UP"}`:             1,
		`lb_server_status{proxy="app",server="a2",state="UP"}`:             0,
		`lb_server_status{proxy="app",server="a2",state="DRAIN"}`:          1,
		`lb_server_status{proxy="app",server="a2",state="DOWN"}`:           0,
		`lb_server_status{proxy="app",server="a2",state="MAINT"}`:          0,
		`lb_server_weight{proxy="app",server="a1"}`:                        1,
		`lb_server_current_sessions{proxy="app",server="a1"}`:              2,
		`lb_server_current_sessions{proxy="app",server="a2"}`:              2,
		`lb_server_current_sessions{proxy="app",server="b1"}`:              0,
		`lb_server_limit_sessions{proxy="app",server="a1"}`:                2,
		`lb_server_limit_sessions{proxy="app",server="a2"}`:                0,
		`lb_server_sessions_total{proxy="app",server="a1"}`:                2,
		`lb_server_sessions_total{proxy="app",server="a2"}`:                3,
		`lb_server_connection_errors_total{proxy="app",server="a1"}`:       2,
		`lb_server_connection_errors_total{proxy="app",server="a2"}`:       0,
		`lb_server_current_queue{proxy="app",server="a1"}`:                 0,
		`lb_server_last_change_timestamp_seconds{proxy="app",server="a1"}`: float64(startTime.Unix()),
		`lb_backend_check_up_down_total{proxy="app"}`:                      0,
		`lb_backend_queue_full_total{proxy="app"}`:                         0,
		`lb_backend_no_server_total{proxy="app"}`:                          0,
	})
	// Without health checks there are no check_* series, and timers never
	// observed have no series yet.
	for _, absent := range []string{"lb_server_check_", "_time_seconds_"} {
		if got := filter(f.metrics(t), absent); len(got) > 0 {
			t.Errorf("series %v; want none matching %q", got, absent)
		}
	}
	if !f.app.Cancel(w) {
		t.Fatalf("waiter was served")
	}
	for _, s := range held {
		s.Release()
	}
	got := f.metrics(t)
	wantMetrics(t, got, map[string]float64{
		`lb_backend_current_sessions{proxy="app"}`: 0,
		`lb_backend_current_queue{proxy="app"}`:    0,
		`lb_backend_max_queue{proxy="app"}`:        1,
	})
	// a2's DRAIN is a state change: its timestamp is recent, not the start.
	if v := got[`lb_server_last_change_timestamp_seconds{proxy="app",server="a2"}`]; v <= float64(startTime.Unix()) {
		t.Errorf("a2 last change %v; want after the start %d", v, startTime.Unix())
	}
	if v := got[`lb_process_uptime_seconds`]; v < 90 {
		t.Errorf("uptime %v; want >= 90s (now is after the fake start)", v)
	}
}

// Health-check counters and the check status reach the metrics.
func TestMetricsHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	h := &config.Health{Kind: "tcp", Interval: config.Duration{Duration: 10 * time.Millisecond},
		Timeout: config.Duration{Duration: 5 * time.Second}, Rise: 1, Fall: 1}
	b, err := backend.New(&config.Backend{Name: "db", Balance: "roundrobin", Health: h,
		Server: []*config.Server{{Name: "d1", Address: dead, Weight: 1}}}, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(stats.NewCollector(&source{bes: []*backend.Backend{b}}))
	b.Start()
	deadline := time.Now().Add(10 * time.Second)
	for b.Server("d1").State() != backend.StateDown {
		if time.Now().After(deadline) {
			t.Fatal("d1 never went DOWN")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Stop()
	got := parseMetrics(t, gatherText(t, reg))
	wantMetrics(t, got, map[string]float64{
		`lb_server_status{proxy="db",server="d1",state="DOWN"}`:        1,
		`lb_server_status{proxy="db",server="d1",state="UP"}`:          0,
		`lb_server_check_status{proxy="db",server="d1",state="L4CON"}`: 1,
		`lb_server_check_status{proxy="db",server="d1",state="INI"}`:   0,
		`lb_server_check_up_down_total{proxy="db",server="d1"}`:        1,
		`lb_backend_check_up_down_total{proxy="db"}`:                   1,
		`lb_backend_status{proxy="db",state="DOWN"}`:                   1,
		`lb_backend_active_servers{proxy="db"}`:                        0,
	})
	if v := got[`lb_server_check_failures_total{proxy="db",server="d1"}`]; v < 1 {
		t.Errorf("check failures %v; want >= 1", v)
	}
}

// gatherText renders a registry in the text format, as a scrape sees it.
func gatherText(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// HTTP counters carry a code label (status class); backend and server
// series appear with the first HTTP request or response.
func TestMetricsHTTPCodes(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	got := f.metrics(t)
	for _, absent := range []string{"lb_backend_http_", "lb_server_http_"} {
		if s := filter(got, absent); len(s) > 0 {
			t.Errorf("before any HTTP traffic: %v; want no %s series", s, absent)
		}
	}
	// The frontend is in HTTP mode: its series are always there.
	wantMetrics(t, got, map[string]float64{
		`lb_frontend_http_requests_total{proxy="web"}`:             0,
		`lb_frontend_http_responses_total{code="5xx",proxy="web"}`: 0,
	})
	f.src.mu.Lock()
	f.src.fes[0].HTTPRequests = 12
	f.src.fes[0].HTTPResponses[backend.Code2xx] = 10
	f.src.fes[0].HTTPResponses[backend.Code5xx] = 2
	f.src.fes = append(f.src.fes, stats.Frontend{Name: "raw", Mode: "tcp"})
	f.src.mu.Unlock()
	bc, sc := f.app.Counters(), f.app.Server("a1").Counters()
	bc.HTTPRequests.Add(3)
	for _, code := range []int{200, 204, 503} {
		bc.HTTPResponses.Add(code)
		sc.HTTPResponses.Add(code)
	}
	got = f.metrics(t)
	wantMetrics(t, got, map[string]float64{
		`lb_frontend_http_requests_total{proxy="web"}`:                         12,
		`lb_frontend_http_responses_total{code="2xx",proxy="web"}`:             10,
		`lb_frontend_http_responses_total{code="5xx",proxy="web"}`:             2,
		`lb_frontend_http_responses_total{code="other",proxy="web"}`:           0,
		`lb_backend_http_requests_total{proxy="app"}`:                          3,
		`lb_backend_http_responses_total{code="2xx",proxy="app"}`:              2,
		`lb_backend_http_responses_total{code="5xx",proxy="app"}`:              1,
		`lb_backend_http_responses_total{code="1xx",proxy="app"}`:              0,
		`lb_server_http_responses_total{code="2xx",proxy="app",server="a1"}`:   2,
		`lb_server_http_responses_total{code="5xx",proxy="app",server="a1"}`:   1,
		`lb_server_http_responses_total{code="other",proxy="app",server="a1"}`: 0,
	})
	if s := filter(got, `server="a2"`); contains(s, "lb_server_http_") {
		t.Errorf("a2 has HTTP series without responses: %v", s)
	}
	if s := filter(got, `proxy="raw"`); contains(s, "http") {
		t.Errorf("TCP frontend has HTTP series: %v", s)
	}
	snap := f.snapshot(t)
	if fe := snap.Frontends[1]; fe.Name != "web" || fe.HTTPRequests != 12 || fe.HTTPResponses.C2xx != 10 || fe.HTTPResponses.C5xx != 2 {
		t.Errorf("/stats.json frontend %+v; want web with 12 requests, 10 2xx, 2 5xx", fe)
	}
	if be := snap.Backends[0]; be.HTTPRequests != 3 || be.HTTPResponses.C2xx != 2 || be.Servers[0].HTTPResponses.C5xx != 1 {
		t.Errorf("/stats.json backend %+v; want 3 requests, 2 2xx, a1 one 5xx", be)
	}
}

// contains reports whether some element of list contains substr.
func contains(list []string, substr string) bool {
	for _, s := range list {
		if strings.Contains(s, substr) {
			return true
		}
	}
	return false
}

// Observations land in the right cumulative buckets of real Prometheus
// histograms, with count and sum.
func TestMetricsHistogram(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	sc := f.app.Server("a2").Counters()
	for _, d := range []time.Duration{3 * time.Millisecond, 3 * time.Millisecond, 2 * time.Second, time.Minute} {
		sc.ConnectTime.Observe(d)
	}
	f.app.Counters().QueueTime.Observe(0)
	got := f.metrics(t)
	pre := `lb_server_connect_time_seconds`
	lbl := `proxy="app",server="a2"`
	wantMetrics(t, got, map[string]float64{
		pre + `_bucket{` + lbl + `,le="0.00048828125"}`: 0,
		pre + `_bucket{` + lbl + `,le="0.001953125"}`:   0,
		pre + `_bucket{` + lbl + `,le="0.00390625"}`:    2,
		pre + `_bucket{` + lbl + `,le="1"}`:             2,
		pre + `_bucket{` + lbl + `,le="2"}`:             3,
		pre + `_bucket{` + lbl + `,le="32"}`:            3,
		pre + `_bucket{` + lbl + `,le="+Inf"}`:          4,
		pre + `_count{` + lbl + `}`:                     4,
		pre + `_sum{` + lbl + `}`:                       62.006,
		// The backend's own histogram.
		`lb_backend_queue_time_seconds_bucket{proxy="app",le="0.00048828125"}`: 1,
		`lb_backend_queue_time_seconds_count{proxy="app"}`:                     1,
		`lb_backend_queue_time_seconds_sum{proxy="app"}`:                       0,
	})
	// Timers without observations have no series.
	for _, absent := range []string{
		`lb_server_connect_time_seconds_count{proxy="app",server="a1"}`,
		`lb_server_total_time_seconds_count{proxy="app",server="a2"}`,
		`lb_backend_connect_time_seconds_count{proxy="app"}`,
	} {
		if v, ok := got[absent]; ok {
			t.Errorf("%s = %v; want no such series", absent, v)
		}
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, pre+`_bucket{`+lbl) {
			n++
		}
	}
	if want := backend.HistogramBuckets + 1; n != want {
		t.Errorf("%d buckets for %s; want %d", n, pre, want)
	}
}

// A scraper that asks for protobuf (Prometheus with native histograms
// on) gets each histogram as a native one of schema 0 as well, with the
// same counts as the classic buckets: bucket (2^(k-1), 2^k] seconds is
// native bucket k.
func TestMetricsNativeHistogram(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	sc := f.app.Server("a2").Counters()
	for _, d := range []time.Duration{3 * time.Millisecond, 3 * time.Millisecond, 2 * time.Second, time.Minute} {
		sc.ConnectTime.Observe(d)
	}
	r := f.mustDo(t, http.StatusOK, "GET", "/metrics", "", "Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "protobuf") {
		t.Fatalf("Content-Type %q; want protobuf", ct)
	}
	dec := expfmt.NewDecoder(strings.NewReader(r.body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var h *dto.Histogram
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		if mf.GetName() != "lb_server_connect_time_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "server" && l.GetValue() == "a2" {
					h = m.Histogram
				}
			}
		}
	}
	if h == nil {
		t.Fatal("no lb_server_connect_time_seconds{server=a2} in the protobuf exposition")
	}
	if h.GetSchema() != 0 || h.GetSampleCount() != 4 || len(h.PositiveSpan) == 0 || len(h.Bucket) != backend.HistogramBuckets {
		t.Fatalf("histogram %v; want schema 0, 4 samples, native spans and %d classic buckets", h, backend.HistogramBuckets)
	}
	// Decode the spans and deltas into native bucket index -> count.
	native := map[int32]int64{}
	idx, n, di := int32(0), int64(0), 0
	for _, sp := range h.PositiveSpan {
		idx += sp.GetOffset()
		for j := uint32(0); j < sp.GetLength(); j++ {
			n += h.PositiveDelta[di]
			di++
			if n != 0 {
				native[idx] = n
			}
			idx++
		}
	}
	// 3ms twice in (2^-9, 2^-8] s, 2s in (1, 2], one minute above 32s in (32, 64].
	want := map[int32]int64{-8: 2, 1: 1, 6: 1}
	if fmt.Sprint(native) != fmt.Sprint(want) {
		t.Errorf("native buckets %v; want %v", native, want)
	}
}

// promtool, when installed, finds nothing to say about the exposition
// (names, types, units, suffixes, help texts).
func TestPromtoolCheckMetrics(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (apt-get install prometheus)")
	}
	f := newFixture(t, stats.HandlerOptions{})
	// Every family present: timers, HTTP codes, and a backend with checks.
	f.app.Server("a1").Counters().TotalTime.Observe(time.Second)
	f.app.Counters().ConnectTime.Observe(time.Millisecond)
	f.app.Counters().HTTPRequests.Add(1)
	f.app.Counters().HTTPResponses.Add(200)
	f.app.Server("a1").Counters().HTTPResponses.Add(200)
	checked := newBackendHealth(t, "checked", "leastconn", &config.Health{Kind: "tcp",
		Interval: config.Duration{Duration: time.Hour}, Timeout: config.Duration{Duration: time.Second}, Rise: 2, Fall: 3},
		srv{name: "c1", weight: 1})
	f.src.mu.Lock()
	f.src.bes = append(f.src.bes, checked)
	f.src.mu.Unlock()
	body := f.mustDo(t, http.StatusOK, "GET", "/metrics", "").body
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
	for _, family := range []string{"_time_seconds_bucket", "lb_server_check_status", "lb_server_http_responses_total", "lb_backend_http_requests_total"} {
		if !strings.Contains(body, family) {
			t.Errorf("exposition checked without %s", family)
		}
	}
}

// The collector is registered only where the caller says: nothing of it
// reaches the default registry.
func TestCollectorLeavesDefaultRegistryAlone(t *testing.T) {
	newFixture(t, stats.HandlerOptions{})
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "lb_") {
			t.Errorf("default registry holds %s", mf.GetName())
		}
	}
}

// Without a Gatherer the handler serves the collector from a private
// registry.
func TestHandlerDefaultGatherer(t *testing.T) {
	b := newBackend(t, "solo", "roundrobin", srv{name: "s", weight: 3})
	h := stats.NewHandler(stats.HandlerOptions{Source: &source{bes: []*backend.Backend{b}}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := parseMetrics(t, rec.Body.String())
	wantMetrics(t, got, map[string]float64{
		`lb_server_weight{proxy="solo",server="s"}`: 3,
		`lb_process_build_info{version="(devel)"}`:  1,
		`lb_process_uptime_seconds`:                 0,
	})
}

// BenchmarkScrape measures one scrape of 100 backends x 10 servers: Gather
// (the collector and the registry's checks) and the whole HTTP answer (text
// encoding included), with no timer observed yet ("idle": no histogram
// series) and with every timer of every server observed ("timers": the
// worst case, HTTP mode, 4 histograms per server and per backend).
func BenchmarkScrape(b *testing.B) {
	for _, timers := range []bool{false, true} {
		name := "idle"
		if timers {
			name = "timers"
		}
		reg := scrapeRegistry(b, timers)
		b.Run(name+"/gather", func(b *testing.B) {
			b.ReportAllocs()
			var series int
			for b.Loop() {
				mfs, err := reg.Gather()
				if err != nil {
					b.Fatal(err)
				}
				series = 0
				for _, mf := range mfs {
					series += len(mf.GetMetric())
				}
			}
			b.ReportMetric(float64(series), "metrics/scrape")
		})
		b.Run(name+"/http", func(b *testing.B) {
			h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			req := httptest.NewRequest("GET", "/metrics", nil)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}

// scrapeRegistry builds 100 frontends and 100 backends of 10 servers on a
// fresh registry; with timers, every histogram has an observation.
func scrapeRegistry(b *testing.B, timers bool) *prometheus.Registry {
	src := &source{proc: stats.Process{Version: "bench", StartTime: time.Now()}}
	for i := range 100 {
		servers := make([]srv, 10)
		for j := range servers {
			servers[j] = srv{name: fmt.Sprintf("s%02d", j), weight: 1}
		}
		be := newBackend(b, fmt.Sprintf("be%03d", i), "roundrobin", servers...)
		if timers {
			bc := be.Counters()
			all := []*backend.Histogram{&bc.QueueTime, &bc.ConnectTime, &bc.ResponseTime, &bc.TotalTime}
			for _, s := range be.Servers() {
				sc := s.Counters()
				all = append(all, &sc.QueueTime, &sc.ConnectTime, &sc.ResponseTime, &sc.TotalTime)
			}
			for _, h := range all {
				h.Observe(5 * time.Millisecond)
			}
		}
		src.bes = append(src.bes, be)
		src.fes = append(src.fes, stats.Frontend{Name: fmt.Sprintf("fe%03d", i), Mode: "http"})
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(stats.NewCollector(src))
	return reg
}
