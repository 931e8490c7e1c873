package main

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/analyzer"
)

// proxyV2 is a PROXY v2 header for a TCP/IPv4 client src.
func proxyV2(src, dst netip.AddrPort) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	a, d := src.Addr().As4(), dst.Addr().As4()
	b = append(append(b, a[:]...), d[:]...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// TestAcceptProxy: a frontend with accept_proxy reads a PROXY header (v1
// and v2) from trusted sources and takes its source as the client: the
// server's X-Forwarded-For and the access log show it; a malformed or
// truncated header closes the connection and is counted; a connection
// from an untrusted source is served plain (its "PROXY ..." line is then
// just a bad request), or refused with accept_proxy_untrusted = "refuse";
// TLS frontends read the header before the handshake; curl's
// --haproxy-protocol works.
func TestAcceptProxy(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("xff=" + r.Header.Get("X-Forwarded-For")) })
	p := startLB(t, httpConfig("accept_proxy = true\naccept_proxy_from = [\"127.0.0.0/8\"]\n", "", srv("s", hb.addr())))
	req := "GET /p HTTP/1.1\r\nHost: h\r\n\r\n"
	for name, hdr := range map[string]string{
		"v1": "PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n",
		"v2": string(proxyV2(netip.MustParseAddrPort("192.0.2.7:40001"), netip.MustParseAddrPort("198.51.100.1:80"))),
	} {
		got, _ := rawExchange(t, p.addr("fe"), hdr+req, 300*time.Millisecond)
		if !strings.HasSuffix(got, "xff=192.0.2.7") {
			t.Errorf("%s: %q; want the server told X-Forwarded-For 192.0.2.7", name, clip(got))
		}
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["client_port"] == 40001.0 })
	if l["client_ip"] != "192.0.2.7" {
		t.Errorf("log: %v; want client_ip 192.0.2.7", l)
	}
	// v2 TLVs: ALPN and AUTHORITY reach the log; others are skipped.
	withTLVs := proxyV2(netip.MustParseAddrPort("192.0.2.11:40005"), netip.MustParseAddrPort("198.51.100.1:443"))
	tlvs := []byte{0x01, 0, 2, 'h', '2', 0x02, 0, 11}
	tlvs = append(tlvs, "example.com"...)
	tlvs = append(tlvs, 0x20, 0, 3, 1, 2, 3) // SSL, skipped
	binary.BigEndian.PutUint16(withTLVs[14:16], uint16(12+len(tlvs)))
	rawExchange(t, p.addr("fe"), string(append(withTLVs, tlvs...))+req, 300*time.Millisecond)
	l = p.waitLog(t, func(m map[string]any) bool { return m["client_port"] == 40005.0 })
	if l["proxy_alpn"] != "h2" || l["proxy_authority"] != "example.com" || l["client_ip"] != "192.0.2.11" {
		t.Errorf("log after a v2 header with TLVs: %v", l)
	}
	// Split over several writes: held until whole.
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "PROXY TCP4 192.0.2.8 1")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "98.51.100.1 40002 80\r\n"+req)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, _ := c.Read(b)
	c.Close()
	if !strings.HasSuffix(string(b[:n]), "xff=192.0.2.8") {
		t.Errorf("header in pieces: %q", clip(string(b[:n])))
	}
	for name, bad := range map[string]string{
		"malformed": "PROXY TCP4 192.0.2.7 nope 1 2\r\n" + req,
		"no header": req,
		"oversized": "PROXY " + strings.Repeat("9", 200) + "\r\n",
	} {
		got, closed := rawExchange(t, p.addr("fe"), bad, 300*time.Millisecond)
		if got != "" || !closed {
			t.Errorf("%s: got %q (closed %v); want a close with nothing", name, clip(got), closed)
		}
	}
	if n := p.inst.current().frontends[0].ProxyErrors.Load(); n != 3 {
		t.Errorf("proxy errors = %d; want 3", n)
	}

	// An untrusted source: plain (the PROXY line is a bad request), or refused.
	plain := startLB(t, httpConfig("accept_proxy = true\naccept_proxy_from = [\"10.0.0.0/8\"]\n", "", srv("s", hb.addr())))
	if got, _ := rawExchange(t, plain.addr("fe"), req, 300*time.Millisecond); !strings.HasSuffix(got, "xff=127.0.0.1") {
		t.Errorf("untrusted, plain: %q", clip(got))
	}
	refuse := startLB(t, httpConfig("accept_proxy = true\naccept_proxy_from = [\"10.0.0.0/8\"]\naccept_proxy_untrusted = \"refuse\"\n", "", srv("s", hb.addr())))
	if got, closed := rawExchange(t, refuse.addr("fe"), req, 300*time.Millisecond); got != "" || !closed {
		t.Errorf("untrusted, refuse: %q (closed %v)", clip(got), closed)
	}

	// TLS: the header comes before the ClientHello.
	ca := newTestCA(t)
	cert := ca.issue(t, t.TempDir(), "a.pem", false, time.Time{}, "a.example")
	tp := startLB(t, httpConfig("accept_proxy = true\naccept_proxy_from = [\"127.0.0.1\"]\n"+tlsTable("", cert), "", srv("s", hb.addr())))
	raw := dial(t, tp.addr("fe"))
	io.WriteString(raw, "PROXY TCP4 192.0.2.9 198.51.100.1 40003 443\r\n")
	tc := tls.Client(raw, ca.client("a.example"))
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(tc, req)
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatalf("TLS after a PROXY header: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	tc.Close()
	if string(body) != "xff=192.0.2.9" {
		t.Errorf("TLS after a PROXY header: %q", body)
	}

	// TCP mode: the header is read and dropped; the server gets the rest.
	es := startServer(t, echo)
	tcpp := startLB(t, tcpConfig("accept_proxy = true\naccept_proxy_from = [\"127.0.0.1\"]\n", "", srv("e", es.addr())))
	ec := dial(t, tcpp.addr("fe"))
	io.WriteString(ec, "PROXY TCP4 192.0.2.10 198.51.100.1 40004 5432\r\nhello")
	ec.CloseWrite()
	if got := readAll(t, ec); got != "hello" {
		t.Errorf("TCP mode: the server echoed %q; want hello (the header dropped)", got)
	}
	if l := tcpp.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" }); l["client_ip"] != "192.0.2.10" {
		t.Errorf("TCP mode log: %v", l)
	}

	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-s", "--haproxy-protocol", "http://"+p.addr("fe")+"/c").CombinedOutput()
		if err != nil || string(out) != "xff=127.0.0.1" {
			t.Errorf("curl --haproxy-protocol: %q, %v", out, err)
		}
	}
}

