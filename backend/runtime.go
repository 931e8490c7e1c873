package backend

import (
	"maps"
	"reflect"
	"slices"

	"github.com/lb-proxy/lb/config"
)

// Runtime changes across reloads. What the runtime API changed (a weight,
// a server added or removed) is kept by the next configuration generation
// unless the file changed that very server: HAProxy needs a server-state
// file for this, lb keeps the changes in memory. Each kept or overridden
// change is reported (RuntimeNote), for the caller to log once the new
// generation runs ("runtime_kept", "runtime_overridden").

// RuntimeNote is one runtime change a new generation kept or dropped.
type RuntimeNote struct {
	Server string
	Change string // "weight", "added" or "removed"
	Kept   bool   // false: the file changed the server, the change is dropped
}

// runtimeChanges records a backend's runtime API changes since the file
// was loaded. Owned by Backend.mu.
type runtimeChanges struct {
	weights map[string]int            // server name -> weight set at run time
	added   map[string]*config.Server // servers added at run time, by name
	removed map[string]bool           // file servers removed at run time
}

func (r *runtimeChanges) noteWeight(name string, w int) {
	if r.weights == nil {
		r.weights = map[string]int{}
	}
	r.weights[name] = w
	if a := r.added[name]; a != nil {
		c := *a
		c.Weight = w
		r.added[name] = &c
	}
}

func (r *runtimeChanges) noteAdded(cfg *config.Server) {
	if r.added == nil {
		r.added = map[string]*config.Server{}
	}
	c := *cfg
	r.added[cfg.Name] = &c
	delete(r.removed, cfg.Name)
	delete(r.weights, cfg.Name)
}

func (r *runtimeChanges) noteRemoved(name string) {
	delete(r.weights, name)
	if r.added[name] != nil {
		delete(r.added, name) // added and removed at run time: nothing to keep
		return
	}
	if r.removed == nil {
		r.removed = map[string]bool{}
	}
	r.removed[name] = true
}

// inheritRuntime applies prev's runtime changes to b (a new generation not
// started yet) where the file did not change the server they touch:
// oldFile and newFile are the backend's section in the previous and the
// new configuration. Called by InheritState with b.mu held.
func (b *Backend) inheritRuntime(prev *runtimeChanges, oldFile, newFile *config.Backend) (notes []RuntimeNote) {
	fileServer := func(c *config.Backend, name string) *config.Server {
		if c == nil {
			return nil
		}
		for _, s := range c.Server {
			if s.Name == name {
				return s
			}
		}
		return nil
	}
	unchanged := func(name string) bool {
		o, n := fileServer(oldFile, name), fileServer(newFile, name)
		return o != nil && n != nil && reflect.DeepEqual(*o, *n)
	}
	kept := func(what, name string) { notes = append(notes, RuntimeNote{name, what, true}) }
	overridden := func(what, name string) { notes = append(notes, RuntimeNote{name, what, false}) }
	servers := slices.Clone(b.servers)
	for _, name := range slices.Sorted(maps.Keys(prev.added)) {
		cfg := prev.added[name]
		if fileServer(newFile, name) != nil {
			overridden("added", name)
			continue
		}
		s := b.newServer(cfg)
		b.initHealth(s)
		servers = append(servers, s)
		b.runtime.noteAdded(cfg)
		kept("added", name)
	}
	for _, name := range slices.Sorted(maps.Keys(prev.removed)) {
		i := slices.IndexFunc(servers, func(s *Server) bool { return s.name == name })
		switch {
		case i < 0:
		case !unchanged(name):
			overridden("removed", name)
		default:
			servers[i].removed.Store(true)
			servers = slices.Delete(servers, i, i+1)
			b.runtime.noteRemoved(name)
			kept("removed", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(prev.weights)) {
		i := slices.IndexFunc(servers, func(s *Server) bool { return s.name == name })
		switch {
		case i < 0, prev.added[name] != nil: // an added server carries its weight
		case !unchanged(name):
			overridden("weight", name)
		default:
			w := prev.weights[name]
			servers[i].weight.Store(int32(w))
			b.runtime.noteWeight(name, w)
			kept("weight", name)
		}
	}
	b.setServersLocked(servers)
	return notes
}
