package backend

import (
	"maps"

	"github.com/lb-proxy/lb/config"
)

// InheritState carries server state across a reload. First prev's runtime
// API changes (weights, added and removed servers) are kept where the file
// did not change the server they touch (oldFile and newFile are this
// backend's section in the previous and the new configuration; see
// runtime.go). Then every server of b that also exists in prev (same name
// and address) takes prev's admin state (ready, drain, maint) and, when
// both generations run health checks, its health (UP stays UP without
// waiting for `rise` checks, DOWN stays DOWN until `rise` checks pass).
// Call it before Start. Safe for concurrent use with prev's traffic.
func (b *Backend) InheritState(prev *Backend, oldFile, newFile *config.Backend) []RuntimeNote {
	if prev == nil {
		return nil
	}
	byName := map[string]*Server{}
	prev.mu.Lock()
	for _, s := range prev.servers {
		byName[s.name] = s
	}
	rt := runtimeChanges{weights: maps.Clone(prev.runtime.weights), added: maps.Clone(prev.runtime.added),
		removed: maps.Clone(prev.runtime.removed)}
	prev.mu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
	notes := b.inheritRuntime(&rt, oldFile, newFile)
	for _, s := range b.servers {
		p := byName[s.name]
		if p == nil || p.addr != s.addr {
			continue
		}
		s.admin.Store(p.admin.Load())
		if b.checks != nil && prev.checks != nil {
			down := p.down.Load()
			s.down.Store(down)
			if down {
				s.health = 0
				s.counters.DownSince.Store(p.counters.DownSince.Load()) // the spell goes on
			} else {
				s.health = b.checks.rise + b.checks.fall - 1
			}
			s.counters.CheckStatus.Store(p.counters.CheckStatus.Load())
		}
	}
	return notes
}
