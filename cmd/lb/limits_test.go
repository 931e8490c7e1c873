package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Per-key limits (issue 12, item 3): each limit kind with deny, tarpit and
// set-priority-class, keys by address, header and backend, the counts
// shared across event loops, and the table bound under a key flood.

// limitConfig is an HTTP config with [limit.t] (limit's keys) and one
// request rule naming it (rule's keys), over server addr.
func limitConfig(limit, rule, addr string, loops int) string {
	cfg := httpConfig("[[frontend.fe.http_request]]\nlimit = \"t\"\n"+rule, "", srv("s", addr))
	cfg = strings.Replace(cfg, "[global]\n", fmt.Sprintf("[global]\nevent_loops = %d\n", loops), 1)
	return "[admin]\nbind = \"127.0.0.1:0\"\n" + cfg + "\n[limit.t]\n" + limit
}

// startRequestServer is a keep-alive HTTP/1.1 server that keeps nothing:
// it answers each request (its body read) with respond's raw response,
// which may block to hold the request.
func startRequestServer(t *testing.T, respond func(r *http.Request) string) *server {
	t.Helper()
	return startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, r.Body)
			io.WriteString(c, respond(r))
		}
	})
}

// kaClient is a keep-alive HTTP/1.1 client on one connection.
type kaClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newKA(t *testing.T, addr string) *kaClient {
	c := dial(t, addr)
	return &kaClient{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes a GET of path with extra header lines ("Name: v\r\n").
func (k *kaClient) send(path, hdr string) {
	k.t.Helper()
	if _, err := io.WriteString(k.c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n"+hdr+"\r\n"); err != nil {
		k.t.Fatal(err)
	}
}

// read reads one response: its status, Retry-After and body.
func (k *kaClient) read() (int, string, string) {
	k.t.Helper()
	k.c.SetReadDeadline(time.Now().Add(guard))
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		k.t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Retry-After"), string(b)
}

// get sends and reads one request.
func (k *kaClient) get(path, hdr string) (int, string) {
	k.t.Helper()
	k.send(path, hdr)
	st, ra, _ := k.read()
	return st, ra
}

// TestLimitRate: a sliding-window request rate per key. Over it a deny
// rule answers 429 with Retry-After and keeps the connection; other keys
// and requests without the key are not limited; once the window has
// passed (fake clock), the key is served again.
func TestLimitRate(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("ok") })
	clock := newClock()
	p := startLBClock(t, limitConfig("key = \"header:X-Key\"\nrate = 3\nwindow = \"10s\"\n", "action = \"deny\"\n", hb.addr(), 1), clock)
	a := newKA(t, p.addr("fe"))
	for i := 1; i <= 5; i++ {
		st, ra := a.get("/", "X-Key: a\r\n")
		switch {
		case i <= 3 && st != 200:
			t.Errorf("request %d of key a: %d; want 200", i, st)
		case i > 3 && (st != 429 || ra == ""):
			t.Errorf("request %d of key a: %d, Retry-After %q; want 429 with Retry-After", i, st, ra)
		case i > 3:
			if n, err := strconv.Atoi(ra); err != nil || n < 1 || n > 20 {
				t.Errorf("Retry-After %q; want 1..20 seconds", ra)
			}
		}
	}
	// Another key, and no key at all, on another connection.
	b := newKA(t, p.addr("fe"))
	for i := 0; i < 4; i++ {
		if st, _ := b.get("/", "X-Key: b\r\n"); i < 3 && st != 200 {
			t.Errorf("key b request %d: %d; want 200", i, st)
		}
		if st, _ := b.get("/", ""); st != 200 {
			t.Errorf("no key: %d; want 200 (not tracked)", st)
		}
	}
	// Two windows later the key starts afresh (on a new connection: the
	// old ones timed out meanwhile).
	clock.Advance(20 * time.Second)
	if st, _ := newKA(t, p.addr("fe")).get("/", "X-Key: a\r\n"); st != 200 {
		t.Errorf("after the window: %d; want 200", st)
	}
	l := p.waitLog(t, func(l map[string]any) bool { return l["status"] == 429.0 })
	if l["term"] != "PR" {
		t.Errorf("429 logged with %v; want PR", l["term"])
	}
	m := scrapeLimits(t, p.inst.adminAddr())
	if m["lb_limit_over_total"] < 3 || m["lb_limit_tracked_total"] < 10 || m["lb_limit_entries"] < 1 {
		t.Errorf("metrics %v; want over >= 3, tracked >= 10, entries >= 1", m)
	}
	// The same in /stats.json and on /stats.
	var snap struct {
		Limits []struct {
			Name          string
			Over, Tracked int64
		}
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+p.inst.adminAddr()+"/stats.json")), &snap); err != nil ||
		len(snap.Limits) != 1 || snap.Limits[0].Name != "t" || snap.Limits[0].Over < 3 {
		t.Errorf("/stats.json limits %+v (%v); want table t with over >= 3", snap.Limits, err)
	}
	if page := get(t, "http://"+p.inst.adminAddr()+"/stats"); !strings.Contains(page, "Limit tables") {
		t.Error("/stats has no limit tables section")
	}
}

