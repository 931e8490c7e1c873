package session

import "github.com/lb-proxy/lb/backend"

// Server connection reuse.
//
// Each event loop keeps the idle keep-alive connections its sessions had to
// servers, per server, and lends them to later transactions on the same
// loop (a connection can only be driven by its loop). Lending follows
// HAProxy's "http-reuse safe", a little better: a session's first request
// gets a pooled connection only when it is idempotent and has no body, and
// if that connection turns out dead before any response byte the request
// is sent again on a new connection instead of failing (HAProxy's users see
// SH 502s there). Pools are bounded per server and drop connections idle
// longer than poolIdle.

const (
	poolPerServer = 64         // idle connections kept per server and loop
	poolIdle      = int64(5e9) // drop an idle connection after 5s (HAProxy's pool-purge-delay)
)

// idlePool is one loop's pool. Owned by that loop.
type idlePool struct {
	conns map[*backend.Server][]*idleConn
	env   *Env
}

// idleConn is a pooled connection; it is the connection's LoopHandler while
// pooled.
type idleConn struct {
	pool  *idlePool
	srv   *backend.Server
	c     LoopConn
	l     Loop
	since int64
	gone  bool
}

// poolFor returns the pool of loop l.
func (e *Env) poolFor(l Loop) *idlePool {
	if p, ok := e.pools.Load(l); ok {
		return p.(*idlePool)
	}
	p, _ := e.pools.LoadOrStore(l, &idlePool{conns: map[*backend.Server][]*idleConn{}, env: e})
	return p.(*idlePool)
}

// put pools c (a healthy idle connection to srv); false when full.
func (p *idlePool) put(srv *backend.Server, c LoopConn, l Loop, now int64) bool {
	list := p.conns[srv]
	if len(list) >= poolPerServer {
		return false
	}
	ic := &idleConn{pool: p, srv: srv, c: c, l: l, since: now}
	c.SetContext(ic)
	p.conns[srv] = append(list, ic)
	p.env.idle.Add(1)
	return true
}

// get lends the most recently pooled live connection to srv, or nil.
func (p *idlePool) get(srv *backend.Server, now int64) *idleConn {
	list := p.conns[srv]
	for len(list) > 0 {
		ic := list[len(list)-1]
		list = list[:len(list)-1]
		p.env.idle.Add(-1)
		if now-ic.since < poolIdle {
			p.conns[srv] = list
			return ic
		}
		ic.gone = true
		ic.l.CloseNow(ic.c)
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
			p.env.idle.Add(-1)
			return
		}
	}
}

// OnOpen implements LoopHandler (not used: pooled connections are open).
func (ic *idleConn) OnOpen(LoopConn, Loop) bool { return false }

// OnTraffic: an idle server that talks is not usable; close it.
func (ic *idleConn) OnTraffic(LoopConn) bool {
	ic.pool.remove(ic)
	return true
}

// OnClose: the server closed an idle connection.
func (ic *idleConn) OnClose(LoopConn, error) { ic.pool.remove(ic) }

// IdleConns returns the idle server connections pooled (metrics).
func (e *Env) IdleConns() int64 { return e.idle.Load() }

// ClosePools closes every idle server connection this Env pooled (when its
// generation retires).
func (e *Env) ClosePools() {
	e.pools.Range(func(k, v any) bool {
		p, l := v.(*idlePool), k.(Loop)
		_ = l.Execute(func() {
			for srv, list := range p.conns {
				for _, ic := range list {
					if !ic.gone {
						ic.gone = true
						p.env.idle.Add(-1)
						ic.l.CloseNow(ic.c)
					}
				}
				delete(p.conns, srv)
			}
		})
		return true
	})
}
