package session

import (
	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/session/limit"
)

// Per-key limits: the session side of package limit. http_lb_req calls
// Track (the session is its analyzer.Limiter) for each rule with a limit
// whose conditions match; the request then holds its table entry until
// the transaction's log line (limitsTxnEnd), where its bytes are counted,
// and the session holds one connection on each entry of a table with a
// conns limit until it finishes (limitsEnd).

// maxTxnLimits bounds the table entries one transaction holds (config
// allows 8 rules with a limit per frontend).
const maxTxnLimits = 8

// limRef is a table entry a transaction or a session holds.
type limRef struct {
	sh *limit.Shard
	e  *limit.Entry
}

// sessionLimits are the connections a session holds on limit entries,
// made at its first (Session.lim).
type sessionLimits struct {
	conns [maxTxnLimits]limRef
	n     int
}

// shard returns the loop's shard of table i (made on first use).
func (lo *local) shard(tables []*limit.Table, i int) *limit.Shard {
	if lo.limits == nil {
		lo.limits = make([]*limit.Shard, len(tables))
	}
	sh := lo.limits[i]
	if sh == nil {
		sh = tables[i].ShardFor(lo.pool.loop, lo.pool.loop.Execute)
		lo.limits[i] = sh
	}
	return sh
}

// Track implements analyzer.Limiter, on the session's loop.
func (s *Session) Track(rl *analyzer.Rule, r *analyzer.Request, a *analyzer.Txn) (bool, int) {
	t := s.t
	sh := s.lo.shard(s.env.Limits, rl.Limit-1)
	now := s.now()
	for i := range t.nlims {
		if t.lims[i].sh == sh {
			// Another rule on the same table: the request counts once.
			return sh.Over(t.lims[i].e, now)
		}
	}
	if t.nlims == maxTxnLimits {
		return false, 0
	}
	key := s.limitKey(sh.Table().Spec(), r, a)
	if key == nil {
		return false, 0 // no such header: not tracked
	}
	e := sh.Get(key, now)
	if e == nil {
		return false, 0 // the table is full of entries in use (counted)
	}
	sh.Request(e)
	sh.Hold(e, false)
	t.lims[t.nlims] = limRef{sh, e}
	t.nlims++
	if sh.Table().Spec().Conns > 0 {
		s.holdConn(sh, e)
	}
	return sh.Over(e, now)
}

// limitKey returns the key of request r in a table, in the loop's scratch
// buffer (valid until the next call), or nil when it has none.
func (s *Session) limitKey(spec *limit.Spec, r *analyzer.Request, a *analyzer.Txn) []byte {
	b := s.lo.keyBuf[:0]
	switch spec.Key {
	case limit.KeySrc:
		ip := a.Src.As16()
		b = append(b, ip[:]...)
	case limit.KeyHeader:
		v, ok := r.Header(spec.Header)
		if !ok {
			return nil
		}
		b = append(b, v...)
	case limit.KeyBackend:
		b = append(b, s.fe.target(a.Route).BE.Name()...)
	}
	s.lo.keyBuf = b
	return b
}

// holdConn counts the session's connection on e once.
func (s *Session) holdConn(sh *limit.Shard, e *limit.Entry) {
	if s.lim == nil {
		s.lim = &sessionLimits{}
	}
	l := s.lim
	for i := range l.n {
		if l.conns[i].e == e {
			return
		}
	}
	if l.n < len(l.conns) {
		sh.Hold(e, true)
		l.conns[l.n] = limRef{sh, e}
		l.n++
	}
}

// limitsTxnEnd releases the transaction's entries, counting its bytes on
// them (the one place; newTxn and finish call it too, for transactions
// that end without a log line).
func (s *Session) limitsTxnEnd(t *txn) {
	if t.nlims == 0 {
		return
	}
	now := s.now()
	n := s.req.bytes + s.res.bytes
	for i := range t.nlims {
		r := &t.lims[i]
		if r.sh.Table().Spec().BytesRate > 0 {
			r.sh.Bytes(r.e, n, now)
		}
		r.sh.Release(r.e, false)
		*r = limRef{}
	}
	t.nlims = 0
}

// limitsEnd releases the session's connections on limit entries.
func (s *Session) limitsEnd() {
	if l := s.lim; l != nil {
		for i := range l.n {
			l.conns[i].sh.Release(l.conns[i].e, true)
		}
		s.lim = nil
	}
}
