package backend_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

func serverNames(b *backend.Backend) string {
	var names []string
	for _, s := range b.Servers() {
		names = append(names, s.Name())
	}
	return strings.Join(names, ",")
}

// A server added at run time is listed last and takes its share of the
// traffic at once, with every policy.
func TestAddServerTakesTraffic(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(1, 1)...)
			s, err := b.AddServer(&config.Server{Name: "c", Address: "10.0.0.3:80", Weight: 1})
			if err != nil {
				t.Fatalf("AddServer: %v", err)
			}
			if s.Name() != "c" || s.Addr() != "10.0.0.3:80" || s.Weight() != 1 || s.State() != backend.StateUp {
				t.Errorf("added server: %s %s weight %d %v", s.Name(), s.Addr(), s.Weight(), s.State())
			}
			if got := serverNames(b); got != "a,b,c" {
				t.Errorf("Servers() = %s; want a,b,c", got)
			}
			if b.Server("c") != s {
				t.Errorf("Server(c) does not return the added server")
			}
			seen := map[string]int{}
			for key := range uint64(300) {
				s, err := b.Acquire(key, nil, nil)
				if err != nil {
					t.Fatalf("Acquire: %v", err)
				}
				seen[s.Name()]++
				s.Release()
			}
			if seen["c"] == 0 && balance != "first" {
				t.Errorf("picks %v; want some on the added server c", seen)
			}
		})
	}
}

// "first" moves to the added server once the declared ones are full.
func TestAddServerFirst(t *testing.T) {
	b := newBackend(t, "first", srv{name: "a", weight: 1, maxconn: 1}, srv{name: "b", weight: 1, maxconn: 1})
	if _, err := b.AddServer(&config.Server{Name: "c", Address: "10.0.0.3:80", Weight: 1, MaxConn: 1}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		got = append(got, mustAcquire(t, b, 0).Name())
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("first picks %v; want a,b,c", got)
	}
	for _, s := range b.Servers() {
		s.Release()
	}
}

func TestAddServerErrors(t *testing.T) {
	b := newBackend(t, "roundrobin", weighted(1)...)
	for _, tc := range []struct {
		cfg    *config.Server
		want   string
		exists bool
	}{
		{nil, "nil server", false},
		{&config.Server{Name: "a", Address: "10.0.0.1:80", Weight: 1}, `server "a": server name already in use`, true},
		{&config.Server{Name: "", Address: "10.0.0.1:80", Weight: 1}, "empty name", false},
		{&config.Server{Name: "x", Address: "nowhere", Weight: 1}, `bad address "nowhere": missing port`, false},
		{&config.Server{Name: "x", Address: "10.0.0.1:0", Weight: 1}, `invalid port "0"`, false},
		{&config.Server{Name: "x", Address: "10.0.0.1:http", Weight: 1}, `invalid port "http"`, false},
		{&config.Server{Name: "x", Address: ":80", Weight: 1}, "missing host", false},
		{&config.Server{Name: "x", Address: "http://a:80", Weight: 1}, "without a scheme", false},
		{&config.Server{Name: "x", Address: "[10.0.0.1]:80", Weight: 1}, "invalid IPv6 address", false},
		{&config.Server{Name: "x", Address: "a b:80", Weight: 1}, `invalid host "a b"`, false},
		{&config.Server{Name: "x", Address: "10.0.0.1:80", Weight: 257}, "weight 257 out of 0..256", false},
		{&config.Server{Name: "x", Address: "10.0.0.1:80", Weight: -1}, "weight -1 out of 0..256", false},
		{&config.Server{Name: "x", Address: "10.0.0.1:80", MaxConn: -1}, "negative maxconn -1", false},
		// Every problem at once.
		{&config.Server{Name: "x", Address: "nowhere", Weight: 300, MaxConn: -1}, `bad address "nowhere": missing port; weight 300 out of 0..256; negative maxconn -1`, false},
	} {
		s, err := b.AddServer(tc.cfg)
		if err == nil || s != nil {
			t.Errorf("AddServer(%+v) = %v, %v; want an error", tc.cfg, s, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "backend: be: ") {
			t.Errorf("AddServer(%+v): %q; want it to start with \"backend: be: \" and contain %q", tc.cfg, err, tc.want)
		}
		if got := errors.Is(err, backend.ErrServerExists); got != tc.exists {
			t.Errorf("AddServer(%+v): errors.Is(ErrServerExists) = %v; want %v", tc.cfg, got, tc.exists)
		}
	}
	if got := serverNames(b); got != "a" {
		t.Errorf("after refused adds Servers() = %s; want a", got)
	}
	// IPv6 and DNS names are fine.
	for _, addr := range []string{"[::1]:8080", "app-1.internal.example:443", "127.0.0.1:65535"} {
		if _, err := b.AddServer(&config.Server{Name: addr, Address: addr, Weight: 1}); err != nil {
			t.Errorf("AddServer(address %q): %v", addr, err)
		}
	}
}

// Waiters queued because every server was full are served by a server
// added later, before AddServer returns.
func TestAddServerServesQueue(t *testing.T) {
	b := newBackend(t, "roundrobin", srv{name: "a", weight: 1, maxconn: 1})
	a := mustAcquire(t, b, 0)
	w := newWaiter()
	if _, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("Acquire on a full backend: %v; want ErrQueued", err)
	}
	if _, err := b.AddServer(&config.Server{Name: "b", Address: "10.0.0.2:80", Weight: 1, MaxConn: 1}); err != nil {
		t.Fatal(err)
	}
	if got := w.calls.Load(); got != 1 {
		t.Fatalf("Ready calls after AddServer: %d; want 1", got)
	}
	if s := w.wait(t); s.Name() != "b" {
		t.Errorf("waiter served by %s; want b", s.Name())
	}
	if got := b.Counters().QueueCurrent.Load(); got != 0 {
		t.Errorf("QueueCurrent = %d; want 0", got)
	}
	a.Release()
	b.Server("b").Release()
}

