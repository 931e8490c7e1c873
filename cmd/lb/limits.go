package main

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/session"
	"github.com/lb-proxy/lb/session/limit"
)

// limitTable is a [limit.NAME] table and the generations that use it: a
// reload that keeps a table's settings keeps its counts (HAProxy's stick
// tables start empty after a reload unless peers are set up).
type limitTable struct {
	t    *limit.Table
	spec limit.Spec
	refs atomic.Int32 // generations using it; the last one to retire stops it
}

// release drops a generation's use of lt; the last stops its syncer.
func (lt *limitTable) release() {
	if lt.refs.Add(-1) == 0 {
		lt.t.Stop()
	}
}

// limitSpec converts a validated [limit.NAME] table.
func limitSpec(name string, l *config.Limit) limit.Spec {
	s := limit.Spec{Name: name, Size: l.Size, Window: l.Window.Duration, Expire: l.Expire.Duration, Sync: l.Sync.Duration,
		Rate: int64(l.Rate), BytesRate: int64(l.BytesRate), Conns: int64(l.Conns), Requests: int64(l.Requests)}
	switch {
	case l.Key == "backend":
		s.Key = limit.KeyBackend
	case strings.HasPrefix(l.Key, "header:"):
		s.Key, s.Header = limit.KeyHeader, l.Key[len("header:"):]
	}
	if l.Redis != "" {
		s.Redis = &limit.RedisSpec{URL: l.Redis, FailClosed: l.RedisDown == "closed"}
	}
	return s
}

// limitTables returns cfg's tables in name order (a rule's Limit is 1 +
// the index) and each name's index, reusing prev's tables whose settings
// did not change; new ones are started.
// clock is the sessions' (the Env's, the same for every generation).
func (inst *instance) limitTables(cfg *config.Config, prev *generation, clock session.Clock) ([]*limitTable, map[string]int) {
	names := sortedKeys(cfg.Limits)
	if len(names) == 0 {
		return nil, nil
	}
	old := map[string]*limitTable{}
	if prev != nil {
		for _, lt := range prev.limits {
			old[lt.spec.Name] = lt
		}
	}
	idx := map[string]int{}
	var out []*limitTable
	for i, name := range names {
		spec := limitSpec(name, cfg.Limits[name])
		lt := old[name]
		if lt == nil || !reflect.DeepEqual(lt.spec, spec) {
			lt = &limitTable{t: limit.New(spec, func() int64 { return clock.Now().UnixNano() }), spec: spec}
			log := inst.log
			lt.t.OnRedis = func(up bool, err error) {
				if up {
					log.Info().Str("event", "limit_redis_up").Str("limit", name).Msg("shared counters reachable again")
					return
				}
				log.Warn().Str("event", "limit_redis_down").Str("limit", name).Err(err).
					Str("redis_down", cfg.Limits[name].RedisDown).Msg("shared counters unreachable")
			}
			lt.t.Start(context.Background())
		}
		lt.refs.Add(1)
		idx[name] = i
		out = append(out, lt)
	}
	return out, idx
}
