package backend

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lb-proxy/lb/config"
)

// newServer builds a Server of b from an already checked sc. Its idx is
// set by the caller.
func (b *Backend) newServer(sc *config.Server) *Server {
	s := &Server{
		b:       b,
		name:    sc.Name,
		addr:    sc.Address,
		backup:  sc.Backup,
		maxConn: int64(sc.MaxConn),
		proxy:   map[string]int{"v1": 1, "v2": 2}[sc.SendProxy],
		kick:    make(chan struct{}, 1),
	}
	s.weight.Store(int32(min(max(sc.Weight, 0), maxWeight)))
	s.queue.srv = s
	return s
}

// initHealth puts s in its starting health state: without checks UNK and
// always UP; with checks INI and UP with the counter at rise (DOWN at the
// first failed check). Called before s is published.
func (b *Backend) initHealth(s *Server) {
	st := CheckUnknown
	if b.checks != nil {
		st = CheckInit
		s.health = b.checks.rise
	}
	s.counters.CheckStatus.Store(uint32(st))
}

// checkServer returns the problems of one server entry other than its name
// (whose uniqueness depends on the backend), worded for "server NAME: ".
// It applies the same rules as the config loader: address "host:port" with
// a port in 1-65535 and an IP address or DNS name as host, weight 0..256,
// maxconn >= 0.
func checkServer(sc *config.Server) []string {
	var out []string
	if err := config.CheckServerAddr(sc.Address); err != nil {
		why := strings.TrimPrefix(err.Error(), fmt.Sprintf("invalid address %q: ", sc.Address))
		out = append(out, fmt.Sprintf("bad address %q: %s", sc.Address, why))
	}
	if sc.Weight < 0 || sc.Weight > maxWeight {
		out = append(out, fmt.Sprintf("weight %d out of 0..%d", sc.Weight, maxWeight))
	}
	if sc.MaxConn < 0 {
		out = append(out, fmt.Sprintf("negative maxconn %d", sc.MaxConn))
	}
	if sc.SendProxy != "" && sc.SendProxy != "v1" && sc.SendProxy != "v2" {
		out = append(out, fmt.Sprintf(`send_proxy %q (want "v1" or "v2")`, sc.SendProxy))
	}
	return out
}

// AddServer adds a server at run time, after the declared ones (so it has
// the highest id for balance "first"), and returns it.
//
// cfg is a server entry as the config loader leaves it (defaults applied:
// the loader's default weight is 1) and is checked with the loader's rules.
// The server starts as servers do at process start: READY and, with health
// checks, UP but DOWN at the first failed check, which runs at once if the
// backend's checks are running. (HAProxy's "add server" creates it in
// maintenance instead; put it in MAINT afterwards if you want that.)
// Waiters queued in the backend may be served by it before AddServer
// returns. The balance policy's rotation is rebuilt: roundrobin restarts its
// smooth sequence, static-rr rebuilds its rotation from the current weights,
// and hash policies remap keys (map-based hashing).
//
// Errors: ErrServerExists (wrapped) when the backend already has a server of
// that name; any other error describes an invalid cfg. Safe for concurrent
// use with everything, including Acquire and Release.
func (b *Backend) AddServer(cfg *config.Server) (*Server, error) {
	if cfg == nil {
		return nil, fmt.Errorf("backend: %s: nil server", b.name)
	}
	var problems []string
	if cfg.Name == "" {
		problems = append(problems, "empty name")
	}
	problems = append(problems, checkServer(cfg)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("backend: %s: server %q: %s", b.name, cfg.Name, strings.Join(problems, "; "))
	}
	s := b.newServer(cfg)
	b.initHealth(s)

	b.mu.Lock()
	for _, o := range b.servers {
		if o.name == cfg.Name {
			b.mu.Unlock()
			return nil, &serverError{b.name, cfg.Name, ErrServerExists, ""}
		}
	}
	s.stampLocked(time.Now())
	b.setServersLocked(append(slices.Clip(b.servers), s))
	b.runtime.noteAdded(cfg)
	ev := b.changedLocked(s, s.State(), "added")
	ready, _ := b.dispatchLocked(nil)
	b.mu.Unlock()

	b.log.Info().Str("event", "server_added").Str("backend", b.name).Str("server", s.name).
		Str("address", s.addr).Int("weight", s.Weight()).Bool("backup", s.backup).
		Int64("maxconn", s.maxConn).Msg("server added")
	b.logChange(ev)
	callReady(ready)

	b.run.mu.Lock()
	b.startCheckerLocked(s, 0)
	b.run.mu.Unlock()
	return s, nil
}

