package backend_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lb-proxy/lb/backend"
)

func TestQueueServedOnRelease(t *testing.T) {
	b := newBackend(t, "roundrobin", srv{name: "a", weight: 1, maxconn: 1})
	a := mustAcquire(t, b, 0)
	w := newWaiter()
	if s, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("Acquire with a full: got (%v, %v); want ErrQueued", s, err)
	}
	if n := b.Counters().QueueCurrent.Load(); n != 1 {
		t.Errorf("QueueCurrent = %d; want 1", n)
	}
	if n := w.calls.Load(); n != 0 {
		t.Fatalf("Ready called %d times before any Release", n)
	}
	a.Release()
	if got := w.wait(t); got != a {
		t.Errorf("Ready(%v); want a", got)
	}
	if n := a.Current(); n != 1 {
		t.Errorf("a.Current() after hand-over = %d; want 1 (the waiter's slot)", n)
	}
	if b.Cancel(w.ptr()) {
		t.Errorf("Cancel after Ready = true; want false")
	}
	a.Release()
	if n := w.calls.Load(); n != 1 {
		t.Errorf("Ready called %d times; want exactly 1", n)
	}
	if n := a.Current(); n != 0 {
		t.Errorf("a.Current() = %d; want 0", n)
	}
	c := b.Counters()
	if c.QueueCurrent.Load() != 0 || c.QueueMax.Load() != 1 || c.SessionsTotal.Load() != 2 {
		t.Errorf("counters: queue cur %d max %d sessions %d; want 0 1 2",
			c.QueueCurrent.Load(), c.QueueMax.Load(), c.SessionsTotal.Load())
	}
}

func TestQueueFIFO(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, srv{name: "a", weight: 1, maxconn: 1})
			a := mustAcquire(t, b, 7)
			ws := []*recWaiter{newWaiter(), newWaiter(), newWaiter()}
			for i, w := range ws {
				if _, err := b.Acquire(7, nil, w.ptr()); err != backend.ErrQueued {
					t.Fatalf("waiter %d: got %v; want ErrQueued", i, err)
				}
			}
			for i, w := range ws {
				a.Release()
				for j, other := range ws {
					want := int32(0)
					if j <= i {
						want = 1
					}
					if got := other.calls.Load(); got != want {
						t.Fatalf("after release %d: waiter %d has %d Ready calls; want %d", i, j, got, want)
					}
				}
				w.wait(t)
			}
			a.Release()
			if n := a.Current(); n != 0 {
				t.Errorf("a.Current() = %d; want 0", n)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	b := newBackend(t, "leastconn", srv{name: "a", weight: 1, maxconn: 1})
	a := mustAcquire(t, b, 0)
	w1, w2 := newWaiter(), newWaiter()
	for _, w := range []*recWaiter{w1, w2} {
		if _, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueued {
			t.Fatalf("got %v; want ErrQueued", err)
		}
	}
	if !b.Cancel(w1.ptr()) {
		t.Fatalf("Cancel of a queued waiter = false; want true")
	}
	if b.Cancel(w1.ptr()) {
		t.Errorf("second Cancel = true; want false")
	}
	a.Release()
	if got := w2.wait(t); got != a {
		t.Errorf("w2 Ready(%v); want a", got)
	}
	if n := w1.calls.Load(); n != 0 {
		t.Errorf("cancelled waiter got %d Ready calls; want 0", n)
	}
	// The cancelled waiter can be reused.
	if _, err := b.Acquire(0, nil, w1.ptr()); err != backend.ErrQueued {
		t.Fatalf("reusing a cancelled waiter: got %v; want ErrQueued", err)
	}
	a.Release()
	w1.wait(t)
	a.Release()
	if n := b.Counters().QueueCurrent.Load(); n != 0 {
		t.Errorf("QueueCurrent = %d; want 0", n)
	}
}

func TestQueueFull(t *testing.T) {
	cfg := backendConfig("roundrobin", nil, srv{name: "a", weight: 1, maxconn: 1})
	b := mustNew(t, cfg, backend.Options{MaxQueue: 2})
	mustAcquire(t, b, 0)
	for i := range 2 {
		if _, err := b.Acquire(0, nil, newWaiter().ptr()); err != backend.ErrQueued {
			t.Fatalf("waiter %d: got %v; want ErrQueued", i, err)
		}
	}
	w := newWaiter()
	if s, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueueFull {
		t.Errorf("third waiter with MaxQueue 2: got (%v, %v); want ErrQueueFull", s, err)
	}
	if b.Cancel(w.ptr()) {
		t.Errorf("Cancel of a refused waiter = true; want false")
	}
	if _, err := b.Acquire(0, nil, nil); err != backend.ErrWouldQueue {
		t.Errorf("nil waiter with a full server: got %v; want ErrWouldQueue (and not counted)", err)
	}
	c := b.Counters()
	if c.QueueCurrent.Load() != 2 || c.QueueMax.Load() != 2 || c.QueueFull.Load() != 1 {
		t.Errorf("queue cur %d max %d full %d; want 2 2 1", c.QueueCurrent.Load(), c.QueueMax.Load(), c.QueueFull.Load())
	}
}

