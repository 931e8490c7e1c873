package backend_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// The HAProxy story: an UP server goes DOWN after exactly fall failed
// checks and comes back UP after exactly rise passed ones. The gate parks
// each attempt, so the state is observed between two attempts, never timed.
func TestHealthRiseFall(t *testing.T) {
	for _, tc := range []struct{ rise, fall int }{{2, 3}, {1, 1}, {3, 2}} {
		t.Run(fmt.Sprintf("rise%d_fall%d", tc.rise, tc.fall), func(t *testing.T) {
			ln := listen(t, "127.0.0.1:0")
			addr := ln.addr()
			g := newGate()
			var logs logBuffer
			cfg := backendConfig("roundrobin", healthConfig(tc.rise, tc.fall), srv{name: "a", addr: addr, weight: 1})
			b := mustNew(t, cfg, backend.Options{Dial: g.dial, Logger: logs.logger()})
			s := server(t, b, "a")
			b.Start()

			g.next(t)
			if got := backend.CheckStatus(s.Counters().CheckStatus.Load()); got != backend.CheckInit {
				t.Errorf("check status before the first check = %v; want INI", got)
			}
			g.pass()
			g.next(t)
			if got, st := s.State(), backend.CheckStatus(s.Counters().CheckStatus.Load()); got != backend.StateUp || st != backend.CheckL4OK {
				t.Fatalf("after a passed check: %v %v; want UP L4OK", got, st)
			}

			// Two full cycles: after coming back UP the server again needs
			// exactly fall failures to go DOWN.
			for cycle := range 2 {
				ln.close()
				for failed := 0; failed < tc.fall; failed++ {
					if got := s.State(); got != backend.StateUp {
						t.Fatalf("rise %d fall %d cycle %d, after %d failed checks: %v; want UP", tc.rise, tc.fall, cycle, failed, got)
					}
					g.pass()
					g.next(t)
				}
				if got, st := s.State(), backend.CheckStatus(s.Counters().CheckStatus.Load()); got != backend.StateDown || st != backend.CheckL4CON {
					t.Fatalf("rise %d fall %d cycle %d, after %d failed checks: %v %v; want DOWN L4CON", tc.rise, tc.fall, cycle, tc.fall, got, st)
				}
				if _, err := b.Acquire(0, nil, newWaiter().ptr()); err != backend.ErrNoServer {
					t.Errorf("Acquire with the only server DOWN: %v; want ErrNoServer", err)
				}

				ln = listen(t, addr)
				for passed := 0; passed < tc.rise; passed++ {
					if got := s.State(); got != backend.StateDown {
						t.Fatalf("rise %d fall %d cycle %d, after %d passed checks: %v; want DOWN", tc.rise, tc.fall, cycle, passed, got)
					}
					g.pass()
					g.next(t)
				}
				if got := s.State(); got != backend.StateUp {
					t.Fatalf("rise %d fall %d cycle %d, after %d passed checks: %v; want UP", tc.rise, tc.fall, cycle, tc.rise, got)
				}
			}
			if got, want := g.attempts.Load(), int64(2+2*(tc.fall+tc.rise)); got != want {
				t.Errorf("dial attempts = %d; want %d", got, want)
			}
			c := s.Counters()
			if c.Transitions.Load() != 4 || c.ChecksFailed.Load() != uint64(2*tc.fall) || c.LastChange.Load() == 0 {
				t.Errorf("transitions %d failed %d last change %d; want 4 %d non-zero",
					c.Transitions.Load(), c.ChecksFailed.Load(), 2*tc.fall, c.LastChange.Load())
			}
			b.Stop()

			ev := logs.events(t, "server_state")
			if len(ev) != 4 {
				t.Fatalf("server_state events: %v; want 4", ev)
			}
			for i, want := range []map[string]string{
				{"backend": "be", "server": "a", "from": "UP", "to": "DOWN", "check_status": "L4CON", "level": "warn"},
				{"backend": "be", "server": "a", "from": "DOWN", "to": "UP", "check_status": "L4OK", "level": "info"},
				{"backend": "be", "server": "a", "from": "UP", "to": "DOWN", "check_status": "L4CON", "level": "warn"},
				{"backend": "be", "server": "a", "from": "DOWN", "to": "UP", "check_status": "L4OK", "level": "info"},
			} {
				for k, v := range want {
					if ev[i][k] != v {
						t.Errorf("event %d %s = %v; want %q (event %v)", i, k, ev[i][k], v, ev[i])
					}
				}
				if r, _ := ev[i]["reason"].(string); !strings.HasPrefix(r, "Layer4") {
					t.Errorf("event %d reason = %q; want a Layer4 reason", i, r)
				}
			}
			if ev := logs.events(t, "backend_state"); len(ev) != 4 || ev[0]["to"] != "DOWN" || ev[1]["to"] != "UP" {
				t.Errorf("backend_state events: %v; want DOWN, UP, DOWN, UP", ev)
			}
		})
	}
}

