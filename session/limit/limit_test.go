package limit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// loopExec runs tasks in order on one goroutine, as an event loop does.
type loopExec struct {
	mu    sync.Mutex
	tasks chan func()
}

func newLoop(t *testing.T) *loopExec {
	l := &loopExec{tasks: make(chan func(), 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range l.tasks {
			f()
		}
	}()
	t.Cleanup(func() { close(l.tasks); <-done })
	return l
}

func (l *loopExec) exec(f func()) error { l.tasks <- f; return nil }

// on runs f on the loop and waits.
func (l *loopExec) on(f func()) {
	done := make(chan struct{})
	l.tasks <- func() { f(); close(done) }
	<-done
}

// fakeNow is a settable clock.
type fakeNow struct{ ns int64 }

func (f *fakeNow) now() int64 { return f.ns }

// TestSyncAcrossShards: what one loop counted reaches the others after a
// round, including loops that never saw the key.
func TestSyncAcrossShards(t *testing.T) {
	clk := &fakeNow{ns: int64(1000 * time.Hour)}
	tb := New(Spec{Name: "t", Size: 100, Window: time.Hour, Sync: time.Hour, Rate: 10}, clk.now)
	la, lb := newLoop(t), newLoop(t)
	var a, b *Shard
	la.on(func() { a = tb.ShardFor(la, la.exec) })
	lb.on(func() { b = tb.ShardFor(lb, lb.exec) })
	la.on(func() {
		for i := 0; i < 7; i++ {
			e := a.Get([]byte("k"), clk.now())
			a.Request(e)
			if over, _ := a.Over(e, clk.now()); over {
				t.Errorf("request %d over", i)
			}
		}
	})
	tb.round(context.Background(), tb.agg)
	time.Sleep(50 * time.Millisecond) // the apply tasks
	lb.on(func() {
		var passed int
		for i := 0; i < 5; i++ {
			e := b.Get([]byte("k"), clk.now())
			b.Request(e)
			if over, _ := b.Over(e, clk.now()); !over {
				passed++
			}
		}
		if passed != 3 {
			t.Errorf("loop b passed %d; want 3 (7 counted on loop a, rate 10)", passed)
		}
	})
}
