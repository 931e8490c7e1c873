package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/listener"
	"github.com/lb-proxy/lb/session"
)

// pipeSize is the size asked for each splice pipe.
const pipeSize = 256 << 10

// instance is the running process: what outlives a reload (listening
// sockets, event loops, splice pipes) and the current configuration
// generation. Owned by the serve goroutine; tests read it through addrs and
// backend while it runs.
type instance struct {
	files          []string
	stdout, stderr io.Writer
	log            zerolog.Logger
	loops          int // event loops per listening address
	pipes          *session.PipePool
	handshakes     *session.HandshakeSlots // every generation's TLS handshakes share them
	droppedLogs    atomic.Int64            // access-log lines dropped by every generation's writer (metrics)
	proc           session.ProcessCounters // every generation's sessions count here
	clock          session.Clock           // nil: the real clock (tests set a fake one)
	waiting        int                     // each listener's waiting room bound; 0: listener.MaxWaiting
	noDialWatch    bool                    // tests: session.Env.NoDialWatch
	noDialLook     bool                    // tests: session.Env.NoDialLook

	mu        sync.Mutex                    // guards listeners, draining and cur for readers outside serve
	listeners map[string]*listener.Listener // by listenerKey
	// draining are listeners a reload dropped: they no longer listen, and
	// are closed once the last session they started ended (or at stop).
	draining map[*listener.Listener]struct{}
	quit     chan struct{} // closed by stop: the draining listeners' reapers end
	reapers  sync.WaitGroup
	cur      *generation

	retiring sync.WaitGroup // old generations still draining
	started  time.Time
	admin    *admin // guarded by mu
}

// generation is one configuration's runtime: its backends (with their
// health checkers), frontends and sessions. A reload builds a new one; the
// old one lives on until its last session ends or hard_stop_after passes.
type generation struct {
	// runtime lists, by backend, the runtime changes this generation kept
	// or dropped from the previous one, logged once it runs.
	runtime   map[string][]backend.RuntimeNote
	cfg       *config.Config
	env       *session.Env
	global    *listener.Gate
	backends  map[string]*backend.Backend
	bindings  map[string]*listener.Binding // by listenerKey
	frontends []*session.Frontend          // declaration order
	closers   []io.Closer                  // the access log writer, if any
	logw      *logWriter
	limits    []*limitTable // the [limit.NAME] tables, in name order (env.Limits)
}

func loadConfig(files []string) (*config.Config, error) {
	return config.Load(files...)
}

// serve runs the configuration in files until a stop signal and returns
// the exit status.
func serve(files []string, stdout, stderr io.Writer, sig <-chan os.Signal, ready func(*instance), opts runOptions) int {
	log := zerolog.New(stderr).With().Timestamp().Logger()
	cfg, err := loadConfig(files)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	inst := &instance{files: files, stdout: stdout, stderr: stderr, log: log, clock: opts.clock, waiting: opts.waiting, noDialWatch: opts.noDialWatch, noDialLook: opts.noDialLook,
		listeners: map[string]*listener.Listener{}, draining: map[*listener.Listener]struct{}{},
		quit: make(chan struct{}), started: time.Now()}
	if err := inst.start(cfg); err != nil {
		log.Error().Str("event", "start_failed").Err(err).Msg("start failed")
		return 1
	}
	log.Info().Str("event", "ready").Strs("files", cfg.Files).Int("pid", os.Getpid()).Msg("listening")
	notify("READY=1\nSTATUS=Ready.\nMAINPID=" + fmt.Sprint(os.Getpid()))
	if d := watchdogInterval(); d > 0 {
		go inst.watchdog(d) // owned by inst; ends with inst.quit (stop)
	}
	if ready != nil {
		ready(inst)
	}
	for s := range sig {
		switch s {
		case syscall.SIGUSR1:
			// logrotate moved the access log file: reopen it.
			if g := inst.current(); g.logw != nil && g.logw.reopen != nil {
				if err := g.logw.Reopen(); err != nil {
					log.Error().Str("event", "log_reopen_failed").Err(err).Msg("access log not reopened")
				} else {
					log.Info().Str("event", "log_reopened").Msg("access log reopened")
				}
			}
		case syscall.SIGHUP, syscall.SIGUSR2:
			notify(fmt.Sprintf("RELOADING=1\nSTATUS=Reloading configuration.\nMONOTONIC_USEC=%d", monotonicUsec()))
			if err := inst.reload(); err != nil {
				log.Error().Str("event", "reload_failed").Str("signal", s.String()).Err(err).
					Msg("reload refused; the running configuration stays")
				notify("READY=1\nSTATUS=Reload failed; running the previous configuration.")
				continue
			}
			log.Info().Str("event", "reloaded").Str("signal", s.String()).Strs("files", inst.current().cfg.Files).Msg("configuration reloaded")
			notify("READY=1\nSTATUS=Ready.")
		default:
			log.Info().Str("event", "stopping").Str("signal", s.String()).Msg("graceful stop")
			notify("STOPPING=1")
			inst.stop()
			log.Info().Str("event", "stopped").Msg("bye")
			return 0
		}
	}
	inst.stop()
	return 0
}

