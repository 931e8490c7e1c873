package backend

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// policy chooses one server among available candidates (Caddy's
// Selector). The backend calls pick with its lock held, so implementations
// keep unsynchronised state; they must not retain avail or allocate.
type policy interface {
	// pick returns one element of avail, which is non-empty, in declaration
	// order and holds only servers of the serving tier that may take the
	// session (for non-hash policies: with a free slot). key is Acquire's
	// key.
	pick(avail []*Server, key uint64) *Server
}

// newPolicy returns the policy for a balance name and whether it is
// deterministic (a hash: the same key must reach the same server, so a full
// server queues on itself rather than spill to another).
func newPolicy(balance string, servers []*Server, hashType string, factor int) (p policy, deterministic bool, err error) {
	if hashType == "consistent" && (balance == "source" || balance == "uri" || strings.HasPrefix(balance, "hdr:")) {
		return newHashRing(servers, factor), true, nil
	}
	switch balance {
	case "roundrobin":
		return &roundRobin{cw: make([]int64, len(servers))}, false, nil
	case "static-rr":
		return newStaticRR(servers), false, nil
	case "leastconn":
		return &leastConn{}, false, nil
	case "random":
		return randomTwo{}, false, nil
	case "first":
		return first{}, false, nil
	case "source", "uri":
		return hashMap{}, true, nil
	}
	if name, ok := strings.CutPrefix(balance, "hdr:"); ok && name != "" {
		return hashMap{}, true, nil
	}
	return nil, false, fmt.Errorf("unknown balance %q (want roundrobin, static-rr, leastconn, random, first, source, uri or hdr:NAME)", balance)
}

// roundRobin is nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer): each pick adds every candidate's weight to
// its current weight, takes the highest, and subtracts the total from it.
// Weights 5,1,1 give a a b a c a a. Weights are read at each pick, so
// SetWeight applies at once.
type roundRobin struct {
	cw []int64 // current weight by server index
}

func (p *roundRobin) pick(avail []*Server, _ uint64) *Server {
	var best *Server
	var total int64
	for _, s := range avail {
		w := int64(s.weight.Load())
		p.cw[s.idx] += w
		total += w
		if best == nil || p.cw[s.idx] > p.cw[best.idx] {
			best = s
		}
	}
	p.cw[best.idx] -= total
	return best
}

// staticRR is a weighted rotation computed once from the weights at start
// (interleaved by the smooth algorithm) and walked by a cursor, skipping
// servers that are not available. Later weight changes do not alter it
// (HAProxy static-rr); a server whose start weight was 0 is absent from the
// rotation and only picked when it is the only candidate.
type staticRR struct {
	servers []*Server
	sched   []int32  // server indexes, one entry per unit of start weight
	pos     int      // next entry of sched
	mark    []uint64 // mark[idx] == gen: server idx is in this pick's avail
	gen     uint64
}

func newStaticRR(servers []*Server) *staticRR {
	p := &staticRR{servers: servers, mark: make([]uint64, len(servers))}
	rr := roundRobin{cw: make([]int64, len(servers))}
	var weighted []*Server
	total := 0
	for _, s := range servers {
		if w := int(s.weight.Load()); w > 0 {
			weighted = append(weighted, s)
			total += w
		}
	}
	if total > 0 {
		p.sched = make([]int32, 0, total)
		for range total {
			p.sched = append(p.sched, int32(rr.pick(weighted, 0).idx))
		}
	}
	return p
}

func (p *staticRR) pick(avail []*Server, _ uint64) *Server {
	p.gen++
	for _, s := range avail {
		p.mark[s.idx] = p.gen
	}
	for range p.sched {
		idx := p.sched[p.pos]
		p.pos++
		if p.pos == len(p.sched) {
			p.pos = 0
		}
		if p.mark[idx] == p.gen {
			return p.servers[idx]
		}
	}
	return avail[0]
}

// leastConn picks the server with the lowest (current+1)/weight, as
// HAProxy's fwlc key does (the +1 makes an idle heavy server preferred to an
// idle light one). Ties go round robin: the scan starts one position later
// at each pick.
type leastConn struct {
	next uint
}

func (p *leastConn) pick(avail []*Server, _ uint64) *Server {
	n := uint(len(avail))
	start := p.next % n
	p.next++
	var best *Server
	var bc, bw int64
	for i := range n {
		s := avail[(start+i)%n]
		c, w := s.cur.Load()+1, int64(s.weight.Load())
		// c/w < bc/bw without division.
		if best == nil || c*bw < bc*w {
			best, bc, bw = s, c, w
		}
	}
	return best
}

