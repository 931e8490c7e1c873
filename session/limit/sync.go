package limit

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// report is one entry's counts as a loop hands them to the syncer:
// absolute values (not deltas), so a lost or repeated round does no harm.
type report struct {
	key          string
	period       int64
	req, reqPrev int64
	byt, bytPrev int64
	conns, reqs  int32
}

func (e *Entry) report() report {
	return report{key: e.key, period: e.period, req: e.req, reqPrev: e.reqPrev, byt: e.byt, bytPrev: e.bytPrev, conns: e.conns, reqs: e.reqs}
}

// at returns r's counts for period p: this period's and the previous one's.
func (r *report) at(p int64) (req, reqPrev, byt, bytPrev int64) {
	switch r.period {
	case p:
		return r.req, r.reqPrev, r.byt, r.bytPrev
	case p - 1:
		return 0, r.req, 0, r.byt
	}
	return 0, 0, 0, 0
}

// batch is one loop's reports of one round.
type batch struct {
	id int
	rs []report
}

// maxBatches bounds the batches in flight between the loops and the
// syncer: each round asks each loop for one.
const maxBatches = 1024

// reply is the others' share of one key for a shard, for period.
type reply struct {
	key                            string
	period                         int64
	oreq, oreqPrev, obyt, obytPrev int64
	oconns, oreqs                  int32
}

// collect runs on the shard's loop: it drops the entries idle past Expire
// and returns the reports of those changed since the last round.
func (sh *Shard) collect(now int64) []report {
	cutoff := now - int64(sh.t.spec.Expire)
	for e := sh.tail; e != nil && e.seen < cutoff; {
		prev := e.prev
		if e.conns == 0 && e.reqs == 0 {
			sh.drop(e)
			sh.c.expired.Add(1)
		}
		e = prev
	}
	out := sh.gone
	sh.gone = nil
	for _, d := range sh.dirty {
		if d.e.gen == d.gen {
			d.e.dirty = false
			out = append(out, d.e.report())
		}
	}
	clear(sh.dirty)
	sh.dirty = sh.dirty[:0]
	return out
}

// near reports whether the others' share r of a key is at least half of
// one of the table's limits: only then does a loop that has not seen the
// key make an entry for it (apply, seed). A flood of distinct keys, each
// far from any limit, thus stays on the loops it arrives on instead of
// filling every loop's table and evicting their own keys.
func (t *Table) near(r *reply) bool {
	s := &t.spec
	half := func(n, limit int64) bool { return limit > 0 && 2*n >= limit }
	return half(r.oreq+r.oreqPrev, s.Rate) || half(r.obyt+r.obytPrev, s.BytesRate) ||
		half(int64(r.oconns), s.Conns) || half(int64(r.oreqs), s.Requests)
}

// apply runs on the shard's loop: it writes the others' shares, making
// the entries of keys this loop has not seen yet (they expire unused).
func (sh *Shard) apply(rs []reply, now int64) {
	for i := range rs {
		r := &rs[i]
		e := sh.m[r.key]
		if e == nil {
			if !sh.t.near(r) {
				continue
			}
			if e = sh.make(r.key); e == nil {
				continue
			}
			e.seen, e.period = now, r.period
			sh.pushFront(e)
		}
		switch e.period {
		case r.period:
			e.oreq, e.oreqPrev, e.obyt, e.obytPrev = r.oreq, r.oreqPrev, r.obyt, r.obytPrev
		case r.period + 1:
			e.oreqPrev, e.obytPrev = r.oreq, r.obyt
		case r.period - 1:
			e.roll(r.period)
			e.oreq, e.oreqPrev, e.obyt, e.obytPrev = r.oreq, r.oreqPrev, r.obyt, r.obytPrev
		}
		e.oconns, e.oreqs = r.oconns, r.oreqs
	}
}

