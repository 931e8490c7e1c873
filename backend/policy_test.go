package backend_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lb-proxy/lb/backend"
)

var allPolicies = []string{"roundrobin", "static-rr", "leastconn", "random", "first", "source", "uri", "hdr:host"}

func TestWeightedRotationExactCounts(t *testing.T) {
	for _, balance := range []string{"roundrobin", "static-rr"} {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(1, 2, 3)...)
			got := map[string]int{}
			for i := range 600 {
				got[pickRelease(t, b, uint64(i), nil)]++
			}
			want := map[string]int{"a": 100, "b": 200, "c": 300}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("600 picks over weights 1,2,3: got %v; want %v", got, want)
			}
		})
	}
}

// nginx's smooth weighted round robin: weights 5,1,1 give a a b a c a a
// (never three a in a row), where a plain weighted rotation gives a a a a a b c.
func TestRoundRobinSmooth(t *testing.T) {
	for _, balance := range []string{"roundrobin", "static-rr"} {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(5, 1, 1)...)
			var seq strings.Builder
			for i := range 70 {
				seq.WriteString(pickRelease(t, b, uint64(i), nil))
			}
			want := strings.Repeat("aabacaa", 10)
			if seq.String() != want {
				t.Errorf("sequence over weights 5,1,1:\n got %s\nwant %s", seq.String(), want)
			}
		})
	}
}

func TestRoundRobinDynamicWeight(t *testing.T) {
	b := newBackend(t, "roundrobin", weighted(1, 1)...)
	for i := range 5 {
		pickRelease(t, b, uint64(i), nil)
	}
	server(t, b, "a").SetWeight(3)
	got := map[string]int{}
	for i := range 400 {
		got[pickRelease(t, b, uint64(i), nil)]++
	}
	if got["a"] < 298 || got["a"] > 302 {
		t.Errorf("roundrobin after SetWeight(a, 3), 400 picks: got %v; want a=300±2, b=100±2", got)
	}
}

func TestStaticRRIgnoresWeightChanges(t *testing.T) {
	b := newBackend(t, "static-rr", weighted(1, 1)...)
	server(t, b, "a").SetWeight(3)
	got := map[string]int{}
	for i := range 400 {
		got[pickRelease(t, b, uint64(i), nil)]++
	}
	if got["a"] != 200 || got["b"] != 200 {
		t.Errorf("static-rr after SetWeight(a, 3), 400 picks: got %v; want a=200 b=200", got)
	}
	server(t, b, "a").SetWeight(0)
	for i := range 10 {
		if n := pickRelease(t, b, uint64(i), nil); n != "b" {
			t.Fatalf("static-rr with a at weight 0: picked %s; want b", n)
		}
	}
}

func TestRandomDistribution(t *testing.T) {
	b := newBackend(t, "random", weighted(1, 2, 3)...)
	const n = 6000
	got := map[string]int{}
	for i := range n {
		got[pickRelease(t, b, uint64(i), nil)]++
	}
	// Idle servers tie, so the first draw wins: a plain weighted draw.
	// Expected 1000/2000/3000; standard deviations are below 40, so ±250 is
	// more than six of them.
	for name, want := range map[string]int{"a": 1000, "b": 2000, "c": 3000} {
		if d := got[name] - want; d < -250 || d > 250 {
			t.Errorf("random, %d picks over weights 1,2,3: got %v; want %s=%d±250", n, got, name, want)
		}
	}
}

// Power of two choices: against a loaded server, an idle one wins unless
// both draws hit the loaded one (probability 1/4 with equal weights).
func TestRandomPrefersLessLoaded(t *testing.T) {
	b := newBackend(t, "random", weighted(1, 1)...)
	a, bsrv := server(t, b, "a"), server(t, b, "b")
	bsrv.SetAdmin(backend.AdminDrain)
	for range 10 {
		mustAcquire(t, b, 0)
	}
	bsrv.SetAdmin(backend.AdminReady)
	if a.Current() != 10 {
		t.Fatalf("a.Current() = %d; want 10", a.Current())
	}
	const n = 2000
	got := map[string]int{}
	for i := range n {
		got[pickRelease(t, b, uint64(i), nil)]++
	}
	// Expected b = 1500 (sd ~19); a plain random pick would give 1000.
	if got["b"] < 1350 || got["b"] > 1650 {
		t.Errorf("random with a loaded (10) and b idle, %d picks: got %v; want b=1500±150", n, got)
	}
}

