package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/config"
)

// checkConfig is a backend's validated [health] table.
type checkConfig struct {
	interval time.Duration // between the end of a check and the next start
	timeout  time.Duration // bounds one check
	rise     int
	fall     int
	probe    prober
}

// prober runs one health check of addr, bounded by ctx, and classifies the
// result: "tcp" connects only; "http" sends a request and reads the status.
// hello, if any, is written first: the PROXY header (LOCAL: the check is
// lb's own) of a server that is sent one on every connection, which may
// refuse a connection without it.
type prober interface {
	probe(ctx context.Context, addr string, hello []byte) (CheckStatus, error)
}

// checkHello returns what a check writes to s first: for a server with
// send_proxy, a PROXY header of the LOCAL kind (v2) or UNKNOWN (v1), as
// HAProxy sends on checks to its send-proxy servers.
func checkHello(s *Server) []byte {
	if s.proxy == 0 {
		return nil
	}
	return analyzer.AppendProxyHeader(nil, s.proxy, netip.AddrPort{}, netip.AddrPort{})
}

// newCheckConfig validates h and returns its check configuration, or
// every problem found.
func newCheckConfig(h *config.Health, dial func(context.Context, string, string) (net.Conn, error)) (*checkConfig, []error) {
	var errs []error
	if h.Interval.Duration <= 0 {
		errs = append(errs, fmt.Errorf("interval %v must be positive", h.Interval.Duration))
	}
	if h.Timeout.Duration < 0 {
		errs = append(errs, fmt.Errorf("negative timeout %v", h.Timeout.Duration))
	}
	if h.Rise < 1 {
		errs = append(errs, fmt.Errorf("rise %d must be at least 1", h.Rise))
	}
	if h.Fall < 1 {
		errs = append(errs, fmt.Errorf("fall %d must be at least 1", h.Fall))
	}
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c := &checkConfig{
		interval: h.Interval.Duration,
		timeout:  h.Timeout.Duration,
		rise:     h.Rise,
		fall:     h.Fall,
	}
	if c.timeout == 0 {
		c.timeout = c.interval // the documented default
	}
	switch h.Kind {
	case "tcp":
		c.probe = tcpProbe{dial: dial}
	case "http":
		lo, hi, err := config.ParseStatusRange(h.ExpectStatus)
		if err != nil {
			errs = append(errs, err)
		}
		method := h.Method
		if method == "" {
			method = "GET"
		}
		c.probe = httpProbe{dial: dial, method: method, path: h.Path, lo: lo, hi: hi}
	default:
		errs = append(errs, fmt.Errorf("unknown kind %q (want tcp or http)", h.Kind))
	}
	return c, errs
}

// tcpProbe passes when a TCP connect completes.
type tcpProbe struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (p tcpProbe) probe(ctx context.Context, addr string, hello []byte) (CheckStatus, error) {
	c, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		return classifyDialError(ctx, err), err
	}
	if len(hello) > 0 {
		if d, ok := ctx.Deadline(); ok {
			c.SetDeadline(d)
		}
		if _, err := c.Write(hello); err != nil {
			c.Close()
			return CheckSockErr, err
		}
	}
	c.Close()
	return CheckL4OK, nil
}

// httpProbe passes when an HTTP request gets a status in [lo, hi]. It reads
// only the status line (at most 4 KiB) and closes the connection.
type httpProbe struct {
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	method, path string
	lo, hi       int
}

func (p httpProbe) probe(ctx context.Context, addr string, hello []byte) (CheckStatus, error) {
	c, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		return classifyDialError(ctx, err), err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	req := string(hello) + p.method + " " + p.path + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUser-Agent: lb-health-check\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return CheckL7RSP, err
	}
	buf := make([]byte, 0, 4096)
	for {
		if i := bytes.Index(buf, []byte("\r\n")); i >= 0 {
			buf = buf[:i]
			break
		}
		if len(buf) == cap(buf) {
			return CheckL7RSP, errors.New("status line over 4 KiB")
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return CheckL7TOUT, err
			}
			return CheckL7RSP, err
		}
	}
	// "HTTP/1.x NNN reason"
	if len(buf) < 12 || !bytes.HasPrefix(buf, []byte("HTTP/1.")) || buf[8] != ' ' {
		return CheckL7RSP, fmt.Errorf("invalid status line %q", buf)
	}
	status, err := strconv.Atoi(string(buf[9:12]))
	if err != nil || (len(buf) > 12 && buf[12] != ' ') {
		return CheckL7RSP, fmt.Errorf("invalid status line %q", buf)
	}
	if status < p.lo || status > p.hi {
		return CheckL7STS, fmt.Errorf("status %d, want %d-%d", status, p.lo, p.hi)
	}
	return CheckL7OK, nil
}

// classifyDialError maps a failed connect to L4TOUT (check timeout), SOCKERR
// (the address itself is unusable) or L4CON (refused, unreachable, reset).
func classifyDialError(ctx context.Context, err error) CheckStatus {
	var ne net.Error
	var ae *net.AddrError
	switch {
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil,
		errors.As(err, &ne) && ne.Timeout():
		return CheckL4TOUT
	case errors.As(err, &ae):
		return CheckSockErr
	}
	return CheckL4CON
}

