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
	var mu sync.Mutex
	var order []string
	release := make(chan struct{}, 16)
	s := startRequestServer(t, func(r *http.Request) string {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		<-release
		return ok(r.URL.Path)
	})
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
	seen := func(n int) {
		t.Helper()
		waitFor(t, "the server to get the request", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) >= n })
	}
	queued := func(n int64) {
		t.Helper()
		waitFor(t, "requests queued", func() bool { return p.inst.backend("be").Counters().QueueCurrent.Load() == n })
	}
	send("/busy", "")
	seen(1)
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
		release <- struct{}{}
		seen(i)
	}
	release <- struct{}{}
	mu.Lock()
	got := strings.Join(order, " ")
	mu.Unlock()
	if want := "/busy /high /plain /plain-late /low1 /low2"; got != want {
		t.Errorf("served %s; want %s", got, want)
	}
}
