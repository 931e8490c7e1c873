package backend

import (
	"context"
	"sync/atomic"
	"time"
)

// maxWeight is HAProxy's maximum server weight.
const maxWeight = 256

// Server is one server of a Backend. Its methods are safe for concurrent
// use. A *Server lives as long as its Backend; sessions may keep it while
// they hold a slot on it. Once RemoveServer has taken it out (which needs it
// idle) it stays readable but takes no session and ignores admin changes.
type Server struct {
	b       *Backend
	idx     int // index in b.servers; owned by b.mu (renumbered on removals)
	name    string
	addr    string
	backup  bool
	maxConn int64 // 0 = unlimited; immutable
	proxy   int   // PROXY protocol version sent to it (0: none); immutable

	// cur counts reserved slots. atomic: incremented under b.mu only (so a
	// check-then-reserve never overshoots maxConn), decremented by Release
	// without the lock.
	cur atomic.Int64
	// weight is 0..256. atomic: written by SetWeight under b.mu, read by the
	// policies under b.mu and by State without it.
	weight atomic.Int32
	// admin is an Admin. atomic: written by SetAdmin under b.mu, read
	// anywhere.
	admin atomic.Uint32
	// down is the health state (true = DOWN). atomic: written under b.mu by
	// the checker and SetAdmin, read anywhere.
	down atomic.Bool

	// health is HAProxy's check counter, 0..rise+fall-1, UP while >= rise.
	// Owned by b.mu.
	health int
	// queue holds waiters bound to this server (deterministic policies).
	// Owned by b.mu.
	queue waitQueue
	// kick wakes the checker for an immediate check (leaving MAINT).
	// Buffered (1); sends never block.
	kick chan struct{}
	// removed is set, under b.mu, when RemoveServer takes s out of the
	// backend; it is never cleared. atomic: read by the admin setters and
	// when starting a checker.
	removed atomic.Bool
	// checkCancel stops s's health checker and checkDone is closed when
	// the checker has returned; both nil while no checker runs. Guarded by
	// b.run.mu.
	checkCancel context.CancelFunc
	checkDone   chan struct{}

	counters ServerCounters
}

// ServerCounters are a server's metrics. Package backend writes them,
// except HTTPResponses and the timer histograms, which the session writes;
// everyone else only reads them.
type ServerCounters struct {
	// SessionsTotal counts slots reserved on this server, directly by
	// Acquire or from a queue. atomic: written under Backend.mu; read by the
	// metrics collector.
	SessionsTotal atomic.Uint64
	// ConnectErrors counts failed connects reported by the session.
	// atomic: written by ConnFailed; read by the metrics collector.
	ConnectErrors atomic.Uint64
	// BytesIn and BytesOut count the bytes of the transactions that went
	// to this server, as their log lines do. atomic: written by the
	// session at each transaction's end; read by the metrics collector.
	BytesIn, BytesOut atomic.Uint64
	// ClientAborts, ServerAborts, ResponseErrors: as the backend's.
	// Retries counts connect retries on this server (HAProxy's wretr).
	// atomic: written by the session; read by the metrics collector.
	ClientAborts, ServerAborts, ResponseErrors, Retries atomic.Uint64
	// CheckDuration is the last health check's duration (ns); Downtime the
	// time spent DOWN by health (ns), the current spell (from DownSince,
	// unix ns, 0 when up) excluded. atomic: written by the checker; read
	// by the metrics collector.
	CheckDuration, Downtime, DownSince atomic.Int64
	// QueueCurrent is the number of waiters in this server's own queue
	// (hash policies only; the others queue on the backend). atomic: written
	// under Backend.mu; read by the metrics collector.
	QueueCurrent atomic.Int64
	// QueueMax is the highest QueueCurrent seen. atomic: written under
	// Backend.mu; read by the metrics collector.
	QueueMax atomic.Int64
	// Transitions counts health transitions, UP->DOWN and DOWN->UP.
	// atomic: written by the checker under Backend.mu; read by the metrics
	// collector.
	Transitions atomic.Uint64
	// Downs counts UP->DOWN health transitions only (HAProxy's "chkdown").
	// atomic: written by the checker under Backend.mu; read by the metrics
	// collector.
	Downs atomic.Uint64
	// ChecksFailed counts failed health checks. atomic: written by the
	// checker under Backend.mu; read by the metrics collector.
	ChecksFailed atomic.Uint64
	// CheckStatus is the CheckStatus of the last completed check (UNK
	// without checks, INI before the first). atomic: written by the checker
	// under Backend.mu; read by the metrics collector.
	CheckStatus atomic.Uint32
	// LastChange is the time of the last State change in Unix nanoseconds,
	// 0 if none since start (or, for a server added at run time, the time
	// it was added). atomic: written under Backend.mu; read by the metrics
	// collector.
	LastChange atomic.Int64

	// HTTPResponses counts the HTTP responses this server sent, by status
	// class. Written by the session; read by the metrics collector.
	HTTPResponses ResponseCodes

	// The timer histograms of the sessions served by this server; see
	// BackendCounters.QueueTime for each one's meaning. Written by the
	// session, lock-free; read by the metrics collector.
	QueueTime    Histogram
	ConnectTime  Histogram
	ResponseTime Histogram
	TotalTime    Histogram
}