func TestLeastConn(t *testing.T) {
	b := newBackend(t, "leastconn", weighted(1, 1, 1)...)
	// Ties go round robin.
	var held []*backend.Server
	var seq strings.Builder
	for range 6 {
		s := mustAcquire(t, b, 0)
		held = append(held, s)
		seq.WriteString(s.Name())
	}
	if seq.String() != "abcabc" {
		t.Errorf("leastconn, 6 held acquisitions on idle a,b,c: got %s; want abcabc", seq.String())
	}
	// Free two slots on b: it is now the least loaded.
	held[1].Release()
	held[4].Release()
	for i := range 2 {
		if s := mustAcquire(t, b, 0); s.Name() != "b" {
			t.Errorf("leastconn pick %d with a=2 b=%d c=2: got %s; want b", i, i, s.Name())
		}
	}
	// Idle ties rotate evenly.
	b2 := newBackend(t, "leastconn", weighted(1, 1, 1)...)
	got := map[string]int{}
	for i := range 300 {
		got[pickRelease(t, b2, uint64(i), nil)]++
	}
	if got["a"] != 100 || got["b"] != 100 || got["c"] != 100 {
		t.Errorf("leastconn, 300 picks released at once: got %v; want 100 each", got)
	}
}

func TestLeastConnWeighted(t *testing.T) {
	// (current+1)/weight: with weights 1 and 3, b takes three sessions for
	// each one of a.
	b := newBackend(t, "leastconn", weighted(1, 3)...)
	got := map[string]int{}
	for range 40 {
		got[mustAcquire(t, b, 0).Name()]++
	}
	if got["a"] != 10 || got["b"] != 30 {
		t.Errorf("leastconn, 40 held acquisitions over weights 1,3: got %v; want a=10 b=30", got)
	}
}

func TestFirstFillsInOrder(t *testing.T) {
	b := newBackend(t, "first",
		srv{name: "a", weight: 1, maxconn: 2},
		srv{name: "b", weight: 1, maxconn: 2},
		srv{name: "c", weight: 1, maxconn: 2})
	var seq strings.Builder
	var held []*backend.Server
	for range 5 {
		s := mustAcquire(t, b, 0)
		held = append(held, s)
		seq.WriteString(s.Name())
	}
	if seq.String() != "aabbc" {
		t.Errorf("first, 5 held acquisitions, maxconn 2 each: got %s; want aabbc", seq.String())
	}
	held[0].Release() // a has a free slot again
	if s := mustAcquire(t, b, 0); s.Name() != "a" {
		t.Errorf("first after a freed a slot: got %s; want a", s.Name())
	}
}

func TestHashStableAndSpread(t *testing.T) {
	for _, balance := range []string{"source", "uri", "hdr:host"} {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(1, 2, 3)...)
			for key := range uint64(50) {
				first := pickRelease(t, b, key, nil)
				for range 20 {
					if got := pickRelease(t, b, key, nil); got != first {
						t.Fatalf("key %d: got %s after %s; want the same server", key, got, first)
					}
				}
			}
			// Sequential keys (think IPv4 addresses) spread by weight.
			const n = 6000
			got := map[string]int{}
			for key := range uint64(n) {
				got[pickRelease(t, b, key, nil)]++
			}
			for name, want := range map[string]int{"a": 1000, "b": 2000, "c": 3000} {
				if d := got[name] - want; d < -300 || d > 300 {
					t.Errorf("%d keys over weights 1,2,3: got %v; want %s=%d±300", n, got, name, want)
				}
			}
		})
	}
}

