package main

import (
	"strconv"

	"github.com/lb-proxy/lb/listener"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// notify sends a state line to systemd (sd_notify(3)) when lb runs as a
// Type=notify service; without $NOTIFY_SOCKET it does nothing.
func notify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' { // abstract namespace
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte(state))
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

// watchdogInterval is systemd's WatchdogSec= for this process
// ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or lb's pid), 0 if none.
func watchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond
}

// watchdog pings systemd (WATCHDOG=1) twice per interval, each time only
// after every event loop of every listener ran a probe within half an
// interval: a loop stuck in a callback stops the pings, and systemd
// restarts lb (Restart=on-failure). It ends when inst stops.
func (inst *instance) watchdog(interval time.Duration) {
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-inst.quit:
			return
		case <-t.C:
		}
		if inst.loopsAlive(interval / 2) {
			notify("WATCHDOG=1")
		} else {
			inst.log.Error().Str("event", "watchdog").Msg("an event loop did not answer: systemd's watchdog will restart lb")
		}
	}
}

// loopsAlive probes every listener's loops (see listener.Probe).
func (inst *instance) loopsAlive(timeout time.Duration) bool {
	inst.mu.Lock()
	ls := make([]*listener.Listener, 0, len(inst.listeners))
	for _, l := range inst.listeners {
		ls = append(ls, l)
	}
	inst.mu.Unlock()
	for _, l := range ls {
		if !l.Probe(timeout) {
			return false
		}
	}
	return true
}
