package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHardStopOnPumps: the hard stop answers 503 (KH) to a request that
// waits for its response head after its body went through the pumps (the
// server read it slowly, so the session left the event loop): the pumps'
// sockets carry the answer too, and the session ends.
func TestHardStopOnPumps(t *testing.T) {
	const size = 8 << 20
	var got atomic.Int64
	slow := startServer(t, func(c net.Conn) {
		head := readHead(c)
		early := int64(len(head) - strings.Index(head, "\r\n\r\n") - 4) // body bytes read with the head
		time.Sleep(200 * time.Millisecond)                              // not reading: lb's writes block, it hands off
		n, _ := io.CopyN(io.Discard, c, size-early)
		got.Store(early + n)
		io.Copy(io.Discard, c) // never answers
	})
	good := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("good") })
	tcpEcho := startServer(t, echo)
	clock := newClock()
	p := startLBClock(t, hardStopConfig(good.addr(), tcpEcho.addr(),
		routedBackend{name: "slow", options: longTimeouts("slow"), servers: []string{slow.addr()}},
	), clock)
	c := dialClient(t, p.addr("fe"))
	c.send(t, fmt.Sprintf("POST /slow/up HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", size))
	if _, err := io.Copy(c, io.LimitReader(zeros{}, size)); err != nil {
		t.Fatalf("writing the body: %v", err)
	}
	waitFor(t, "the whole body at the server", func() bool { return got.Load() == size })
	hardStop(t, p, clock)
	checkKilled(t, p, []killedCheck{{"waiting for the head after a hand-off", c, lbAnswer(503, "Service Unavailable"), "KH"}})
}
