package backend

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// HistogramBuckets is the number of finite buckets of a Histogram. Bucket i
// (0 <= i < HistogramBuckets) counts durations d with
// HistogramBound(i-1) < d <= HistogramBound(i); one more bucket counts the
// durations above the last bound (Prometheus' "+Inf").
const HistogramBuckets = 17

// HistogramSchemaOffset places the buckets among Prometheus' native
// histogram buckets of schema 0, whose bucket k holds (2^(k-1), 2^k]
// seconds: bucket i of a Histogram is native bucket i + HistogramSchemaOffset.
// The bounds are powers of two seconds so that one set of counters is both
// the classic histogram and the native one.
const HistogramSchemaOffset = -11

// HistogramBoundSeconds returns the inclusive upper bound of finite bucket
// i in seconds, 2^(i-11): 0.00048828125 (488µs) for i = 0, 0.0009765625,
// 0.001953125 ... 32 for i = HistogramBuckets-1. Precondition:
// 0 <= i < HistogramBuckets.
func HistogramBoundSeconds(i int) float64 { return math.Ldexp(1, i+HistogramSchemaOffset) }

// HistogramBound returns HistogramBoundSeconds(i) as a Duration, rounded
// down to the nanosecond.
func HistogramBound(i int) time.Duration {
	return time.Duration(math.Ldexp(float64(time.Second), i+HistogramSchemaOffset))
}

// histogramMax caps what Observe scales, so that d*2^11 cannot overflow;
// it is far above the last bound.
const histogramMax = 24 * time.Hour

// Histogram is a lock-free latency histogram with fixed exponential buckets
// (see HistogramBound), HAProxy's missing per-backend and per-server timers
// (its stats only keep averages over the last 1024 requests). The zero value
// is an empty histogram ready for use; it must not be copied after first use.
//
// Observe may be called from any goroutine: it does one multiplication, one
// division, one bits.Len and two atomic adds, and never allocates or locks.
// Snapshot may run concurrently with Observe; see Snapshot for what it
// guarantees.
type Histogram struct {
	// counts[i] counts the observations of bucket i (not cumulative);
	// counts[HistogramBuckets] those above the last bound. atomic: written by
	// Observe, read by Snapshot (the metrics collector).
	counts [HistogramBuckets + 1]atomic.Uint64
	// sumMicros is the sum of the observed durations in microseconds, each
	// truncated; negative durations add nothing. atomic: written by Observe,
	// read by Snapshot.
	sumMicros atomic.Uint64
}

// Observe records one duration. A negative d counts in the first bucket and
// adds nothing to the sum; callers skip phases that never happened (the
// log's -1) instead of observing them. Lock-free, allocation-free.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	if d > 0 {
		// Bucket i holds d/1s in (2^(i-12), 2^(i-11)], that is x = d*2^11 in
		// (2^(i-1), 2^i] seconds' worth of ns: then (x-1)/1s is in
		// [2^(i-1), 2^i - 1] (0 for i = 0), whose bit length is i.
		x := uint64(min(d, histogramMax)) << -HistogramSchemaOffset
		i = bits.Len64((x - 1) / uint64(time.Second))
		if i > HistogramBuckets {
			i = HistogramBuckets
		}
	}
	h.counts[i].Add(1)
	if d > 0 {
		h.sumMicros.Add(uint64(d / time.Microsecond))
	}
}

// HistogramSnapshot is a copy of a Histogram's counters.
type HistogramSnapshot struct {
	// Buckets[i] is the number of observations <= HistogramBound(i)
	// (cumulative, as Prometheus wants them).
	Buckets [HistogramBuckets]uint64
	// Count is the number of observations, including those above the last
	// bound; it is >= every element of Buckets.
	Count uint64
	// SumMicros is the sum of the observed durations in microseconds (each
	// truncated to the microsecond). Kept in microseconds, a uint64 lasts
	// 580,000 years of accumulated latency; nanoseconds would wrap after a
	// few hours at a million one-second requests per second.
	SumMicros uint64
}

// Snapshot returns the histogram's counters. It reads each bucket once, so
// the buckets and Count always agree with each other (Count is their sum,
// Buckets is non-decreasing) even while Observe runs concurrently; the sum is
// read last and may include an observation the buckets missed. Lock-free,
// allocation-free.
func (h *Histogram) Snapshot() HistogramSnapshot {
	var s HistogramSnapshot
	var n uint64
	for i := range HistogramBuckets {
		n += h.counts[i].Load()
		s.Buckets[i] = n
	}
	s.Count = n + h.counts[HistogramBuckets].Load()
	s.SumMicros = h.sumMicros.Load()
	return s
}

// SumSeconds returns the sum of the observed durations in seconds.
func (s *HistogramSnapshot) SumSeconds() float64 { return float64(s.SumMicros) / 1e6 }

// Mean returns the average observed duration, or 0 without observations.
func (s *HistogramSnapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return time.Duration(s.SumMicros/s.Count) * time.Microsecond
}

// Quantile estimates the q-quantile (0 < q < 1) of the observations, by
// linear interpolation inside the bucket that holds it (as Prometheus's
// histogram_quantile); 0 without observations, the last bound when it
// falls above it.
func (s *HistogramSnapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	rank := q * float64(s.Count)
	lower, below := time.Duration(0), uint64(0)
	for i := range HistogramBuckets {
		upper := HistogramBound(i)
		if float64(s.Buckets[i]) >= rank {
			in := s.Buckets[i] - below
			if in == 0 {
				return upper
			}
			frac := (rank - float64(below)) / float64(in)
			return lower + time.Duration(frac*float64(upper-lower))
		}
		lower, below = upper, s.Buckets[i]
	}
	return HistogramBound(HistogramBuckets - 1)
}
