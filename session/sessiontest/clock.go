// Package sessiontest holds test doubles for package session: a fake Clock
// that tests advance by hand, so that timeout tests never sleep on the
// wall clock.
package sessiontest

import (
	"sort"
	"sync"
	"time"

	"github.com/lb-proxy/lb/session"
)

// Clock is a session.Clock whose time moves only when Advance is called.
// Timers armed on it fire, in deadline order, from inside Advance (or from
// inside AfterFunc/Reset when their deadline is already due). Safe for
// concurrent use.
//
// A test drives a timeout in three steps: make lb reach the state whose
// timeout it wants (and wait for something observable that lb does in that
// state, such as bytes reaching a test server); call Advance with the
// timeout plus a margin; then read the outcome (with a generous real
// deadline only as a guard against a hang). Because lb reads the time once
// at the start of each event and arms its single timer at the end of that
// event with an absolute date, an Advance that races with the end of the
// event still fires it: a timer armed in the past fires at once.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers map[*timer]struct{}
	armed  *sync.Cond // broadcast whenever a timer is armed (WaitArmed)
}

// NewClock returns a fake clock reading start.
func NewClock(start time.Time) *Clock {
	c := &Clock{now: start, timers: map[*timer]struct{}{}}
	c.armed = sync.NewCond(&c.mu)
	return c
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that delivers on C() once the fake time has
// moved d past now.
func (c *Clock) NewTimer(d time.Duration) session.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// AfterFunc calls f once the fake time has moved d past now; f runs on the
// goroutine that moved the time (or armed the timer, when d <= 0).
func (c *Clock) AfterFunc(d time.Duration, f func()) session.Timer {
	t := &timer{c: c, f: f}
	t.Reset(d)
	return t
}

// Advance moves the time forward by d and fires every timer that is due,
// earliest first; timers armed by those callbacks with dates up to the new
// time fire too.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	c.fireDue()
}

// Armed returns how many timers are armed.
func (c *Clock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitArmed blocks until at least n timers are armed, or the real-time
// guard passes (then it returns false).
func (c *Clock) WaitArmed(n int, guard time.Duration) bool {
	return c.waitFor(guard, func() bool { return len(c.timers) >= n })
}

// WaitArmedAt blocks until a timer due exactly at when is armed, or the
// real-time guard passes (then it returns false). A test that knows the
// absolute date lb must arm (the frozen now plus a configured timeout)
// waits with it before calling Advance, so the advance cannot come before
// the timer it means to fire.
func (c *Clock) WaitArmedAt(when time.Time, guard time.Duration) bool {
	return c.waitFor(guard, func() bool {
		for t := range c.timers {
			if t.when.Equal(when) {
				return true
			}
		}
		return false
	})
}

// waitFor blocks until cond (called with c.mu held) holds after a timer
// was armed, or the guard passes.
func (c *Clock) waitFor(guard time.Duration, cond func() bool) bool {
	done := make(chan struct{})
	stop := time.AfterFunc(guard, func() {
		c.mu.Lock()
		close(done)
		c.armed.Broadcast()
		c.mu.Unlock()
	})
	defer stop.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		select {
		case <-done:
			return false
		default:
		}
		c.armed.Wait()
	}
	return true
}

// fireDue runs every due timer, one at a time, without holding the lock.
func (c *Clock) fireDue() {
	for {
		c.mu.Lock()
		var due []*timer
		for t := range c.timers {
			if !t.when.After(c.now) {
				due = append(due, t)
			}
		}
		if len(due) == 0 {
			c.mu.Unlock()
			return
		}
		sort.Slice(due, func(i, j int) bool {
			if due[i].when.Equal(due[j].when) {
				return due[i].seq < due[j].seq
			}
			return due[i].when.Before(due[j].when)
		})
		t := due[0]
		delete(c.timers, t)
		now := c.now
		c.mu.Unlock()
		t.fire(now)
	}
}

type timer struct {
	c    *Clock
	f    func()
	ch   chan time.Time
	when time.Time // guarded by c.mu
	seq  uint64    // guarded by c.mu
}

func (t *timer) fire(now time.Time) {
	if t.f != nil {
		t.f()
		return
	}
	select {
	case t.ch <- now:
	default:
	}
}

// C returns the delivery channel (nil for AfterFunc timers).
func (t *timer) C() <-chan time.Time { return t.ch }

// Reset re-arms the timer d after the fake now; a due timer fires at once.
func (t *timer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	c.seq++
	t.when, t.seq = c.now.Add(d), c.seq
	c.timers[t] = struct{}{}
	c.armed.Broadcast()
	c.mu.Unlock()
	if d <= 0 {
		c.fireDue()
	}
}

// Stop disarms the timer; it reports whether it was armed.
func (t *timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.timers[t]
	delete(c.timers, t)
	return ok
}