// As in HAProxy, a server starts UP with health = rise, so it goes DOWN at
// its first failed check, whatever fall is.
func TestHealthStartFallsAtFirstFailure(t *testing.T) {
	g := newGate()
	cfg := backendConfig("roundrobin", healthConfig(2, 3), srv{name: "a", addr: closedPort(t), weight: 1})
	b := mustNew(t, cfg, backend.Options{Dial: g.dial})
	s := server(t, b, "a")
	if got := s.State(); got != backend.StateUp {
		t.Fatalf("State before Start = %v; want UP", got)
	}
	b.Start()
	g.next(t)
	g.pass()
	g.next(t)
	if got := s.State(); got != backend.StateDown {
		t.Errorf("after the first failed check: %v; want DOWN", got)
	}
}

func TestHealthMaintNotCheckedDrainChecked(t *testing.T) {
	var d countingDialer
	lm, lr, ld := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	cfg := backendConfig("roundrobin", healthConfig(2, 3),
		srv{name: "maint", addr: lm.addr(), weight: 1},
		srv{name: "ready", addr: lr.addr(), weight: 1},
		srv{name: "drain", addr: ld.addr(), weight: 1})
	b := mustNew(t, cfg, backend.Options{Dial: d.dial})
	server(t, b, "maint").SetAdmin(backend.AdminMaint)
	server(t, b, "drain").SetAdmin(backend.AdminDrain)
	b.Start()
	eventually(t, "5 checks of ready and drain", func() bool {
		return d.count(lr.addr()) >= 5 && d.count(ld.addr()) >= 5
	})
	if n := d.count(lm.addr()); n != 0 {
		t.Errorf("server in MAINT checked %d times; want 0", n)
	}
	if got := server(t, b, "maint").State(); got != backend.StateMaint {
		t.Errorf("maint State = %v; want MAINT", got)
	}
	server(t, b, "maint").SetAdmin(backend.AdminReady)
	eventually(t, "a check once out of MAINT", func() bool { return d.count(lm.addr()) > 0 })
}

// A queued waiter is served when a server comes UP.
func TestHealthUpServesQueue(t *testing.T) {
	la := listen(t, "127.0.0.1:0")
	downAddr := closedPort(t)
	cfg := backendConfig("roundrobin", healthConfig(1, 1),
		srv{name: "a", addr: la.addr(), weight: 1, maxconn: 1},
		srv{name: "b", addr: downAddr, weight: 1, maxconn: 1})
	b := mustNew(t, cfg, backend.Options{})
	a, bs := server(t, b, "a"), server(t, b, "b")
	b.Start()
	eventually(t, "b DOWN", func() bool { return bs.State() == backend.StateDown })
	if s := mustAcquire(t, b, 0); s != a {
		t.Fatalf("Acquire with b DOWN: %s; want a", s.Name())
	}
	w := newWaiter()
	if _, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("a full, b DOWN: %v; want ErrQueued", err)
	}
	listen(t, downAddr)
	if got := w.wait(t); got != bs {
		t.Errorf("Ready(%s) after b came UP; want b", got.Name())
	}
	if got := bs.State(); got != backend.StateUp {
		t.Errorf("b State = %v; want UP", got)
	}
}