// start brings up the process-wide parts and the first generation.
func (inst *instance) start(cfg *config.Config) error {
	checkFDLimit(cfg, inst.log)
	inst.loops = cfg.Global.EventLoops
	if inst.loops == 0 {
		inst.loops = runtime.GOMAXPROCS(0)
	}
	inst.pipes = session.NewPipePool(max(cfg.Global.MaxConn/4, 1), pipeSize)
	inst.handshakes = session.NewHandshakeSlots(0)
	g, err := inst.build(cfg, nil)
	if err != nil {
		return err
	}
	if err := inst.switchTo(g); err != nil {
		g.retire(0, inst.log)
		return err
	}
	a, err := inst.startAdmin(cfg.Admin)
	if err != nil {
		inst.stop()
		return err
	}
	inst.mu.Lock()
	inst.admin = a
	inst.mu.Unlock()
	return nil
}

// reload reads the files again and, if they are valid and every new
// listener binds, switches to the new generation; the old one drains in the
// background. On error nothing changed.
func (inst *instance) reload() error {
	cfg, err := loadConfig(inst.files)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				inst.log.Error().Str("event", "config_error").Str("path", p.Path).Int("line", p.Line).
					Str("file", p.File).Msg(p.Msg)
			}
		}
		return err
	}
	old := inst.current()
	g, err := inst.build(cfg, old)
	if err != nil {
		return err
	}
	if err := inst.switchTo(g); err != nil {
		g.retire(0, inst.log)
		return err
	}
	for _, name := range sortedKeys(g.runtime) {
		for _, n := range g.runtime[name] {
			if n.Kept {
				inst.log.Info().Str("event", "runtime_kept").Str("backend", name).Str("server", n.Server).
					Str("change", n.Change).Msg("runtime change kept across the reload")
			} else {
				inst.log.Warn().Str("event", "runtime_overridden").Str("backend", name).Str("server", n.Server).
					Str("change", n.Change).Msg("runtime change dropped: the file changed this server")
			}
		}
	}
	if inst.admin == nil || !reflect.DeepEqual(inst.admin.cfg, cfg.Admin) {
		// The admin listener moved or changed: restart it (the data plane
		// already runs the new configuration either way).
		inst.admin.stop()
		a, err := inst.startAdmin(cfg.Admin)
		if err != nil {
			inst.log.Error().Str("event", "admin_failed").Err(err).Msg("admin listener not restarted")
		}
		inst.mu.Lock()
		inst.admin = a
		inst.mu.Unlock()
	}
	if cfg.Global.EventLoops != old.cfg.Global.EventLoops {
		// The loops are made at start.
		inst.log.Warn().Str("event", "restart_needed").Str("key", "global.event_loops").
			Int("running", inst.loops).Int("file", cfg.Global.EventLoops).
			Msg("global.event_loops takes effect at the next start; the running loops stay")
	}
	old.env.Drain(false)
	inst.retiring.Add(1)
	go func() {
		defer inst.retiring.Done()
		old.retire(old.cfg.Global.HardStopAfter.Duration, inst.log)
	}()
	return nil
}

