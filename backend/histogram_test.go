package backend_test

import (
	"sync"
	"testing"
	"time"

	"github.com/lb-proxy/lb/backend"
)

func TestHistogramBounds(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want time.Duration
		secs float64
	}{
		{0, 488281 * time.Nanosecond, 1.0 / 2048},
		{1, 976562 * time.Nanosecond, 1.0 / 1024},
		{2, 1953125 * time.Nanosecond, 1.0 / 512},
		{11, time.Second, 1},
		{backend.HistogramBuckets - 1, 32 * time.Second, 32},
	} {
		if got := backend.HistogramBound(tc.i); got != tc.want {
			t.Errorf("HistogramBound(%d) = %v; want %v", tc.i, got, tc.want)
		}
		if got := backend.HistogramBoundSeconds(tc.i); got != tc.secs {
			t.Errorf("HistogramBoundSeconds(%d) = %v; want %v", tc.i, got, tc.secs)
		}
	}
}

// bucketOf returns the finite bucket a single observation landed in, or
// HistogramBuckets for +Inf.
func bucketOf(s backend.HistogramSnapshot) int {
	for i, n := range s.Buckets {
		if n > 0 {
			return i
		}
	}
	return backend.HistogramBuckets
}

// Each bucket holds (previous bound, bound]: a bound itself lands in its
// bucket, one nanosecond more in the next.
func TestHistogramBucketPlacement(t *testing.T) {
	inf := backend.HistogramBuckets
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{1, 0},
		{488281, 0}, // 2^-11 s is 488281.25ns
		{488282, 1},
		{976562, 1},
		{976563, 2},
		{1953125, 2}, // 2^-9 s exactly
		{1953126, 3},
		{3 * time.Millisecond, 3},   // (1.95ms, 3.9ms]
		{100 * time.Millisecond, 8}, // (62.5ms, 125ms]
		{time.Second, 11},           // (500ms, 1s]
		{time.Second + 1, 12},
		{30 * time.Second, 16},
		{32 * time.Second, 16},
		{32*time.Second + 1, inf},
		{time.Hour, inf},
		{time.Duration(1<<63 - 1), inf},
	} {
		var h backend.Histogram
		h.Observe(tc.d)
		s := h.Snapshot()
		if got := bucketOf(s); got != tc.want {
			t.Errorf("Observe(%v): bucket %d; want %d", tc.d, got, tc.want)
		}
		if s.Count != 1 {
			t.Errorf("Observe(%v): Count %d; want 1", tc.d, s.Count)
		}
		for i := tc.want; i < backend.HistogramBuckets; i++ {
			if s.Buckets[i] != 1 {
				t.Errorf("Observe(%v): cumulative Buckets[%d] = %d; want 1", tc.d, i, s.Buckets[i])
			}
		}
	}
}

func TestHistogramSumAndMean(t *testing.T) {
	var h backend.Histogram
	for _, d := range []time.Duration{time.Millisecond, 3 * time.Millisecond, 2*time.Second + 1500, -time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	// 1000 + 3000 + 2000001 (1.5µs truncated to 1µs) + 0 (negative).
	if want := uint64(2_004_001); s.SumMicros != want {
		t.Errorf("SumMicros = %d; want %d", s.SumMicros, want)
	}
	if got, want := s.SumSeconds(), 2.004001; got != want {
		t.Errorf("SumSeconds() = %v; want %v", got, want)
	}
	if got, want := s.Mean(), 501000*time.Microsecond; got != want {
		t.Errorf("Mean() = %v; want %v", got, want)
	}
	var empty backend.HistogramSnapshot
	if got := empty.Mean(); got != 0 {
		t.Errorf("empty Mean() = %v; want 0", got)
	}
}

func TestHistogramObserveDoesNotAllocate(t *testing.T) {
	var h backend.Histogram
	d := time.Duration(0)
	if n := testing.AllocsPerRun(1000, func() {
		h.Observe(d)
		d += 7919 * time.Microsecond
	}); n != 0 {
		t.Errorf("Observe: %v allocations; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.Snapshot() }); n != 0 {
		t.Errorf("Snapshot: %v allocations; want 0", n)
	}
}

// Snapshots taken while writers observe are internally consistent: the
// buckets never decrease and Count is at least the last finite bucket. Run
// with -race.
func TestHistogramConcurrent(t *testing.T) {
	var h backend.Histogram
	const writers, each = 4, 5000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.Observe(time.Duration(i*(w+1)) * time.Millisecond)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		s := h.Snapshot()
		for i := 1; i < len(s.Buckets); i++ {
			if s.Buckets[i] < s.Buckets[i-1] {
				t.Fatalf("Buckets[%d] = %d < Buckets[%d] = %d", i, s.Buckets[i], i-1, s.Buckets[i-1])
			}
		}
		if s.Count < s.Buckets[len(s.Buckets)-1] {
			t.Fatalf("Count %d < last bucket %d", s.Count, s.Buckets[len(s.Buckets)-1])
		}
	}
	if s := h.Snapshot(); s.Count != writers*each {
		t.Errorf("Count = %d; want %d", s.Count, writers*each)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h backend.Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 3 * time.Millisecond
		for pb.Next() {
			h.Observe(d)
		}
	})
}

func TestResponseCodes(t *testing.T) {
	var r backend.ResponseCodes
	for _, code := range []int{100, 101, 200, 204, 299, 301, 404, 499, 500, 503, 599, 600, 99, 0, -1} {
		r.Add(code)
	}
	for _, tc := range []struct {
		c    backend.CodeClass
		name string
		want uint64
	}{
		{backend.Code1xx, "1xx", 2}, {backend.Code2xx, "2xx", 3}, {backend.Code3xx, "3xx", 1},
		{backend.Code4xx, "4xx", 2}, {backend.Code5xx, "5xx", 3}, {backend.CodeOther, "other", 4},
	} {
		if got := r.Load(tc.c); got != tc.want || tc.c.String() != tc.name {
			t.Errorf("class %s: %d responses; want %s with %d", tc.c, got, tc.name, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { r.Add(200) }); n != 0 {
		t.Errorf("Add: %v allocations; want 0", n)
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h backend.Histogram
	for i := 0; i < 100; i++ {
		h.Observe(time.Duration(i+1) * time.Millisecond)
	}
	s := h.Snapshot()
	p50, p99 := s.Quantile(0.5), s.Quantile(0.99)
	if p50 < 30*time.Millisecond || p50 > 70*time.Millisecond || p99 < 80*time.Millisecond || p99 > 150*time.Millisecond || p99 < p50 {
		t.Errorf("p50 %v p99 %v of 1..100 ms", p50, p99)
	}
	var empty backend.HistogramSnapshot
	if empty.Quantile(0.5) != 0 {
		t.Error("quantile of nothing")
	}
}
