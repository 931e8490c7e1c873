package backend_test

import (
	"testing"

	"github.com/lb-proxy/lb/backend"
)

// TestConsistentHash: with hash_type = "consistent", a key keeps its
// server, and a server leaving moves only the keys it had.
func TestConsistentHash(t *testing.T) {
	cfg := backendConfig("source", nil, srv{name: "a", weight: 1}, srv{name: "b", weight: 1}, srv{name: "c", weight: 1}, srv{name: "d", weight: 1})
	cfg.HashType = "consistent"
	b, err := backend.New(cfg, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pick := func(key uint64) string {
		s, err := b.Acquire(key, nil, &backend.Waiter{})
		if err != nil {
			t.Fatalf("Acquire(%d): %v", key, err)
		}
		s.Release()
		return s.Name()
	}
	before := map[uint64]string{}
	count := map[string]int{}
	for k := uint64(0); k < 2000; k++ {
		before[k] = pick(k)
		count[before[k]]++
		if again := pick(k); again != before[k] {
			t.Fatalf("key %d went to %s then %s", k, before[k], again)
		}
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		if count[n] < 200 {
			t.Errorf("server %s got %d of 2000 keys; want a fair share (counts %v)", n, count[n], count)
		}
	}
	b.Server("c").SetAdmin(backend.AdminMaint)
	moved := 0
	for k, was := range before {
		now := pick(k)
		if was != "c" && now != was {
			moved++
		}
		if now == "c" {
			t.Fatalf("key %d went to c in maintenance", k)
		}
	}
	if moved != 0 {
		t.Errorf("%d keys of the remaining servers moved when c left; want 0", moved)
	}
}

// TestConsistentHashBoundedLoad: with a balance factor, a hot key spills
// to other servers once its server carries more than factor/100 of the
// average load.
func TestConsistentHashBoundedLoad(t *testing.T) {
	cfg := backendConfig("uri", nil, srv{name: "a", weight: 1}, srv{name: "b", weight: 1}, srv{name: "c", weight: 1}, srv{name: "d", weight: 1})
	cfg.HashType = "consistent"
	cfg.HashBalanceFactor = 125
	b, err := backend.New(cfg, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var held []*backend.Server
	per := map[string]int{}
	for i := 0; i < 40; i++ {
		s, err := b.Acquire(42, nil, &backend.Waiter{})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
		per[s.Name()]++
	}
	for n, c := range per {
		// bound = ceil((load+1) * 1.25 / 4): at most 13 of 40.
		if c > 13 {
			t.Errorf("server %s holds %d of 40 sessions of one key; want at most 13 (factor 125): %v", n, c, per)
		}
	}
	if len(per) < 2 {
		t.Errorf("a hot key stayed on one server: %v", per)
	}
	for _, s := range held {
		s.Release()
	}
}
