package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPLingeringClose: an answer that closes the connection while the
// client is still sending (413 for a Content-Length over max_body_size,
// the body already on its way) reaches the client whole, followed by a
// clean end of stream: lb shuts its side and discards what the client
// still sends until it leaves, instead of closing with unread bytes, which
// makes the kernel reset the connection and can destroy the answer.
func TestHTTPLingeringClose(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig("max_body_size = \"1k\"\n", "", srv("s", hb.addr())))
	for i := 0; i < 5; i++ {
		c := dial(t, p.addr("fe"))
		const body = 4 << 20
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", body)
		werr := make(chan error, 1)
		go func() {
			_, err := io.Copy(c, io.LimitReader(zeros{}, body))
			werr <- err
		}()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(got), "HTTP/1.1 413 ") || !strings.HasSuffix(string(got), "413 Content Too Large\n") {
			t.Fatalf("try %d: got %q, %v; want the whole 413 answer, then a clean end of stream", i, got, err)
		}
		c.Close()
		<-werr
	}
}
