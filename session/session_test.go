package session

import (
	"strings"
	"testing"
)

func TestEveryStateIsNamed(t *testing.T) {
	for st := connState(0); st < csEnd; st++ {
		if s := st.String(); s == "" || strings.Contains(s, "?") {
			t.Errorf("connState(%d).String() = %q; want a name", st, s)
		}
	}
	for e := expiry(0); e < numExpiries; e++ {
		if s := e.String(); s == "" || strings.Contains(s, "?") {
			t.Errorf("expiry(%d).String() = %q; want a name", e, s)
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
