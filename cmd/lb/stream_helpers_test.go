package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lb-proxy/lb/session/sessiontest"
)

// Helpers of the stream tests (issue 8): a fake clock, a test server that
// records every connection, and client-side reads bounded by generous real
// deadlines that only a hang reaches.

// fakeStart is the time every fake clock of these tests starts at.
var fakeStart = time.Unix(1_000_000, 0)

// guard bounds every real wait of these tests; only a hang reaches it.
const guard = 10 * time.Second

func newClock() *sessiontest.Clock { return sessiontest.NewClock(fakeStart) }

// fireAt waits until a timer due exactly at `at` is armed on clock, then
// advances the clock one second past it. A missing timer is reported (lb
// did not arm the expiry the test is about) and the clock is advanced
// anyway, so that the outcome is reported too.
func fireAt(t *testing.T, clock *sessiontest.Clock, at time.Time) {
	t.Helper()
	if !clock.WaitArmedAt(at, 5*time.Second) {
		t.Errorf("no timer armed at now+%v on the fake clock (%d armed); advancing anyway", at.Sub(clock.Now()), clock.Armed())
	}
	clock.Advance(at.Sub(clock.Now()) + time.Second)
}

// answerPast reads the response to a request whose answer comes from a
// timeout d that lb counts from when it began waiting on the server: it
// advances the fake clock past d (fireAt), and again each time lb re-arms
// d after the new time instead of answering. On the pumps the wait can
// begin after an advance (the pumps report the end of the upload late),
// and then it counts from that advanced time.
func answerPast(t *testing.T, c *client, method string, clock *sessiontest.Clock, d time.Duration) (response, error) {
	t.Helper()
	type result struct {
		r   response
		err error
	}
	got := make(chan result, 1)
	go func() { r, err := c.response(method); got <- result{r, err} }()
	fireAt(t, clock, clock.Now().Add(d))
	for {
		select {
		case res := <-got:
			return res.r, res.err
		case <-time.After(50 * time.Millisecond):
			if at := clock.Now().Add(d); clock.WaitArmedAt(at, 0) {
				clock.Advance(d + time.Second)
			}
		}
	}
}

// accepts is how many connections the server has accepted so far.
func (s *server) accepts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// recorder is a test server that records what each connection received
// and when the peer closed it. It answers a request only when answer
// returns something for the bytes received since its last answer on that
// connection.
type recorder struct {
	*server
	mu    sync.Mutex
	conns []*recConn
}

type recConn struct {
	data    bytes.Buffer // everything received
	pending int          // offset in data of what answer has not consumed
	eof     bool         // the peer closed (EOF or error)
}

// startRecorder starts a recorder; answer may be nil (never answer).
func startRecorder(t *testing.T, answer func(got string) string) *recorder {
	t.Helper()
	r := &recorder{}
	r.server = startServer(t, func(c net.Conn) {
		rc := &recConn{}
		r.mu.Lock()
		r.conns = append(r.conns, rc)
		r.mu.Unlock()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			r.mu.Lock()
			rc.data.Write(buf[:n])
			reply := ""
			if answer != nil {
				if reply = answer(rc.data.String()[rc.pending:]); reply != "" {
					rc.pending = rc.data.Len()
				}
			}
			if err != nil {
				rc.eof = true
			}
			r.mu.Unlock()
			if err != nil {
				return
			}
			if reply != "" {
				io.WriteString(c, reply)
			}
		}
	})
	return r
}

// conn returns what connection i received so far and whether it ended.
func (r *recorder) conn(i int) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.conns) {
		return "", false
	}
	return r.conns[i].data.String(), r.conns[i].eof
}

// nconns is how many connections the recorder has seen.
func (r *recorder) nconns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// waitReceived waits until connection i has received at least want.
func (r *recorder) waitReceived(t *testing.T, i int, want string) {
	t.Helper()
	waitFor(t, "the test server to receive "+clip(want), func() bool {
		got, _ := r.conn(i)
		return strings.HasPrefix(got, want)
	})
}

