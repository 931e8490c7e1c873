package backend

import (
	"sync/atomic"
	"time"
)

// Rate counts events per second, as HAProxy's session rates do: the
// current rate is the last full second's count weighted by how much of it
// is still inside the sliding one-second window, plus the current
// second's count; Max is the highest current rate seen. Lock-free; the
// zero Rate is ready.
type Rate struct {
	cur  atomic.Uint64 // unix second << 32 | count in that second
	prev atomic.Uint64 // idem, for the second before
	max  atomic.Int64
}

// Add counts one event at now.
func (r *Rate) Add(now time.Time) {
	sec := uint64(now.Unix())
	for {
		c := r.cur.Load()
		if c>>32 == sec {
			if r.cur.CompareAndSwap(c, c+1) {
				break
			}
			continue
		}
		if r.cur.CompareAndSwap(c, sec<<32|1) {
			r.prev.Store(c)
			break
		}
	}
	if v := r.Value(now); v > r.max.Load() {
		for m := r.max.Load(); v > m && !r.max.CompareAndSwap(m, v); m = r.max.Load() {
		}
	}
}

// Value is the rate at now, events per second.
func (r *Rate) Value(now time.Time) int64 {
	sec := uint64(now.Unix())
	c, p := r.cur.Load(), r.prev.Load()
	var inCur, inPrev uint64
	switch {
	case c>>32 == sec:
		inCur = c & 0xffffffff
		if p>>32 == sec-1 {
			inPrev = p & 0xffffffff
		}
	case c>>32 == sec-1:
		inPrev = c & 0xffffffff
	}
	frac := float64(now.Nanosecond()) / 1e9
	return int64(float64(inCur) + float64(inPrev)*(1-frac))
}

// Max is the highest rate Add saw.
func (r *Rate) Max() int64 { return r.max.Load() }