// scrapeLimits returns the lb_limit_* samples of table t (without labels)
// from the admin listener at admin.
func scrapeLimits(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, l := range strings.Split(get(t, "http://"+admin+"/metrics"), "\n") {
		k, v, ok := strings.Cut(l, " ")
		if name, found := strings.CutSuffix(k, `{limit="t"}`); ok && found {
			out[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	return out
}

// TestLimitAcrossLoops: the counts of a key are shared by the event loops:
// eight connections (spread over four loops by the kernel) together get
// the rate, not the rate per loop. Each connection starts after a few
// sync intervals, which is the tolerance.
func TestLimitAcrossLoops(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("ok") })
	p := startLB(t, limitConfig("rate = 10\nwindow = \"1d\"\nsync = \"20ms\"\n", "action = \"deny\"\n", hb.addr(), 4))
	passed := 0
	for i := 0; i < 8; i++ {
		c := newKA(t, p.addr("fe"))
		for j := 0; j < 4; j++ {
			if st, _ := c.get("/", ""); st == 200 {
				passed++
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	if passed != 10 {
		t.Errorf("%d of 32 requests passed over 8 connections; want the rate, 10 %v", passed, scrapeLimits(t, p.inst.adminAddr()))
	}
}

// TestLimitConcurrent: concurrent requests and connections per key. The
// server holds requests for /held until the test opens the gate.
func TestLimitConcurrent(t *testing.T) {
	for _, kind := range []string{"requests", "conns"} {
		t.Run(kind, func(t *testing.T) {
			gate := make(chan struct{})
			var held atomic.Int32
			s := startRequestServer(t, func(r *http.Request) string {
				if r.URL.Path == "/held" {
					held.Add(1)
					<-gate
				}
				return ok(r.URL.Path)
			})
			p := startLB(t, limitConfig(kind+" = 2\nsync = \"20ms\"\n", "action = \"deny\"\n", s.addr(), 2))
			var cs []*kaClient
			for i := 0; i < 2; i++ {
				c := newKA(t, p.addr("fe"))
				c.send("/held", "")
				cs = append(cs, c)
				waitFor(t, "the server to get the request", func() bool { return held.Load() == int32(i+1) })
				time.Sleep(100 * time.Millisecond) // a sync round: the other loop knows
			}
			third := newKA(t, p.addr("fe"))
			if st, _ := third.get("/third", ""); st != 429 {
				t.Errorf("third concurrent %s: %d; want 429", kind, st)
			}
			close(gate)
			for _, c := range cs {
				if st, _, _ := c.read(); st != 200 {
					t.Errorf("held request: %d", st)
				}
			}
			time.Sleep(100 * time.Millisecond) // a sync round
			if kind == "requests" {
				// Both ended: the key is under its limit again.
				if st, _ := third.get("/again", ""); st != 200 {
					t.Errorf("after the held ones ended: %d; want 200", st)
				}
				return
			}
			// Connections count until they close, not per request.
			if st, _ := third.get("/still", ""); st != 429 {
				t.Errorf("third connection while two are open: %d; want 429", st)
			}
			// The third connection counts too (it is the key's, denied or
			// not): two must close for a new one to fit.
			cs[0].c.Close()
			third.c.Close()
			time.Sleep(100 * time.Millisecond)
			if st, _ := newKA(t, p.addr("fe")).get("/fourth", ""); st != 200 {
				t.Errorf("after a connection closed: %d; want 200", st)
			}
		})
	}
}

// TestLimitBytesRate: bytes in and out per key over the window, counted
// as each transaction ends.
func TestLimitBytesRate(t *testing.T) {
	body := strings.Repeat("x", 600)
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok(body) })
	p := startLB(t, limitConfig("bytes_rate = \"1k\"\nwindow = \"1d\"\n", "action = \"deny\"\nstatus = 503\n", hb.addr(), 1))
	c := newKA(t, p.addr("fe"))
	var sts []int
	for i := 0; i < 4; i++ {
		st, _ := c.get("/", "")
		sts = append(sts, st)
	}
	// 1: 0 bytes before it; 2: ~650 (< 1024); 3: ~1300, over.
	if fmt.Sprint(sts) != "[200 200 503 503]" {
		t.Errorf("statuses %v; want [200 200 503 503]", sts)
	}
}

// TestLimitTarpit: a tarpit rule holds a request over the limit for its
// time (fake clock), sends nothing to the server, then answers 429.
func TestLimitTarpit(t *testing.T) {
	var served atomic.Int32
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { served.Add(1); return ok("ok") })
	clock := newClock()
	p := startLBClock(t, limitConfig("rate = 1\nwindow = \"1h\"\n", "action = \"tarpit\"\ntarpit = \"30s\"\n", hb.addr(), 1), clock)
	c := newKA(t, p.addr("fe"))
	if st, _ := c.get("/", ""); st != 200 {
		t.Fatalf("first: %d", st)
	}
	c.send("/held", "")
	c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.br.Peek(1); err == nil {
		t.Fatal("answered before the tarpit time")
	}
	fireAt(t, clock, clock.Now().Add(30*time.Second))
	st, ra, _ := c.read()
	if st != 429 || ra == "" {
		t.Errorf("after the tarpit: %d, Retry-After %q; want 429 with one", st, ra)
	}
	if n := served.Load(); n != 1 {
		t.Errorf("the server got %d requests; want 1 (the tarpitted one never reaches it)", n)
	}
	l := p.waitLog(t, func(l map[string]any) bool { return l["status"] == 429.0 })
	if l["term"] != "PT" {
		t.Errorf("tarpit logged %v; want PT", l["term"])
	}
}

// TestLimitLowersPriority: over its rate, a key's requests queue behind
// everyone else's (set-priority-class) instead of being refused.
func TestLimitLowersPriority(t *testing.T) {
	s := startOrderServer(t)
	cfg := limitConfig("key = \"header:X-Key\"\nrate = 1\nwindow = \"1d\"\n", "action = \"set-priority-class\"\nclass = 100\n", s.addr(), 1)
	cfg = strings.Replace(cfg, "[backend.be]\n", "[backend.be]\n[backend.be.timeout]\nqueue = \"1m\"\n", 1)
	cfg = strings.Replace(cfg, "address = ", "maxconn = 1\naddress = ", 1)
	p := startLB(t, cfg)
	seen, queued := s.seen, func(n int64) { waitQueued(t, p, n) }
	heavy := newKA(t, p.addr("fe"))
	heavy.send("/heavy-1", "X-Key: heavy\r\n") // within its rate: takes the slot
	seen(t, 1)
	over := newKA(t, p.addr("fe"))
	over.send("/heavy-2", "X-Key: heavy\r\n") // over: class 100
	queued(1)
	light := newKA(t, p.addr("fe"))
	light.send("/light", "X-Key: light\r\n") // class 0, arrived later
	queued(2)
	for i := 0; i < 3; i++ {
		s.release <- struct{}{}
	}
	heavy.read()
	light.read()
	over.read()
	if got := fmt.Sprint(s.served()); got != "[/heavy-1 /light /heavy-2]" {
		t.Errorf("served %v; want the key over its rate last", got)
	}
}

// TestLimitKeyFlood: a table under a flood of distinct keys stays within
// its size (per loop), evicting the least recently used keys, and keeps
// limiting a key that stays active.
func TestLimitKeyFlood(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("") })
	p := startLB(t, limitConfig("key = \"header:X-Key\"\nsize = 200\nrate = 5\nwindow = \"1d\"\n", "action = \"deny\"\n", hb.addr(), 1))
	c := newKA(t, p.addr("fe"))
	hot := 0
	for i := 0; i < 3000; i++ {
		c.send("/", fmt.Sprintf("X-Key: k%d\r\n", i))
		if i%10 == 0 {
			c.send("/", "X-Key: hot\r\n")
		}
		if i%50 == 49 {
			// Read what was sent (pipelined in small batches).
			for j := 0; j < 55; j++ {
				st, _, _ := c.read()
				if st == 429 {
					hot++
				}
			}
		}
	}
	m := scrapeLimits(t, p.inst.adminAddr())
	if m["lb_limit_entries"] > 200 || m["lb_limit_evictions_total"] < 2800 {
		t.Errorf("entries %v (want <= 200), evictions %v (want >= 2800)", m["lb_limit_entries"], m["lb_limit_evictions_total"])
	}
	if hot != 300-5 {
		t.Errorf("%d requests of the hot key denied; want %d (it stays in the table: recently used)", hot, 300-5)
	}
}

