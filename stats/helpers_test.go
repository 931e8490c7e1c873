package stats_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/stats"
)

// startTime is the fake process start.
var startTime = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// source is a Source whose figures the test sets.
type source struct {
	mu   sync.Mutex
	proc stats.Process
	fes  []stats.Frontend
	bes  []*backend.Backend
}

func (s *source) Process() stats.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

func (s *source) Frontends() []stats.Frontend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stats.Frontend(nil), s.fes...)
}

func (s *source) Backends() []*backend.Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*backend.Backend(nil), s.bes...)
}

// srv describes one server of newBackend.
type srv struct {
	name    string
	weight  int
	backup  bool
	maxconn int
}

// newBackend builds a backend without health checks.
func newBackend(t testing.TB, name, balance string, servers ...srv) *backend.Backend {
	t.Helper()
	return newBackendHealth(t, name, balance, nil, servers...)
}

func newBackendHealth(t testing.TB, name, balance string, health *config.Health, servers ...srv) *backend.Backend {
	t.Helper()
	cfg := &config.Backend{Name: name, Balance: balance, Health: health}
	for i, s := range servers {
		cfg.Server = append(cfg.Server, &config.Server{
			Name:    s.name,
			Address: "10.0.0." + strconv.Itoa(i+1) + ":8080",
			Weight:  s.weight,
			Backup:  s.backup,
			MaxConn: s.maxconn,
		})
	}
	b, err := backend.New(cfg, backend.Options{})
	if err != nil {
		t.Fatalf("backend.New: %v", err)
	}
	t.Cleanup(b.Stop)
	return b
}

// fixture is an admin server over a source, with its log.
type fixture struct {
	src  *source
	reg  *prometheus.Registry
	srv  *httptest.Server
	logs *logBuffer
	app  *backend.Backend
}

// newFixture starts the admin handler over one frontend "web" and one
// backend "app" (a1 maxconn 2, a2, b1 backup), with opts' token settings.
func newFixture(t *testing.T, opts stats.HandlerOptions) *fixture {
	t.Helper()
	f := &fixture{logs: &logBuffer{}}
	f.app = newBackend(t, "app", "roundrobin",
		srv{name: "a1", weight: 1, maxconn: 2},
		srv{name: "a2", weight: 1},
		srv{name: "b1", weight: 1, backup: true})
	f.src = &source{
		proc: stats.Process{Version: "v1.2.3", StartTime: startTime, CurrentConnections: 7, MaxConnections: 50000, ConnectionsTotal: 1234},
		fes:  []stats.Frontend{{Name: "web", Mode: "http", CurrentSessions: 5, LimitSessions: 10000, SessionsTotal: 1200, BytesIn: 4096, BytesOut: 1 << 20}},
		bes:  []*backend.Backend{f.app},
	}
	f.reg = prometheus.NewPedanticRegistry()
	if err := f.reg.Register(stats.NewCollector(f.src)); err != nil {
		t.Fatalf("Register: %v", err)
	}
	opts.Source = f.src
	opts.Gatherer = f.reg
	opts.Logger = zerolog.New(f.logs)
	opts.Now = func() time.Time { return startTime.Add(90 * time.Second) }
	f.srv = httptest.NewServer(stats.NewHandler(opts))
	t.Cleanup(f.srv.Close)
	return f
}

// response is what do returns.
type response struct {
	code   int
	header http.Header
	body   string
}

// do sends one request; body may be "".
func (f *fixture) do(t *testing.T, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

// mustDo is do that fails unless the status is want.
func (f *fixture) mustDo(t *testing.T, want int, method, path, body string, header ...string) response {
	t.Helper()
	r := f.do(t, method, path, body, header...)
	if r.code != want {
		t.Fatalf("%s %s %q: status %d; want %d (body %s)", method, path, body, r.code, want, r.body)
	}
	return r
}

// metrics scrapes /metrics and returns sample -> value, keyed by the
// sample as written ("name{label=\"v\",...}").
func (f *fixture) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	r := f.mustDo(t, http.StatusOK, "GET", "/metrics", "")
	return parseMetrics(t, r.body)
}

func parseMetrics(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// wantMetrics checks samples against want, reporting each difference.
func wantMetrics(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("metric %s missing", k)
		case g != w:
			t.Errorf("metric %s = %v; want %v", k, g, w)
		}
	}
}

// snapshot fetches /stats.json.
func (f *fixture) snapshot(t *testing.T) stats.Snapshot {
	t.Helper()
	r := f.mustDo(t, http.StatusOK, "GET", "/stats.json", "")
	var s stats.Snapshot
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("/stats.json: %v", err)
	}
	return s
}

// server finds a server in a snapshot.
func findServer(t *testing.T, s stats.Snapshot, be, name string) (stats.ServerStatus, bool) {
	t.Helper()
	for _, b := range s.Backends {
		if b.Name != be {
			continue
		}
		for _, srv := range b.Servers {
			if srv.Name == name {
				return srv, true
			}
		}
	}
	return stats.ServerStatus{}, false
}

// logBuffer is a goroutine-safe zerolog sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// events returns the decoded log lines whose "event" field is name.
func (l *logBuffer) events(t *testing.T, name string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}

// testServer is a server entry with weight 1.
func testServer(name, addr string) *config.Server {
	return &config.Server{Name: name, Address: addr, Weight: 1}
}

// sorted sorts s in place and returns it.
func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