// Name returns the configured name. Immutable.
func (s *Server) Name() string { return s.name }

// Addr returns the configured "host:port". Immutable.
func (s *Server) Addr() string { return s.addr }

// Backup reports whether this is a backup server. Immutable.
func (s *Server) Backup() bool { return s.backup }

// SendProxy returns the PROXY protocol version lb sends the server first
// on each connection: 1, 2, or 0 for none. Immutable.
func (s *Server) SendProxy() int { return s.proxy }

// MaxConn returns the configured slot limit; 0 means unlimited. Immutable.
func (s *Server) MaxConn() int64 { return s.maxConn }

// Current returns the number of slots in use (reserved and not yet
// released). Lock-free.
func (s *Server) Current() int64 { return s.cur.Load() }

// Weight returns the current weight (0..256). Lock-free.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// Admin returns the current admin state. Lock-free.
func (s *Server) Admin() Admin { return Admin(s.admin.Load()) }

// Counters returns the server's metrics. The pointer lives as long as the
// Server; callers only read it.
func (s *Server) Counters() *ServerCounters { return &s.counters }

// State returns the server's state (see State for precedence). Lock-free;
// it may be stale by the time the caller looks at it.
func (s *Server) State() State {
	switch {
	case Admin(s.admin.Load()) == AdminMaint:
		return StateMaint
	case s.down.Load():
		return StateDown
	case Admin(s.admin.Load()) == AdminDrain || s.weight.Load() == 0:
		return StateDrain
	}
	return StateUp
}

// usable reports whether s may take new balanced sessions, ignoring
// slot fullness: health UP, admin Ready and weight > 0.
func (s *Server) usable() bool {
	return !s.down.Load() && Admin(s.admin.Load()) == AdminReady && s.weight.Load() > 0
}

// hasFreeSlot reports whether a slot can be reserved now.
func (s *Server) hasFreeSlot() bool {
	return s.maxConn == 0 || s.cur.Load() < s.maxConn
}

// SetAdmin sets the admin state. Drain stops new balanced sessions, Maint
// stops all new sessions and pauses health checks; established sessions are
// never touched. Leaving Maint with health checks configured restarts the
// health state as at process start and checks at once. Queued waiters that
// can now be served are served before SetAdmin returns (their Ready is called
// from this goroutine). Does nothing once s is removed (RemoveServer). Safe
// for concurrent use.
func (s *Server) SetAdmin(a Admin) {
	if a >= numAdmins {
		panic("backend: invalid Admin " + a.String())
	}
	s.change("admin set to "+a.String(), func() {
		old := Admin(s.admin.Swap(uint32(a)))
		if c := s.b.checks; old == AdminMaint && a != AdminMaint && c != nil {
			// As at process start: UP, but DOWN at the first failed check.
			s.health = c.rise
			s.down.Store(false)
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	})
}

// SetWeight sets the weight, clamped to 0..256. Weight 0 drains the server
// (no new balanced sessions). roundrobin, leastconn, random and the hash
// policies use the new weight at once; static-rr keeps the rotation built at
// start and only honours the move to or from 0. Does nothing once s is
// removed (RemoveServer). Safe for concurrent use.
func (s *Server) SetWeight(w int) {
	w = min(max(w, 0), maxWeight)
	s.change("weight set", func() {
		s.weight.Store(int32(w))
		s.b.runtime.noteWeight(s.name, w)
	})
}

// change is an admin change to s: f runs under the backend's lock (unless s
// was removed), then the state change is logged with why, and the waiters
// it made servable are served from this goroutine.
func (s *Server) change(why string, f func()) {
	b := s.b
	b.mu.Lock()
	if s.removed.Load() {
		b.mu.Unlock()
		return
	}
	from := s.State()
	f()
	ev := b.changedLocked(s, from, why)
	ready, _ := b.dispatchLocked(nil)
	b.mu.Unlock()
	b.logChange(ev)
	callReady(ready)
}

// Release frees one slot reserved by Acquire or handed over by Ready. When
// waiters are queued, the slot goes to the next one that this server (or,
// for the backend queue, any server now free) may serve, and its Ready is
// called from this goroutine. Safe for concurrent use; lock-free when nothing
// is queued. Precondition: the caller holds a slot on s; a Release without
// one panics, since it would corrupt maxconn accounting.
func (s *Server) Release() {
	if s.cur.Add(-1) < 0 {
		panic("backend: Release without a reserved slot on server " + s.name)
	}
	b := s.b
	// Pairs with Acquire, which bumps QueueCurrent and then re-reads the
	// slot counts (dispatchLocked); we decrement cur and then read
	// QueueCurrent. Both are sequentially consistent atomics, so either we
	// see the new waiter or Acquire sees our free slot.
	if b.counters.QueueCurrent.Load() == 0 {
		return
	}
	b.mu.Lock()
	ready, _ := b.dispatchLocked(nil)
	b.mu.Unlock()
	callReady(ready)
}

// ConnFailed records a failed connect attempt to s reported by the
// session. It only counts (metrics); it does not affect health. Lock-free.
func (s *Server) ConnFailed() {
	s.counters.ConnectErrors.Add(1)
	s.b.counters.ConnectErrors.Add(1)
}

// stampLocked records a state change time.
func (s *Server) stampLocked(now time.Time) { s.counters.LastChange.Store(now.UnixNano()) }
