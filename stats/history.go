package stats

import (
	"slices"
	"sync"
	"time"
)

// rateHistory keeps each frontend's recent request rate (sessions for TCP
// frontends) for the page's sparklines: a sample at most once a second,
// taken when a snapshot is served (the page reloads itself every 5 s, so an
// open page keeps it going), at most historyLen per frontend, and only for
// the frontends of the current snapshot. Owned by the handler; guarded by
// mu.
type rateHistory struct {
	mu    sync.Mutex
	last  time.Time
	total map[string]int64
	hist  map[string][]float64
}

// historyLen bounds each frontend's samples.
const historyLen = 60

// fill samples snap's frontends when a second has passed and copies their
// histories into snap.
func (r *rateHistory) fill(snap *Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.total == nil {
		r.total, r.hist = map[string]int64{}, map[string][]float64{}
	}
	now := snap.Time
	sample := r.last.IsZero() || now.Sub(r.last) >= time.Second
	el := now.Sub(r.last).Seconds()
	seen := map[string]bool{}
	for i := range snap.Frontends {
		f := &snap.Frontends[i]
		seen[f.Name] = true
		n := f.HTTPRequests
		if f.Mode == "tcp" {
			n = f.SessionsTotal
		}
		if sample {
			if prev, ok := r.total[f.Name]; ok && !r.last.IsZero() && el > 0 {
				h := append(r.hist[f.Name], max(float64(n-prev)/el, 0))
				if len(h) > historyLen {
					h = slices.Clone(h[len(h)-historyLen:])
				}
				r.hist[f.Name] = h
			}
			r.total[f.Name] = n
		}
		f.RateHistory = slices.Clone(r.hist[f.Name])
	}
	if sample {
		r.last = now
	}
	for name := range r.total {
		if !seen[name] {
			delete(r.total, name)
			delete(r.hist, name)
		}
	}
}