func TestDefaultMaxQueue(t *testing.T) {
	b := newBackend(t, "roundrobin", srv{name: "a", weight: 1, maxconn: 1})
	mustAcquire(t, b, 0)
	for i := range 4096 {
		if _, err := b.Acquire(0, nil, newWaiter().ptr()); err != backend.ErrQueued {
			t.Fatalf("waiter %d: got %v; want ErrQueued", i, err)
		}
	}
	if _, err := b.Acquire(0, nil, newWaiter().ptr()); err != backend.ErrQueueFull {
		t.Errorf("waiter 4097 with MaxQueue 0: got %v; want ErrQueueFull", err)
	}
}

// Non-hash policies queue on the backend: a waiter goes to whichever server
// frees a slot first.
func TestBackendQueueServedByAnyServer(t *testing.T) {
	b := newBackend(t, "roundrobin",
		srv{name: "a", weight: 1, maxconn: 1},
		srv{name: "b", weight: 1, maxconn: 1})
	mustAcquire(t, b, 0)
	s2 := mustAcquire(t, b, 0)
	w := newWaiter()
	if _, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("got %v; want ErrQueued", err)
	}
	s2.Release()
	if got := w.wait(t); got != s2 {
		t.Errorf("Ready(%s); want %s, the server that freed a slot", got.Name(), s2.Name())
	}
}

// Hash policies queue on the chosen server even when another has room.
func TestHashQueuesOnChosenServer(t *testing.T) {
	b := newBackend(t, "source",
		srv{name: "a", weight: 1, maxconn: 1},
		srv{name: "b", weight: 1, maxconn: 1})
	const key = 42
	s := mustAcquire(t, b, key)
	w := newWaiter()
	if _, err := b.Acquire(key, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("same key, chosen server full: got %v; want ErrQueued", err)
	}
	if n := s.Counters().QueueCurrent.Load(); n != 1 {
		t.Errorf("%s QueueCurrent = %d; want 1", s.Name(), n)
	}
	s.Release()
	if got := w.wait(t); got != s {
		t.Errorf("Ready(%s); want %s", got.Name(), s.Name())
	}
	if n := s.Counters().QueueMax.Load(); n != 1 {
		t.Errorf("%s QueueMax = %d; want 1", s.Name(), n)
	}
}

// A waiter queued on a server that leaves service moves to the backend
// queue and is served by another server.
func TestHashQueueMovesWhenServerLeaves(t *testing.T) {
	b := newBackend(t, "source",
		srv{name: "a", weight: 1, maxconn: 1},
		srv{name: "b", weight: 1, maxconn: 1})
	const key = 42
	s := mustAcquire(t, b, key)
	var other *backend.Server
	for _, o := range b.Servers() {
		if o != s {
			other = o
		}
	}
	w := newWaiter()
	if _, err := b.Acquire(key, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("got %v; want ErrQueued", err)
	}
	s.SetAdmin(backend.AdminMaint)
	if got := w.wait(t); got != other {
		t.Errorf("Ready(%s) after %s went to MAINT; want %s", got.Name(), s.Name(), other.Name())
	}
	if n := s.Counters().QueueCurrent.Load(); n != 0 {
		t.Errorf("%s QueueCurrent = %d; want 0", s.Name(), n)
	}
	s.Release() // established sessions continue and release normally
	other.Release()
}

func TestQueueServedWhenServerReturns(t *testing.T) {
	b := newBackend(t, "roundrobin",
		srv{name: "a", weight: 1, maxconn: 1},
		srv{name: "b", weight: 1, maxconn: 1})
	bs := server(t, b, "b")
	bs.SetAdmin(backend.AdminMaint)
	mustAcquire(t, b, 0)
	w := newWaiter()
	if _, err := b.Acquire(0, nil, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("got %v; want ErrQueued", err)
	}
	bs.SetAdmin(backend.AdminReady)
	if got := w.wait(t); got != bs {
		t.Errorf("Ready(%s) after b came back; want b", got.Name())
	}
}

