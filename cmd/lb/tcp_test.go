package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session/sessiontest"
)

// tcpConfig renders a one-frontend TCP config. servers are TOML server
// entries (without the [[...]] header); extra is appended to [backend.be].
func tcpConfig(feExtra, beExtra string, servers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[global]
hard_stop_after = "2s"

[defaults]
mode = "tcp"

[frontend.fe]
bind = ["127.0.0.1:0"]
default_backend = "be"
%s

[backend.be]
%s
`, feExtra, beExtra)
	for _, s := range servers {
		fmt.Fprintf(&b, "\n[[backend.be.server]]\n%s\n", s)
	}
	return b.String()
}

func srv(name, addr string, extra ...string) string {
	return fmt.Sprintf("name = %q\naddress = %q\n%s", name, addr, strings.Join(extra, "\n"))
}

// TestTCPBalance checks the distribution of every balance algorithm with
// weights, through real connections.
func TestTCPBalance(t *testing.T) {
	cases := []struct {
		balance string
		weights []int
		n       int
		want    []int // exact counts; nil means "check with ok"
		ok      func(counts []int) bool
	}{
		{"roundrobin", []int{1, 2, 3}, 60, []int{10, 20, 30}, nil},
		{"static-rr", []int{1, 2, 3}, 60, []int{10, 20, 30}, nil},
		{"first", []int{1, 1, 1}, 20, []int{20, 0, 0}, nil},
		// One client address: every session lands on the same server.
		{"source", []int{1, 1, 1}, 20, nil, func(c []int) bool { return max(c[0], c[1], c[2]) == 20 }},
		// Sequential sessions all see zero load: ties are broken in turn.
		{"leastconn", []int{1, 1, 1}, 30, nil, func(c []int) bool { return c[0] > 0 && c[1] > 0 && c[2] > 0 }},
		{"random", []int{1, 1, 8}, 200, nil, func(c []int) bool { return c[2] > c[0] && c[2] > c[1] && c[0]+c[1] > 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.balance, func(t *testing.T) {
			var servers []string
			names := []string{"a", "b", "c"}
			for i, w := range tc.weights {
				s := startServer(t, nameServer(names[i]))
				servers = append(servers, srv(names[i], s.addr(), fmt.Sprintf("weight = %d", w)))
			}
			p := startLB(t, tcpConfig("", fmt.Sprintf("balance = %q", tc.balance), servers...))
			counts := make([]int, len(names))
			for i := 0; i < tc.n; i++ {
				c := dial(t, p.addr("fe"))
				got := readAll(t, c)
				c.Close()
				idx := strings.Index("abc", got)
				if len(got) != 1 || idx < 0 {
					t.Fatalf("session %d answered %q; want a server name", i, got)
				}
				counts[idx]++
			}
			if tc.want != nil && fmt.Sprint(counts) != fmt.Sprint(tc.want) {
				t.Errorf("balance %s weights %v over %d sessions: got %v; want %v", tc.balance, tc.weights, tc.n, counts, tc.want)
			}
			if tc.ok != nil && !tc.ok(counts) {
				t.Errorf("balance %s weights %v over %d sessions: got %v", tc.balance, tc.weights, tc.n, counts)
			}
		})
	}
}

// TestTCPHalfCloseClient: the client's FIN reaches the server while the
// server's answer keeps flowing back (printf 'x' | nc -q style).
func TestTCPHalfCloseClient(t *testing.T) {
	s := startServer(t, func(c net.Conn) {
		b, _ := io.ReadAll(c) // until the client's FIN
		time.Sleep(50 * time.Millisecond)
		fmt.Fprintf(c, "got %d bytes: %s", len(b), b)
	})
	p := startLB(t, tcpConfig("", "", srv("s", s.addr())))
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "x")
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, c), "got 1 bytes: x"; got != want {
		t.Errorf("answer after client half-close = %q; want %q", got, want)
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
	if l["term"] != "--" {
		t.Errorf("termination = %v; want --", l["term"])
	}
}

// TestTCPHalfCloseServer: the server's FIN reaches the client while the
// client keeps sending, and the server still receives it.
func TestTCPHalfCloseServer(t *testing.T) {
	got := make(chan string, 1)
	s := startServer(t, func(c net.Conn) {
		io.WriteString(c, "hello")
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		got <- string(b)
	})
	p := startLB(t, tcpConfig("", "", srv("s", s.addr())))
	c := dial(t, p.addr("fe"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c) // until the server's FIN, relayed
	if err != nil || string(b) != "hello" {
		t.Fatalf("client read %q, %v; want \"hello\" then EOF", b, err)
	}
	io.WriteString(c, "still talking")
	c.CloseWrite()
	select {
	case s := <-got:
		if s != "still talking" {
			t.Errorf("server received %q after its half-close; want %q", s, "still talking")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server never got the client's data and FIN")
	}
}

// TestTCPBigTransfer: 100 MB each way arrives byte-identical.
func TestTCPBigTransfer(t *testing.T) {
	const size = 100 << 20
	payload := make([]byte, size)
	rand.New(rand.NewSource(1)).Read(payload)
	want := sha256.Sum256(payload)

	// Download: the server sends the payload.
	down := startServer(t, func(c net.Conn) { c.Write(payload) })
	// Upload: the server hashes what it receives and answers the hash.
	up := startServer(t, func(c net.Conn) {
		h := sha256.New()
		io.Copy(h, c)
		c.Write(h.Sum(nil))
	})
	p := startLB(t, tcpConfig("", "", srv("down", down.addr()))+
		fmt.Sprintf(`
[frontend.up]
bind = ["127.0.0.1:0"]
default_backend = "up"

[backend.up]
[[backend.up.server]]
name = "up"
address = %q
`, up.addr()))

	c := dial(t, p.addr("fe"))
	h := sha256.New()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	n, err := io.Copy(h, c)
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Errorf("download: %d bytes, err %v, checksum match %v; want %d bytes, identical", n, err, bytes.Equal(h.Sum(nil), want[:]), size)
	}
	c.Close() // the session ends when both directions have

	c = dial(t, p.addr("up"))
	go func() { c.Write(payload); c.CloseWrite() }()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	sum, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(sum, want[:]) {
		t.Errorf("upload: server saw checksum %x (err %v); want %x", sum, err, want)
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
	if l["bytes_out"] != float64(size) {
		t.Errorf("access log bytes_out = %v; want %d", l["bytes_out"], size)
	}
	if l["bytes_spliced"].(float64) == 0 {
		t.Errorf("access log bytes_spliced = 0 for a 100 MB download; want splice used")
	}
}

// TestTCPRetriesRedispatch: a dead server is retried, then the last retry
// goes to another server; without redispatch the client is closed. The
// pause before each retry on the same server (min(connect, 1s)) runs on a
// fake clock.
func TestTCPRetriesRedispatch(t *testing.T) {
	live := startServer(t, nameServer("live"))
	dead := deadAddr(t)
	timeouts := "[backend.be.timeout]\nconnect = \"100ms\"\n"
	t.Run("redispatch", func(t *testing.T) {
		clock := newClock()
		p := startLBClock(t, tcpConfig("", "balance = \"first\"\nretries = 2\nredispatch = true\n"+timeouts,
			srv("dead", dead), srv("live", live.addr())), clock)
		c := dial(t, p.addr("fe"))
		passTurnAround(t, p, clock, 1, 100*time.Millisecond) // the second attempt is the last: redispatched at once
		if got := readAll(t, c); got != "live" {
			t.Errorf("answer = %q; want %q (redispatched)", got, "live")
		}
		c.Close()
		l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
		if l["retries"] != 2.0 || l["redispatched"] != true || l["server"] != "live" || l["term"] != "--" {
			t.Errorf("log = %v; want retries 2, redispatched, server live, term --", l)
		}
	})
	t.Run("no-redispatch", func(t *testing.T) {
		clock := newClock()
		p := startLBClock(t, tcpConfig("", "balance = \"first\"\nretries = 2\nredispatch = false\n"+timeouts,
			srv("dead", dead), srv("live", live.addr())), clock)
		c := dial(t, p.addr("fe"))
		passTurnAround(t, p, clock, 1, 100*time.Millisecond)
		passTurnAround(t, p, clock, 2, 100*time.Millisecond)
		if got := readAll(t, c); got != "" {
			t.Errorf("answer = %q; want a clean close with nothing", got)
		}
		l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
		if l["retries"] != 2.0 || l["term"] != "SC" || l["Tc"] != -1.0 {
			t.Errorf("log = %v; want retries 2, term SC, Tc -1", l)
		}
		be := p.inst.backend("be")
		if n := be.Servers()[0].Counters().ConnectErrors.Load(); n != 3 {
			t.Errorf("connection errors counted on the dead server = %d; want 3 (1 + 2 retries)", n)
		}
	})
}

// passTurnAround waits until the first server of backend be has counted n
// refused connections (lb is then in the pause before its next attempt),
// then moves the fake clock past the pause. The refusal is what the test
// waits for, not the pause's timer: the pause ends at the date the
// refused attempt's timeout.connect had (both are min(connect, 1s) after
// the frozen now), so that timer is armed before the refusal too.
func passTurnAround(t *testing.T, p *lbProc, clock *sessiontest.Clock, n uint64, pause time.Duration) {
	t.Helper()
	s := p.inst.backend("be").Servers()[0]
	waitFor(t, fmt.Sprintf("refused connection %d", n), func() bool { return s.Counters().ConnectErrors.Load() >= n })
	fireAt(t, clock, clock.Now().Add(pause))
}

// TestTCPNoServer: with every server DOWN the client is closed at once.
func TestTCPNoServer(t *testing.T) {
	p := startLB(t, tcpConfig("", "[backend.be.health]\ninterval = \"20ms\"\nfall = 1\n", srv("dead", deadAddr(t))))
	be := p.inst.backend("be")
	waitFor(t, "server DOWN", func() bool { return be.Servers()[0].State().String() == "DOWN" })
	c := dial(t, p.addr("fe"))
	if got := readAll(t, c); got != "" {
		t.Errorf("answer = %q; want a clean close", got)
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
	if l["server"] != "<NOSRV>" || l["term"] != "SC" {
		t.Errorf("log = %v; want server <NOSRV>, term SC", l)
	}
}

// TestTCPConnectTimeout: a server that never answers the SYN gets
// timeout.connect per attempt, then the client is closed (sC). On a fake
// clock: the client is still open after the first attempt's timeout; lb
// pauses (min(connect, 1s)) and tries again, and closes the client only
// after the second attempt's timeout.
func TestTCPConnectTimeout(t *testing.T) {
	addr := blackhole(t)
	clock := newClock()
	p := startLBClock(t, tcpConfig("", "retries = 1\nredispatch = false\n[backend.be.timeout]\nconnect = \"150ms\"\n", srv("bh", addr)), clock)
	c := dial(t, p.addr("fe"))
	fireAt(t, clock, clock.Now().Add(150*time.Millisecond)) // the first attempt's timeout.connect
	stillOpen(t, c, "after the first connect timeout (want 2 before the close)")
	fireAt(t, clock, clock.Now().Add(150*time.Millisecond)) // the turn-around pause
	fireAt(t, clock, clock.Now().Add(150*time.Millisecond)) // the second attempt's timeout.connect
	if got := readAll(t, c); got != "" {
		t.Errorf("answer = %q; want a clean close", got)
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
	if l["term"] != "sC" || l["retries"] != 1.0 {
		t.Errorf("log = %v; want term sC, retries 1", l)
	}
}

// stillOpen checks that lb has not closed c: a read sees no byte and no
// end within a short real window, in which lb would have closed it had a
// timeout been due (the fake clock fires due timers before Advance
// returns; lb acts on them at once).
func stillOpen(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := c.Read(make([]byte, 1))
	if !isTimeout(err) {
		t.Errorf("%s: read %d bytes, %v; want the connection open", what, n, err)
	}
	c.SetReadDeadline(time.Time{})
}

// TestTCPTimeouts: client, server and tunnel inactivity timeouts, on a
// fake clock: the session is open once the clock has moved just under the
// timeout, closed once it has moved past it.
func TestTCPTimeouts(t *testing.T) {
	hold := func(c net.Conn) { io.Copy(io.Discard, c) }
	cases := []struct {
		name, fe, be, term string
	}{
		{"client", "[frontend.fe.timeout]\nclient = \"200ms\"\n", "[backend.be.timeout]\ntunnel = \"0s\"\nserver = \"1h\"\n", "cD"},
		{"server", "[frontend.fe.timeout]\nclient = \"1h\"\n", "[backend.be.timeout]\ntunnel = \"0s\"\nserver = \"200ms\"\n", "sD"},
		{"tunnel", "[frontend.fe.timeout]\nclient = \"1h\"\n", "[backend.be.timeout]\ntunnel = \"200ms\"\nserver = \"1h\"\n", "cD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, hold)
			clock := newClock()
			p := startLBClock(t, tcpConfig(tc.fe, tc.be, srv("s", s.addr())), clock)
			c := dial(t, p.addr("fe"))
			if !clock.WaitArmedAt(fakeStart.Add(200*time.Millisecond), guard) {
				t.Errorf("no timer armed at timeout.%s (200ms) on the fake clock", tc.name)
			}
			clock.Advance(200*time.Millisecond - time.Millisecond)
			stillOpen(t, c, "after 199ms idle (want >= 200ms)")
			clock.Advance(2 * time.Millisecond)
			if got := readAll(t, c); got != "" {
				t.Errorf("read %q; want close", got)
			}
			l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" })
			if l["term"] != tc.term {
				t.Errorf("term = %v; want %s", l["term"], tc.term)
			}
		})
	}
}

// TestTCPTunnelActivity: traffic in one direction keeps a tunnel open past
// its inactivity timeout. On a fake clock: each tick reaches the server,
// then the clock moves 100ms, ten times (1s, 3x the timeout).
func TestTCPTunnelActivity(t *testing.T) {
	s := startRecorder(t, nil)
	clock := newClock()
	p := startLBClock(t, tcpConfig("", "[backend.be.timeout]\ntunnel = \"300ms\"\n", srv("s", s.addr())), clock)
	c := dial(t, p.addr("fe"))
	for i := 0; i < 10; i++ { // 1s of activity, 3x the timeout
		if _, err := io.WriteString(c, "tick"); err != nil {
			t.Fatalf("write %d: %v (tunnel closed while active)", i, err)
		}
		s.waitReceived(t, 0, strings.Repeat("tick", i+1))
		clock.Advance(100 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err == io.EOF {
		t.Fatal("tunnel closed while active")
	}
}

// TestTCPQueue: over a server's maxconn sessions wait in the queue, are
// served when a slot frees, and give up after timeout.queue (sQ), on a
// fake clock.
func TestTCPQueue(t *testing.T) {
	release := make(chan struct{})
	s := startServer(t, func(c net.Conn) {
		io.WriteString(c, "hi")
		<-release
	})
	clock := newClock()
	p := startLBClock(t, tcpConfig("", "[backend.be.timeout]\nqueue = \"300ms\"\n", srv("s", s.addr(), "maxconn = 1")), clock)
	a := dial(t, p.addr("fe"))
	buf := make([]byte, 2)
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(a, buf); err != nil {
		t.Fatal(err)
	}
	// b queues and times out.
	b := dial(t, p.addr("fe"))
	fireAt(t, clock, clock.Now().Add(300*time.Millisecond))
	if got := readAll(t, b); got != "" {
		t.Errorf("queued session got %q; want close after timeout.queue", got)
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["term"] == "sQ" })
	if l["Tw"].(float64) < 300 {
		t.Errorf("Tw = %v; want >= 300", l["Tw"])
	}
	// c queues and is served once a's slot frees.
	c := dial(t, p.addr("fe"))
	if !clock.WaitArmedAt(clock.Now().Add(300*time.Millisecond), guard) {
		t.Errorf("no timer armed at timeout.queue (300ms) for the second queued session: is it queued?")
	}
	close(release) // the server ends a's session...
	a.Close()      // ...and so does its client: the slot frees
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		t.Errorf("queued session read %q, %v; want \"hi\" once a slot freed", buf, err)
	}
}

// TestTCPMaxconn: above the frontend's maxconn the next connection waits,
// unread (not reset), and is served as soon as a slot frees.
func TestTCPMaxconn(t *testing.T) {
	s := startServer(t, echo)
	p := startLB(t, tcpConfig("maxconn = 2", "", srv("s", s.addr())))
	ping := func(c *net.TCPConn, wait time.Duration) error {
		if _, err := io.WriteString(c, "ping"); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(wait))
		b := make([]byte, 4)
		_, err := io.ReadFull(c, b)
		return err
	}
	a, b := dial(t, p.addr("fe")), dial(t, p.addr("fe"))
	for _, c := range []*net.TCPConn{a, b} {
		if err := ping(c, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	c := dial(t, p.addr("fe")) // waits in the listener's waiting room
	if err := ping(c, 300*time.Millisecond); err == nil {
		t.Fatal("third connection was served above maxconn = 2")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("third connection: %v; want it to wait, not be reset", err)
	}
	a.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Errorf("after a slot freed, third connection read %q, %v; want its echo", buf, err)
	}
}

// TestTCPHealthStory: a killed server goes DOWN after fall checks and
// traffic moves; restarted, it comes back UP after rise checks.
func TestTCPHealthStory(t *testing.T) {
	a := startServer(t, nameServer("a"))
	b := startServer(t, nameServer("b"))
	aAddr := a.addr()
	p := startLB(t, tcpConfig("", "balance = \"first\"\n[backend.be.health]\ninterval = \"30ms\"\nrise = 2\nfall = 2\n",
		srv("a", aAddr), srv("b", b.addr())))
	get := func() string { c := dial(t, p.addr("fe")); defer c.Close(); return readAll(t, c) }
	if got := get(); got != "a" {
		t.Fatalf("before: %q; want a", got)
	}
	be := p.inst.backend("be")
	a.close()
	waitFor(t, "a DOWN", func() bool { return be.Servers()[0].State().String() == "DOWN" })
	for i := 0; i < 5; i++ {
		if got := get(); got != "b" {
			t.Fatalf("with a down: %q; want b", got)
		}
	}
	ln, err := net.Listen("tcp", aAddr)
	if err != nil {
		t.Skipf("cannot re-listen on %s: %v", aAddr, err)
	}
	serveOn(t, ln, nameServer("a"))
	waitFor(t, "a UP", func() bool { return be.Servers()[0].State().String() == "UP" })
	if got := get(); got != "a" {
		t.Errorf("after a is back: %q; want a", got)
	}
}

// TestTCPBackpressure: a client that does not read slows the server down
// through TCP flow control; lb does not buffer the stream.
func TestTCPBackpressure(t *testing.T) {
	var written atomic.Int64
	s := startServer(t, func(c net.Conn) {
		chunk := make([]byte, 64<<10)
		for {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	p := startLB(t, tcpConfig("", "", srv("s", s.addr())))
	c := dial(t, p.addr("fe"))
	c.SetReadBuffer(64 << 10)
	c.Write([]byte("go"))
	// Wait for the stream to stall: socket buffers fill and then nothing moves.
	var last int64 = -1
	for i := 0; i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
		n := written.Load()
		if n == last && n > 0 {
			break
		}
		last = n
	}
	if n := written.Load(); n != last || n > 64<<20 {
		t.Fatalf("server wrote %d bytes to a client that reads nothing; want it stalled well under 64 MiB", n)
	}
	// And the stream resumes when the client reads.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.CopyN(io.Discard, c, 2*last); err != nil {
		t.Fatalf("stream did not resume: %v", err)
	}
}

// TestGracefulStop: SIGTERM closes the listeners, lets an established
// session finish, and exits 0; hard_stop_after closes what is left (on a
// fake clock).
func TestGracefulStop(t *testing.T) {
	s := startServer(t, echo)
	clock := newClock()
	p := startLBClock(t, tcpConfig("", "", srv("s", s.addr())), clock)
	addr := p.addr("fe")
	c := dial(t, addr)
	io.WriteString(c, "a")
	buf := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	p.sig <- sigTERM
	waitFor(t, "listener closed", func() bool {
		x, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			x.Close()
		}
		return err != nil
	})
	// The established session still works.
	io.WriteString(c, "b")
	if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'b' {
		t.Fatalf("established session after SIGTERM: %q, %v", buf, err)
	}
	select {
	case <-p.done:
		t.Fatal("lb exited with a session still open")
	case <-time.After(100 * time.Millisecond):
	}
	// hard_stop_after (2s) closes it.
	fireAt(t, clock, fakeStart.Add(2*time.Second))
	if got := readAll(t, c); got != "" {
		t.Errorf("read %q; want close at hard stop", got)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	me := c.LocalAddr().String()
	l := p.waitLog(t, func(m map[string]any) bool { return logClient(m) == me })
	if l["term"] != "KD" {
		t.Errorf("term = %v; want KD (killed at hard stop)", l["term"])
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
