package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMaxconnWaitingRoom: above a frontend's maxconn, connections wait
// unread and are served in arrival order as slots free; the waiting room
// is bounded, and a connection that finds it full is closed at once and
// counted.
func TestMaxconnWaitingRoom(t *testing.T) {
	s := startServer(t, echo)
	p := startLBWith(t, tcpConfig("maxconn = 1", "", srv("s", s.addr())), runOptions{waiting: 2})
	addr := p.addr("fe")
	echoed := func(c net.Conn, want string, wait time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(wait))
		b := make([]byte, len(want))
		_, err := io.ReadFull(c, b)
		if err != nil && !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("reading %q: %v", want, err)
		}
		return err == nil && string(b) == want
	}
	a := dial(t, addr)
	io.WriteString(a, "a")
	if !echoed(a, "a", 5*time.Second) {
		t.Fatal("first connection not served")
	}
	// One after the other: lb accepts a connection when its first bytes
	// arrive (TCP_DEFER_ACCEPT), and two that arrive together may be
	// accepted in either order.
	b := dial(t, addr)
	io.WriteString(b, "b")
	waitFor(t, "one waiting connection", func() bool { return p.inst.listenerStats().Waiting == 1 })
	c := dial(t, addr)
	io.WriteString(c, "c")
	waitFor(t, "two waiting connections", func() bool { return p.inst.listenerStats().Waiting == 2 })
	d := dial(t, addr) // the room is full: closed at once
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := d.Read(make([]byte, 1)); n != 0 || err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a connection finding the waiting room full: read %d, %v; want a close", n, err)
	}
	if st := p.inst.listenerStats(); st.Shed != 1 || st.Waiting != 2 {
		t.Errorf("stats %+v; want 1 shed, 2 waiting", st)
	}
	if echoed(b, "b", 200*time.Millisecond) || echoed(c, "c", 200*time.Millisecond) {
		t.Fatal("a waiting connection was served while the only slot was taken")
	}
	a.Close()
	if !echoed(b, "b", 5*time.Second) {
		t.Fatal("the first waiting connection was not served when the slot freed")
	}
	if echoed(c, "c", 200*time.Millisecond) {
		t.Fatal("the second waiting connection overtook the first")
	}
	b.Close()
	if !echoed(c, "c", 5*time.Second) {
		t.Fatal("the second waiting connection was not served when the slot freed")
	}
	if st := p.inst.listenerStats(); st.Waiting != 0 {
		t.Errorf("%d still waiting; want 0", st.Waiting)
	}
}

// TestAcceptOnEveryLoop: with several event loops, each accepts its share
// of an address's connections on its own socket, and every one is served;
// a graceful stop then closes every loop's socket (new connections are
// refused) while the sessions already running go on.
func TestAcceptOnEveryLoop(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	cfg := strings.Replace(httpConfig("", "", srv("s", hb.addr())), "[global]\n", "[global]\nevent_loops = 4\n", 1)
	p := startLB(t, cfg)
	addr := p.addr("fe")
	const n = 40
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = dial(t, addr)
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			r, err := readResponse(bufio.NewReader(c), "GET")
			if err != nil || r.summary != "HTTP/1.1 200 OK x" {
				t.Errorf("got %q, %v", r.raw, err)
			}
		}(conns[i])
	}
	wg.Wait()
	p.inst.mu.Lock()
	per := p.inst.listeners[listenerKey("fe", 0, "127.0.0.1:0")].PerLoop()
	p.inst.mu.Unlock()
	if len(per) != 4 {
		t.Fatalf("%d loops; want 4", len(per))
	}
	for i, c := range per {
		if c == 0 {
			t.Errorf("loop %d carries no connection of %d: %v", i, n, per)
		}
	}
	// One session is mid-request when the stop comes.
	io.WriteString(conns[0], "GET /again HTTP/1.1\r\n")
	p.sig <- sigTERM
	waitFor(t, "the address to stop listening", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	for i := range 20 { // whichever socket the kernel would have picked
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("connection %d accepted after the stop", i)
		}
	}
	// The session that was mid-request still gets its answer (and then the
	// close of a stopping lb).
	c := conns[0]
	io.WriteString(c, "Host: h\r\n\r\n")
	got := readAll(t, c)
	if !strings.Contains(got, "HTTP/1.1 200") {
		t.Errorf("a running session after the stop got %q", clip(got))
	}
}

// TestLoopDialPolledByBusyLoop: a connect attempt made on the event loop
// ends by the loop's own polls while the loop is busy, with no goroutine
// (here the watcher, which serves an idle loop, is off): a TCP session
// whose client keeps sending gets connected and echoed.
func TestLoopDialPolledByBusyLoop(t *testing.T) {
	s := startServer(t, echo)
	cfg := strings.Replace(tcpConfig("", "", srv("s", s.addr())), "[global]\n", "[global]\nevent_loops = 1\n", 1)
	p := startLBWith(t, cfg, runOptions{noDialWatch: true, noDialLook: true})
	c := dial(t, p.addr("fe"))
	got := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		got <- err
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("no echo: %v", err)
			}
			return
		case <-tick.C:
			if _, err := io.WriteString(c, "a"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestLoopDialLoopbackAtOnce: a loopback connect has ended when connect(2)
// returns, so an idle loop completes it at once, with no poll and no
// watcher (both off here): one request, with nothing after it to wake the
// loop, is answered, on a new server connection as on a refused one.
func TestLoopDialLoopbackAtOnce(t *testing.T) {
	s := startServer(t, nameServer("s"))
	dead := deadAddr(t)
	cfg := strings.Replace(tcpConfig("", "balance = \"first\"\nretries = 1\nredispatch = true\n", srv("dead", dead), srv("s", s.addr())),
		"[global]\n", "[global]\nevent_loops = 1\n", 1)
	p := startLBWith(t, cfg, runOptions{noDialWatch: true})
	for i := 0; i < 3; i++ {
		c := dial(t, p.addr("fe"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if got := readAll(t, c); got != "s" {
			t.Fatalf("connection %d: answer = %q; want %q (refused by dead, then s)", i, got, "s")
		}
		c.Close()
	}
}
