package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session"
)

// TestNotify: under systemd (Type=notify) lb sends READY=1 once listening,
// RELOADING=1 then READY=1 around a reload, and STOPPING=1 on stop.
func TestNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	next := func() string {
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 512)
		n, err := pc.Read(b)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(b[:n])
	}
	s := startServer(t, nameServer("a"))
	p := startLB(t, tcpConfig("", "", srv("a", s.addr())))
	if m := next(); !strings.HasPrefix(m, "READY=1") {
		t.Errorf("first notification %q; want READY=1", m)
	}
	p.reload(t, tcpConfig("", "", srv("a", s.addr())))
	if m := next(); !strings.HasPrefix(m, "RELOADING=1") || !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("notification %q; want RELOADING=1 with MONOTONIC_USEC", m)
	}
	if m := next(); !strings.HasPrefix(m, "READY=1") {
		t.Errorf("notification %q; want READY=1 after the reload", m)
	}
	p.stop(t)
	if m := next(); m != "STOPPING=1" {
		t.Errorf("notification %q; want STOPPING=1", m)
	}
}

// TestWatchdog: with systemd's WatchdogSec (WATCHDOG_USEC), lb pings
// WATCHDOG=1 while its event loops answer, and stops (logging why) when one
// is stuck, so that systemd restarts it.
func TestWatchdog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000")
	pings := func(d time.Duration) int {
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); {
			pc.SetReadDeadline(end)
			b := make([]byte, 512)
			m, err := pc.Read(b)
			if err != nil {
				break
			}
			if string(b[:m]) == "WATCHDOG=1" {
				n++
			}
		}
		return n
	}
	s := startServer(t, echo)
	p := startLB(t, tcpConfig("", "", srv("a", s.addr())))
	c := dial(t, p.addr("fe")) // the loop carries a connection: it is probed
	defer c.Close()
	if n := pings(time.Second); n < 2 {
		t.Fatalf("%d WATCHDOG=1 pings in a second with a 200ms watchdog; want several", n)
	}
	p.inst.mu.Lock()
	var loops []session.Loop
	for _, l := range p.inst.listeners {
		loops = append(loops, l.Loops()...)
	}
	p.inst.mu.Unlock()
	if len(loops) == 0 {
		t.Fatal("no loop carried the connection")
	}
	stuck := make(chan struct{})
	loops[0].Execute(func() { <-stuck })
	pings(300 * time.Millisecond) // what was in flight
	if n := pings(time.Second); n != 0 {
		t.Errorf("%d pings while a loop is stuck; want none", n)
	}
	close(stuck)
	if !strings.Contains(p.stderr.String(), `"event":"watchdog"`) {
		t.Errorf("no watchdog line in the log")
	}
}
