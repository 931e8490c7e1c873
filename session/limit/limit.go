// Package limit keeps lb's per-key limit tables: request and byte rates
// over a sliding window, concurrent connections and concurrent requests,
// counted per key (a client address, a header's value, a backend) for the
// http_request rules that name the table (HAProxy's stick tables with
// track-sc and sc_http_req_rate, made for one job).
//
// Ownership. A Table is shared by a configuration generation; it owns one
// Shard per event loop. A Shard, its map and its Entries belong to that
// loop: only the loop's callbacks touch them, so the hot path (Get, the
// Entry methods) takes no lock and makes no system call. What the other
// loops, and other lb instances through Redis, counted reaches a Shard
// every Spec.Sync: the Table's syncer goroutine runs a task on each loop
// (Shard.exec) that hands it the entries changed since the last round
// (collect), sums them per key, and runs a second task that writes the
// others' share back into the entries (apply). A limit thus holds across
// the loops, and the fleet, within what arrives in one sync interval.
//
// Bounds. Each Shard holds at most Spec.Size entries and the syncer's
// aggregate at most Spec.Size keys; a full shard evicts its least recently
// used entry (never one a connection or request holds), and entries idle
// for Spec.Expire are dropped at the next round. See Table.Stats.
package limit

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// KeyKind is what a table's key is taken from.
type KeyKind uint8

// The key kinds.
const (
	KeySrc     KeyKind = iota // the client's address (after the PROXY protocol)
	KeyHeader                 // a request header's value; requests without it are not tracked
	KeyBackend                // the backend the request is routed to
)

// Spec is one table's configuration ([limit.NAME]).
type Spec struct {
	Name   string
	Key    KeyKind
	Header string // KeyHeader: the field name

	// Size bounds the entries of each loop's shard and the syncer's
	// aggregate.
	Size int
	// Window is the rate window; rates are counted per Window-long
	// period aligned on the Unix epoch (so that instances sharing Redis
	// agree on periods) and read as HAProxy's freq_ctr does: this period's
	// count plus the previous one's, weighted by the part of it still in
	// the window.
	Window time.Duration
	// Expire drops entries idle that long.
	Expire time.Duration
	// Sync is how often the loops (and Redis) share their counts.
	Sync time.Duration

	// The limits; 0 means none. A request is over when, counting itself,
	// its key's requests over the window exceed Rate, its bytes (in and
	// out, counted at the end of each transaction) exceed BytesRate, its
	// connections exceed Conns or its requests in progress exceed
	// Requests.
	Rate, BytesRate, Conns, Requests int64

	// Redis, when set, shares the rate counters (Rate, BytesRate) with
	// other lb instances through a Redis server.
	Redis *RedisSpec
}

// RedisSpec is where and how a table shares its rates.
type RedisSpec struct {
	URL string
	// FailClosed: while Redis cannot be reached, every tracked request is
	// over the limit. Otherwise (fail open) each instance counts alone.
	FailClosed bool
}

// Entry is one key's counters in one loop's shard. Loop only.
type Entry struct {
	key        string
	prev, next *Entry // the shard's LRU list, most recent first
	gen        uint32 // bumped when the entry is reused for another key
	dirty      bool   // changed since the last collect
	seen       int64  // last use, unix ns

	period       int64 // the period the counts below are for (now / Window)
	req, reqPrev int64 // this loop's requests in period and period-1
	byt, bytPrev int64 // this loop's bytes
	// The other loops' and instances' counts, as of the last sync.
	oreq, oreqPrev, obyt, obytPrev int64
	conns, reqs                    int32 // this loop's connections and requests in progress
	oconns, oreqs                  int32 // the others', as of the last sync
}

// Key returns the entry's key.
func (e *Entry) Key() string { return e.key }

// Stats are a table's counters, summed over its shards.
type Stats struct {
	Entries   int64 // entries held by the shards now
	Keys      int64 // keys in the syncer's aggregate now
	Evictions int64 // entries dropped to make room
	Expired   int64 // entries dropped after Expire idle
	Full      int64 // requests not tracked: the shard held only entries in use
	Tracked   int64 // requests counted
	Over      int64 // requests found over a limit
	Syncs     int64 // sync rounds
	// Redis: RedisErrors counts failed round-trips; RedisUp is 1 while
	// the last one succeeded (always 0 without Redis).
	RedisErrors int64
	RedisUp     int64
}

// shardCounters are a shard's counters. atomic: written by the shard's
// loop, read by Table.Stats.
type shardCounters struct {
	entries, evictions, expired, full, tracked, over atomic.Int64
}