// TestSendProxy: with send_proxy, each new connection to the server starts
// with a PROXY header (v1 or v2) naming the client (the one a received
// header named, when the frontend accepts them); such connections carry
// one client, so they are never pooled: in HTTP mode each request opens
// its own; TCP mode too.
func TestSendProxy(t *testing.T) {
	type seen struct{ hdr analyzer.ProxyHeader }
	got := make(chan seen, 16)
	s := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		h, err := readProxyHeader(br)
		if err != nil {
			c.Close()
			return
		}
		got <- seen{h}
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.ReadAll(r.Body)
			io.WriteString(c, ok("from "+h.Src.String()))
		}
	})
	for _, v := range []string{"v1", "v2"} {
		p := startLB(t, httpConfig("accept_proxy = true\naccept_proxy_from = [\"127.0.0.1\"]\n", "", srv("s", s.addr(), `send_proxy = "`+v+`"`)))
		for i := 0; i < 2; i++ {
			out, _ := rawExchange(t, p.addr("fe"), fmt.Sprintf("PROXY TCP4 192.0.2.%d 198.51.100.1 4000%d 443\r\n", 20+i, i)+
				"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n", 300*time.Millisecond)
			want := fmt.Sprintf("from 192.0.2.%d:4000%d", 20+i, i)
			if strings.Count(out, want) != 2 {
				t.Errorf("%s client %d: %q; want two answers %q", v, i, clip(out), want)
			}
			// Pooling is off for such servers: each request had a new
			// connection, each with this client's header.
			for k := 0; k < 2; k++ {
				select {
				case sh := <-got:
					if sh.hdr.Version != map[string]int{"v1": 1, "v2": 2}[v] || sh.hdr.Dst.String() != "198.51.100.1:443" ||
						sh.hdr.Src.String() != fmt.Sprintf("192.0.2.%d:4000%d", 20+i, i) {
						t.Errorf("%s client %d: the server got %+v", v, i, sh.hdr)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: no connection with a header", v)
				}
			}
		}
		select {
		case extra := <-got:
			t.Errorf("%s: an extra connection %+v", v, extra.hdr)
		default:
		}
	}
	// TCP mode, from a plain client: its own address.
	p := startLB(t, tcpConfig("", "", srv("s", s.addr(), `send_proxy = "v1"`)))
	c := dial(t, p.addr("fe"))
	io.WriteString(c, "GET /t HTTP/1.1\r\nHost: h\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 512)
	n, _ := c.Read(b)
	c.Close()
	if want := "from " + c.LocalAddr().String(); !strings.HasSuffix(string(b[:n]), want) {
		t.Errorf("TCP mode: %q; want %q", b[:n], want)
	}
}

// readProxyHeader reads the PROXY header a server requires first.
func readProxyHeader(br *bufio.Reader) (analyzer.ProxyHeader, error) {
	buf, _ := br.Peek(16)
	need := 107
	if len(buf) >= 16 && buf[0] == '\r' {
		need = 16 + int(binary.BigEndian.Uint16(buf[14:16]))
	}
	b, _ := br.Peek(min(need, br.Buffered()))
	h, n, err := analyzer.ParseProxyHeader(b)
	if err != nil {
		return h, err
	}
	br.Discard(n)
	return h, nil
}

// TestSendProxyChecks: a server sent the PROXY protocol may refuse
// connections without a header, so lb's health checks (http and tcp) to it
// start with one of their own: v2 LOCAL or v1 UNKNOWN. Without it the
// server below refuses the check and is never UP.
func TestSendProxyChecks(t *testing.T) {
	for _, kind := range []string{"http", "tcp"} {
		for _, v := range []string{"v1", "v2"} {
			locals := make(chan analyzer.ProxyHeader, 64)
			s := startServer(t, func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				h, err := readProxyHeader(br)
				if err != nil {
					return // refused: no header
				}
				if h.Local {
					select {
					case locals <- h:
					default:
					}
				}
				if r, err := http.ReadRequest(br); err == nil {
					io.WriteString(c, ok(r.URL.Path))
				}
			})
			p := startLB(t, httpConfig("", "[backend.be.health]\nkind = \""+kind+"\"\ninterval = \"20ms\"\nrise = 1\nfall = 1\n",
				srv("s", s.addr(), `send_proxy = "`+v+`"`)))
			select {
			case h := <-locals:
				if h.Version != map[string]int{"v1": 1, "v2": 2}[v] {
					t.Errorf("%s check %s: header version %d", kind, v, h.Version)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s check %s: the server saw no LOCAL header", kind, v)
			}
			if kind == "http" {
				be := p.inst.backend("be")
				waitFor(t, "s UP", func() bool {
					return be.Servers()[0].Counters().CheckStatus.Load() != 0 && be.Servers()[0].State().String() == "UP"
				})
				if got := get(t, "http://"+p.addr("fe")+"/x"); got != "/x" {
					t.Errorf("%s: %q; want /x", v, got)
				}
			}
		}
	}
}
