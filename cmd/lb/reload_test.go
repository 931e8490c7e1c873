package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestReload: SIGHUP switches to the new file inside the process: new
// sessions follow it, an established tunnel keeps running, the listening
// socket is kept (no refused connection), and a server's admin/health state
// carries over.
func TestReload(t *testing.T) {
	a := startServer(t, func(c net.Conn) {
		if _, err := io.WriteString(c, "a"); err != nil {
			return
		}
		io.Copy(c, c) // then echo, so a tunnel can be probed
	})
	b := startServer(t, nameServer("b"))
	p := startLB(t, tcpConfig("", "", srv("a", a.addr())))
	addr := p.addr("fe")
	tunnel := dial(t, addr)
	buf := make([]byte, 1)
	tunnel.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(tunnel, buf); err != nil || buf[0] != 'a' {
		t.Fatalf("first session: %q, %v", buf, err)
	}

	// Keep connecting during the reload: none may be refused.
	stop := make(chan struct{})
	refused := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				refused <- nil
				return
			default:
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				refused <- err
				return
			}
			c.Close()
		}
	}()
	cfg2 := strings.Replace(tcpConfig("", "", srv("a", a.addr()), srv("b", b.addr(), "weight = 1")), "[backend.be]", "[backend.be]\nbalance = \"first\"", 1)
	cfg2 = strings.Replace(cfg2, fmt.Sprintf("name = %q\naddress = %q", "a", a.addr()), fmt.Sprintf("name = %q\naddress = %q\nweight = 0", "a", a.addr()), 1)
	if got := p.reload(t, cfg2); got != "reloaded" {
		t.Fatalf("reload outcome %s; want reloaded:\n%s", got, p.stderr.String())
	}
	close(stop)
	if err := <-refused; err != nil {
		t.Errorf("a connection was refused during the reload: %v", err)
	}
	if got := readAll(t, dial(t, addr)); got != "b" {
		t.Errorf("after reload: %q; want b (a has weight 0)", got)
	}
	// The tunnel from before the reload still works.
	io.WriteString(tunnel, "x")
	if _, err := io.ReadFull(tunnel, buf); err != nil || buf[0] != 'x' {
		t.Errorf("old tunnel after reload: %q, %v; want its echo", buf, err)
	}
}

// TestReloadBadFile: an invalid file is refused, every problem is logged,
// and the running configuration keeps serving.
func TestReloadBadFile(t *testing.T) {
	a := startServer(t, nameServer("a"))
	p := startLB(t, tcpConfig("", "", srv("a", a.addr())))
	bad := tcpConfig("", "retries = -1\nbalanse = \"first\"", srv("a", a.addr()))
	if got := p.reload(t, bad); got != "reload_failed" {
		t.Fatalf("reload outcome %s; want reload_failed", got)
	}
	for _, want := range []string{`"path":"backend.be.retries"`, `"path":"backend.be.balanse"`} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("events lack %s:\n%s", want, p.stderr.String())
		}
	}
	if got := readAll(t, dial(t, p.addr("fe"))); got != "a" {
		t.Errorf("after a refused reload: %q; want a", got)
	}
}

// TestReloadCarriesHealth: a server DOWN by its checks stays DOWN across a
// reload (it does not get traffic while it would need `rise` checks).
func TestReloadCarriesHealth(t *testing.T) {
	live := startServer(t, nameServer("live"))
	dead := deadAddr(t)
	health := "balance = \"first\"\n[backend.be.health]\ninterval = \"1h\"\nfall = 1\n"
	p := startLB(t, tcpConfig("", strings.Replace(health, "1h", "20ms", 1), srv("dead", dead), srv("live", live.addr())))
	waitFor(t, "dead DOWN", func() bool { return p.inst.backend("be").Servers()[0].State().String() == "DOWN" })
	// The new generation checks only hourly: only carried state keeps it DOWN.
	if got := p.reload(t, tcpConfig("", health, srv("dead", dead), srv("live", live.addr()))); got != "reloaded" {
		t.Fatal(got)
	}
	if st := p.inst.backend("be").Servers()[0].State().String(); st != "DOWN" {
		t.Errorf("dead server after reload: %s; want DOWN carried over", st)
	}
	if p.inst.backend("be").Servers()[0].Counters().DownSince.Load() == 0 {
		t.Errorf("the DOWN spell did not carry over (its downtime would not count)")
	}
	if got := readAll(t, dial(t, p.addr("fe"))); got != "live" {
		t.Errorf("after reload: %q; want live", got)
	}
}

// TestReloadListeners: a reload can add a frontend (its listener opens)
// and remove one: its address stops listening at once, even while a
// session that started there still runs on the loops that accepted it;
// that session goes on, and once it ended the listener is closed.
func TestReloadListeners(t *testing.T) {
	a := startServer(t, nameServer("a"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	base := tcpConfig("", "", srv("a", a.addr()))
	extra := fmt.Sprintf("\n[frontend.extra]\nbind = [%q]\ndefault_backend = \"be\"\n", free)
	p := startLB(t, base)
	if c, err := net.DialTimeout("tcp", free, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepts before the frontend exists", free)
	}
	if got := p.reload(t, base+extra); got != "reloaded" {
		t.Fatal(got)
	}
	first := dial(t, free) // stays open: its session outlives the reload
	if got := readAll(t, first); got != "a" {
		t.Errorf("added frontend answered %q; want a", got)
	}
	if got := p.reload(t, base); got != "reloaded" {
		t.Fatal(got)
	}
	if c, err := net.DialTimeout("tcp", free, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts after its frontend was removed", free)
	}
	draining := func() int {
		p.inst.mu.Lock()
		defer p.inst.mu.Unlock()
		return len(p.inst.draining)
	}
	if n := draining(); n != 1 {
		t.Errorf("%d draining listeners while the removed frontend's session runs; want 1", n)
	}
	first.Close()
	waitFor(t, "the removed listener to close after its last session", func() bool { return draining() == 0 })
}

// TestReloadEventLoops: global.event_loops is read at start; a reload that
// changes it says so (restart_needed) instead of ignoring it silently, and
// the new generation runs on the loops in place.
func TestReloadEventLoops(t *testing.T) {
	s := startServer(t, nameServer("s"))
	cfg := strings.Replace(tcpConfig("", "", srv("s", s.addr())), "[global]\n", "[global]\nevent_loops = 1\n", 1)
	p := startLB(t, cfg)
	if got := p.reload(t, strings.Replace(cfg, "event_loops = 1", "event_loops = 3", 1)); got != "reloaded" {
		t.Fatalf("reload outcome %s:\n%s", got, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"event":"restart_needed","key":"global.event_loops","running":1,"file":3`) {
		t.Errorf("no restart_needed line for event_loops in:\n%s", p.stderr.String())
	}
	if got := readAll(t, dial(t, p.addr("fe"))); got != "s" {
		t.Errorf("after the reload: %q; want s", got)
	}
}
