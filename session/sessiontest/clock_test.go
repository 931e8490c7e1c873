package sessiontest

import (
	"testing"
	"time"
)

func TestClockFiresInOrder(t *testing.T) {
	c := NewClock(time.Unix(1000, 0))
	var got []int
	c.AfterFunc(3*time.Second, func() { got = append(got, 3) })
	c.AfterFunc(time.Second, func() { got = append(got, 1) })
	stopped := c.AfterFunc(2*time.Second, func() { got = append(got, 2) })
	if !stopped.Stop() {
		t.Fatal("Stop of an armed timer returned false")
	}
	c.Advance(500 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("fired %v after 0.5s; want nothing", got)
	}
	c.Advance(5 * time.Second)
	if len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("fired %v; want [1 3]", got)
	}
	if c.Armed() != 0 {
		t.Errorf("Armed = %d after all fired; want 0", c.Armed())
	}
}

func TestClockPastDeadlineFiresAtOnce(t *testing.T) {
	c := NewClock(time.Unix(1000, 0))
	fired := false
	tm := c.AfterFunc(time.Hour, func() { fired = true })
	tm.Reset(-time.Second)
	if !fired {
		t.Fatal("a timer reset into the past did not fire at once")
	}
	ch := c.NewTimer(time.Second)
	c.Advance(time.Second)
	select {
	case <-ch.C():
	default:
		t.Fatal("NewTimer did not deliver once due")
	}
}

func TestClockCallbackRearms(t *testing.T) {
	c := NewClock(time.Unix(0, 0))
	n := 0
	var tm interface{ Reset(time.Duration) }
	tm = c.AfterFunc(time.Second, func() {
		n++
		if n < 3 {
			tm.Reset(time.Second)
		}
	})
	c.Advance(10 * time.Second) // a re-arm counts from the new now
	if n != 1 {
		t.Fatalf("fired %d times after one advance; want 1", n)
	}
	c.Advance(time.Second)
	c.Advance(time.Second)
	c.Advance(time.Second)
	if n != 3 {
		t.Fatalf("fired %d times; want 3", n)
	}
	if !c.WaitArmed(0, time.Second) || c.WaitArmed(1, 10*time.Millisecond) {
		t.Error("WaitArmed disagrees with the armed count")
	}
	at := c.Now().Add(5 * time.Second)
	go func() { time.Sleep(5 * time.Millisecond); c.AfterFunc(5*time.Second, func() {}) }()
	if !c.WaitArmedAt(at, 5*time.Second) {
		t.Error("WaitArmedAt missed a timer armed at its date")
	}
	if c.WaitArmedAt(at.Add(time.Second), 10*time.Millisecond) {
		t.Error("WaitArmedAt reported a date nothing is armed at")
	}
}