// redisServer is a redis-server process started by a test.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

// freePort returns a loopback port nothing listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRedis starts Debian's redis-server on port (0: a free one), without
// persistence; the test is skipped when it is not installed (.ci/run
// installs it).
func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	if port == 0 {
		port = freePort(t)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{port: port, cmd: cmd}
	t.Cleanup(r.stop)
	waitFor(t, "redis-server to listen", func() bool {
		c, err := net.DialTimeout("tcp", r.addr(), 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return r
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *redisServer) url() string { return "redis://" + r.addr() + "/0" }

// stop kills the server and waits for it (idempotent).
func (r *redisServer) stop() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// TestLimitRedisShared: two lb processes sharing one Redis hold one rate
// for the fleet. The clients alternate between them in batches of 10,
// with a pause of a few sync intervals between batches; the fleet-wide
// count may overshoot by what one instance lets through before the
// other's counts reach it (one batch), which is the stated tolerance.
// Without Redis, the same traffic gets the rate from each instance.
func TestLimitRedisShared(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("ok") })
	rd := startRedis(t, 0)
	run := func(redis string) int {
		limit := "rate = 50\nwindow = \"1d\"\nsync = \"30ms\"\n" + redis
		a := execLB(t, limitConfig(limit, "action = \"deny\"\n", hb.addr(), 2))
		b := execLB(t, limitConfig(limit, "action = \"deny\"\n", hb.addr(), 2))
		ca, cb := newKA(t, a.fe), newKA(t, b.fe)
		passed := 0
		for round := 0; round < 10; round++ {
			for _, c := range []*kaClient{ca, cb} {
				for i := 0; i < 10; i++ {
					if st, _ := c.get("/", ""); st == 200 {
						passed++
					}
				}
				time.Sleep(150 * time.Millisecond)
			}
		}
		t.Logf("redis %q: %d of 200 passed", redis, passed)
		if redis != "" {
			for _, p := range []*lbProcess{a, b} {
				if m := scrapeLimits(t, p.admin); m["lb_limit_redis_up"] != 1 || m["lb_limit_redis_errors_total"] != 0 {
					t.Errorf("redis metrics %v; want up, no errors", m)
				}
			}
		}
		return passed
	}
	// The second instance's first batch is blind (it exchanges a key once
	// it has seen it): 60 on a quiet machine; a slow round under load may
	// let one more batch through.
	if n := run(fmt.Sprintf("redis = %q\n", rd.url())); n < 50 || n > 70 {
		t.Errorf("with Redis, %d of 200 requests passed over two instances; want 50 (+20 at most)", n)
	}
	if n := run(""); n != 100 {
		t.Errorf("without Redis, %d passed; want 50 per instance, 100", n)
	}
}

// TestLimitRedisDown: while Redis cannot be reached, redis_down = "open"
// counts per instance (the local rate still holds) and "closed" denies
// every tracked request; both log the change and count the errors, and
// recover when Redis is back.
func TestLimitRedisDown(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("ok") })
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			port := freePort(t) // nothing listens there yet
			url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
			p := startLB(t, limitConfig(fmt.Sprintf("rate = 5\nwindow = \"1d\"\nsync = \"20ms\"\nredis = %q\nredis_down = %q\n", url, mode),
				"action = \"deny\"\n", hb.addr(), 1))
			c := newKA(t, p.addr("fe"))
			c.get("/", "") // a key to exchange
			waitFor(t, "a failed exchange", func() bool { return scrapeLimits(t, p.inst.adminAddr())["lb_limit_redis_errors_total"] > 0 })
			var sts []int
			for i := 0; i < 6; i++ {
				st, _ := c.get("/", "")
				sts = append(sts, st)
			}
			want := "[200 200 200 200 429 429]" // the local count: 5 with the first
			if mode == "closed" {
				want = "[429 429 429 429 429 429]"
			}
			if fmt.Sprint(sts) != want {
				t.Errorf("Redis down, %s: %v; want %s", mode, sts, want)
			}
			if !strings.Contains(p.stderr.String(), `"event":"limit_redis_down"`) {
				t.Errorf("no limit_redis_down line in:\n%s", p.stderr.String())
			}
			startRedis(t, port)
			waitFor(t, "Redis up again", func() bool { return scrapeLimits(t, p.inst.adminAddr())["lb_limit_redis_up"] == 1 })
			if !strings.Contains(p.stderr.String(), `"event":"limit_redis_up"`) {
				t.Errorf("no limit_redis_up line")
			}
			if mode == "closed" {
				// Back to counting: 7 requests so far for the key (rate 5).
				if st, _ := c.get("/", ""); st != 429 {
					t.Errorf("Redis back: %d; want 429 (the key is over its rate)", st)
				}
				if st, _ := newKA(t, p.addr("fe")).get("/", ""); st != 429 {
					t.Errorf("Redis back, same key: %d; want 429", st)
				}
			}
		})
	}
}