// build makes a generation from cfg. Servers that existed in prev (same
// backend and server name) keep their health, admin state and weight.
func (inst *instance) build(cfg *config.Config, prev *generation) (*generation, error) {
	g := &generation{cfg: cfg, backends: map[string]*backend.Backend{}, bindings: map[string]*listener.Binding{}}
	accessLog, lw, err := openAccessLog(cfg.Global.AccessLog, inst.stdout, inst.stderr, &inst.droppedLogs)
	if err != nil {
		return nil, err
	}
	if lw != nil {
		g.logw = lw
		g.closers = append(g.closers, lw)
	}
	g.env = session.NewEnv(inst.clock, nil, inst.pipes, accessLog)
	g.env.NoDialWatch, g.env.NoDialLook = inst.noDialWatch, inst.noDialLook
	if inst.handshakes != nil {
		g.env.HandshakeSlots = inst.handshakes
	}
	g.env.Proc = &inst.proc
	var limitIdx map[string]int
	g.limits, limitIdx = inst.limitTables(cfg, prev, g.env.Clock)
	for _, lt := range g.limits {
		g.env.Limits = append(g.env.Limits, lt.t)
	}
	if prev != nil && prev.cfg.Global.MaxConn == cfg.Global.MaxConn {
		g.global = prev.global // the same process-wide count goes on
	} else {
		g.global = listener.NewGate(cfg.Global.MaxConn)
	}
	tlsClients := map[string]*tls.Config{}
	for _, name := range sortedKeys(cfg.Backends) {
		opts := backend.Options{
			Logger:   inst.log, // its lines name the backend themselves
			MaxQueue: cfg.Global.MaxConn,
		}
		if t := cfg.Backends[name].TLS; t != nil {
			tlsClients[name] = backendTLSConfig(t)
			opts.Dial = tlsCheckDialer(tlsClients[name]) // health checks speak TLS too
		}
		be, err := backend.New(cfg.Backends[name], opts)
		if err != nil {
			g.retire(0, inst.log)
			return nil, err
		}
		if prev != nil && prev.backends[name] != nil {
			if notes := be.InheritState(prev.backends[name], prev.cfg.Backends[name], cfg.Backends[name]); len(notes) > 0 {
				if g.runtime == nil {
					g.runtime = map[string][]backend.RuntimeNote{}
				}
				g.runtime[name] = notes
			}
		}
		be.Start()
		g.backends[name] = be
	}
	for _, name := range sortedKeys(cfg.Frontends) {
		fc := cfg.Frontends[name]
		fe := &session.Frontend{
			Name:        name,
			Mode:        fc.Mode,
			Timeouts:    fc.Timeout,
			BodyMinRate: int64(fc.HTTPBodyMinRate),
			Default:     &session.Target{BE: g.backends[fc.DefaultBackend], Cfg: cfg.Backends[fc.DefaultBackend], TLS: tlsClients[fc.DefaultBackend]},
			Env:         g.env,
		}
		for _, r := range fc.Route {
			fe.Routes = append(fe.Routes, &session.Target{BE: g.backends[r.Backend], Cfg: cfg.Backends[r.Backend], TLS: tlsClients[r.Backend]})
			if fc.Mode == config.ModeTCP {
				fe.SNIRoutes = append(fe.SNIRoutes, r.SNI)
			}
		}
		if fe.InspectDelay = fc.InspectDelay.Duration; fe.InspectDelay == 0 {
			fe.InspectDelay = 5 * time.Second
		}
		if fc.TLS != nil {
			fe.TLS = tlsServerConfig(fc.TLS)
		}
		if fc.AcceptProxy {
			for _, n := range fc.AcceptProxyFrom {
				p, _ := config.ParseNetwork(n) // validated
				fe.ProxyFrom = append(fe.ProxyFrom, p)
			}
			fe.ProxyRefuse = fc.AcceptProxyUntrusted == "refuse"
		}
		if fc.Mode == config.ModeHTTP {
			fe.HTTP = analyzerConfig(fc, fe, limitIdx)
			for _, r := range fe.HTTP.ReqRules {
				fe.Limited = fe.Limited || r.Limit != 0
			}
		}
		g.frontends = append(g.frontends, fe)
		b := listener.NewBinding(fe, listener.NewGate(fc.MaxConn), g.global)
		for i, addr := range fc.Bind {
			g.bindings[listenerKey(name, i, addr)] = b
		}
	}
	return g, nil
}

// switchTo points every listener at g: addresses g keeps are re-bound
// without touching their sockets (no connection is refused), new ones are
// opened first (any failure aborts the switch), and the ones g dropped
// stop listening at once and close once their last session ended.
func (inst *instance) switchTo(g *generation) error {
	opened := map[string]*listener.Listener{}
	fail := func(err error) error {
		for _, l := range opened {
			l.Close()
		}
		return err
	}
	for key, b := range g.bindings {
		opts := listener.Options{Waiting: inst.waiting}
		if b.Frontend.Mode == config.ModeHTTP {
			opts.DeferAccept = 1
		}
		inst.mu.Lock()
		l := inst.listeners[key]
		inst.mu.Unlock()
		if l != nil {
			if err := l.SetOptions(opts); err != nil {
				return fail(fmt.Errorf("frontend.%s.bind: %w", b.Frontend.Name, err))
			}
			continue
		}
		addr := key[strings.LastIndexByte(key, '=')+1:]
		l, err := listener.Listen(addr, opts, inst.loops, inst.log)
		if err != nil {
			return fail(fmt.Errorf("frontend.%s.bind: %w", b.Frontend.Name, err))
		}
		opened[key] = l
	}
	inst.mu.Lock()
	var dropped []*listener.Listener
	for key, l := range inst.listeners {
		if b := g.bindings[key]; b != nil {
			l.SetBinding(b)
		} else {
			l.Unlisten()
			delete(inst.listeners, key)
			inst.draining[l] = struct{}{}
			dropped = append(dropped, l)
		}
	}
	for key, l := range opened {
		inst.listeners[key] = l
		l.SetBinding(g.bindings[key])
	}
	inst.cur = g
	inst.mu.Unlock()
	for _, l := range dropped {
		inst.reapers.Add(1)
		go inst.reap(l)
	}
	return nil
}