// waitEOF waits until lb closed connection i of the recorder.
func (r *recorder) waitEOF(t *testing.T, i int, why string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for time.Now().Before(deadline) {
		if _, eof := r.conn(i); eof {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _ := r.conn(i)
	t.Errorf("%s: the server connection is still open after receiving %s; want lb to close it", why, clip(got))
}

// answerComplete answers ok(body) to a request once its head and its
// Content-Length body (if any) have arrived; it never answers a chunked
// request.
func answerComplete(body string) func(string) string {
	return func(got string) string {
		head, rest, found := strings.Cut(got, "\r\n\r\n")
		if !found {
			return ""
		}
		cl := 0
		for _, l := range strings.Split(head, "\r\n")[1:] {
			name, value, _ := strings.Cut(l, ":")
			switch strings.ToLower(name) {
			case "content-length":
				cl, _ = strconv.Atoi(strings.TrimSpace(value))
			case "transfer-encoding":
				return ""
			}
		}
		if len(rest) < cl {
			return ""
		}
		return ok(body)
	}
}

// client is a client connection with a buffered reader.
type client struct {
	*net.TCPConn
	br *bufio.Reader
}

func dialClient(t *testing.T, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	return &client{c, bufio.NewReader(c)}
}

// send writes s in one write.
func (c *client) send(t *testing.T, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(guard))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("writing %s: %v", clip(s), err)
	}
}

// response reads one response to a request with method (see
// readResponse); on error it returns what was read with the error.
func (c *client) response(method string) (response, error) {
	c.SetReadDeadline(time.Now().Add(guard))
	return readResponse(c.br, method)
}

// rest reads until lb closes the connection and returns the bytes read and
// whether the connection ended (EOF or reset) rather than the guard.
func (c *client) rest() (string, bool) {
	c.SetReadDeadline(time.Now().Add(guard))
	b, err := io.ReadAll(c.br)
	return string(b), err == nil || isEOF(err) || errors.Is(err, net.ErrClosed)
}

// header returns the value of field name in a raw response head ("" when
// absent).
func header(raw, name string) string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		n, v, _ := strings.Cut(l, ":")
		if strings.EqualFold(n, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// logOf waits for the access-log line whose client is c.
func (p *lbProc) logOf(t *testing.T, c net.Conn) map[string]any {
	t.Helper()
	me := c.LocalAddr().String()
	return p.waitLog(t, func(m map[string]any) bool { return logClient(m) == me })
}

// logOfAfter is logOf among the lines after the first skip ones (a
// client port the kernel reused may have older lines).
func (p *lbProc) logOfAfter(t *testing.T, c net.Conn, skip int) map[string]any {
	t.Helper()
	me := c.LocalAddr().String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := p.stdout.lines(t)
		for _, l := range lines[min(skip, len(lines)):] {
			if logClient(l) == me {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line for %s after line %d", me, skip)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linesOf returns every access-log line of client address c written so far.
func (p *lbProc) linesOf(t *testing.T, c net.Conn) []map[string]any {
	t.Helper()
	me := c.LocalAddr().String()
	var out []map[string]any
	for _, l := range p.stdout.lines(t) {
		if logClient(l) == me {
			out = append(out, l)
		}
	}
	return out
}

// timeouts renders a [<section>.timeout] table from key/value pairs.
func timeouts(section string, kv ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s.timeout]\n", section)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s = %q\n", kv[i], kv[i+1])
	}
	return b.String()
}

// routed returns an HTTP config whose default backend is good, plus one
// backend per name in extra (reached by path prefix "/"+name), each with
// its backend options and servers.
func routed(good string, extra ...routedBackend) string {
	var b strings.Builder
	b.WriteString(httpConfig("", "", srv("good", good)))
	for _, e := range extra {
		fmt.Fprintf(&b, "\n[[frontend.fe.route]]\npath_prefix = \"/%s\"\nbackend = %q\n", e.name, e.name)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "\n[backend.%s]\n%s\n", e.name, e.options)
		for i, s := range e.servers {
			fmt.Fprintf(&b, "\n[[backend.%s.server]]\n%s\n", e.name, srv(fmt.Sprintf("%s%d", e.name, i), s, e.serverExtra))
		}
	}
	return b.String()
}

// routedBackend is a backend of routed: its name (and path prefix), the
// TOML under [backend.NAME], its server addresses (servers NAME0, NAME1...)
// and the TOML added to each server.
type routedBackend struct {
	name, options string
	servers       []string
	serverExtra   string
}

// readHead reads until the end of a request head (or an error).
func readHead(c net.Conn) string {
	var got []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(got), "\r\n\r\n") {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(got)
}

// logClient is a log line's client as "ip:port".
func logClient(m map[string]any) string {
	ip, _ := m["client_ip"].(string)
	port, _ := m["client_port"].(float64)
	return net.JoinHostPort(ip, strconv.Itoa(int(port)))
}