// With checks running, an added server is checked at once and follows its
// checks like a declared one.
func TestAddServerIsChecked(t *testing.T) {
	var d countingDialer
	b := mustNew(t, backendConfig("roundrobin", healthConfig(1, 1), srv{name: "a", addr: listen(t, "127.0.0.1:0").addr(), weight: 1}),
		backend.Options{Dial: d.dial})
	b.Start()
	dead := closedPort(t)
	s, err := b.AddServer(&config.Server{Name: "b", Address: dead, Weight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := backend.CheckStatus(s.Counters().CheckStatus.Load()); got != backend.CheckInit && got != backend.CheckL4CON {
		t.Errorf("added server check status %v; want INI (or already L4CON)", got)
	}
	eventually(t, "added server DOWN", func() bool { return s.State() == backend.StateDown })
	if d.count(dead) == 0 {
		t.Errorf("no check dialled the added server")
	}
}

func TestRemoveServer(t *testing.T) {
	logs := &logBuffer{}
	b := mustNew(t, backendConfig("roundrobin", nil, weighted(1, 1, 1)...), backend.Options{Logger: logs.logger()})
	bs := server(t, b, "b")
	held := mustAcquire(t, b, 0)
	for held != bs { // get a slot on b
		held.Release()
		held = mustAcquire(t, b, 0)
	}

	if err := b.RemoveServer("zz"); !errors.Is(err, backend.ErrNoSuchServer) {
		t.Errorf("RemoveServer(zz): %v; want ErrNoSuchServer", err)
	}
	if err := b.RemoveServer("b"); !errors.Is(err, backend.ErrServerNotInMaint) {
		t.Errorf("RemoveServer(b) while UP: %v; want ErrServerNotInMaint", err)
	}
	bs.SetAdmin(backend.AdminMaint)
	if err := b.RemoveServer("b"); !errors.Is(err, backend.ErrServerBusy) {
		t.Errorf("RemoveServer(b) with a session: %v; want ErrServerBusy", err)
	}
	bs.Release()
	if err := b.RemoveServer("b"); err != nil {
		t.Fatalf("RemoveServer(b) in MAINT and idle: %v", err)
	}
	if got := serverNames(b); got != "a,c" {
		t.Errorf("Servers() = %s; want a,c", got)
	}
	if b.Server("b") != nil {
		t.Errorf("Server(b) still found")
	}
	if err := b.RemoveServer("b"); !errors.Is(err, backend.ErrNoSuchServer) {
		t.Errorf("second RemoveServer(b): %v; want ErrNoSuchServer", err)
	}
	// The removed server is never picked, and admin changes to it are
	// ignored (it stays out even when set back to READY).
	bs.SetAdmin(backend.AdminReady)
	bs.SetWeight(100)
	if bs.Admin() != backend.AdminMaint || bs.Weight() != 1 {
		t.Errorf("removed server changed: admin %v weight %d", bs.Admin(), bs.Weight())
	}
	for key := range uint64(50) {
		if name := pickRelease(t, b, key, nil); name == "b" {
			t.Fatalf("removed server picked")
		}
	}
	// Its name is free again.
	if _, err := b.AddServer(&config.Server{Name: "b", Address: "10.0.0.9:80", Weight: 1}); err != nil {
		t.Errorf("re-adding b: %v", err)
	}
	if got := serverNames(b); got != "a,c,b" {
		t.Errorf("Servers() = %s; want a,c,b", got)
	}
	if n := len(logs.events(t, "server_removed")); n != 1 {
		t.Errorf("%d server_removed events; want 1", n)
	}
	if n := len(logs.events(t, "server_added")); n != 1 {
		t.Errorf("%d server_added events; want 1", n)
	}
}

// Removing a server stops its checker.
func TestRemoveServerStopsChecker(t *testing.T) {
	var d countingDialer
	l := listen(t, "127.0.0.1:0")
	b := mustNew(t, backendConfig("roundrobin", healthConfig(1, 1), srv{name: "a", addr: l.addr(), weight: 1}),
		backend.Options{Dial: d.dial})
	b.Start()
	eventually(t, "a check", func() bool { return d.count(l.addr()) > 0 })
	server(t, b, "a").SetAdmin(backend.AdminMaint)
	if err := b.RemoveServer("a"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no checker goroutine", func() bool { return !checkerRunning() })
}

// Topology changes race with Acquire/Release, admin changes and readers
// without breaking slot accounting (run with -race).
func TestTopologyChangesConcurrent(t *testing.T) {
	for _, balance := range []string{"roundrobin", "static-rr", "source"} {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, srv{name: "a", weight: 1, maxconn: 4}, srv{name: "b", weight: 2, maxconn: 4})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w := &backend.Waiter{}
					got := make(chan *backend.Server, 1)
					w.Ready = func(s *backend.Server) { got <- s }
					for key := uint64(g); ; key += 4 {
						select {
						case <-stop:
							return
						default:
						}
						s, err := b.Acquire(key, nil, w)
						switch err {
						case nil:
						case backend.ErrQueued:
							s = <-got
						default:
							continue
						}
						s.Release()
					}
				}()
			}
			wg.Add(1)
			go func() { // a lock-free reader, like the metrics collector
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					for _, s := range b.Servers() {
						_, _ = s.Name(), s.State()
					}
					_ = b.Server("x")
				}
			}()
			for i := range 200 {
				if _, err := b.AddServer(&config.Server{Name: "x", Address: "10.0.0.1:80", Weight: 1 + i%3, MaxConn: 2}); err != nil {
					t.Fatal(err)
				}
				_ = b.Servers()
				x := b.Server("x")
				x.SetAdmin(backend.AdminMaint)
				for {
					err := b.RemoveServer("x")
					if err == nil {
						break
					}
					if !errors.Is(err, backend.ErrServerBusy) {
						t.Fatal(err)
					}
				}
			}
			close(stop)
			wg.Wait()
			for _, s := range b.Servers() {
				if n := s.Current(); n != 0 {
					t.Errorf("server %s: Current() = %d after all releases; want 0", s.Name(), n)
				}
			}
			if got := serverNames(b); got != "a,b" {
				t.Errorf("Servers() = %s; want a,b", got)
			}
		})
	}
}