// reap closes a draining listener once no session it started runs (its
// loops then carry at most idle pooled server connections, which close
// with it), or leaves it to stop.
func (inst *instance) reap(l *listener.Listener) {
	defer inst.reapers.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for l.Sessions() > 0 {
		select {
		case <-inst.quit:
			return
		case <-t.C:
		}
	}
	inst.mu.Lock()
	delete(inst.draining, l)
	inst.mu.Unlock()
	l.Close()
}

func (inst *instance) current() *generation {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.cur
}

// stop is the graceful stop: the listeners stop listening, the sessions
// of every generation finish for up to hard_stop_after, what is left is
// killed, and the listeners (with their loops) close.
func (inst *instance) stop() {
	inst.mu.Lock()
	for _, l := range inst.listeners {
		l.Unlisten()
	}
	g := inst.cur
	a := inst.admin
	inst.admin = nil
	inst.mu.Unlock()
	a.stop()
	if g != nil {
		g.env.Drain(true)
		g.retire(g.cfg.Global.HardStopAfter.Duration, inst.log)
	}
	inst.retiring.Wait()
	close(inst.quit)
	inst.reapers.Wait()
	inst.mu.Lock()
	var closing []*listener.Listener
	for key, l := range inst.listeners {
		closing = append(closing, l)
		delete(inst.listeners, key)
	}
	for l := range inst.draining {
		closing = append(closing, l)
		delete(inst.draining, l)
	}
	inst.mu.Unlock()
	// Each listener's engines take a while to stop: all at once.
	var wg sync.WaitGroup
	for _, l := range closing {
		wg.Add(1)
		go func() { defer wg.Done(); l.Close() }() // ends with the listener's close
	}
	wg.Wait()
	if inst.pipes != nil {
		inst.pipes.Close()
	}
}

// retire waits for g's sessions to end, for at most hardStop (0: forever),
// then kills what is left and stops g's health checks.
func (g *generation) retire(hardStop time.Duration, log zerolog.Logger) {
	done := make(chan struct{})
	go func() { g.env.Wait(); close(done) }()
	var hard <-chan struct{}
	if hardStop > 0 && g.env != nil {
		// On the sessions' clock, so tests drive it like every timeout.
		c := make(chan struct{})
		t := g.env.Clock.AfterFunc(hardStop, func() { close(c) })
		defer t.Stop()
		hard = c
	}
	select {
	case <-done:
	case <-hard:
		log.Warn().Str("event", "hard_stop").Int64("sessions", g.env.Current()).
			Msg("hard_stop_after reached: closing remaining sessions")
		g.env.Kill()
		<-done
	}
	g.env.Kill()
	g.env.ClosePools()
	for _, be := range g.backends {
		be.Stop()
	}
	for _, lt := range g.limits {
		lt.release()
	}
	for _, c := range g.closers {
		c.Close()
	}
}

// addrs returns the bound addresses of a frontend (tests use it).
func (inst *instance) addrs(frontend string) []net.Addr {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	var out []net.Addr
	for i, addr := range inst.cur.cfg.Frontends[frontend].Bind {
		if l := inst.listeners[listenerKey(frontend, i, addr)]; l != nil {
			out = append(out, l.Addr())
		}
	}
	return out
}

// listenerStats sums the listeners' counters. Shed connections of a
// listener that closed since are no longer counted (a counter reset).
func (inst *instance) listenerStats() listener.Stats {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	var t listener.Stats
	add := func(l *listener.Listener) {
		s := l.Stats()
		t.Waiting += s.Waiting
		t.Shed += s.Shed
	}
	for _, l := range inst.listeners {
		add(l)
	}
	for l := range inst.draining {
		add(l)
	}
	return t
}

// backend returns a backend of the current generation (tests use it).
func (inst *instance) backend(name string) *backend.Backend {
	return inst.current().backends[name]
}

