package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lb-proxy/lb/config"
	"github.com/rs/zerolog"
)

// defaultMaxQueue bounds a backend's waiters when Options.MaxQueue is 0.
const defaultMaxQueue = 4096

// Options are the process-level dependencies of a Backend.
type Options struct {
	// Logger receives structured events: server state changes
	// ("server_state"), backend availability ("backend_state") and, at debug
	// level, intermediate health steps ("health_check"). The zero Logger
	// discards everything.
	Logger zerolog.Logger
	// MaxQueue bounds the waiters queued in this backend (its own queue plus
	// all its servers' queues); over it Acquire returns ErrQueueFull. The
	// caller passes global.maxconn. 0 means 4096; negative is an error.
	MaxQueue int
	// Dial opens health-check connections. nil means a zero net.Dialer's
	// DialContext. The context carries the check timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Backend is one configured backend: its servers, balance policy, queues
// and health checks. Build it with New; its methods are safe for concurrent
// use unless stated otherwise.
type Backend struct {
	name          string
	balance       string
	hashType      string // "map-based" or "consistent"; immutable
	hashFactor    int    // consistent hashing's balance factor; immutable
	deterministic bool   // policy is a hash: queue on the chosen server
	maxQueue      int64
	log           zerolog.Logger
	checks        *checkConfig // nil: no health checks, servers always UP

	mu sync.Mutex
	// servers, actives and backups list the servers in declaration order
	// (servers added at run time last): all, the non-backup ones, the backup
	// ones. Owned by mu and copy-on-write: AddServer and RemoveServer
	// replace the slices, never edit them, and publish servers in list for
	// the readers that do not lock.
	servers []*Server
	// runtime is what the runtime API changed (weights, added and removed
	// servers), for the next generation to keep (InheritState). Guarded by
	// mu.
	runtime   runtimeChanges
	actives   []*Server
	backups   []*Server
	list      atomic.Pointer[[]*Server] // the current servers; read without mu
	policy    policy                    // owned by mu
	queue     waitQueue                 // backend-wide queue; owned by mu
	seq       uint64                    // waiter arrival counter; owned by mu
	cands     []*Server                 // scratch for tierLocked; owned by mu
	free      []*Server                 // scratch for freeLocked; owned by mu
	hadUsable bool                      // some server was usable at the last change; owned by mu

	run struct {
		mu      sync.Mutex // guards the fields below; never held with Backend.mu
		started bool
		ctx     context.Context // parent of the checkers' contexts; nil unless running
		cancel  context.CancelFunc
		wg      sync.WaitGroup // one per checker goroutine
	}

	counters BackendCounters
}

// BackendCounters are a backend's metrics. Package backend writes them,
// except Retries, Redispatches, the HTTP counters and the timer histograms,
// which the session writes; everyone else only reads them.
type BackendCounters struct {
	// SessionsTotal counts slots reserved on any server of the backend.
	// atomic: written by Acquire and queue dispatch under Backend.mu; read by
	// the metrics collector.
	SessionsTotal atomic.Uint64
	// ConnectErrors counts ConnFailed calls on any server of the backend.
	// atomic: written by ConnFailed; read by the metrics collector.
	ConnectErrors atomic.Uint64
	// QueueCurrent is the number of queued waiters (backend queue and all
	// server queues). atomic: written under Backend.mu; read without it by
	// Release (to skip dispatching when nothing waits) and by the metrics
	// collector.
	QueueCurrent atomic.Int64
	// QueueMax is the highest QueueCurrent seen. atomic: written under
	// Backend.mu; read by the metrics collector.
	QueueMax atomic.Int64
	// QueueFull counts Acquire calls refused with ErrQueueFull. atomic:
	// written by Acquire; read by the metrics collector.
	QueueFull atomic.Uint64
	// NoServer counts Acquire calls refused with ErrNoServer. atomic:
	// written by Acquire; read by the metrics collector.
	NoServer atomic.Uint64
	// BytesIn and BytesOut count the bytes of the backend's transactions
	// (client to server, server to client), as their log lines do.
	// atomic: written by the session at each transaction's end; read by
	// the metrics collector.
	BytesIn, BytesOut atomic.Uint64
	// ClientAborts and ServerAborts count transactions cut by the client
	// or the server once data flowed (HAProxy's cli_abrt, srv_abrt);
	// ResponseErrors those whose server sent no valid response (HAProxy's
	// eresp). atomic: written by the session; read by the metrics
	// collector.
	ClientAborts, ServerAborts, ResponseErrors atomic.Uint64
	// SessionRate is the rate of transactions given a server.
	SessionRate Rate
	// Retries counts connect retries on the same server (HAProxy's
	// "wretr"). atomic: written by the session; read by the metrics
	// collector.
	Retries atomic.Uint64
	// Redispatches counts retries moved to another server (HAProxy's
	// "wredis"). atomic: written by the session; read by the metrics
	// collector.
	Redispatches atomic.Uint64
	// Downs counts the times the backend lost its last usable server
	// (HAProxy's backend "chkdown"). atomic: written under Backend.mu; read
	// by the metrics collector.
	Downs atomic.Uint64
	// HTTPRequests counts HTTP requests sent to the backend's servers (HTTP
	// mode). atomic: written by the session; read by the metrics collector.
	HTTPRequests atomic.Uint64
	// HTTPResponses counts the HTTP responses the backend's servers sent,
	// by status class. Written by the session; read by the metrics
	// collector.
	HTTPResponses ResponseCodes

	// The timer histograms, HAProxy's log timers per session (or
	// transaction in HTTP mode). The session observes each phase that
	// completed, in both the backend's and the chosen server's counters, and
	// skips phases that never happened (-1 in the log). Lock-free; read by
	// the metrics collector.

	// QueueTime is Tw: time spent waiting for a slot, 0 when none was
	// needed. Sessions that gave up in the queue (sQ) count here too.
	QueueTime Histogram
	// ConnectTime is Tc: the TCP connect to the server, retries included.
	ConnectTime Histogram
	// ResponseTime is Tr: from the request sent to the complete response
	// head (HTTP mode only).
	ResponseTime Histogram
	// TotalTime is Tt (TCP) or Ta (HTTP): the whole session or transaction.
	TotalTime Histogram
}

// New builds a Backend from an already defaulted cfg. It validates what it
// relies on and reports every problem at once (errors.Join), each prefixed
// "backend: NAME: ". Health checks do not run until Start. Servers start UP
// (HAProxy: "UP but will fall down at the first failed check").
func New(cfg *config.Backend, opts Options) (*Backend, error) {
	if cfg == nil {
		return nil, errors.New("backend: nil config")
	}
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("backend: %s: "+format, append([]any{cfg.Name}, a...)...))
	}
	if opts.MaxQueue < 0 {
		fail("negative MaxQueue %d", opts.MaxQueue)
	}
	b := &Backend{
		name:     cfg.Name,
		balance:  cfg.Balance,
		maxQueue: int64(opts.MaxQueue),
		log:      opts.Logger,
	}
	if b.maxQueue == 0 {
		b.maxQueue = defaultMaxQueue
	}
	seen := make(map[string]bool, len(cfg.Server))
	for i, sc := range cfg.Server {
		if sc == nil {
			fail("server #%d: nil", i)
			continue
		}
		switch {
		case sc.Name == "":
			fail("server #%d: empty name", i)
		case seen[sc.Name]:
			fail("server %q: duplicate name", sc.Name)
		}
		seen[sc.Name] = true
		for _, p := range checkServer(sc) {
			fail("server %q: %s", sc.Name, p)
		}
		s := b.newServer(sc)
		s.idx = len(b.servers)
		b.servers = append(b.servers, s)
		if s.backup {
			b.backups = append(b.backups, s)
		} else {
			b.actives = append(b.actives, s)
		}
	}
	list := b.servers
	b.list.Store(&list)
	b.hashType, b.hashFactor = cfg.HashType, cfg.HashBalanceFactor
	p, det, err := newPolicy(cfg.Balance, b.servers, b.hashType, b.hashFactor)
	if err != nil {
		fail("%v", err)
	}
	b.policy, b.deterministic = p, det
	if cfg.Health != nil {
		var herrs []error
		b.checks, herrs = newCheckConfig(cfg.Health, opts.Dial)
		for _, err := range herrs {
			fail("health: %v", err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, s := range b.servers {
		b.initHealth(s)
	}
	b.cands = make([]*Server, 0, len(b.servers))
	b.free = make([]*Server, 0, len(b.servers))
	b.hadUsable = len(b.servers) > 0
	return b, nil
}

// Name returns the backend's configured name. Immutable.
func (b *Backend) Name() string { return b.name }

// Balance returns the configured balance algorithm. Immutable.
func (b *Backend) Balance() string { return b.balance }

// Servers returns the servers in declaration order, those added at run time
// last. The slice is a fresh copy the caller may keep; the *Server values
// are shared. Lock-free; a concurrent AddServer or RemoveServer may or may
// not be reflected.
func (b *Backend) Servers() []*Server { return append([]*Server(nil), *b.list.Load()...) }

// Server returns the server named name, or nil. Lock-free.
func (b *Backend) Server(name string) *Server {
	for _, s := range *b.list.Load() {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Counters returns the backend's metrics. The pointer lives as long as the
// Backend; callers only read it.
func (b *Backend) Counters() *BackendCounters { return &b.counters }

// Acquire picks a server for a new session and reserves a slot on it.
//
// key is a hash of the client source address (balance source) or of the
// URI / header (uri, hdr:NAME); other policies ignore it. exclude, which may
// be nil, is a server to avoid whenever another one can be chosen
// (redispatch after failed connects). w is the caller's Waiter, used only if
// the session has to wait; it may be nil if the caller cannot wait.
//
// Servers are considered in tiers: the active servers that are usable (UP,
// Ready, weight > 0), or, when there is none, the usable backup servers. It
// returns:
//   - (srv, nil): a slot is reserved on srv; the caller must Release it.
//   - (nil, ErrNoServer): no server is usable at all.
//   - (nil, ErrQueued): every usable server is at maxconn, or older waiters
//     are ahead. w is queued (FIFO) and w.Ready will be called exactly once,
//     from another goroutine, with a slot already reserved, unless Cancel(w)
//     returns true first. Hash policies (source, uri, hdr) queue on the
//     chosen server; the others on the backend queue, served by whichever
//     server frees a slot first.
//   - (nil, ErrQueueFull): a wait was needed but MaxQueue waiters are
//     already queued.
//   - (nil, ErrWouldQueue): a wait was needed and w is nil.
//
// Preconditions: w, if not nil, is not queued already, and its Ready is
// set. Safe for concurrent use; allocation-free.
func (b *Backend) Acquire(key uint64, exclude *Server, w *Waiter) (*Server, error) {
	b.mu.Lock()
	tier := b.tierLocked()
	if len(tier) == 0 {
		b.mu.Unlock()
		b.counters.NoServer.Add(1)
		return nil, ErrNoServer
	}
	var q *waitQueue
	if b.deterministic {
		s := b.policy.pick(avoid(tier, exclude), key)
		if s.queue.n == 0 && s.hasFreeSlot() {
			b.reserveLocked(s)
			b.mu.Unlock()
			return s, nil
		}
		q = &s.queue
	} else {
		if b.queue.n == 0 {
			if free := b.freeLocked(tier, exclude); len(free) > 0 {
				s := b.policy.pick(free, key)
				b.reserveLocked(s)
				b.mu.Unlock()
				return s, nil
			}
		}
		q = &b.queue
	}
	if w == nil {
		b.mu.Unlock()
		return nil, ErrWouldQueue
	}
	if b.counters.QueueCurrent.Load() >= b.maxQueue {
		b.mu.Unlock()
		b.counters.QueueFull.Add(1)
		return nil, ErrQueueFull
	}
	if w.q != nil {
		b.mu.Unlock()
		panic("backend: Acquire with a Waiter that is already queued")
	}
	w.key, w.exclude, w.srv = key, exclude, nil
	b.seq++
	w.seq = b.seq
	w.due = time.Now().UnixNano() + int64(w.Offset)
	b.enqueueLocked(q, w)
	// A Release that ran since we looked at the slots may have seen an
	// empty queue and skipped dispatching: dispatch now (see Release).
	ready, got := b.dispatchLocked(w)
	b.mu.Unlock()
	callReady(ready)
	if got != nil {
		return got, nil
	}
	return nil, ErrQueued
}

// Cancel removes w from its queue (the session's queue timeout expired or
// its client left). It returns true if w was still queued: Ready will then
// never be called. It returns false if w was not queued: either Ready has
// been called, or it is being called and the caller must expect it and
// Release the slot it brings. Precondition: w was passed to this Backend's
// Acquire (or never queued). Safe for concurrent use.
func (b *Backend) Cancel(w *Waiter) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.q == nil {
		return false
	}
	b.dequeueLocked(w)
	return true
}

// tierLocked returns the usable servers of the serving tier, in
// declaration order: the usable actives, or the usable backups when no
// active is usable. Slot fullness is ignored. The slice is b.cands, valid
// until the next call.
func (b *Backend) tierLocked() []*Server {
	c := b.cands[:0]
	for _, s := range b.actives {
		if s.usable() {
			c = append(c, s)
		}
	}
	if len(c) == 0 {
		for _, s := range b.backups {
			if s.usable() {
				c = append(c, s)
			}
		}
	}
	b.cands = c
	return c
}

// freeLocked returns the servers of tier with a free slot, without exclude
// unless it is the only one. The slice is b.free, valid until the next call.
func (b *Backend) freeLocked(tier []*Server, exclude *Server) []*Server {
	f := b.free[:0]
	for _, s := range tier {
		if s.hasFreeSlot() {
			f = append(f, s)
		}
	}
	b.free = f
	return avoid(f, exclude)
}

// avoid removes exclude from list, in place, when list holds another server.
func avoid(list []*Server, exclude *Server) []*Server {
	if exclude == nil || len(list) < 2 {
		return list
	}
	for i, s := range list {
		if s == exclude {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// reserveLocked takes one slot on s. The lock makes check-then-reserve
// atomic, so maxconn is never exceeded.
func (b *Backend) reserveLocked(s *Server) {
	s.cur.Add(1)
	s.counters.SessionsTotal.Add(1)
	b.counters.SessionsTotal.Add(1)
}

// enqueueLocked appends w to q and updates the queue counters.
func (b *Backend) enqueueLocked(q *waitQueue, w *Waiter) {
	n := b.counters.QueueCurrent.Add(1)
	if n > b.counters.QueueMax.Load() {
		b.counters.QueueMax.Store(n)
	}
	if s := q.srv; s != nil {
		n := s.counters.QueueCurrent.Add(1)
		if n > s.counters.QueueMax.Load() {
			s.counters.QueueMax.Store(n)
		}
	}
	q.pushLocked(w)
}

// dequeueLocked removes w from its queue and updates the queue counters.
func (b *Backend) dequeueLocked(w *Waiter) {
	q := w.q
	q.removeLocked(w)
	if q.srv != nil {
		q.srv.counters.QueueCurrent.Add(-1)
	}
	b.counters.QueueCurrent.Add(-1)
}

// dispatchLocked serves queued waiters while slots are free: each server's
// own queue first, then the backend queue in arrival order, choosing among
// the free servers of the serving tier with the policy. Waiters queued on a
// server that is no longer in the serving tier (DOWN, MAINT, DRAIN, weight
// 0, or a backup while an active is back) move to the backend queue, in
// arrival order, to be served by any server.
//
// It returns the served waiters linked through next, each with its srv set
// and a slot reserved, for callReady once the lock is released; self, if it
// is served, is left out of that list and its server returned instead.
func (b *Backend) dispatchLocked(self *Waiter) (ready *Waiter, selfSrv *Server) {
	if b.counters.QueueCurrent.Load() == 0 {
		return nil, nil
	}
	var tail *Waiter
	hand := func(w *Waiter, s *Server) {
		b.dequeueLocked(w)
		b.reserveLocked(s)
		if w == self {
			selfSrv = s
			return
		}
		w.srv = s
		if tail == nil {
			ready = w
		} else {
			tail.next = w
		}
		tail = w
	}
	tier := b.tierLocked()
	if b.deterministic {
		activeUp := len(tier) > 0 && !tier[0].backup
		for _, s := range b.servers {
			if s.queue.n == 0 {
				continue
			}
			if !s.usable() || s.backup == activeUp {
				s.counters.QueueCurrent.Add(-int64(s.queue.n))
				b.queue.mergeLocked(&s.queue)
				continue
			}
			for s.queue.n > 0 && s.hasFreeSlot() {
				hand(s.queue.head, s)
			}
		}
	}
	for b.queue.n > 0 {
		w := b.queue.head
		free := b.freeLocked(tier, w.exclude)
		if len(free) == 0 {
			break
		}
		hand(w, b.policy.pick(free, w.key))
	}
	return ready, selfSrv
}

// callReady calls Ready for each waiter of a list built by dispatchLocked.
// Called without the lock. Each waiter is detached before its Ready runs,
// since Ready may reuse it at once.
func callReady(w *Waiter) {
	for w != nil {
		next, s := w.next, w.srv
		w.next, w.srv = nil, nil
		w.Ready(s)
		w = next
	}
}

// stateEvent is a state change noted under the lock and logged after it.
type stateEvent struct {
	srv      *Server // nil: the server's State did not change
	from, to State
	reason   string
	check    CheckStatus
	health   int
	usable   int // +1: the backend has a usable server again; -1: none left
}

// changedLocked notes a possible change of s's State (from is the State
// before the change) and of the backend's availability, for logChange.
func (b *Backend) changedLocked(s *Server, from State, reason string) stateEvent {
	var ev stateEvent
	if to := s.State(); to != from {
		ev = stateEvent{
			srv: s, from: from, to: to, reason: reason,
			check:  CheckStatus(s.counters.CheckStatus.Load()),
			health: s.health,
		}
		s.stampLocked(time.Now())
	}
	has := len(b.tierLocked()) > 0
	if has != b.hadUsable {
		b.hadUsable = has
		ev.usable = -1
		if has {
			ev.usable = 1
		} else {
			b.counters.Downs.Add(1)
		}
	}
	return ev
}

// logChange writes the events noted by changedLocked. Called without the
// lock.
func (b *Backend) logChange(ev stateEvent) {
	if s := ev.srv; s != nil {
		lvl := zerolog.InfoLevel
		if ev.to == StateDown {
			lvl = zerolog.WarnLevel
		}
		e := b.log.WithLevel(lvl).
			Str("event", "server_state").
			Str("backend", b.name).
			Str("server", s.name).
			Str("from", ev.from.String()).
			Str("to", ev.to.String()).
			Str("reason", ev.reason).
			Str("check_status", ev.check.String())
		if c := b.checks; c != nil {
			e = e.Str("health", healthString(ev.health, c))
		}
		e.Msg("server state changed")
	}
	switch ev.usable {
	case -1:
		b.log.Error().Str("event", "backend_state").Str("backend", b.name).
			Str("to", "DOWN").Msg("backend has no server available")
	case 1:
		b.log.Info().Str("event", "backend_state").Str("backend", b.name).
			Str("to", "UP").Msg("backend has a server available again")
	}
}

// healthString renders the check counter as HAProxy's stats do: "n/rise"
// while DOWN, "n/fall" counted from the top while UP.
func healthString(health int, c *checkConfig) string {
	if health < c.rise {
		return fmt.Sprintf("DOWN %d/%d", health, c.rise)
	}
	return fmt.Sprintf("UP %d/%d", health-c.rise+1, c.fall)
}