var flood = flag.Bool("flood", false, "run TestLimitFloodRSS: 2M distinct keys through lb (a measurement, about a minute)")

// TestLimitFloodRSS (with -args -flood): the process's RSS under a flood
// of distinct keys levels off once the table is full: after 1M keys and
// after 2M it is the same within a few MiB, whatever the flood's length.
func TestLimitFloodRSS(t *testing.T) {
	if !*flood {
		t.Skip("a measurement: go test ./cmd/lb -run TestLimitFloodRSS -v -args -flood")
	}
	// A server that keeps nothing (startHTTPBackend records what it got),
	// and no access log (the test keeps lb's output in memory).
	s := startRequestServer(t, func(*http.Request) string { return ok("") })
	cfg := limitConfig("key = \"header:X-Key\"\nsize = 100000\nrate = 1000\nwindow = \"1m\"\n", "action = \"deny\"\n", s.addr(), 2)
	p := startLB(t, strings.Replace(cfg, "[global]\n", "[global]\naccess_log = \"off\"\n", 1))
	rss := func() float64 {
		b, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
		return 0
	}
	var next atomic.Int64
	send := func(n int64) {
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", p.addr("fe"))
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				var buf []byte
				for {
					first := next.Add(100) - 100
					if first >= n {
						return
					}
					buf = buf[:0]
					for k := first; k < first+100; k++ {
						buf = fmt.Appendf(buf, "GET / HTTP/1.1\r\nHost: h\r\nX-Key: %d\r\n\r\n", k)
					}
					c.Write(buf)
					for k := 0; k < 100; k++ {
						res, err := http.ReadResponse(br, nil)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}
				}
			}()
		}
		wg.Wait()
	}
	send(10_000)
	runtime.GC()
	base := rss()
	var at []float64
	for _, n := range []int64{1_000_000, 2_000_000} {
		send(n)
		runtime.GC()
		m := scrapeLimits(t, p.inst.adminAddr())
		at = append(at, rss())
		t.Logf("after %d keys: RSS %.1f MiB (+%.1f over the warm process), entries %.0f, keys in the aggregate %.0f, evictions %.0f",
			n, rss(), rss()-base, m["lb_limit_entries"], m["lb_limit_keys"], m["lb_limit_evictions_total"])
		if m["lb_limit_entries"] > 200_000 || m["lb_limit_keys"] > 100_000 {
			t.Errorf("entries %v, aggregate keys %v; want at most size per loop and size", m["lb_limit_entries"], m["lb_limit_keys"])
		}
	}
	if at[1]-at[0] > 20 {
		t.Errorf("RSS grew %.1f MiB from 1M to 2M keys; want it level once the table is full", at[1]-at[0])
	}
}