// A queued redispatch takes its excluded server rather than wait when that
// is the only server with a free slot (HAProxy's "server to avoid").
func TestQueuedExclude(t *testing.T) {
	b := newBackend(t, "roundrobin",
		srv{name: "a", weight: 1, maxconn: 1},
		srv{name: "b", weight: 1, maxconn: 1})
	a := server(t, b, "a")
	mustAcquire(t, b, 0)
	mustAcquire(t, b, 0)
	w := newWaiter()
	if _, err := b.Acquire(0, a, w.ptr()); err != backend.ErrQueued {
		t.Fatalf("got %v; want ErrQueued", err)
	}
	a.Release()
	if got := w.wait(t); got != a {
		t.Errorf("only a free, exclude a: Ready(%s); want a", got.Name())
	}
}

func TestReleaseWithoutSlotPanics(t *testing.T) {
	b := newBackend(t, "roundrobin", weighted(1)...)
	defer func() {
		if recover() == nil {
			t.Errorf("Release on an idle server did not panic")
		}
	}()
	server(t, b, "a").Release()
}

func TestConnFailedCounts(t *testing.T) {
	b := newBackend(t, "roundrobin", weighted(1, 1)...)
	server(t, b, "a").ConnFailed()
	server(t, b, "a").ConnFailed()
	server(t, b, "b").ConnFailed()
	if n := server(t, b, "a").Counters().ConnectErrors.Load(); n != 2 {
		t.Errorf("a ConnectErrors = %d; want 2", n)
	}
	if n := b.Counters().ConnectErrors.Load(); n != 3 {
		t.Errorf("backend ConnectErrors = %d; want 3", n)
	}
}

// Many goroutines acquire, wait, cancel and release while an admin flips a
// server in and out of MAINT. Every waiter must get exactly one outcome,
// maxconn must hold at every instant and all slots must come back.
func TestConcurrentAcquireRelease(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			cfg := backendConfig(balance, nil,
				srv{name: "a", weight: 1, maxconn: 2},
				srv{name: "b", weight: 2, maxconn: 2},
				srv{name: "c", weight: 3, maxconn: 2},
				srv{name: "k", weight: 1, maxconn: 1, backup: true})
			b := mustNew(t, cfg, backend.Options{MaxQueue: 100000})
			stop := make(chan struct{})
			var admin sync.WaitGroup
			admin.Add(1)
			go func() {
				defer admin.Done()
				c := server(t, b, "c")
				for i := 0; ; i++ {
					select {
					case <-stop:
						c.SetAdmin(backend.AdminReady)
						return
					default:
					}
					c.SetAdmin([]backend.Admin{backend.AdminMaint, backend.AdminReady, backend.AdminDrain}[i%3])
					runtime.Gosched()
				}
			}()
			const workers, rounds = 16, 300
			errs := make(chan error, workers)
			var wg sync.WaitGroup
			for g := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- worker(b, g, rounds)
				}()
			}
			wg.Wait()
			close(stop)
			admin.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range b.Servers() {
				if n := s.Current(); n != 0 {
					t.Errorf("%s.Current() = %d after all releases; want 0", s.Name(), n)
				}
			}
			if n := b.Counters().QueueCurrent.Load(); n != 0 {
				t.Errorf("QueueCurrent = %d; want 0", n)
			}
		})
	}
}

func worker(b *backend.Backend, g, rounds int) error {
	w := newWaiter()
	for i := range rounds {
		key := uint64(g*rounds + i)
		s, err := b.Acquire(key, nil, w.ptr())
		switch {
		case err == nil:
		case errors.Is(err, backend.ErrQueued):
			if i%4 == 0 && b.Cancel(w.ptr()) {
				continue
			}
			select {
			case s = <-w.got:
			case <-time.After(waitFor):
				return fmt.Errorf("worker %d round %d: Ready not called within %v", g, i, waitFor)
			}
		default:
			return fmt.Errorf("worker %d round %d: %v", g, i, err)
		}
		if n, max := s.Current(), s.MaxConn(); n > max {
			return fmt.Errorf("%s.Current() = %d over maxconn %d", s.Name(), n, max)
		}
		runtime.Gosched()
		s.Release()
	}
	if n := w.calls.Load(); len(w.got) != 0 {
		return fmt.Errorf("worker %d: %d unexpected extra Ready calls (of %d)", g, len(w.got), n)
	}
	return nil
}

