package session

import (
	"time"

	"github.com/lb-proxy/lb/backend"
)

// Server connection reuse.
//
// Each event loop keeps the idle keep-alive connections its sessions had to
// servers, per server, and lends them to later transactions on the same
// loop (a connection can only be driven by its loop). Lending follows
// HAProxy's "http-reuse safe", a little better: a session's first request
// gets a pooled connection only when it is idempotent and has no body, and
// if that connection turns out dead before any response byte the request
// is sent again on a new connection instead of failing (HAProxy's users see
// SH 502s there). Pools are bounded per server (the backend's
// pool_max_conn) and purged: a timer per pool closes connections idle for
// pool_purge_delay, whether or not anything asks for one.

// defaultPoolIdle is pool_purge_delay for a Config built in Go.
const defaultPoolIdle = 5 * time.Second

// idlePool is one loop's pool. Owned by that loop.
type idlePool struct {
	conns map[*backend.Server][]*idleConn
	env   *Env
	loop  Loop
	armed bool // a purge is scheduled
	// free recycles the idleConns of connections lent out or closed by
	// the pool (no callback can reach them any more); at most the pooled
	// connections' number.
	free []*idleConn
}

// idleConn is a pooled connection; it is the connection's LoopHandler while
// pooled.
type idleConn struct {
	pool  *idlePool
	srv   *backend.Server
	c     LoopConn
	l     Loop
	until int64 // unix ns: closed by the purge from then on
	gone  bool
}

// poolFor returns the pool of loop l.
func (e *Env) poolFor(l Loop) *idlePool { return &e.localFor(l).pool }

// put pools c (a healthy idle connection to srv) for idle at most, within
// max per server; false when full (or max is 0).
func (p *idlePool) put(srv *backend.Server, c LoopConn, l Loop, now int64, max int, idle time.Duration) bool {
	list := p.conns[srv]
	if len(list) >= max {
		return false
	}
	if idle <= 0 {
		idle = defaultPoolIdle
	}
	var ic *idleConn
	if n := len(p.free); n > 0 {
		ic = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		ic = new(idleConn)
	}
	*ic = idleConn{pool: p, srv: srv, c: c, l: l, until: now + int64(idle)}
	c.SetContext(ic)
	p.conns[srv] = append(list, ic)
	p.env.idle.Add(1)
	if !p.armed {
		p.arm(idle)
	}
	return true
}

// arm schedules a purge on the pool's loop after d.
func (p *idlePool) arm(d time.Duration) {
	p.armed = true
	p.env.Clock.AfterFunc(d, func() {
		_ = p.loop.Execute(p.purge) // fails only once the loop and its connections are gone
	})
}

// purge closes the connections whose idle time is up and schedules the
// next purge for the earliest of the others. Loop only.
func (p *idlePool) purge() {
	p.armed = false
	now := p.env.Clock.Now().UnixNano()
	next := int64(0)
	for srv, list := range p.conns {
		keep := list[:0]
		for _, ic := range list {
			if now >= ic.until {
				p.drop(ic)
				continue
			}
			keep = append(keep, ic)
			if next == 0 || ic.until < next {
				next = ic.until
			}
		}
		clear(list[len(keep):])
		if len(keep) == 0 {
			delete(p.conns, srv)
		} else {
			p.conns[srv] = keep
		}
	}
	if next != 0 {
		p.arm(time.Duration(next - now))
	}
}

// drop closes a pooled connection that left its list.
func (p *idlePool) drop(ic *idleConn) {
	ic.gone = true
	p.env.idle.Add(-1)
	ic.l.CloseNow(rawLoopConn(ic.c)) // its OnClose runs now: nothing refers to ic after
	p.recycle(ic)
}

// recycle keeps ic for the next put; the caller guarantees no loop
// connection has it as its handler any more.
func (p *idlePool) recycle(ic *idleConn) {
	*ic = idleConn{}
	if len(p.free) < 64 {
		p.free = append(p.free, ic)
	}
}

// get lends the most recently pooled live connection to srv, or nil; the
// caller makes itself the connection's handler (SetContext) before the
// loop runs anything else.
func (p *idlePool) get(srv *backend.Server, now int64) LoopConn {
	list := p.conns[srv]
	for len(list) > 0 {
		ic := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if now < ic.until {
			p.conns[srv] = list
			p.env.idle.Add(-1)
			c := ic.c
			p.recycle(ic)
			return c
		}
		p.drop(ic)
	}
	p.conns[srv] = list
	return nil
}

func (p *idlePool) remove(ic *idleConn) {
	if ic.gone {
		return
	}
	ic.gone = true
	list := p.conns[ic.srv]
	for i, x := range list {
		if x == ic {
			p.conns[ic.srv] = append(list[:i], list[i+1:]...)
			list[len(list)-1] = nil
			p.env.idle.Add(-1)
			return
		}
	}
}

// OnOpen implements LoopHandler (not used: pooled connections are open).
func (ic *idleConn) OnOpen(LoopConn, Loop) bool { return false }

// OnTraffic: an idle server that talks is not usable; close it. A TLS
// server may still send post-handshake messages (TLS 1.3 session
// tickets): those are taken in, and only data, an alert or a bad record
// closes it.
func (ic *idleConn) OnTraffic(LoopConn) bool {
	if w, ok := ic.c.(*tlsLoop); ok {
		if err := w.decrypt(); err == nil && !w.eof && w.InboundBuffered() == 0 {
			return false
		}
	}
	ic.pool.remove(ic)
	return true
}

// OnClose: the server closed an idle connection.
func (ic *idleConn) OnClose(LoopConn, error) { ic.pool.remove(ic) }

// poolAdopt is the handler of an idle server connection coming back onto
// a loop after a transaction on the pumps: its OnOpen pools it (or closes
// it when the pool is full).
type poolAdopt struct {
	env  *Env
	srv  *backend.Server
	max  int
	idle time.Duration
	st   *tlsState // a TLS server connection's
}

// OnOpen implements LoopHandler.
func (h *poolAdopt) OnOpen(c LoopConn, l Loop) bool {
	if h.st != nil {
		c = &tlsLoop{LoopConn: c, st: h.st}
	}
	return !h.env.poolFor(l).put(h.srv, c, l, h.env.Clock.Now().UnixNano(), h.max, h.idle)
}

// OnTraffic and OnClose cannot come before OnOpen hands the connection
// to the pool (its handler from then on).
func (h *poolAdopt) OnTraffic(LoopConn) bool { return true }
func (h *poolAdopt) OnClose(LoopConn, error) {}

// IdleConns returns the idle server connections pooled (metrics).
func (e *Env) IdleConns() int64 { return e.idle.Load() }

// ClosePools closes every idle server connection this Env pooled (when its
// generation retires).
func (e *Env) ClosePools() {
	e.locals.Range(func(k, v any) bool {
		p, l := &v.(*local).pool, k.(Loop)
		_ = l.Execute(func() {
			for srv, list := range p.conns {
				for _, ic := range list {
					if !ic.gone {
						p.drop(ic)
					}
				}
				delete(p.conns, srv)
			}
		})
		return true
	})
}
