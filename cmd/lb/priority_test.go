package main

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPriorityClasses: with the backend saturated (one server, maxconn 1),
// requests that a rule put in a lower class are served before those that
// queued earlier in a higher one, and set-priority-offset moves a request
// within its class.
func TestPriorityClasses(t *testing.T) {
	s := startOrderServer(t)
	rules := `[[frontend.fe.http_request]]
header = "X-Prio"
header_value = "high"
action = "set-priority-class"
class = -10
[[frontend.fe.http_request]]
header = "X-Prio"
header_value = "low"
action = "set-priority-class"
class = 10
[[frontend.fe.http_request]]
header = "X-Late"
action = "set-priority-offset"
offset = "1h"
`
	p := startLB(t, httpConfig(rules, "[backend.be.timeout]\nqueue = \"1m\"\n", srv("s", s.addr(), "maxconn = 1")))
	seen, queued := s.seen, func(n int64) { waitQueued(t, p, n) }
	send := func(path, hdr string) {
		go func() {
			c, err := net.Dial("tcp", p.addr("fe"))
			if err != nil {
				return
			}
			defer c.Close()
			c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: h\r\n" + hdr + "\r\n"))
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			c.Read(make([]byte, 512))
		}()
	}
	send("/busy", "")
	seen(t, 1)
	send("/low1", "X-Prio: low\r\n")
	queued(1)
	send("/plain-late", "X-Late: 1\r\n")
	queued(2)
	send("/low2", "X-Prio: low\r\n")
	queued(3)
	send("/plain", "")
	queued(4)
	send("/high", "X-Prio: high\r\n")
	queued(5)
	for i := 2; i <= 6; i++ {
		s.release <- struct{}{}
		seen(t, i)
	}
	s.release <- struct{}{}
	if got, want := strings.Join(s.served(), " "), "/busy /high /plain /plain-late /low1 /low2"; got != want {
		t.Errorf("served %s; want %s", got, want)
	}
}

// orderServer is a server that records the order in which requests
// reached it and holds each until the test sends on release.
type orderServer struct {
	*server
	release chan struct{}
	mu      sync.Mutex
	order   []string // paths, in arrival order
}

func startOrderServer(t *testing.T) *orderServer {
	o := &orderServer{release: make(chan struct{}, 16)}
	o.server = startRequestServer(t, func(r *http.Request) string {
		o.mu.Lock()
		o.order = append(o.order, r.URL.Path)
		o.mu.Unlock()
		<-o.release
		return ok(r.URL.Path)
	})
	return o
}

// served returns the paths received so far, in order.
func (o *orderServer) served() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.order...)
}

// seen waits until the server got n requests.
func (o *orderServer) seen(t *testing.T, n int) {
	t.Helper()
	waitFor(t, "the server to get the request", func() bool { return len(o.served()) >= n })
}

// waitQueued waits until n requests wait in backend be's queue.
func waitQueued(t *testing.T, p *lbProc, n int64) {
	t.Helper()
	waitFor(t, "requests queued", func() bool { return p.inst.backend("be").Counters().QueueCurrent.Load() == n })
}