// Start launches the health checks: one goroutine per server, owned by the
// Backend and stopped by Stop (or by RemoveServer for its server). The first
// checks are spread over one interval in declaration order; servers added
// later by AddServer are checked at once. Without a [health] table it does
// nothing. A Backend is started at most once: later calls, and calls after
// Stop, do nothing. Safe for concurrent use.
func (b *Backend) Start() {
	b.run.mu.Lock()
	defer b.run.mu.Unlock()
	if b.run.started {
		return
	}
	b.run.started = true
	if b.checks == nil {
		return
	}
	b.run.ctx, b.run.cancel = context.WithCancel(context.Background())
	list := *b.list.Load()
	n := time.Duration(len(list))
	for i, s := range list {
		b.startCheckerLocked(s, b.checks.interval*time.Duration(i)/n)
	}
}

// startCheckerLocked launches s's checker, its first check after delay,
// unless checks are not running, s already has one or s was removed.
// b.run.mu must be held (not Backend.mu).
func (b *Backend) startCheckerLocked(s *Server, delay time.Duration) {
	if b.run.ctx == nil || s.checkCancel != nil || s.removed.Load() {
		return
	}
	ctx, cancel := context.WithCancel(b.run.ctx)
	done := make(chan struct{})
	s.checkCancel, s.checkDone = cancel, done
	b.run.wg.Add(1)
	go b.checkLoop(ctx, s, delay, done)
}

// Stop stops the health checks and waits for their goroutines to return,
// abandoning checks in flight (their results are not applied). Server
// states stay as they are. Idempotent and safe for concurrent use.
func (b *Backend) Stop() {
	b.run.mu.Lock()
	b.run.started = true // a Start after Stop does nothing
	cancel := b.run.cancel
	b.run.ctx, b.run.cancel = nil, nil
	b.run.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	b.run.wg.Wait()
}

// checkLoop checks s every interval until ctx is done, then closes done.
// Servers in MAINT are not checked. Owned by the Backend (b.run.wg).
func (b *Backend) checkLoop(ctx context.Context, s *Server, delay time.Duration, done chan struct{}) {
	defer b.run.wg.Done()
	defer close(done)
	hello := checkHello(s)
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		if Admin(s.admin.Load()) != AdminMaint {
			cctx, cancel := context.WithTimeout(ctx, b.checks.timeout)
			start := time.Now()
			st, err := b.checks.probe.probe(cctx, s.addr, hello)
			s.counters.CheckDuration.Store(int64(time.Since(start)))
			cancel()
			if ctx.Err() != nil {
				return
			}
			b.checkDone(s, st, err)
		}
		t.Reset(b.checks.interval)
	}
}

// checkDone applies one check result to s with HAProxy's health counter
// (src/check.c): it runs 0..rise+fall-1 and the server is UP while it is >=
// rise. A pass increments it and, on reaching rise, snaps it to
// rise+fall-1; a failure decrements it and, below rise, snaps it to 0. So
// an UP server that passed a check goes DOWN after fall consecutive
// failures, a DOWN server goes UP after rise consecutive passes, and a
// server at its start value (rise) goes DOWN at the first failure. A result
// that arrives while s is in MAINT is dropped. Waiters are served if s came
// UP.
func (b *Backend) checkDone(s *Server, st CheckStatus, err error) {
	c := b.checks
	b.mu.Lock()
	if Admin(s.admin.Load()) == AdminMaint {
		b.mu.Unlock()
		return
	}
	s.counters.CheckStatus.Store(uint32(st))
	from, before, wasDown := s.State(), s.health, s.down.Load()
	if st.ok() {
		if s.health < c.rise+c.fall-1 {
			s.health++
			if s.health >= c.rise {
				s.health = c.rise + c.fall - 1
			}
		}
	} else {
		s.counters.ChecksFailed.Add(1)
		if s.health > 0 {
			s.health--
			if s.health < c.rise {
				s.health = 0
			}
		}
	}
	down := s.health < c.rise
	s.down.Store(down)
	var ev stateEvent
	if down != wasDown {
		s.counters.Transitions.Add(1)
		now := time.Now().UnixNano()
		if down {
			s.counters.Downs.Add(1)
			s.counters.DownSince.Store(now)
		} else if since := s.counters.DownSince.Swap(0); since != 0 {
			s.counters.Downtime.Add(now - since)
		}
		ev = b.changedLocked(s, from, checkReason(st, err))
	}
	health := s.health
	ready, _ := b.dispatchLocked(nil)
	b.mu.Unlock()
	b.logChange(ev)
	if down == wasDown && health != before {
		b.log.Debug().Str("event", "health_check").Str("backend", b.name).
			Str("server", s.name).Str("check_status", st.String()).
			Str("health", healthString(health, c)).Msg("health check result")
	}
	callReady(ready)
}

// checkReason words a check result as HAProxy's logs do.
func checkReason(st CheckStatus, err error) string {
	switch st {
	case CheckL4OK:
		return "Layer4 check passed"
	case CheckL4TOUT:
		return "Layer4 timeout"
	case CheckSockErr:
		return fmt.Sprintf("Socket error, info: %q", errString(err))
	case CheckL7OK:
		return "Layer7 check passed"
	case CheckL7STS:
		return fmt.Sprintf("Layer7 wrong status, info: %q", errString(err))
	case CheckL7RSP:
		return fmt.Sprintf("Layer7 invalid response, info: %q", errString(err))
	case CheckL7TOUT:
		return "Layer7 timeout"
	}
	return fmt.Sprintf("Layer4 connection problem, info: %q", errString(err))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
