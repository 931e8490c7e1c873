package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