// RemoveServer removes the server named name at run time. As in HAProxy
// ("del server"), only a server in MAINT with no session and nothing queued
// on it may be removed: put it in MAINT, wait for Current() to reach 0,
// then remove it. Its health checker is stopped (RemoveServer waits for it
// to return). A *Server a caller still holds stays valid to read, but no
// longer takes sessions and ignores SetAdmin and SetWeight.
//
// Errors (wrapped): ErrNoSuchServer, ErrServerNotInMaint, ErrServerBusy.
// Safe for concurrent use with everything, including Acquire and Release.
func (b *Backend) RemoveServer(name string) error {
	b.mu.Lock()
	i := slices.IndexFunc(b.servers, func(s *Server) bool { return s.name == name })
	if i < 0 {
		b.mu.Unlock()
		return &serverError{b.name, name, ErrNoSuchServer, ""}
	}
	s := b.servers[i]
	if s.Admin() != AdminMaint {
		b.mu.Unlock()
		return &serverError{b.name, name, ErrServerNotInMaint, "it is " + s.State().String()}
	}
	// A server in MAINT takes no new slot (it is never in the serving tier),
	// so cur can only go down from here.
	if n := s.cur.Load(); n > 0 || s.queue.n > 0 {
		b.mu.Unlock()
		return &serverError{b.name, name, ErrServerBusy, fmt.Sprintf("%d sessions, %d queued", n, s.queue.n)}
	}
	s.removed.Store(true)
	b.setServersLocked(slices.Delete(slices.Clone(b.servers), i, i+1))
	b.runtime.noteRemoved(name)
	b.mu.Unlock()

	b.log.Info().Str("event", "server_removed").Str("backend", b.name).Str("server", name).
		Msg("server removed")

	b.run.mu.Lock()
	cancel, done := s.checkCancel, s.checkDone
	s.checkCancel, s.checkDone = nil, nil
	b.run.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// setServersLocked installs list, a fresh slice no one else holds, as the
// server list: it renumbers the servers, splits actives and backups,
// rebuilds the policy and the scratch slices, and publishes the list to
// lock-free readers.
func (b *Backend) setServersLocked(list []*Server) {
	var actives, backups []*Server
	for i, s := range list {
		s.idx = i
		if s.backup {
			backups = append(backups, s)
		} else {
			actives = append(actives, s)
		}
	}
	b.servers, b.actives, b.backups = list, actives, backups
	p, _, err := newPolicy(b.balance, list, b.hashType, b.hashFactor)
	if err != nil {
		panic("backend: policy " + b.balance + " accepted by New now refused: " + err.Error())
	}
	b.policy = p
	b.cands = make([]*Server, 0, len(list))
	b.free = make([]*Server, 0, len(list))
	b.list.Store(&list)
}

// serverError is a topology error about one server: it reads
// `backend: BACKEND: server "NAME": REASON (DETAIL)` and unwraps to its
// sentinel.
type serverError struct {
	backend, server string
	err             error  // the sentinel
	detail          string // optional
}

func (e *serverError) Error() string {
	msg := "backend: " + e.backend + ": server " + strconv.Quote(e.server) + ": " +
		strings.TrimPrefix(e.err.Error(), "backend: ")
	if e.detail != "" {
		msg += " (" + e.detail + ")"
	}
	return msg
}

func (e *serverError) Unwrap() error { return e.err }