// analyzerConfig builds the analyzers' configuration of an HTTP frontend.
func analyzerConfig(fc *config.Frontend, fe *session.Frontend, limitIdx map[string]int) *analyzer.Config {
	a := &analyzer.Config{
		Limits:          analyzer.Limits{MaxHead: int(fc.MaxHeadSize), MaxHeaders: fc.MaxHeaders, MaxTarget: int(fc.MaxTargetSize)},
		MaxBody:         int64(fc.MaxBodySize),
		ReqRules:        rules(fc.HTTPRequest, limitIdx),
		ResRules:        rules(fc.HTTPResponse, nil),
		ForwardedFor:    fc.ForwardedFor,
		ForwardedProto:  fc.ForwardedProto,
		Forwarded:       fc.Forwarded,
		Proto:           proto(fc),
		RequestIDHeader: fc.RequestIDHeader,
	}
	a.Keys = append(a.Keys, analyzer.KeyFor(fe.Default.BE.Balance()))
	for i, r := range fc.Route {
		a.Routes = append(a.Routes, analyzer.Route{Host: r.Host, PathPrefix: r.PathPrefix,
			Header: r.Header, HeaderValue: r.HeaderValue})
		a.Keys = append(a.Keys, analyzer.KeyFor(fe.Routes[i].BE.Balance()))
	}
	return a
}

// rules converts validated config rules for the analyzer.
// limitIdx gives the index of each limit table (env.Limits).
func rules(in []config.Rule, limitIdx map[string]int) []analyzer.Rule {
	var out []analyzer.Rule
	for _, r := range in {
		a, _ := analyzer.ParseAction(r.Action) // validated by config
		rl := analyzer.Rule{
			Match:  analyzer.Match{Host: r.Host, PathPrefix: r.PathPrefix, Header: r.Header, HeaderValue: r.HeaderValue, ClientCN: r.ClientCN},
			Action: a, Name: r.Name, Value: r.Value, Location: r.Location, Scheme: r.Scheme, Status: r.Status,
			Body: r.Body, ContentType: r.ContentType, Class: r.Class, Offset: priorityOffset(r.Offset),
			Tarpit: r.Tarpit.Duration,
		}
		if a == analyzer.Tarpit && rl.Tarpit == 0 {
			rl.Tarpit = defaultTarpit
		}
		if i, ok := limitIdx[r.Limit]; ok && r.Limit != "" {
			rl.Limit = i + 1
		}
		out = append(out, rl)
	}
	return out
}

// defaultTarpit is how long a tarpit rule holds a request by default.
const defaultTarpit = 5 * time.Second

// listenerKey names a listening socket across generations: its address, so
// that a reload that keeps or moves an address keeps its socket (no
// connection refused). An ephemeral port (":0") is the frontend's own.
func listenerKey(frontend string, i int, addr string) string {
	if strings.HasSuffix(addr, ":0") {
		return fmt.Sprintf("%s/%d=%s", frontend, i, addr)
	}
	return "=" + addr
}

// openAccessLog opens the access log destination behind a logWriter, so
// that writing a line costs a copy, not a syscall, on the event loops.
func openAccessLog(dest string, stdout, stderr io.Writer, dropped *atomic.Int64) (zerolog.Logger, *logWriter, error) {
	var (
		out    io.Writer
		reopen func() (io.Writer, error)
	)
	switch dest {
	case "off":
		return zerolog.Nop(), nil, nil
	case "", "stdout":
		out = stdout
	case "stderr":
		out = stderr
	default:
		reopen = func() (io.Writer, error) {
			f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
			if err != nil {
				return nil, fmt.Errorf("global.access_log: %w", err)
			}
			return f, nil
		}
		var err error
		if out, err = reopen(); err != nil {
			return zerolog.Nop(), nil, err
		}
	}
	w := newLogWriter(out, reopen, dropped)
	return zerolog.New(w).With().Timestamp().Logger(), w, nil
}

// checkFDLimit warns when maxconn cannot be honoured with the process's
// file descriptor limit (each session needs two sockets, plus pipes).
func checkFDLimit(cfg *config.Config, log zerolog.Logger) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	need := uint64(cfg.Global.MaxConn)*2 + uint64(cfg.Global.MaxConn/4)*2 + 64
	if rl.Cur < need {
		log.Warn().Str("event", "fd_limit").Uint64("nofile", rl.Cur).Uint64("needed", need).
			Int("maxconn", cfg.Global.MaxConn).
			Msg("file descriptor limit below what global.maxconn needs; raise LimitNOFILE or lower maxconn")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// priorityOffset parses a validated set-priority-offset ("2s", "-500ms").
func priorityOffset(s string) time.Duration {
	d, _ := config.ParseSignedDuration(s)
	return d
}
