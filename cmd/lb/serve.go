package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/listener"
	"github.com/lb-proxy/lb/session"
)

// pipeSize is the size asked for each splice pipe.
const pipeSize = 256 << 10

// instance is one running configuration generation: its backends (with
// their health checkers), frontends, listeners and sessions.
type instance struct {
	cfg       *config.Config
	log       zerolog.Logger
	env       *session.Env
	global    *listener.Gate
	loops     *listener.Loops
	backends  map[string]*backend.Backend
	listeners map[string][]*listener.Listener // by frontend name
	closers   []io.Closer                     // access log file, if any
}

func loadConfig(files []string) (*config.Config, error) {
	return config.Load(files...)
}

// serve runs the configuration in files until a stop signal, and returns
// the exit status.
func serve(files []string, stdout, stderr io.Writer, sig <-chan os.Signal, ready func(*instance)) int {
	log := zerolog.New(stderr).With().Timestamp().Logger()
	cfg, err := loadConfig(files)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	inst, err := start(cfg, stdout, stderr, log)
	if err != nil {
		log.Error().Err(err).Msg("start failed")
		return 1
	}
	log.Info().Str("event", "ready").Strs("files", cfg.Files).Int("pid", os.Getpid()).Msg("listening")
	if ready != nil {
		ready(inst)
	}
	for s := range sig {
		switch s {
		case syscall.SIGHUP, syscall.SIGUSR2:
			log.Warn().Str("event", "reload").Str("signal", s.String()).Msg("reload is not implemented yet; configuration unchanged")
		default:
			log.Info().Str("event", "stopping").Str("signal", s.String()).Msg("graceful stop")
			inst.stop()
			log.Info().Str("event", "stopped").Msg("bye")
			return 0
		}
	}
	inst.stop()
	return 0
}

// start builds and starts a generation from cfg: backends first (checks
// running), then listeners. On error everything started is stopped.
func start(cfg *config.Config, stdout, stderr io.Writer, log zerolog.Logger) (*instance, error) {
	inst := &instance{cfg: cfg, log: log, backends: map[string]*backend.Backend{},
		listeners: map[string][]*listener.Listener{}}
	accessLog, closer, err := openAccessLog(cfg.Global.AccessLog, stdout, stderr)
	if err != nil {
		return nil, err
	}
	if closer != nil {
		inst.closers = append(inst.closers, closer)
	}
	checkFDLimit(cfg, log)
	n := cfg.Global.EventLoops
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if inst.loops, err = listener.NewLoops(n, log); err != nil {
		return nil, err
	}
	inst.env = session.NewEnv(nil, nil, session.NewPipePool(max(cfg.Global.MaxConn/4, 1), pipeSize), accessLog)
	inst.env.Loops = inst.loops
	inst.global = listener.NewGate(cfg.Global.MaxConn)

	for _, name := range sortedKeys(cfg.Backends) {
		bc := cfg.Backends[name]
		be, err := backend.New(bc, backend.Options{
			Logger:   log.With().Str("backend", name).Logger(),
			MaxQueue: cfg.Global.MaxConn,
		})
		if err != nil {
			inst.stop()
			return nil, err
		}
		be.Start()
		inst.backends[name] = be
	}
	for _, name := range sortedKeys(cfg.Frontends) {
		fc := cfg.Frontends[name]
		fe := &session.Frontend{
			Name:     name,
			Mode:     fc.Mode,
			Timeouts: fc.Timeout,
			Default:  &session.Target{BE: inst.backends[fc.DefaultBackend], Cfg: cfg.Backends[fc.DefaultBackend]},
			Env:      inst.env,
		}
		b := &listener.Binding{Frontend: fe, Gate: listener.NewGate(fc.MaxConn)}
		opts := listener.Options{}
		if fc.Mode == config.ModeHTTP {
			opts.DeferAccept = 1
		}
		for _, addr := range fc.Bind {
			l, err := listener.Listen(addr, opts, inst.global, log)
			if err != nil {
				inst.stop()
				return nil, fmt.Errorf("frontend.%s.bind: %w", name, err)
			}
			inst.listeners[name] = append(inst.listeners[name], l)
			l.Serve(b)
		}
	}
	return inst, nil
}

// stop is the graceful stop: close the listeners, let sessions finish for
// up to hard_stop_after, then kill what is left, and stop the backends.
func (inst *instance) stop() {
	for _, ls := range inst.listeners {
		for _, l := range ls {
			l.Close()
		}
	}
	if inst.env != nil {
		done := make(chan struct{})
		go func() { inst.env.Wait(); close(done) }()
		var hard <-chan time.Time
		if d := inst.cfg.Global.HardStopAfter.Duration; d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			hard = t.C
		}
		select {
		case <-done:
		case <-hard:
			inst.log.Warn().Str("event", "hard_stop").Int64("sessions", inst.env.Current()).
				Msg("hard_stop_after reached: closing remaining sessions")
			inst.env.Kill()
			<-done
		}
		inst.env.Kill()
		inst.env.Pipes.Close()
	}
	if inst.loops != nil {
		inst.loops.Stop()
	}
	for _, be := range inst.backends {
		be.Stop()
	}
	for _, c := range inst.closers {
		c.Close()
	}
}

// addrs returns the bound addresses of a frontend (tests use it).
func (inst *instance) addrs(frontend string) []net.Addr {
	var out []net.Addr
	for _, l := range inst.listeners[frontend] {
		out = append(out, l.Addr())
	}
	return out
}

// openAccessLog opens the access log destination.
func openAccessLog(dest string, stdout, stderr io.Writer) (zerolog.Logger, io.Closer, error) {
	switch dest {
	case "off":
		return zerolog.Nop(), nil, nil
	case "", "stdout":
		return zerolog.New(stdout).With().Timestamp().Logger(), nil, nil
	case "stderr":
		return zerolog.New(stderr).With().Timestamp().Logger(), nil, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return zerolog.Nop(), nil, fmt.Errorf("global.access_log: %w", err)
	}
	return zerolog.New(f).With().Timestamp().Logger(), f, nil
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
