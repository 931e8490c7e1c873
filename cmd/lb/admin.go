package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/session/limit"
	"github.com/lb-proxy/lb/stats"
)

// statsSource shows package stats the current generation.
type statsSource struct{ inst *instance }

func (s statsSource) Process() stats.Process {
	g := s.inst.current()
	p := stats.Process{Version: versionString(), StartTime: s.inst.started,
		CurrentConnections: int64(g.global.Current()), MaxConnections: int64(g.cfg.Global.MaxConn),
		IdleServerConnections: g.env.IdleConns()}
	for _, fe := range g.frontends {
		p.ConnectionsTotal += fe.SessionsTotal.Load()
	}
	w := s.inst.listenerStats()
	p.WaitingConnections, p.ShedConnections = w.Waiting, w.Shed
	p.DroppedLogs = s.inst.droppedLogs.Load()
	p.Handoffs, p.PoolReuses, p.ServerDials = s.inst.proc.Handoffs.Load(), s.inst.proc.Reuses.Load(), s.inst.proc.Dials.Load()
	if hs := g.env.HandshakeSlots; hs != nil {
		p.TLSHandshakesActive, p.TLSHandshakesWaiting = hs.Active.Load(), hs.Waiting.Load()
	}
	return p
}

func (s statsSource) Frontends() []stats.Frontend {
	g := s.inst.current()
	out := make([]stats.Frontend, 0, len(g.frontends))
	for _, fe := range g.frontends {
		f := stats.Frontend{Name: fe.Name, Mode: string(fe.Mode),
			CurrentSessions: fe.SessionsCurrent.Load(), LimitSessions: int64(g.cfg.Frontends[fe.Name].MaxConn),
			SessionsTotal: fe.SessionsTotal.Load(), BytesIn: fe.BytesIn.Load(), BytesOut: fe.BytesOut.Load(),
			HTTPRequests: fe.HTTPRequests.Load()}
		for c := backend.CodeClass(0); c < backend.NumCodeClasses; c++ {
			f.HTTPResponses[c] = int64(fe.HTTPResponses.Load(c))
		}
		now := time.Now()
		f.MaxSessions, f.SessionRate, f.MaxSessionRate = fe.MaxSessions.Load(), fe.SessionRate.Value(now), fe.SessionRate.Max()
		f.DeniedRequests, f.DeniedResponses, f.RequestErrors = fe.DeniedRequests.Load(), fe.DeniedResponses.Load(), fe.RequestErrors.Load()
		f.ProxyErrors = fe.ProxyErrors.Load()
		if fe.TLS != nil {
			ts := &fe.TLSStats
			f.TLS, f.TLSHandshakes, f.TLSResumed = true, ts.Handshakes.Load(), ts.Resumed.Load()
			f.TLSFailures = [3]int64{ts.FailTimeout.Load(), ts.FailClosed.Load(), ts.FailProtocol.Load()}
		}
		out = append(out, f)
	}
	return out
}

// Limits returns the current generation's limit tables.
func (s statsSource) Limits() []stats.Limit {
	g := s.inst.current()
	out := make([]stats.Limit, 0, len(g.limits))
	for _, lt := range g.limits {
		out = append(out, stats.Limit{Name: lt.spec.Name, Stats: lt.t.Stats()})
	}
	return out
}

// LimitKeys returns the busiest keys of a limit table of the current
// generation.
func (s statsSource) LimitKeys(name string, n int) ([]stats.LimitKey, bool) {
	for _, lt := range s.inst.current().limits {
		if lt.spec.Name != name {
			continue
		}
		var out []stats.LimitKey
		for _, k := range lt.t.Top(n) {
			key := k.Key
			if lt.spec.Key == limit.KeySrc && len(key) == 16 {
				key = netip.AddrFrom16([16]byte([]byte(key))).Unmap().String()
			}
			out = append(out, stats.LimitKey{Key: key, Requests: k.Requests, Bytes: k.Bytes, Conns: k.Conns, InProgress: k.InProgress})
		}
		return out, true
	}
	return nil, false
}

func (s statsSource) Backends() []*backend.Backend {
	g := s.inst.current()
	out := make([]*backend.Backend, 0, len(g.backends))
	for _, name := range sortedKeys(g.backends) {
		out = append(out, g.backends[name])
	}
	return out
}

// admin is the admin listener: /metrics, /stats, /stats.json, /api/.
type admin struct {
	cfg  config.Admin
	addr string // the bound address
	srv  *http.Server
	done chan struct{}
}

// startAdmin starts the admin listener of cfg, if any. The registry is
// lb's own (never the global one).
func (inst *instance) startAdmin(cfg config.Admin) (*admin, error) {
	if cfg.Bind == "" {
		return nil, nil
	}
	token := cfg.Token // read by the configuration's validation
	src := statsSource{inst}
	reg := prometheus.NewRegistry()
	reg.MustRegister(stats.NewCollector(src), stats.NewLimitCollector(src.Limits), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := stats.NewHandler(stats.HandlerOptions{Source: src, Gatherer: reg, Token: token,
		RequireToken: !config.LoopbackAddr(cfg.Bind), Logger: inst.log})
	// Profiling for operators (read-only; the admin listener is loopback
	// or token-protected): go tool pprof http://ADMIN/debug/pprof/heap
	mux := http.NewServeMux()
	mux.Handle("/", h)
	if cfg.Pprof {
		prof := func(f http.HandlerFunc) http.Handler { return bearer(token, f) }
		mux.Handle("/debug/pprof/", prof(pprof.Index))
		mux.Handle("/debug/pprof/profile", prof(pprof.Profile))
		mux.Handle("/debug/pprof/symbol", prof(pprof.Symbol))
		mux.Handle("/debug/pprof/trace", prof(pprof.Trace))
	}
	ln, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("admin.bind: %w", err)
	}
	a := &admin{cfg: cfg, addr: ln.Addr().String(), done: make(chan struct{}), srv: &http.Server{Handler: hostCheck(cfg.Hosts, mux),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}}
	go func() { defer close(a.done); _ = a.srv.Serve(ln) }() // owned by instance; stopped by stop
	return a, nil
}

// stop shuts the admin listener down and waits for it.
func (a *admin) stop() {
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
	<-a.done
}

// adminAddr returns the admin listener's address (tests use it).
func (inst *instance) adminAddr() string {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.admin == nil {
		return ""
	}
	return inst.admin.addr
}

// bearer serves f only to requests that carry the token (every request,
// reads too: profiles show the process's memory and code), when there is
// one.
func bearer(token string, f http.HandlerFunc) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lb admin"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		f(w, r)
	})
}

// hostCheck refuses requests for a name that is not the admin listener's:
// an IP address, "localhost" and the configured hosts pass. A page of
// another site whose name resolves to a loopback address (DNS rebinding)
// carries its own name, and is refused.
func hostCheck(hosts []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
		ok := net.ParseIP(host) != nil || strings.EqualFold(host, "localhost")
		for _, h := range hosts {
			ok = ok || strings.EqualFold(host, h)
		}
		if !ok {
			http.Error(w, "unknown host: this is lb's admin listener (admin.hosts lists the names it answers to)", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