// randomTwo is the power of two choices: two servers drawn at random in
// proportion to their weights, the one with fewer current sessions relative
// to its weight wins (the first drawn on a tie). HAProxy's default since 3.3
// ("random(2)").
type randomTwo struct{}

func (randomTwo) pick(avail []*Server, _ uint64) *Server {
	if len(avail) == 1 {
		return avail[0]
	}
	total := totalWeight(avail)
	a := weighted(avail, rand.Uint64N(total))
	b := weighted(avail, rand.Uint64N(total))
	if b.cur.Load()*int64(a.weight.Load()) < a.cur.Load()*int64(b.weight.Load()) {
		return b
	}
	return a
}

// first picks the lowest declaration index; avail holds only servers with
// a free slot, in declaration order (HAProxy "first": fill a server to its
// maxconn before using the next).
type first struct{}

func (first) pick(avail []*Server, _ uint64) *Server { return avail[0] }

// hashMap is HAProxy's map-based hashing for source, uri and hdr: the key,
// mixed, indexes the list of candidates where each appears weight times. Any
// change of the candidate set or weights remaps keys ("hash-type map-based").
type hashMap struct{}

func (hashMap) pick(avail []*Server, key uint64) *Server {
	return weighted(avail, mix64(key)%totalWeight(avail))
}

// totalWeight sums the weights of avail (each > 0, so the sum is > 0).
func totalWeight(avail []*Server) uint64 {
	var t uint64
	for _, s := range avail {
		t += uint64(s.weight.Load())
	}
	return t
}

// weighted returns the server owning point r of the cumulative weights of
// avail; r < totalWeight(avail).
func weighted(avail []*Server, r uint64) *Server {
	for _, s := range avail {
		w := uint64(s.weight.Load())
		if r < w {
			return s
		}
		r -= w
	}
	return avail[len(avail)-1]
}

// mix64 is the splitmix64 finaliser: it spreads keys whose entropy sits in a
// few bits (an IPv4 address, a small counter) over all 64 bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashRing is consistent hashing ("hash-type consistent"): each server owns
// 40*weight points on a ring of 64-bit hashes; a key goes to the owner of
// the first point at or after its hash whose server is a candidate, so a
// server joining or leaving moves only its own keys. With a balance factor
// the walk also skips servers whose load has reached factor/100 of the
// average (consistent hashing with bounded loads, as HAProxy's
// hash-balance-factor).
type hashRing struct {
	points []ringPoint // sorted by hash
	factor int
	mark   []bool // scratch: candidate servers by idx
}

type ringPoint struct {
	hash uint64
	srv  *Server
}

func newHashRing(servers []*Server, factor int) *hashRing {
	r := &hashRing{factor: factor}
	for _, s := range servers {
		n := 40 * max(int(s.weight.Load()), 1)
		for i := 0; i < n; i++ {
			r.points = append(r.points, ringPoint{hash: mix64(fnvString(s.name) ^ mix64(uint64(i)+1)), srv: s})
		}
		r.mark = append(r.mark, false)
	}
	slices.SortFunc(r.points, func(a, b ringPoint) int { return cmp.Compare(a.hash, b.hash) })
	return r
}

func (r *hashRing) pick(avail []*Server, key uint64) *Server {
	if len(r.points) == 0 {
		return avail[0]
	}
	var load int64
	for _, s := range avail {
		if s.idx < len(r.mark) {
			r.mark[s.idx] = true
		}
		load += s.cur.Load()
	}
	defer func() {
		for _, s := range avail {
			if s.idx < len(r.mark) {
				r.mark[s.idx] = false
			}
		}
	}()
	bound := int64(-1)
	if r.factor > 0 {
		// ceil((load+1) * factor / 100 / n)
		n := int64(len(avail))
		bound = ((load+1)*int64(r.factor) + 100*n - 1) / (100 * n)
	}
	h := mix64(key)
	start, _ := slices.BinarySearchFunc(r.points, h, func(p ringPoint, h uint64) int { return cmp.Compare(p.hash, h) })
	var fallback *Server
	for i := 0; i < len(r.points); i++ {
		p := r.points[(start+i)%len(r.points)]
		if p.srv.idx >= len(r.mark) || !r.mark[p.srv.idx] || p.srv.b == nil {
			continue
		}
		if fallback == nil {
			fallback = p.srv
		}
		if bound < 0 || p.srv.cur.Load() < bound {
			return p.srv
		}
	}
	if fallback != nil {
		return fallback
	}
	return avail[0]
}

func fnvString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
