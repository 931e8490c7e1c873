package stats

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lb-proxy/lb/session/limit"
)

// Limit is one [limit.NAME] table's counters, for LimitCollector.
type Limit struct {
	Name string
	limit.Stats
}

// LimitCollector exports the per-key limit tables: one series per table
// and family, labelled limit="NAME". Register it beside the Collector.
type LimitCollector struct {
	src      func() []Limit
	families []limitFamily
}

// limitFamily is one metric family of the tables.
type limitFamily struct {
	d   *prometheus.Desc
	typ prometheus.ValueType
	v   func(*limit.Stats) int64
}

// NewLimitCollector returns a collector reading src at each scrape.
func NewLimitCollector(src func() []Limit) *LimitCollector {
	f := func(name, help string, typ prometheus.ValueType, v func(*limit.Stats) int64) limitFamily {
		return limitFamily{prometheus.NewDesc("lb_limit_"+name, help, []string{"limit"}, nil), typ, v}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return &LimitCollector{src: src, families: []limitFamily{
		f("entries", "Keys held by the table's shards (at most size per event loop).", g, func(s *limit.Stats) int64 { return s.Entries }),
		f("keys", "Keys in the table's cross-loop aggregate (at most size).", g, func(s *limit.Stats) int64 { return s.Keys }),
		f("evictions_total", "Keys evicted to make room for new ones (the table was full).", c, func(s *limit.Stats) int64 { return s.Evictions }),
		f("expired_total", "Keys dropped after expire without a request.", c, func(s *limit.Stats) int64 { return s.Expired }),
		f("full_total", "Requests not counted: the table held only keys in use.", c, func(s *limit.Stats) int64 { return s.Full }),
		f("tracked_total", "Requests counted in the table.", c, func(s *limit.Stats) int64 { return s.Tracked }),
		f("over_total", "Requests found over a limit of the table (denied, tarpitted or lowered in priority by their rule).", c, func(s *limit.Stats) int64 { return s.Over }),
		f("sync_rounds_total", "Rounds in which the event loops (and Redis) exchanged the table's counts.", c, func(s *limit.Stats) int64 { return s.Syncs }),
		f("redis_errors_total", "Failed exchanges with the Redis server sharing the table's rates.", c, func(s *limit.Stats) int64 { return s.RedisErrors }),
		f("redis_up", "1 while the last exchange with Redis succeeded (0 without Redis).", g, func(s *limit.Stats) int64 { return s.RedisUp }),
	}}
}

// Describe implements prometheus.Collector.
func (c *LimitCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.families {
		ch <- f.d
	}
}

// Collect implements prometheus.Collector.
func (c *LimitCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.src() {
		for _, f := range c.families {
			ch <- prometheus.MustNewConstMetric(f.d, f.typ, float64(f.v(&l.Stats)), l.Name)
		}
	}
}
