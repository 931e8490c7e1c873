package limit

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
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

// twoLoops returns two loops and the shards of tb on them.
func twoLoops(t *testing.T, tb *Table) (la, lb *loopExec, a, b *Shard) {
	la, lb = newLoop(t), newLoop(t)
	la.on(func() { a = tb.ShardFor(la, la.exec) })
	lb.on(func() { b = tb.ShardFor(lb, lb.exec) })
	return la, lb, a, b
}

// fakeNow is a settable clock.
type fakeNow struct{ ns int64 }

func (f *fakeNow) now() int64 { return f.ns }

// TestSyncAcrossShards: what one loop counted reaches the others after a
// round, including loops that never saw the key.
func TestSyncAcrossShards(t *testing.T) {
	clk := &fakeNow{ns: int64(1000 * time.Hour)}
	tb := New(Spec{Name: "t", Size: 100, Window: time.Hour, Sync: time.Hour, Rate: 10}, clk.now)
	la, lb, a, b := twoLoops(t, tb)
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

// TestShardBoundUnderFlood: a million distinct keys through one shard of
// size 100,000 leave at most 100,000 entries, evict the rest, and keep the
// heap within the size's worth of entries (bytes per entry measured).
func TestShardBoundUnderFlood(t *testing.T) {
	const size, flood = 100_000, 1_000_000
	clk := &fakeNow{ns: int64(1000 * time.Hour)}
	tb := New(Spec{Name: "t", Size: size, Window: time.Hour, Rate: 10}, clk.now)
	sh := tb.ShardFor("loop", func(f func()) error { f(); return nil })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	key := make([]byte, 16)
	for i := 0; i < flood; i++ {
		binary.BigEndian.PutUint64(key[8:], uint64(i))
		e := sh.Get(key, clk.now())
		sh.Request(e)
		sh.Over(e, clk.now())
		if len(sh.dirty) > 2*size {
			t.Fatalf("%d dirty references; want at most %d", len(sh.dirty), 2*size)
		}
	}
	sh.collect(clk.now())
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := tb.Stats()
	if st.Entries != size || st.Evictions != flood-size {
		t.Errorf("entries %d, evictions %d; want %d and %d", st.Entries, st.Evictions, size, flood-size)
	}
	perEntry := float64(after.HeapInuse-before.HeapInuse) / size
	t.Logf("%d keys through a table of %d: heap in use +%.1f MiB, %.0f bytes per entry", flood, size, float64(after.HeapInuse-before.HeapInuse)/(1<<20), perEntry)
	if perEntry > 400 {
		t.Errorf("%.0f bytes per entry; want a bounded table (< 400)", perEntry)
	}
	runtime.KeepAlive(sh)
}

// TestRateWait: a rate over its limit is within it again once the wait
// rateWait returns has passed (and not one millisecond before that wait
// minus a rounding), for rates across both periods.
func TestRateWait(t *testing.T) {
	w := 10 * time.Second
	for _, tc := range []struct{ cur, prev, limit int64 }{
		{11, 0, 10}, {10, 5, 10}, {3, 20, 10}, {30, 30, 10}, {1, 100, 50}, {100, 100, 99},
	} {
		for _, el := range []time.Duration{0, time.Second, 5 * time.Second, 9999 * time.Millisecond} {
			wait, ok := rateWait(tc.cur, tc.prev, tc.limit, int64(el), w)
			if ok {
				continue
			}
			// The estimate at el+wait: in this period, or in the next one
			// where cur becomes prev.
			at := el + wait + time.Millisecond
			est := func(at time.Duration) float64 {
				if at < w {
					return float64(tc.cur) + float64(tc.prev)*(1-float64(at)/float64(w))
				}
				return float64(tc.cur) * (1 - float64(at-w)/float64(w))
			}
			if e := est(at); e > float64(tc.limit)+1e-6 {
				t.Errorf("%+v at %v: wait %v leaves the estimate at %.2f > %d", tc, el, wait, e, tc.limit)
			}
			if wait > 2*w {
				t.Errorf("%+v at %v: wait %v longer than two windows", tc, el, wait)
			}
		}
	}
}

// BenchmarkTrack: what a request costs in a table on its loop: the lookup
// of a known key, the counts, the check and the release at its end.
func BenchmarkTrack(b *testing.B) {
	clk := &fakeNow{ns: int64(1000 * time.Hour)}
	tb := New(Spec{Name: "t", Size: 1000, Window: 10 * time.Second, Rate: 1 << 40, Conns: 1 << 20}, clk.now)
	sh := tb.ShardFor("loop", func(f func()) error { f(); return nil })
	key := []byte("0123456789abcdef")
	b.ReportAllocs()
	for i := range b.N {
		clk.ns += 1000
		e := sh.Get(key, clk.ns)
		sh.Request(e)
		sh.Hold(e, false)
		if over, _ := sh.Over(e, clk.ns); over {
			b.Fatal("over")
		}
		sh.Release(e, false)
		if i%10000 == 0 {
			sh.collect(clk.ns)
		}
	}
}

// TestSyncFloodStaysLocal: keys far from their limits on one loop are not
// made on the others (a flood of distinct keys would fill every loop's
// table and evict its own keys); a key at half a limit is.
func TestSyncFloodStaysLocal(t *testing.T) {
	clk := &fakeNow{ns: int64(1000 * time.Hour)}
	tb := New(Spec{Name: "t", Size: 1000, Window: time.Hour, Sync: time.Hour, Rate: 10}, clk.now)
	la, lb, a, b := twoLoops(t, tb)
	la.on(func() {
		for i := 0; i < 500; i++ {
			a.Request(a.Get([]byte(fmt.Sprint("flood", i)), clk.now()))
		}
		for i := 0; i < 5; i++ {
			a.Request(a.Get([]byte("hot"), clk.now()))
		}
	})
	tb.round(context.Background(), tb.agg)
	time.Sleep(50 * time.Millisecond)
	lb.on(func() {
		if n := len(b.m); n != 1 || b.m["hot"] == nil {
			t.Errorf("loop b holds %d entries (hot: %v); want only the key at half its limit", n, b.m["hot"] != nil)
		}
	})
}

// TestShardExpire: a key idle for Expire is dropped at the next round; a
// key used since, or held by a connection, stays.
func TestShardExpire(t *testing.T) {
	clk := &fakeNow{ns: int64(1000 * time.Hour)}
	tb := New(Spec{Name: "t", Size: 100, Window: time.Minute, Expire: 2 * time.Minute, Rate: 10}, clk.now)
	sh := tb.ShardFor("loop", func(f func()) error { f(); return nil })
	for _, k := range []string{"idle", "used", "held"} {
		sh.Request(sh.Get([]byte(k), clk.ns))
	}
	sh.Hold(sh.m["held"], true)
	clk.ns += int64(90 * time.Second)
	sh.Request(sh.Get([]byte("used"), clk.ns))
	clk.ns += int64(60 * time.Second) // "idle" and "held" are 150s idle, "used" 60s
	sh.collect(clk.ns)
	if sh.m["idle"] != nil || sh.m["used"] == nil || sh.m["held"] == nil {
		t.Errorf("after expire: idle %v, used %v, held %v; want only idle gone", sh.m["idle"] != nil, sh.m["used"] != nil, sh.m["held"] != nil)
	}
	if st := tb.Stats(); st.Expired != 1 || st.Entries != 2 {
		t.Errorf("expired %d, entries %d; want 1 and 2", st.Expired, st.Entries)
	}
}
