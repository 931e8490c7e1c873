package session

import "time"

// Clock is the session's source of time. Timeouts are absolute dates read
// from Now and waited for with AfterFunc, so a test can drive them with a
// fake clock (sessiontest.Clock) instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has elapsed; C() of
	// the returned Timer is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer the session uses.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer (a due date in the past fires at once).
	Reset(d time.Duration)
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return sysTimer{time.AfterFunc(d, f)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time   { return t.t.C }
func (t sysTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t sysTimer) Stop() bool            { return t.t.Stop() }
