package backend

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/config"
)

func newCheckedBackend(t *testing.T, rise, fall int) (*Backend, *Server) {
	t.Helper()
	b, err := New(&config.Backend{
		Name:    "be",
		Balance: "roundrobin",
		Health: &config.Health{
			Kind:     "tcp",
			Path:     "/",
			Interval: config.Duration{Duration: time.Second},
			Timeout:  config.Duration{Duration: time.Second},
			Rise:     rise,
			Fall:     fall,
		},
		Server: []*config.Server{{Name: "a", Address: "127.0.0.1:1", Weight: 1}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b, b.servers[0]
}

// HAProxy's health counter, driven result by result: "+" a passed check,
// "-" a failed one; the state after each result is U (UP) or D (DOWN).
func TestHealthCounter(t *testing.T) {
	for _, tc := range []struct {
		rise, fall int
		results    string
		want       string
	}{
		// Start: UP with health = rise, DOWN at the first failure.
		{2, 3, "-", "D"},
		{2, 3, "+---", "UUUD"},
		{2, 3, "+--+---", "UUUUUUD"}, // a pass refills the counter
		{2, 3, "-+-++", "DDDDU"},     // rise consecutive passes
		{2, 3, "-++--+-", "DDUUUUU"}, // fall consecutive failures
		{1, 1, "-+-+", "DUDU"},
		{3, 2, "---+++--", "DDDDDUUD"},
	} {
		b, s := newCheckedBackend(t, tc.rise, tc.fall)
		var got strings.Builder
		for _, r := range tc.results {
			st := CheckL4OK
			if r == '-' {
				st = CheckL4CON
			}
			b.checkDone(s, st, errors.New("refused"))
			if s.State() == StateUp {
				got.WriteByte('U')
			} else {
				got.WriteByte('D')
			}
			if max := tc.rise + tc.fall - 1; s.health < 0 || s.health > max {
				t.Errorf("rise %d fall %d: health %d out of 0..%d", tc.rise, tc.fall, s.health, max)
			}
		}
		if got.String() != tc.want {
			t.Errorf("rise %d fall %d results %s: states %s; want %s", tc.rise, tc.fall, tc.results, got.String(), tc.want)
		}
	}
}

// A result that arrives while the server is in MAINT does not count.
func TestHealthResultDroppedInMaint(t *testing.T) {
	b, s := newCheckedBackend(t, 2, 3)
	s.SetAdmin(AdminMaint)
	b.checkDone(s, CheckL4CON, errors.New("refused"))
	if n := s.counters.ChecksFailed.Load(); n != 0 {
		t.Errorf("ChecksFailed = %d; want 0", n)
	}
	if st := CheckStatus(s.counters.CheckStatus.Load()); st != CheckInit {
		t.Errorf("CheckStatus = %v; want INI", st)
	}
	s.SetAdmin(AdminReady)
	if got := s.State(); got != StateUp {
		t.Errorf("State = %v; want UP", got)
	}
}