// agg is one key in the syncer's aggregate. Syncer only.
type agg struct {
	key        string
	prev, next *agg     // LRU, most recently reported first
	seen       int64    // last report
	loops      []report // by shard id; a zero period means none
	// Redis: what this instance pushed for period pushedAt and the one
	// before, and the fleet's counts read back (period fleetAt).
	pushedAt               int64
	pushReq, pushReqPrev   int64
	pushByt, pushBytPrev   int64
	fleetAt                int64
	fleetReq, fleetReqPrev int64
	fleetByt, fleetBytPrev int64
	sent                   bool // reported this round (in touched)
}

// aggregate is the syncer's view of every shard: written by the syncer,
// read by it and by Table.seed, under mu.
type aggregate struct {
	mu         sync.Mutex
	m          map[string]*agg
	head, tail *agg
}

// Start runs the table's syncer until Stop (or ctx is done). The store
// (Redis) is opened here.
func (t *Table) Start(ctx context.Context) {
	if t.spec.Redis != nil {
		t.store = newRedisStore(t.spec.Redis, t.spec.Name)
	}
	go t.run(ctx)
}

// Stop ends the syncer and waits for it.
func (t *Table) Stop() {
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.done
}

// run is the syncer: a round every Spec.Sync. Owned by the Table (Start,
// Stop).
func (t *Table) run(ctx context.Context) {
	defer close(t.done)
	if t.store != nil {
		defer t.store.close()
	}
	a := t.agg
	tick := time.NewTicker(t.spec.Sync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.stop:
			return
		case <-tick.C:
		}
		t.round(ctx, a)
	}
}

// round is one sync round: collect from every loop, sum, (Redis), reply.
func (t *Table) round(ctx context.Context, a *aggregate) {
	t.mu.Lock()
	shards := append([]*Shard(nil), t.shards...)
	t.mu.Unlock()
	now := t.now()
	ch := t.batches
	asked := 0
	for _, sh := range shards {
		sh := sh
		if sh.exec(func() {
			select {
			case ch <- batch{sh.id, sh.collect(now)}:
			default: // the syncer is gone (Stop): nobody reads
			}
		}) == nil {
			asked++
		}
	}
	// A loop too busy to answer within the wait is not waited for: its
	// batch is merged in a later round (reports are absolute counts, and
	// batches are merged in the order they came).
	var got []batch
	wait := time.NewTimer(max(t.spec.Sync, 100*time.Millisecond))
	defer wait.Stop()
	for len(got) < asked {
		select {
		case b := <-ch:
			got = append(got, b)
		case <-wait.C:
			asked = 0
		case <-t.stop:
			return
		}
	}
	for more := true; more; {
		select {
		case b := <-ch:
			got = append(got, b)
		default:
			more = false
		}
	}
	t.syncs.Add(1)
	p := now / int64(t.spec.Window)
	var touched []*agg
	a.mu.Lock()
	for _, b := range got {
		for _, r := range b.rs {
			g := a.get(r.key, len(shards), now, t.spec.Size)
			if !g.sent {
				g.sent = true
				touched = append(touched, g)
			}
			g.loops[b.id] = r
		}
	}
	a.expire(now - int64(t.spec.Expire))
	t.keys.Store(int64(len(a.m)))
	a.mu.Unlock()
	if t.store != nil {
		t.share(ctx, a, p, touched)
	}
	// Every shard gets the others' share of each key reported, those
	// that never saw it too: a client's next connection may land on any
	// loop, which must know the key already (apply makes the entry).
	replies := make([][]reply, len(shards))
	a.mu.Lock()
	for _, g := range touched {
		for id := range shards {
			replies[id] = append(replies[id], t.others(g, id, p))
		}
		g.sent = false
	}
	a.mu.Unlock()
	for id, rs := range replies {
		if len(rs) > 0 {
			sh := shards[id]
			_ = sh.exec(func() { sh.apply(rs, now) })
		}
	}
}

