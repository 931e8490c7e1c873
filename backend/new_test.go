package backend_test

import (
	"strings"
	"testing"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

func TestNewAcceptsEveryBalance(t *testing.T) {
	for _, balance := range allPolicies {
		b, err := backend.New(backendConfig(balance, healthConfig(2, 3), weighted(1, 2)...), backend.Options{})
		if err != nil {
			t.Errorf("New(balance %q): %v", balance, err)
			continue
		}
		if b.Name() != "be" || b.Balance() != balance || len(b.Servers()) != 2 {
			t.Errorf("New(balance %q): name %q balance %q %d servers", balance, b.Name(), b.Balance(), len(b.Servers()))
		}
	}
}

func TestNewErrors(t *testing.T) {
	bad := func(mod func(*config.Backend)) *config.Backend {
		c := backendConfig("roundrobin", healthConfig(2, 3), weighted(1, 1)...)
		mod(c)
		return c
	}
	for _, tc := range []struct {
		cfg  *config.Backend
		opts backend.Options
		want []string
	}{
		{nil, backend.Options{}, []string{"backend: nil config"}},
		{bad(func(c *config.Backend) { c.Balance = "hash" }), backend.Options{}, []string{`backend: be: unknown balance "hash"`}},
		{bad(func(c *config.Backend) { c.Balance = "hdr:" }), backend.Options{}, []string{`unknown balance "hdr:"`}},
		{bad(func(c *config.Backend) { c.Balance = "" }), backend.Options{}, []string{`unknown balance ""`}},
		{bad(func(c *config.Backend) { c.Server[1].Name = "a" }), backend.Options{}, []string{`server "a": duplicate name`}},
		{bad(func(c *config.Backend) { c.Server[0].Weight = 257 }), backend.Options{}, []string{`weight 257 out of 0..256`}},
		{bad(func(c *config.Backend) { c.Server[0].MaxConn = -1 }), backend.Options{}, []string{`negative maxconn`}},
		{bad(func(c *config.Backend) { c.Server[0].Address = "nowhere" }), backend.Options{}, []string{`bad address "nowhere"`}},
		{bad(func(c *config.Backend) { c.Health.Kind = "udp" }), backend.Options{}, []string{`health: unknown kind "udp"`}},
		{bad(func(c *config.Backend) { c.Health.Rise, c.Health.Fall = 0, 0 }), backend.Options{}, []string{"rise 0", "fall 0"}},
		{bad(func(c *config.Backend) { c.Health.Interval = config.Duration{} }), backend.Options{}, []string{"interval 0s must be positive"}},
		{bad(func(c *config.Backend) {}), backend.Options{MaxQueue: -1}, []string{"negative MaxQueue"}},
		// Every problem is reported at once.
		{bad(func(c *config.Backend) { c.Balance = "x"; c.Server[0].Weight = -1; c.Health.Kind = "" }), backend.Options{},
			[]string{`unknown balance "x"`, "weight -1", `unknown kind ""`}},
	} {
		_, err := backend.New(tc.cfg, tc.opts)
		if err == nil {
			t.Errorf("New(%+v): no error; want %q", tc.cfg, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New: error %q; want it to contain %q", err, w)
			}
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "backend: ") {
				t.Errorf("error line %q lacks the \"backend: \" prefix", line)
			}
		}
	}
}

// A zero health timeout means "the interval" (the documented default).
func TestNewHealthTimeoutDefaultsToInterval(t *testing.T) {
	h := healthConfig(1, 1)
	h.Timeout = config.Duration{}
	g := newGate()
	l := listen(t, "127.0.0.1:0")
	b := mustNew(t, backendConfig("roundrobin", h, srv{name: "a", addr: l.addr(), weight: 1}), backend.Options{Dial: g.dial})
	b.Start()
	g.next(t)
	// Never pass the gate: the attempt is held until its 20ms timeout ends
	// it, and only then does the next one arrive.
	g.next(t)
	if got := backend.CheckStatus(server(t, b, "a").Counters().CheckStatus.Load()); got != backend.CheckL4TOUT {
		t.Errorf("check held past the interval: %v; want L4TOUT", got)
	}
}

func TestErrorMessages(t *testing.T) {
	for _, err := range []error{backend.ErrNoServer, backend.ErrQueued, backend.ErrQueueFull, backend.ErrWouldQueue, backend.ErrQueueTimeout} {
		if !strings.HasPrefix(err.Error(), "backend: ") {
			t.Errorf("%q lacks the \"backend: \" prefix", err)
		}
	}
}

func TestNoServers(t *testing.T) {
	b := newBackend(t, "roundrobin")
	b.Start()
	if _, err := b.Acquire(0, nil, nil); err != backend.ErrNoServer {
		t.Errorf("Acquire on an empty backend: %v; want ErrNoServer", err)
	}
}