// TestLimitKeys: a "src" table counts the address a PROXY header gave (two
// clients behind one load balancer are two keys), and a "backend" table
// counts per backend the request is routed to.
func TestLimitKeys(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("ok") })
	t.Run("src after PROXY", func(t *testing.T) {
		cfg := limitConfig("rate = 2\nwindow = \"1d\"\n", "action = \"deny\"\n", hb.addr(), 1)
		cfg = strings.Replace(cfg, "default_backend = \"be\"\n", "default_backend = \"be\"\naccept_proxy = true\naccept_proxy_from = [\"127.0.0.1\"]\n", 1)
		p := startLB(t, cfg)
		for _, src := range []string{"192.0.2.1", "192.0.2.2"} {
			c := newKA(t, p.addr("fe"))
			io.WriteString(c.c, "PROXY TCP4 "+src+" 192.0.2.100 40000 80\r\n")
			var sts []int
			for i := 0; i < 3; i++ {
				st, _ := c.get("/", "")
				sts = append(sts, st)
			}
			if fmt.Sprint(sts) != "[200 200 429]" {
				t.Errorf("client %s: %v; want [200 200 429] (its own key)", src, sts)
			}
		}
		// The runtime API shows the table's keys (HAProxy's "show table"),
		// as of the last sync round.
		admin := "http://" + p.inst.adminAddr()
		type key struct {
			Key      string
			Requests float64
		}
		var got struct{ Keys []key }
		waitFor(t, "both keys in /api/limits/t", func() bool {
			got.Keys = nil
			json.Unmarshal([]byte(get(t, admin+"/api/limits/t")), &got)
			return len(got.Keys) == 2
		})
		for _, k := range got.Keys {
			if (k.Key != "192.0.2.1" && k.Key != "192.0.2.2") || k.Requests != 3 {
				t.Errorf("key %+v; want 192.0.2.1 or 192.0.2.2 with 3 requests", k)
			}
		}
		if b := get(t, admin+"/api/limits/t?top=1"); strings.Count(b, `"key"`) != 1 {
			t.Errorf("top=1: %s", b)
		}
		if r, err := http.Get(admin + "/api/limits/nope"); err != nil || r.StatusCode != 404 {
			t.Errorf("unknown table: %v %v; want 404", r.StatusCode, err)
		}
		if b := get(t, admin+"/api/limits"); !strings.Contains(b, `"name": "t"`) {
			t.Errorf("/api/limits: %s", b)
		}
	})
	t.Run("backend", func(t *testing.T) {
		other := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("other") })
		cfg := limitConfig("key = \"backend\"\nrate = 2\nwindow = \"1d\"\n", "action = \"deny\"\n", hb.addr(), 1)
		cfg = strings.Replace(cfg, "[backend.be]\n", "[[frontend.fe.route]]\npath_prefix = \"/other/\"\nbackend = \"other\"\n\n[backend.other]\n[[backend.other.server]]\n"+srv("o", other.addr())+"\n[backend.be]\n", 1)
		p := startLB(t, cfg)
		c := newKA(t, p.addr("fe"))
		var sts []int
		for _, path := range []string{"/a", "/other/1", "/b", "/other/2", "/c", "/other/3"} {
			st, _ := c.get(path, "")
			sts = append(sts, st)
		}
		if fmt.Sprint(sts) != "[200 200 200 200 429 429]" {
			t.Errorf("%v; want each backend's third request refused", sts)
		}
	})
}

// TestTarpitRule: a tarpit rule without a limit holds every request its
// conditions match (HAProxy's "http-request tarpit if ..."), then answers
// its status; other requests are not held.
func TestTarpitRule(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("ok") })
	clock := newClock()
	p := startLBClock(t, httpConfig("[[frontend.fe.http_request]]\npath_prefix = \"/bots/\"\naction = \"tarpit\"\ntarpit = \"10s\"\nstatus = 403\n", "", srv("s", hb.addr())), clock)
	c := newKA(t, p.addr("fe"))
	if st, _ := c.get("/ok", ""); st != 200 {
		t.Fatalf("/ok: %d", st)
	}
	c.send("/bots/x", "")
	c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.br.Peek(1); err == nil {
		t.Fatal("answered before the tarpit time")
	}
	fireAt(t, clock, clock.Now().Add(10*time.Second))
	if st, ra, _ := c.read(); st != 403 || ra != "" {
		t.Errorf("tarpitted: %d, Retry-After %q; want 403 without Retry-After (no limit)", st, ra)
	}
	if st, _ := c.get("/ok", ""); st != 200 {
		t.Errorf("the connection after the tarpit: %d; want 200", st)
	}
}