func TestBackupsOnlyWhenActivesDown(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance,
				srv{name: "a1", weight: 1},
				srv{name: "k1", weight: 1, backup: true},
				srv{name: "a2", weight: 1},
				srv{name: "k2", weight: 1, backup: true})
			pick := func() map[string]int {
				got := map[string]int{}
				for key := range uint64(200) {
					got[pickRelease(t, b, key, nil)]++
				}
				return got
			}
			if got := pick(); got["k1"]+got["k2"] != 0 {
				t.Errorf("actives usable: got %v; want no backup", got)
			}
			server(t, b, "a1").SetAdmin(backend.AdminMaint)
			if got := pick(); got["a2"] != 200 {
				t.Errorf("a1 in MAINT: got %v; want a2 only", got)
			}
			server(t, b, "a2").SetAdmin(backend.AdminDrain)
			got := pick()
			if got["a1"]+got["a2"] != 0 {
				t.Errorf("no active usable: got %v; want backups only", got)
			}
			if balance != "first" && (got["k1"] == 0 || got["k2"] == 0) {
				t.Errorf("no active usable: got %v; want both backups used", got)
			}
			server(t, b, "a1").SetAdmin(backend.AdminReady)
			if got := pick(); got["a1"] != 200 {
				t.Errorf("a1 back: got %v; want a1 only", got)
			}
		})
	}
}

func TestExcludeHonoured(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(1, 1, 1)...)
			a := server(t, b, "a")
			for key := range uint64(200) {
				if got := pickRelease(t, b, key, a); got == "a" {
					t.Fatalf("key %d, exclude a, b and c usable: got a", key)
				}
			}
			server(t, b, "b").SetAdmin(backend.AdminMaint)
			server(t, b, "c").SetWeight(0)
			if got := pickRelease(t, b, 1, a); got != "a" {
				t.Errorf("exclude a, a the only usable server: got %s; want a", got)
			}
		})
	}
}

func TestDrainMaintWeightZeroGetNothing(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(1, 1, 1, 1)...)
			server(t, b, "a").SetAdmin(backend.AdminDrain)
			server(t, b, "b").SetAdmin(backend.AdminMaint)
			server(t, b, "c").SetWeight(0)
			for key := range uint64(100) {
				if got := pickRelease(t, b, key, nil); got != "d" {
					t.Fatalf("key %d with a DRAIN, b MAINT, c weight 0: got %s; want d", key, got)
				}
			}
			for name, want := range map[string]backend.State{"a": backend.StateDrain, "b": backend.StateMaint, "c": backend.StateDrain, "d": backend.StateUp} {
				if got := server(t, b, name).State(); got != want {
					t.Errorf("%s.State() = %v; want %v", name, got, want)
				}
			}
			server(t, b, "d").SetAdmin(backend.AdminMaint)
			if s, err := b.Acquire(0, nil, newWaiter().ptr()); err != backend.ErrNoServer {
				t.Errorf("Acquire with nothing usable: got (%v, %v); want ErrNoServer", s, err)
			}
			if n := b.Counters().NoServer.Load(); n != 1 {
				t.Errorf("NoServer counter = %d; want 1", n)
			}
		})
	}
}

func TestAcquireDoesNotAllocate(t *testing.T) {
	for _, balance := range allPolicies {
		t.Run(balance, func(t *testing.T) {
			b := newBackend(t, balance, weighted(1, 2, 3)...)
			a := server(t, b, "a")
			key := uint64(0)
			allocs := testing.AllocsPerRun(200, func() {
				key++
				s, err := b.Acquire(key, a, nil)
				if err != nil {
					t.Fatal(err)
				}
				s.Release()
			})
			if allocs != 0 {
				t.Errorf("Acquire+Release allocates %v times per call; want 0", allocs)
			}
		})
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	for _, balance := range allPolicies {
		b.Run(balance, func(b *testing.B) {
			be, err := backend.New(backendConfig(balance, nil, weighted(1, 2, 3, 4, 5, 6, 7, 8)...), backend.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.RunParallel(func(pb *testing.PB) {
				key := uint64(0)
				for pb.Next() {
					key++
					s, err := be.Acquire(key, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					s.Release()
				}
			})
		})
	}
}
