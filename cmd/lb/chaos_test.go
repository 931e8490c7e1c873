package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestChaos: many clients at once, each doing one of the things clients
// and servers do to a proxy (partial heads, aborts at every phase,
// pipelining, large bodies both ways, slow readers, servers that answer
// garbage, close, reset or stall), against one lb. Whatever happens to a
// request, lb must not crash, every session must end, and once lb stops
// no goroutine or file descriptor of it may remain.
func TestChaos(t *testing.T) {
	for _, stop := range []bool{false, true} {
		t.Run(fmt.Sprintf("stop in the middle %v", stop), func(t *testing.T) { chaosNoLeak(t, stop) })
	}
}

// chaosNoLeak runs chaos (stopping lb while the clients are at work when
// stop: graceful stop, then hard_stop_after's kill) and checks that
// nothing of lb is left.
func chaosNoLeak(t *testing.T, stop bool) {
	fds := openFDs(t)
	chaos(t, stop)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(lbGoroutines()) == 0 && openFDs(t) <= fds {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("after lb stopped: %d fds (was %d); goroutines of lb left:\n%s", openFDs(t), fds,
		strings.Join(lbGoroutines(), "\n\n"))
}

// lbGoroutines returns the stacks of the goroutines lb's code runs in or
// started (gnet's shared worker pool, which lets idle workers expire on
// its own clock, and this test's own goroutine are not counted).
func lbGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "lb-proxy/lb/") && !strings.Contains(g, "cmd/lb.TestChaos") &&
			!strings.Contains(g, "cmd/lb.TestMain") && // the test runner's own goroutine
			!strings.Contains(g, "created by github.com/panjf2000/ants") {
			out = append(out, g)
		}
	}
	return out
}

func chaos(t *testing.T, stop bool) {
	server := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(r.Body)
			switch r.URL.Path {
			case "/garbage":
				io.WriteString(c, "NOT HTTP\r\n\r\n")
				return
			case "/close":
				return
			case "/reset":
				c.(*net.TCPConn).SetLinger(0)
				return
			case "/stall":
				io.Copy(io.Discard, c)
				return
			case "/big":
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 1<<20)
				c.Write(make([]byte, 1<<20))
			case "/chunked":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
			default:
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
		}
	})
	p := startLB(t, httpConfig("", "[backend.be.timeout]\nserver = \"300ms\"\n", srv("s", server.addr())))
	defer server.close()
	defer p.stop(t)
	acts := []func(net.Conn, *rand.Rand){
		func(c net.Conn, _ *rand.Rand) { io.WriteString(c, "GET / HTTP/1.1\r\nHost:") }, // partial head, then gone
		func(c net.Conn, _ *rand.Rand) { io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n") },
		func(c net.Conn, r *rand.Rand) {
			path := []string{"/garbage", "/close", "/reset", "/stall", "/big", "/chunked"}[r.Intn(6)]
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		},
		func(c net.Conn, _ *rand.Rand) {
			io.WriteString(c, strings.Repeat("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", 50))
		},
		func(c net.Conn, r *rand.Rand) { // a body of random size, maybe cut short
			n := r.Intn(4 << 20)
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", n)
			c.Write(make([]byte, r.Intn(n+1)))
		},
		func(c net.Conn, r *rand.Rand) { // chunked, maybe malformed
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
			io.WriteString(c, []string{"5\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX", "zz\r\n", "4000\r\n"}[r.Intn(4)])
		},
		func(c net.Conn, _ *rand.Rand) { // websocket-style upgrade the server refuses
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		},
	}
	addr := p.addr("fe")
	var wg sync.WaitGroup
	if stop {
		go func() {
			time.Sleep(100 * time.Millisecond) // pace: some clients are mid-way
			p.stop(t)
		}()
	}
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				if !stop {
					t.Errorf("dial: %v", err)
				}
				return
			}
			defer c.Close()
			acts[r.Intn(len(acts))](c, r)
			c.SetReadDeadline(time.Now().Add(time.Duration(r.Intn(300)) * time.Millisecond))
			switch r.Intn(3) {
			case 0: // read everything there is
				io.Copy(io.Discard, c)
			case 1: // read a little, slowly
				buf := make([]byte, 512)
				for k := 0; k < 5; k++ {
					if _, err := c.Read(buf); err != nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
			case 2: // leave at once, maybe with a reset
				if r.Intn(2) == 0 {
					c.(*net.TCPConn).SetLinger(0)
				}
			}
		}(int64(i))
	}
	wg.Wait()
	if !stop {
		waitFor(t, "every session to end", func() bool { return p.inst.current().env.Current() == 0 })
	}
}

// openFDs counts the test process's open file descriptors.
func openFDs(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}
