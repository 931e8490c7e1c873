package limit

import (
	"context"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// store shares rate counts between lb instances. The syncer is its only
// user: no event loop ever waits on it.
type store interface {
	// exchange adds each key's delta to its counter (deltas <= 0 add
	// nothing) and returns every counter's value after that, in order.
	exchange(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error)
	close()
}

// redisStore keeps the counters in Redis: one integer per table, key,
// kind (requests or bytes) and period, "lb:TABLE:r:KEYHEX:PERIOD",
// expiring two windows after its last change. One Lua script call per
// batch of keys adds and reads them in one round-trip, atomically.
type redisStore struct {
	c *redis.Client
}

// exchangeScript: KEYS are counters, ARGV[1] the TTL in ms, ARGV[i+1] the
// delta of KEYS[i].
var exchangeScript = redis.NewScript(`
local ttl = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local d = tonumber(ARGV[i + 1])
  if d > 0 then
    out[i] = redis.call('INCRBY', KEYS[i], d)
    redis.call('PEXPIRE', KEYS[i], ttl)
  else
    out[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
end
return out
`)

// quietRedis drops go-redis' own log lines (plain text on stderr, such as
// "failed to dial after 5 attempts"): lb's service log is JSON, and a
// table says when Redis goes down and comes back itself (OnRedis, and
// lb_limit_redis_up).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

// redisBatch bounds the keys of one script call.
const redisBatch = 512

func newRedisStore(spec *RedisSpec, table string) *redisStore {
	opt, err := redis.ParseURL(spec.URL)
	if err != nil {
		// Validated by config; a URL that does not parse here fails every
		// exchange, as an unreachable server would.
		opt = &redis.Options{Addr: "invalid:0"}
	}
	opt.PoolSize = 2
	opt.MaxRetries = 0
	opt.DialTimeout = time.Second
	return &redisStore{c: redis.NewClient(opt)}
}

func (r *redisStore) exchange(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error) {
	out := make([]int64, 0, len(keys))
	ms := strconv.FormatInt(ttl.Milliseconds(), 10)
	for lo := 0; lo < len(keys); lo += redisBatch {
		hi := min(lo+redisBatch, len(keys))
		args := make([]any, 0, hi-lo+1)
		args = append(args, ms)
		for _, d := range deltas[lo:hi] {
			args = append(args, d)
		}
		vs, err := exchangeScript.Run(ctx, r.c, keys[lo:hi], args...).Int64Slice()
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (r *redisStore) close() { r.c.Close() }

// share pushes this instance's new counts of the keys reported this round
// to the store and reads the fleet's back into the aggregate. On failure
// the fleet counts stay as they were (fail open: they age out with their
// period) and, with FailClosed, every tracked request is over until the
// store answers again.
func (t *Table) share(ctx context.Context, a *aggregate, p int64, touched []*agg) {
	s := &t.spec
	a.mu.Lock()
	var keys []string
	var deltas []int64
	var pushed [][4]int64 // what is pushed once the exchange succeeds
	type kind struct {
		on   bool
		name string
	}
	kinds := [2]kind{{s.Rate > 0, ":r:"}, {s.BytesRate > 0, ":b:"}}
	for _, g := range touched {
		var req, reqPrev, byt, bytPrev int64
		for i := range g.loops {
			a, b, c, d := g.loops[i].at(p)
			req, reqPrev, byt, bytPrev = req+a, reqPrev+b, byt+c, bytPrev+d
		}
		switch g.pushedAt {
		case p:
		case p - 1:
			g.pushReqPrev, g.pushBytPrev, g.pushReq, g.pushByt = g.pushReq, g.pushByt, 0, 0
		default:
			g.pushReqPrev, g.pushBytPrev, g.pushReq, g.pushByt = 0, 0, 0, 0
		}
		g.pushedAt = p
		hk := hex.EncodeToString([]byte(g.key))
		for k, vals := range [2][4]int64{{req, g.pushReq, reqPrev, g.pushReqPrev}, {byt, g.pushByt, bytPrev, g.pushBytPrev}} {
			if !kinds[k].on {
				continue
			}
			base := "lb:" + s.Name + kinds[k].name + hk + ":"
			keys = append(keys, base+strconv.FormatInt(p, 10), base+strconv.FormatInt(p-1, 10))
			deltas = append(deltas, vals[0]-vals[1], vals[2]-vals[3])
		}
		pushed = append(pushed, [4]int64{max(g.pushReq, req), max(g.pushReqPrev, reqPrev), max(g.pushByt, byt), max(g.pushBytPrev, bytPrev)})
	}
	a.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, max(t.spec.Sync, 250*time.Millisecond))
	vals, err := t.store.exchange(cctx, keys, deltas, 2*t.spec.Window+t.spec.Sync)
	cancel()
	if err != nil {
		t.redisErrs.Add(1)
		if t.redisUp.Swap(false) || !t.redisDown.Load() {
			t.redisDown.Store(true)
			if t.OnRedis != nil {
				t.OnRedis(false, err)
			}
		}
		// What was not pushed goes with the next round's deltas. (A
		// failure after some batches succeeded pushes theirs again: an
		// over-count, never an under-count.)
		return
	}
	if !t.redisUp.Swap(true) {
		t.redisDown.Store(false)
		if t.OnRedis != nil {
			t.OnRedis(true, nil)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	i := 0
	for j, g := range touched {
		g.pushReq, g.pushReqPrev, g.pushByt, g.pushBytPrev = pushed[j][0], pushed[j][1], pushed[j][2], pushed[j][3]
		g.fleetAt = p
		if kinds[0].on {
			g.fleetReq, g.fleetReqPrev = vals[i], vals[i+1]
			i += 2
		}
		if kinds[1].on {
			g.fleetByt, g.fleetBytPrev = vals[i], vals[i+1]
			i += 2
		}
	}
}
