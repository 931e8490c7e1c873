package session

import (
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/config"
)

func TestEveryStateIsNamed(t *testing.T) {
	for st := State(0); st < stateEnd; st++ {
		if s := st.String(); s == "" || strings.Contains(s, "?") {
			t.Errorf("State(%d).String() = %q; want a name", st, s)
		}
	}
}

func TestTermString(t *testing.T) {
	cases := []struct {
		t    Term
		want string
	}{
		{Term{}, "--"},
		{TermNormal, "--"},
		{Term{CauseServerAbort, PhaseConnect}, "SC"},
		{Term{CauseServerTimeout, PhaseQueue}, "sQ"},
		{Term{CauseClientTimeout, PhaseData}, "cD"},
		{Term{CauseKilled, PhaseData}, "KD"},
	}
	for _, c := range cases {
		if got := c.t.String(); got != c.want {
			t.Errorf("%#v.String() = %q; want %q", c.t, got, c.want)
		}
	}
}

// TestDeadline checks how the data-phase timeouts fold into one wake-up.
func TestDeadline(t *testing.T) {
	const s = int64(time.Second)
	d := func(v time.Duration) config.Duration { return config.Duration{Duration: v} }
	cases := []struct {
		name                   string
		client, server, tunnel time.Duration
		fcAct, bcAct           int64
		wantAt                 int64
		wantCause              Cause
		wantOK                 bool
	}{
		{"none", 0, 0, 0, 10 * s, 10 * s, 0, 0, false},
		{"client first", 5 * time.Second, 30 * time.Second, 0, 10 * s, 10 * s, 15 * s, CauseClientTimeout, true},
		{"server first", 30 * time.Second, 5 * time.Second, 0, 10 * s, 10 * s, 15 * s, CauseServerTimeout, true},
		{"client idle longer", 10 * time.Second, 10 * time.Second, 0, 2 * s, 9 * s, 12 * s, CauseClientTimeout, true},
		{"only server", 0, 10 * time.Second, 0, 2 * s, 9 * s, 19 * s, CauseServerTimeout, true},
		// The tunnel timeout overrides both and counts from the later stamp.
		{"tunnel, client quiet", 1 * time.Second, 1 * time.Second, 20 * time.Second, 2 * s, 9 * s, 29 * s, CauseClientTimeout, true},
		{"tunnel, server quiet", 1 * time.Second, 1 * time.Second, 20 * time.Second, 9 * s, 2 * s, 29 * s, CauseServerTimeout, true},
	}
	for _, c := range cases {
		fe := &Frontend{Timeouts: config.Timeouts{Client: d(c.client)}}
		ss := &Session{fe: fe, target: &Target{Cfg: &config.Backend{Timeout: config.Timeouts{Server: d(c.server), Tunnel: d(c.tunnel)}}}}
		ss.fcAct.Store(c.fcAct)
		ss.bcAct.Store(c.bcAct)
		at, cause, ok := ss.deadline()
		if ok != c.wantOK || (ok && (at != c.wantAt || cause != c.wantCause)) {
			t.Errorf("%s: deadline() = %d, %c, %v; want %d, %c, %v", c.name, at, cause, ok, c.wantAt, c.wantCause, c.wantOK)
		}
	}
}

// TestPipePoolBound: the pool never holds more than its bound, refuses
// beyond it, and recycles clean pipes.
func TestPipePoolBound(t *testing.T) {
	pp := NewPipePool(2, 64<<10)
	defer pp.Close()
	a, ok1 := pp.Get()
	b, ok2 := pp.Get()
	_, ok3 := pp.Get()
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("Get x3 on a pool of 2 = %v %v %v; want true true false", ok1, ok2, ok3)
	}
	if got := pp.InUse(); got != 2 {
		t.Errorf("InUse = %d; want 2", got)
	}
	pp.Put(a, true)
	c, ok := pp.Get()
	if !ok || c != a {
		t.Errorf("Get after a clean Put = %v, %v; want the recycled pipe %v", c, ok, a)
	}
	pp.Put(b, false) // may hold bytes: closed, not recycled
	pp.Put(c, true)
	if got := pp.InUse(); got != 0 {
		t.Errorf("InUse after returning all = %d; want 0", got)
	}
	if pp.Existing() != 1 {
		t.Errorf("pipes in existence = %d; want 1 (one closed, one free)", pp.Existing())
	}
}