// A Release racing with an Acquire that is about to queue must not leave
// the waiter stranded: with one slot and nobody else to release it, a lost
// wake-up would never be repaired.
func TestReleaseRacingQueue(t *testing.T) {
	b := newBackend(t, "roundrobin", srv{name: "a", weight: 1, maxconn: 1})
	w := newWaiter()
	start := make(chan *backend.Server)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range start {
			s.Release()
		}
	}()
	defer func() { close(start); <-done }()
	queued := 0
	for i := range 20000 {
		s := mustAcquire(t, b, 0)
		start <- s
		got, err := b.Acquire(0, nil, w.ptr())
		switch err {
		case nil:
		case backend.ErrQueued:
			queued++
			select {
			case got = <-w.got:
			case <-time.After(waitFor):
				t.Fatalf("round %d: waiter stranded: Ready not called within %v", i, waitFor)
			}
		default:
			t.Fatalf("round %d: %v", i, err)
		}
		got.Release()
	}
	t.Logf("%d of 20000 rounds queued", queued)
}

// Waiters moved off servers that left service keep their arrival order in
// the backend queue.
func TestHashQueuesMergeInArrivalOrder(t *testing.T) {
	b := newBackend(t, "source",
		srv{name: "a", weight: 1, maxconn: 1},
		srv{name: "b", weight: 1, maxconn: 1},
		srv{name: "c", weight: 1, maxconn: 1})
	keyOf := map[string]uint64{}
	for k := uint64(0); len(keyOf) < 3; k++ {
		if n := pickRelease(t, b, k, nil); keyOf[n] == 0 {
			keyOf[n] = k + 1 // +1: 0 means unset
		}
	}
	hold := map[string]*backend.Server{}
	for _, n := range []string{"a", "b", "c"} {
		hold[n] = mustAcquire(t, b, keyOf[n]-1)
		if hold[n].Name() != n {
			t.Fatalf("key %d: got %s; want %s", keyOf[n]-1, hold[n].Name(), n)
		}
	}
	order := []string{"a", "b", "a", "b"}
	ws := make([]*recWaiter, len(order))
	for i, n := range order {
		ws[i] = newWaiter()
		if _, err := b.Acquire(keyOf[n]-1, nil, ws[i].ptr()); err != backend.ErrQueued {
			t.Fatalf("waiter %d on %s: %v; want ErrQueued", i, n, err)
		}
	}
	server(t, b, "a").SetAdmin(backend.AdminMaint)
	server(t, b, "b").SetAdmin(backend.AdminMaint)
	c := hold["c"]
	for i, w := range ws {
		c.Release()
		if got := w.wait(t); got != c {
			t.Fatalf("waiter %d: Ready(%s); want c", i, got.Name())
		}
		for j := i + 1; j < len(ws); j++ {
			if n := ws[j].calls.Load(); n != 0 {
				t.Fatalf("after %d releases, waiter %d (queued later) was served first", i+1, j)
			}
		}
	}
}

// TestQueuePriority: under saturation a queue serves the lowest class
// first, then by arrival plus offset (HAProxy's set-priority-class and
// set-priority-offset), for every policy (hash policies queue per server).
func TestQueuePriority(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, srv{name: "a", weight: 1, maxconn: 1})
			a := mustAcquire(t, b, 7)
			// Arrival order, and the order they must be served in.
			specs := []struct {
				class  int
				offset time.Duration
				rank   int
			}{
				{0, 0, 3},                 // plain
				{5, 0, 5},                 // low priority
				{-1, 0, 0},                // high priority
				{0, time.Hour, 4},         // plain, but delayed
				{0, -time.Hour, 2},        // plain, but brought forward
				{-1, time.Millisecond, 1}, // high, a little later
			}
			ws := make([]*recWaiter, len(specs))
			for i, sp := range specs {
				ws[i] = newWaiter()
				ws[i].ptr().Class, ws[i].ptr().Offset = sp.class, sp.offset
				if _, err := b.Acquire(7, nil, ws[i].ptr()); err != backend.ErrQueued {
					t.Fatalf("waiter %d: %v; want ErrQueued", i, err)
				}
			}
			for rank := range specs {
				a.Release()
				for i, sp := range specs {
					want := int32(0)
					if sp.rank <= rank {
						want = 1
					}
					if got := ws[i].calls.Load(); got != want {
						t.Fatalf("after release %d: waiter %d (class %d, offset %v) has %d Ready calls; want %d",
							rank, i, sp.class, sp.offset, got, want)
					}
				}
				for i, sp := range specs {
					if sp.rank == rank {
						ws[i].wait(t)
					}
				}
			}
			a.Release()
		})
	}
}
