package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// The session benchmarks: real lb (run()), a real backend and a real client
// over loopback, so allocs/op is what lb allocates per request or per
// connection. The client uses raw blocking syscalls and the backend reuses
// its buffers, so neither allocates per operation: every allocation
// counted is lb's (and the runtime's). CI runs them once
// (-benchtime=1x) so they keep working; speed is read by people, never
// asserted.
//
//	go test ./cmd/lb -run '^$' -bench . -benchmem

const benchBody = "hello"

// benchBackend answers every request head it reads with a fixed
// keep-alive response. It is made of blocking syscalls and a fixed set of
// worker goroutines, so a connection or a request costs it no allocation.
func benchBackend(b *testing.B) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n" + benchBody)
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Fatal(err)
	}
	if err := unix.Listen(lfd, 128); err != nil {
		b.Fatal(err)
	}
	sa, _ := unix.Getsockname(lfd)
	const workers = 64
	conns := make(chan int, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[int]bool{}
	wg.Add(1)
	go func() { // the acceptor
		defer wg.Done()
		defer close(conns)
		for {
			fd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			if err != nil {
				return
			}
			mu.Lock()
			open[fd] = true
			mu.Unlock()
			conns <- fd
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16<<10)
			for fd := range conns {
				serveBench(fd, buf, resp)
				mu.Lock()
				delete(open, fd)
				mu.Unlock()
				unix.Close(fd)
			}
		}()
	}
	b.Cleanup(func() {
		unix.Shutdown(lfd, unix.SHUT_RDWR) // wakes the acceptor
		mu.Lock()
		for fd := range open {
			unix.Shutdown(fd, unix.SHUT_RDWR)
		}
		mu.Unlock()
		wg.Wait()
		unix.Close(lfd)
	})
	in4 := sa.(*unix.SockaddrInet4)
	return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)).String()
}

// serveBench answers the request heads read on fd until it closes.
func serveBench(fd int, buf, resp []byte) {
	n := 0
	for {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			return
		}
		n += m
		for {
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			if _, err := unix.Write(fd, resp); err != nil {
				return
			}
			n = copy(buf, buf[i+4:n])
		}
		if n == len(buf) {
			return
		}
	}
}

// benchLB starts lb with one frontend of mode in front of backend, the
// access log off (its cost is the log writer's, measured apart).
// extra is added to the frontend's table (rules) and to the file's end.
func benchLB(b *testing.B, mode, backend string, extra ...string) *unix.SockaddrInet4 {
	fe, tail := "", ""
	if len(extra) == 2 {
		fe, tail = extra[0], extra[1]
	}
	cfg := strings.Replace(tcpConfig(fe, "", srv("s", backend)), "[global]\n", "[global]\naccess_log = \"off\"\nevent_loops = 1\n", 1) + tail
	cfg = strings.Replace(cfg, `mode = "tcp"`, fmt.Sprintf("mode = %q", mode), 1)
	p := startLB(b, cfg)
	ap := netip.MustParseAddrPort(p.addr("fe"))
	return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
}

// rawClient is a client made of blocking syscalls: no allocation per
// connection or request.
type rawClient struct {
	b   *testing.B
	sa  *unix.SockaddrInet4
	buf []byte
}

func (c *rawClient) dial() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		c.b.Fatal(err)
	}
	if err := unix.Connect(fd, c.sa); err != nil {
		c.b.Fatal(err)
	}
	return fd
}

// exchange writes req on fd and reads one response with benchBody as its
// body; it returns what it read.
func (c *rawClient) exchange(fd int, req []byte) []byte {
	for w := 0; w < len(req); {
		n, err := unix.Write(fd, req[w:])
		if err != nil {
			c.b.Fatal(err)
		}
		w += n
	}
	n := 0
	for {
		m, err := unix.Read(fd, c.buf[n:])
		if err != nil || m == 0 {
			c.b.Fatalf("read after %q: %v", c.buf[:n], err)
		}
		n += m
		if i := bytes.Index(c.buf[:n], []byte("\r\n\r\n")); i >= 0 && n >= i+4+len(benchBody) {
			if !bytes.HasPrefix(c.buf, []byte("HTTP/1.1 200")) || !bytes.HasSuffix(c.buf[:n], []byte(benchBody)) {
				c.b.Fatalf("response %q", c.buf[:n])
			}
			return c.buf[:n]
		}
	}
}

// drain reads fd until the peer closes it.
func (c *rawClient) drain(fd int) {
	for {
		m, err := unix.Read(fd, c.buf)
		if err != nil {
			c.b.Fatal(err)
		}
		if m == 0 {
			return
		}
	}
}

func newRawClient(b *testing.B, mode string, extra ...string) *rawClient {
	return &rawClient{b: b, sa: benchLB(b, mode, benchBackend(b), extra...), buf: make([]byte, 16<<10)}
}

// benchLimit is a limit table and the rule that counts every request in
// it (never over): BenchmarkHTTP*Limit measure what tracking costs.
var benchLimit = []string{"[[frontend.fe.http_request]]\nlimit = \"l\"\naction = \"deny\"\n",
	"\n[limit.l]\nrate = 1000000000\nconns = 1000000\n"}

var (
	benchReq      = []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	benchReqClose = []byte("GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
)

// BenchmarkHTTPKeepAlive: requests one after another on one client
// connection (the server connection stays too): the steady state of the
// compare.py "ka" scenario. Target: 0 allocs/op.
func BenchmarkHTTPKeepAlive(b *testing.B) { benchKeepAlive(b, newRawClient(b, "http")) }

// benchKeepAlive runs requests one after another on one connection of c.
func benchKeepAlive(b *testing.B, c *rawClient) {
	fd := c.dial()
	defer unix.Close(fd)
	for range 100 { // warm pools and buffers
		c.exchange(fd, benchReq)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.exchange(fd, benchReq)
	}
}

// BenchmarkHTTPKeepAliveLimit: BenchmarkHTTPKeepAlive with each request
// counted in a limit table (rate and conns). Target: 0 allocs/op.
func BenchmarkHTTPKeepAliveLimit(b *testing.B) {
	benchKeepAlive(b, newRawClient(b, "http", benchLimit...))
}

// BenchmarkHTTPClose: one new client connection per request, which lb
// serves on a pooled server connection: the "close" scenario.
func BenchmarkHTTPClose(b *testing.B) {
	c := newRawClient(b, "http")
	one := func() {
		fd := c.dial()
		c.exchange(fd, benchReqClose)
		c.drain(fd)
		unix.Close(fd)
	}
	for range 100 {
		one()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		one()
	}
}

// BenchmarkTCPKeepAlive: request and response through a TCP-mode session
// that stays open: the "tcp" scenario's steady state.
func BenchmarkTCPKeepAlive(b *testing.B) { benchKeepAlive(b, newRawClient(b, "tcp")) }

// BenchmarkTCPConnect: one new TCP-mode session per request (a new
// client and a new server connection each time).
func BenchmarkTCPConnect(b *testing.B) {
	c := newRawClient(b, "tcp")
	one := func() {
		fd := c.dial()
		c.exchange(fd, benchReq)
		unix.Close(fd)
	}
	for range 100 {
		one()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		one()
	}
}