// others returns the share of g's counts that is not shard id's own: the
// other loops' and (Redis) the other instances'. a.mu held.
func (t *Table) others(g *agg, id int, p int64) reply {
	var req, reqPrev, byt, bytPrev int64
	var conns, reqs int32
	for i := range g.loops {
		r := &g.loops[i]
		a, b, c, d := r.at(p)
		req, reqPrev, byt, bytPrev = req+a, reqPrev+b, byt+c, bytPrev+d
		conns, reqs = conns+r.conns, reqs+r.reqs
	}
	if t.store != nil && g.fleetAt == p {
		// Other instances: the fleet's counts without those this one
		// pushed.
		req += max(0, g.fleetReq-g.pushReq)
		reqPrev += max(0, g.fleetReqPrev-g.pushReqPrev)
		byt += max(0, g.fleetByt-g.pushByt)
		bytPrev += max(0, g.fleetBytPrev-g.pushBytPrev)
	}
	if id >= 0 && id < len(g.loops) {
		r := &g.loops[id]
		a, b, c, d := r.at(p)
		req, reqPrev, byt, bytPrev = req-a, reqPrev-b, byt-c, bytPrev-d
		conns, reqs = conns-r.conns, reqs-r.reqs
	}
	return reply{key: g.key, period: p, oreq: req, oreqPrev: reqPrev, obyt: byt, obytPrev: bytPrev, oconns: conns, oreqs: reqs}
}

// seed gives a new shard the others' share of every key the aggregate
// holds, so that a loop's first requests of a key active elsewhere are
// not blind. On the new shard's loop, once per loop.
func (t *Table) seed(sh *Shard) {
	a := t.agg
	now := t.now()
	p := now / int64(t.spec.Window)
	a.mu.Lock()
	rs := make([]reply, 0, len(a.m))
	for g := a.head; g != nil; g = g.next {
		rs = append(rs, t.others(g, sh.id, p))
	}
	a.mu.Unlock()
	sh.apply(rs, now)
}

// get returns key's aggregate entry, making it (evicting the least
// recently reported one when full).
func (a *aggregate) get(key string, shards int, now int64, size int) *agg {
	g := a.m[key]
	if g == nil {
		if len(a.m) >= size && a.tail != nil {
			a.remove(a.tail)
		}
		g = &agg{key: key}
		a.m[key] = g
	} else {
		a.unlink(g)
	}
	if len(g.loops) < shards {
		g.loops = append(g.loops, make([]report, shards-len(g.loops))...)
	}
	g.seen = now
	g.next = a.head
	if a.head != nil {
		a.head.prev = g
	}
	a.head = g
	if a.tail == nil {
		a.tail = g
	}
	return g
}

// expire removes the keys not reported since cutoff.
func (a *aggregate) expire(cutoff int64) {
	for a.tail != nil && a.tail.seen < cutoff {
		a.remove(a.tail)
	}
}

func (a *aggregate) remove(g *agg) {
	a.unlink(g)
	delete(a.m, g.key)
}

func (a *aggregate) unlink(g *agg) {
	if g.prev != nil {
		g.prev.next = g.next
	} else if a.head == g {
		a.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else if a.tail == g {
		a.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

// KeyCounts is one key of a table as the syncer last summed it: this
// instance's loops, plus the other instances' rates through Redis.
type KeyCounts struct {
	Key string // as the table takes it: for KeySrc, the 16-byte address
	// Requests and Bytes are the sliding-window counts over Window.
	Requests, Bytes float64
	// Conns and InProgress are this instance's connections and requests
	// in progress.
	Conns, InProgress int32
}

// Top returns up to n keys of the syncer's sums, those with the most
// requests over the window first (HAProxy's "show table"). It is as fresh
// as the last sync round.
func (t *Table) Top(n int) []KeyCounts {
	a := t.agg
	now := t.now()
	w := int64(t.spec.Window)
	p := now / w
	left := 1 - float64(now-p*w)/float64(w)
	a.mu.Lock()
	out := make([]KeyCounts, 0, len(a.m))
	for g := a.head; g != nil; g = g.next {
		r := t.others(g, -1, p) // everyone's share: no shard is left out
		out = append(out, KeyCounts{Key: g.key, Requests: float64(r.oreq) + float64(r.oreqPrev)*left,
			Bytes: float64(r.obyt) + float64(r.obytPrev)*left, Conns: r.oconns, InProgress: r.oreqs})
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y KeyCounts) int { return cmp.Compare(y.Requests, x.Requests) })
	return out[:min(n, len(out))]
}