// Table is one [limit.NAME] table of a configuration generation.
type Table struct {
	spec Spec
	now  func() int64 // unix ns, the sessions' clock

	mu     sync.Mutex // guards shards and byLoop (a loop's shard is made at its first use)
	shards []*Shard
	byLoop map[any]*Shard

	syncs      atomic.Int64
	keys       atomic.Int64
	redisErrs  atomic.Int64
	redisUp    atomic.Bool
	redisDown  atomic.Bool // fail closed: over until Redis answers again
	agg        *aggregate  // the syncer's sums
	batches    chan batch  // the loops' reports to the syncer (bounded; a loop never blocks on it)
	store      store       // nil without Redis; the syncer's
	stop, done chan struct{}

	// OnRedis, when set before Start, is called by the syncer when the
	// shared counters become unreachable (up false, with the error) and
	// reachable again.
	OnRedis  func(up bool, err error)
	stopOnce sync.Once
}

// New returns the table of spec; now is the clock the sessions read (unix
// ns). Start its syncer with Start.
func New(spec Spec, now func() int64) *Table {
	if spec.Size < 1 {
		spec.Size = 1
	}
	if spec.Window <= 0 {
		spec.Window = 10 * time.Second
	}
	if spec.Sync <= 0 {
		spec.Sync = 100 * time.Millisecond
	}
	if spec.Expire <= 0 {
		spec.Expire = 2 * spec.Window
	}
	return &Table{spec: spec, now: now, agg: &aggregate{m: make(map[string]*agg)}, batches: make(chan batch, maxBatches),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Spec returns the table's configuration. Immutable.
func (t *Table) Spec() *Spec { return &t.spec }

// Stats sums the table's counters.
func (t *Table) Stats() Stats {
	s := Stats{Syncs: t.syncs.Load(), Keys: t.keys.Load(), RedisErrors: t.redisErrs.Load()}
	if t.redisUp.Load() {
		s.RedisUp = 1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sh := range t.shards {
		c := &sh.c
		s.Entries += c.entries.Load()
		s.Evictions += c.evictions.Load()
		s.Expired += c.expired.Load()
		s.Full += c.full.Load()
		s.Tracked += c.tracked.Load()
		s.Over += c.over.Load()
	}
	return s
}

// ShardFor returns the table's shard for event loop l (any comparable
// value naming it), made at the first call; exec runs a function on that
// loop (safe from any goroutine; an error means the loop is gone). A
// table carried over a reload keeps its shards: both generations'
// sessions on a loop count in the same one. Callers cache the result.
func (t *Table) ShardFor(l any, exec func(func()) error) *Shard {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sh := t.byLoop[l]; sh != nil {
		return sh
	}
	sh := &Shard{t: t, exec: exec, m: make(map[string]*Entry), id: len(t.shards)}
	t.shards = append(t.shards, sh)
	if t.byLoop == nil {
		t.byLoop = make(map[any]*Shard)
	}
	t.byLoop[l] = sh
	t.seed(sh)
	return sh
}

// Shard is a table's part on one event loop. Loop only, but for the
// counters in c.
type Shard struct {
	t    *Table
	id   int // index in t.shards
	exec func(func()) error

	m          map[string]*Entry
	head, tail *Entry // LRU: head most recent
	free       *Entry // entries to reuse, linked by next
	dirty      []dirtyRef
	gone       []report // last reports of dirty entries evicted before a collect (bounded)

	c shardCounters
}

// dirtyRef names an entry changed since the last collect; gen tells a
// reused entry from the one that was changed.
type dirtyRef struct {
	e   *Entry
	gen uint32
}

// Table returns the shard's table.
func (sh *Shard) Table() *Table { return sh.t }

// period returns the rate period of now.
func (sh *Shard) period(now int64) int64 { return now / int64(sh.t.spec.Window) }

// Get returns key's entry, making it (and evicting the least recently used
// entry when the shard is full), or nil when the shard is full of entries
// in use (counted as Full). key is copied only when a new entry is made.
// Loop only; allocation-free for a known key.
func (sh *Shard) Get(key []byte, now int64) *Entry {
	e := sh.m[string(key)]
	if e != nil {
		sh.unlink(e)
	} else if e = sh.make(string(key)); e == nil {
		sh.c.full.Add(1)
		return nil
	}
	sh.pushFront(e)
	e.seen = now
	e.roll(sh.period(now))
	return e
}

// make adds an entry for key, not linked in the LRU list yet, evicting
// the least recently used one when the shard is full; nil when it holds
// only entries in use.
func (sh *Shard) make(key string) *Entry {
	if len(sh.m) >= sh.t.spec.Size && !sh.evict() {
		return nil
	}
	e := sh.free
	if e != nil {
		sh.free = e.next
		gen := e.gen + 1
		*e = Entry{gen: gen}
	} else {
		e = &Entry{}
	}
	e.key = key
	sh.m[key] = e
	sh.c.entries.Add(1)
	return e
}

// evict drops the least recently used entry not in use; false if the
// last few are all in use.
func (sh *Shard) evict() bool {
	e := sh.tail
	for i := 0; e != nil && i < 16; i, e = i+1, e.prev {
		if e.conns == 0 && e.reqs == 0 {
			sh.drop(e)
			sh.c.evictions.Add(1)
			return true
		}
	}
	return false
}

// drop removes e from the shard and keeps it for reuse.
func (sh *Shard) drop(e *Entry) {
	if e.dirty && len(sh.gone) < maxGone {
		sh.gone = append(sh.gone, e.report())
	}
	sh.unlink(e)
	delete(sh.m, e.key)
	e.key = ""
	e.gen++
	e.next, sh.free = sh.free, e
	sh.c.entries.Add(-1)
}

// maxGone bounds the reports of evicted entries kept for the next round.
const maxGone = 1024

func (sh *Shard) unlink(e *Entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if sh.head == e {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if sh.tail == e {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (sh *Shard) pushFront(e *Entry) {
	e.next = sh.head
	if sh.head != nil {
		sh.head.prev = e
	}
	sh.head = e
	if sh.tail == nil {
		sh.tail = e
	}
}

// roll moves e's counts to period p.
func (e *Entry) roll(p int64) {
	switch {
	case p == e.period:
		return
	case p == e.period+1:
		e.reqPrev, e.bytPrev, e.oreqPrev, e.obytPrev = e.req, e.byt, e.oreq, e.obyt
	default:
		e.reqPrev, e.bytPrev, e.oreqPrev, e.obytPrev = 0, 0, 0, 0
	}
	e.req, e.byt, e.oreq, e.obyt = 0, 0, 0, 0
	e.period = p
}

// touch marks e changed since the last collect.
func (sh *Shard) touch(e *Entry) {
	if !e.dirty {
		e.dirty = true
		if len(sh.dirty) >= 2*sh.t.spec.Size {
			sh.compactDirty()
		}
		sh.dirty = append(sh.dirty, dirtyRef{e, e.gen})
	}
}

// compactDirty drops the references to entries evicted since the last
// collect (a key flood between two rounds), so that the list never holds
// more than twice Size references: at most Size are live, each once.
func (sh *Shard) compactDirty() {
	live := sh.dirty[:0]
	for _, d := range sh.dirty {
		if d.e.gen == d.gen {
			live = append(live, d)
		}
	}
	clear(sh.dirty[len(live):])
	sh.dirty = live
}

// Request counts a request on e (got from Get at the same now).
func (sh *Shard) Request(e *Entry) {
	e.req++
	sh.c.tracked.Add(1)
	sh.touch(e)
}

// Bytes counts n bytes of a transaction on e, at now.
func (sh *Shard) Bytes(e *Entry, n int64, now int64) {
	e.roll(sh.period(now))
	e.byt += n
	sh.touch(e)
}

// Hold counts a connection (conn) or a request in progress on e; the
// holder must Release it. An entry held is never evicted.
func (sh *Shard) Hold(e *Entry, conn bool) {
	if conn {
		e.conns++
	} else {
		e.reqs++
	}
	sh.touch(e)
}

// Release ends a Hold.
func (sh *Shard) Release(e *Entry, conn bool) {
	if conn {
		e.conns--
	} else {
		e.reqs--
	}
	sh.touch(e)
}

// Over reports whether e, with the request just counted, is over one of
// the table's limits at now, and how many seconds the client should wait
// before trying again (Retry-After, at least 1).
func (sh *Shard) Over(e *Entry, now int64) (bool, int) {
	s := &sh.t.spec
	if s.Redis != nil && s.Redis.FailClosed && sh.t.redisDown.Load() {
		sh.c.over.Add(1)
		return true, 1
	}
	wait := time.Duration(0)
	over := false
	start := e.period * int64(s.Window)
	if s.Rate > 0 {
		if w, ok := rateWait(e.req+e.oreq, e.reqPrev+e.oreqPrev, s.Rate, now-start, s.Window); !ok {
			over, wait = true, max(wait, w)
		}
	}
	if s.BytesRate > 0 {
		if w, ok := rateWait(e.byt+e.obyt, e.bytPrev+e.obytPrev, s.BytesRate, now-start, s.Window); !ok {
			over, wait = true, max(wait, w)
		}
	}
	if s.Conns > 0 && int64(e.conns+e.oconns) > s.Conns || s.Requests > 0 && int64(e.reqs+e.oreqs) > s.Requests {
		over = true
	}
	if !over {
		return false, 0
	}
	sh.c.over.Add(1)
	return true, max(1, int(math.Ceil(wait.Seconds())))
}

// rateWait reads a sliding-window rate: cur events in the current period,
// prev in the one before, elapsed into the current one. It reports whether
// the rate is within limit and, if not, how long until it is.
func rateWait(cur, prev, limit int64, elapsed int64, window time.Duration) (time.Duration, bool) {
	w := float64(window)
	left := 1 - float64(elapsed)/w // the share of the previous period still in the window
	if float64(cur)+float64(prev)*left <= float64(limit) {
		return 0, true
	}
	if cur > limit {
		// Only the next period can bring it down: there, cur is the
		// previous period, weighted by 1 - x/w.
		return time.Duration(w - float64(elapsed) + w*(1-float64(limit)/float64(cur))), false
	}
	// prev*(1 - e/w) <= limit - cur once e >= w*(1 - (limit-cur)/prev).
	return time.Duration(w*(1-float64(limit-cur)/float64(prev)) - float64(elapsed)), false
}