func TestHealthBackupsTakeOver(t *testing.T) {
	a1, a2 := closedPort(t), closedPort(t)
	lk := listen(t, "127.0.0.1:0")
	cfg := backendConfig("roundrobin", healthConfig(1, 1),
		srv{name: "a1", addr: a1, weight: 1},
		srv{name: "a2", addr: a2, weight: 1},
		srv{name: "k", addr: lk.addr(), weight: 1, backup: true})
	b := mustNew(t, cfg, backend.Options{})
	b.Start()
	eventually(t, "actives DOWN", func() bool {
		return server(t, b, "a1").State() == backend.StateDown && server(t, b, "a2").State() == backend.StateDown
	})
	if got := pickRelease(t, b, 0, nil); got != "k" {
		t.Errorf("actives DOWN: picked %s; want the backup k", got)
	}
	listen(t, a2)
	eventually(t, "a2 UP", func() bool { return server(t, b, "a2").State() == backend.StateUp })
	for i := range 10 {
		if got := pickRelease(t, b, uint64(i), nil); got != "a2" {
			t.Fatalf("a2 UP again: picked %s; want a2", got)
		}
	}
}

// Leaving MAINT restarts the health state as at process start (UP, DOWN at
// the first failure) and checks at once. (That a result landing during
// MAINT is dropped is tested inside the package: it has no outside signal.)
func TestHealthLeavingMaint(t *testing.T) {
	g := newGate()
	h := healthConfig(2, 3)
	h.Interval = config.Duration{Duration: time.Hour} // only kicks start checks after the first
	cfg := backendConfig("roundrobin", h, srv{name: "a", addr: closedPort(t), weight: 1})
	b := mustNew(t, cfg, backend.Options{Dial: g.dial})
	s := server(t, b, "a")
	b.Start()
	g.next(t)
	g.pass()
	eventually(t, "a DOWN", func() bool { return s.State() == backend.StateDown })

	s.SetAdmin(backend.AdminMaint)
	if got := s.State(); got != backend.StateMaint {
		t.Fatalf("State after SetAdmin(Maint) = %v; want MAINT", got)
	}
	s.SetAdmin(backend.AdminReady)
	if got := s.State(); got != backend.StateUp {
		t.Errorf("State right after leaving MAINT = %v; want UP (as at start)", got)
	}
	g.next(t) // the kick: checked at once, not an hour later
	g.pass()
	eventually(t, "a DOWN at the first failure", func() bool { return s.State() == backend.StateDown })
}

// Stop waits for the checkers: no check starts after it returns and no
// checker goroutine is left. It is idempotent; Start after Stop is a no-op.
func TestStopWaitsForCheckers(t *testing.T) {
	var d countingDialer
	l := listen(t, "127.0.0.1:0")
	cfg := backendConfig("roundrobin", healthConfig(2, 3),
		srv{name: "a", addr: l.addr(), weight: 1},
		srv{name: "b", addr: closedPort(t), weight: 1})
	b := mustNew(t, cfg, backend.Options{Dial: d.dial})
	b.Start()
	b.Start()
	eventually(t, "3 checks", func() bool { return d.count(l.addr()) >= 3 })
	b.Stop()
	after := d.count(l.addr())
	eventually(t, "no checker goroutine", func() bool { return !checkerRunning() })
	b.Stop()
	b.Start()
	time.Sleep(10 * 20 * time.Millisecond) // ten intervals: room for a stray check
	if n := d.count(l.addr()); n != after {
		t.Errorf("checks after Stop: %d; want %d", n, after)
	}
	if checkerRunning() {
		t.Errorf("a checker goroutine runs after Stop and Start")
	}
}

// checkerRunning reports whether any health-check goroutine exists.
func checkerRunning() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Contains(string(buf), "backend.(*Backend).checkLoop")
}
