package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/lb-proxy/lb/analyzer/analyzertest"
)

// testCA issues the certificates of TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lb test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a PEM file (chain + key) for names into dir and returns its
// path; rsaKey picks RSA 2048 over ECDSA P-256; notAfter zero means a day.
func (ca *testCA) issue(t testing.TB, dir, file string, rsaKey bool, notAfter time.Time, names ...string) string {
	t.Helper()
	var pub any
	var keyPEM []byte
	if rsaKey {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		pub = &k.PublicKey
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub = &k.PublicKey
		der, _ := x509.MarshalECPrivateKey(k)
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsTable is a frontend's tls table for the test config helpers.
func tlsTable(extra string, certs ...string) string {
	q := make([]string, len(certs))
	for i, c := range certs {
		q[i] = fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("\n[frontend.fe.tls]\ncert = [%s]\n%s\n", strings.Join(q, ", "), extra)
}

// tlsClient returns a client config trusting ca, for server name sni.
func (ca *testCA) client(sni string) *tls.Config {
	return &tls.Config{RootCAs: ca.pool, ServerName: sni, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
}

// TestTLSHTTP: an HTTPS frontend serves keep-alive requests, bodies both
// ways (a large response goes through the pumps and back), pipelined
// requests, and tells the server X-Forwarded-Proto https; the access log
// names the TLS version, cipher and SNI.
func TestTLSHTTP(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example")
	bigBody := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	hb := startHTTPBackend(t, func(r *http.Request, body []byte) string {
		switch r.URL.Path {
		case "/big":
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(bigBody), bigBody)
		case "/sum":
			return ok(fmt.Sprintf("%d:%x", len(body), sha256.Sum256(body)))
		}
		return ok("p=" + r.URL.Path + " xfp=" + r.Header.Get("X-Forwarded-Proto"))
	})
	p := startLB(t, httpConfig(tlsTable(`alpn = ["http/1.1"]`, cert), "", srv("s", hb.addr())))
	cfg := ca.client("a.example")
	cfg.NextProtos = []string{"h2", "http/1.1"}
	c, err := tls.Dial("tcp", p.addr("fe"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st := c.ConnectionState(); st.NegotiatedProtocol != "http/1.1" {
		t.Errorf("ALPN = %q; want http/1.1", st.NegotiatedProtocol)
	}
	br := bufio.NewReader(c)
	get := func(path string) string {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.example\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s body: %v", path, err)
		}
		return string(b)
	}
	if got := get("/1"); got != "p=/1 xfp=https" {
		t.Errorf("first answer = %q", got)
	}
	if got := get("/big"); got != string(bigBody) {
		t.Errorf("4 MiB response over TLS: %d bytes, identical %v", len(got), got == string(bigBody))
	}
	if got := get("/2"); got != "p=/2 xfp=https" {
		t.Errorf("answer after the large one (same connection) = %q", got)
	}
	// A body up, 1 MiB, on the same connection.
	up := bytes.Repeat([]byte("u"), 1<<20)
	fmt.Fprintf(c, "POST /sum HTTP/1.1\r\nHost: a.example\r\nContent-Length: %d\r\n\r\n", len(up))
	go c.Write(up)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if want := fmt.Sprintf("%d:%x", len(up), sha256.Sum256(up)); string(b) != want {
		t.Errorf("1 MiB upload: server saw %q; want %q", b, want)
	}
	// Pipelined: two requests in one write, answered in order.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /p1 HTTP/1.1\r\nHost: a.example\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a.example\r\n\r\n")
	for _, want := range []string{"p=/p1 xfp=https", "p=/p2 xfp=https"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Errorf("pipelined answer = %q; want %q", b, want)
		}
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["target"] == "/p2" })
	if l["tls_version"] != "TLS 1.3" || l["sni"] != "a.example" || l["tls_cipher"] == nil || l["tls_resumed"] != false {
		t.Errorf("log = %v; want tls_version TLS 1.3, sni a.example, a cipher, tls_resumed false", l)
	}
}

// TestTLSCertificateChoice: SNI picks the exact name, then the wildcard,
// else the first certificate; RSA and ECDSA certificates both serve; a
// second connection resumes the session.
func TestTLSCertificateChoice(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	def := ca.issue(t, dir, "default.pem", false, time.Time{}, "default.example")
	wild := ca.issue(t, dir, "wild.pem", true, time.Time{}, "*.example.org")
	exact := ca.issue(t, dir, "exact.pem", false, time.Time{}, "www.example.org")
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig(tlsTable("", def, wild, exact), "", srv("s", hb.addr())))
	for _, tc := range []struct{ sni, want string }{
		{"www.example.org", "www.example.org"},
		{"api.example.org", "*.example.org"},
		{"other.example", "default.example"},
		{"", "default.example"},
	} {
		cfg := ca.client(tc.sni)
		cfg.InsecureSkipVerify = tc.sni == "" || tc.want == "default.example" && tc.sni != "default.example"
		c, err := tls.Dial("tcp", p.addr("fe"), cfg)
		if err != nil {
			t.Errorf("SNI %q: %v", tc.sni, err)
			continue
		}
		got := c.ConnectionState().PeerCertificates[0].DNSNames[0]
		c.Close()
		if got != tc.want {
			t.Errorf("SNI %q: certificate for %q; want %q", tc.sni, got, tc.want)
		}
	}
	cfg := ca.client("www.example.org")
	for i, want := range []bool{false, true} {
		c, err := tls.Dial("tcp", p.addr("fe"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// TLS 1.3 tickets arrive after the handshake: read an answer.
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
		if got := c.ConnectionState().DidResume; got != want {
			t.Errorf("connection %d resumed = %v; want %v", i, got, want)
		}
		c.Close()
	}
}

// TestTLSConfigChecks: a missing file, a key that does not match its
// certificate, an expired certificate and "h2" in alpn are refused at
// lb -c, each at its key path.
func TestTLSConfigChecks(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	good := ca.issue(t, dir, "good.pem", false, time.Time{}, "good.example")
	other := ca.issue(t, dir, "other.pem", false, time.Time{}, "other.example")
	expired := ca.issue(t, dir, "expired.pem", false, time.Now().Add(-time.Hour), "old.example")
	// A certificate with another file's key.
	g, _ := os.ReadFile(good)
	o, _ := os.ReadFile(other)
	mismatch := filepath.Join(dir, "mismatch.pem")
	os.WriteFile(mismatch, append(g[:bytes.Index(g, []byte("-----BEGIN EC"))], o[bytes.Index(o, []byte("-----BEGIN EC")):]...), 0o600)
	for _, tc := range []struct{ table, want string }{
		{tlsTable("", filepath.Join(dir, "nope.pem")), "frontend.fe.tls.cert[0]"},
		{tlsTable("", good, mismatch), "frontend.fe.tls.cert[1]"},
		{tlsTable("", expired), "expired"},
		{tlsTable(`alpn = ["h2"]`, good), "frontend.fe.tls.alpn[0]"},
		{tlsTable(`min_version = "1.1"`, good), "frontend.fe.tls.min_version"},
	} {
		path := filepath.Join(dir, "lb.toml")
		writeFile(t, path, httpConfig(tc.table, "", srv("s", "127.0.0.1:1")))
		var out, errb bytes.Buffer
		if code := run([]string{"-c", "-f", path}, &out, &errb, nil, nil); code == 0 {
			t.Errorf("lb -c accepted %s", tc.table)
		} else if !strings.Contains(errb.String()+out.String(), tc.want) {
			t.Errorf("lb -c said %q; want it to name %q", errb.String()+out.String(), tc.want)
		}
	}
}

// TestTLSHandshakeFlood: many clients that open a TLS connection and
// stall mid-handshake (half a ClientHello, or a whole one and then
// silence) do not stop an established keep-alive client, and each stalled
// handshake is given up at timeout.client.
func TestTLSHandshakeFlood(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example")
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	clock := newClock()
	p := startLBClock(t, httpConfig("[frontend.fe.timeout]\nclient = \"5s\"\n"+tlsTable("", cert), "", srv("s", hb.addr())), clock)
	c, err := tls.Dial("tcp", p.addr("fe"), ca.client("a.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func() {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("established client: %v", err)
		}
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "x" {
			t.Fatalf("established client: body %q, %v", b, err)
		}
	}
	get()
	// A real ClientHello, captured from crypto/tls.
	hello := captureHello(t)
	var stalled []net.Conn
	for i := 0; i < 200; i++ {
		s := dial(t, p.addr("fe"))
		if i%2 == 0 {
			s.Write(hello[:len(hello)/2])
		} else {
			s.Write(hello)
		}
		stalled = append(stalled, s)
	}
	for i := 0; i < 20; i++ {
		get()
	}
	clock.Advance(6 * time.Second)
	for i, s := range stalled {
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, s); err != nil {
			t.Fatalf("stalled handshake %d not closed after timeout.client: %v", i, err)
		}
	}
	l := p.waitLog(t, func(m map[string]any) bool { return m["tls_error"] == "timeout" })
	if l["frontend"] != "fe" {
		t.Errorf("log = %v", l)
	}
}

// captureHello returns the first flight of a crypto/tls client.
func captureHello(t *testing.T) []byte {
	hello := analyzertest.ClientHello("a.example")
	if len(hello) < 100 {
		t.Fatalf("captured ClientHello of %d bytes", len(hello))
	}
	return hello
}

// TestTLSReloadCertificate: a reload re-reads the certificate files: new
// connections get the renewed certificate while an established TLS
// connection goes on with its session (its next request is answered, with
// Connection: close, as any keep-alive connection of the old
// configuration); a reload to a broken file is refused and the running
// certificates stay.
func TestTLSReloadCertificate(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example")
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	cfg := httpConfig(tlsTable("", cert), "", srv("s", hb.addr()))
	p := startLB(t, cfg)
	serial := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", p.addr("fe"), ca.client("a.example"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	old := serial()
	kept, err := tls.Dial("tcp", p.addr("fe"), ca.client("a.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	br := bufio.NewReader(kept)
	get := func() bool {
		t.Helper()
		kept.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(kept, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("established connection across the reload: %v", err)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != "x" {
			t.Fatalf("established connection: body %q", b)
		}
		return resp.Close
	}
	if get() {
		t.Fatal("closed before the reload")
	}
	ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example") // renewed in place
	if got := p.reload(t, cfg); got != "reloaded" {
		t.Fatalf("reload: %s", got)
	}
	renewed := serial()
	if renewed == old {
		t.Errorf("after the reload new connections still get serial %s", old)
	}
	if !get() {
		t.Error("the old configuration's keep-alive connection was not asked to close after its answer")
	}
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	if got := p.reload(t, cfg); got != "reload_failed" {
		t.Fatalf("reload to a broken certificate file: %s; want reload_failed", got)
	}
	if got := serial(); got != renewed {
		t.Errorf("after a refused reload the serial is %s; want the running %s", got, renewed)
	}
}

// TestTLSTCPMode: a TCP frontend with a tls table terminates TLS in front
// of a plain TCP service, both ways, with a large transfer and the
// client's half-close relayed.
func TestTLSTCPMode(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example")
	s := startServer(t, func(c net.Conn) {
		h := sha256.New()
		n, _ := io.Copy(h, c) // until the relayed FIN
		fmt.Fprintf(c, "%d:%x", n, h.Sum(nil))
		c.Close()
	})
	p := startLB(t, tcpConfig(tlsTable("", cert), "", srv("s", s.addr())))
	c, err := tls.Dial("tcp", p.addr("fe"), ca.client("a.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := bytes.Repeat([]byte("tls-tcp "), 1<<18) // 2 MiB
	go func() {
		c.Write(payload)
		c.CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if want := fmt.Sprintf("%d:%x", len(payload), sha256.Sum256(payload)); string(got) != want {
		t.Errorf("server answered %q (err %v); want %q", got, err, want)
	}
}

// TestTLSCurl: curl (OpenSSL) talks HTTPS to lb: ALPN http/1.1, the
// certificate verified against the test CA, two requests on one
// connection.
func TestTLSCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", true, time.Time{}, "a.example")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600)
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("hello " + r.URL.Path) })
	p := startLB(t, httpConfig(tlsTable(`alpn = ["http/1.1"]`, cert), "", srv("s", hb.addr())))
	_, port, _ := net.SplitHostPort(p.addr("fe"))
	out, err := exec.Command(curl, "-sS", "-v", "--cacert", caFile, "--resolve", "a.example:"+port+":127.0.0.1",
		"https://a.example:"+port+"/one", "https://a.example:"+port+"/two").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"hello /one", "hello /two", "ALPN: server accepted http/1.1", "Re-using existing connection"} {
		if !strings.Contains(s, want) {
			t.Errorf("curl output lacks %q:\n%s", want, s)
		}
	}
}

// startTLSServer is a TLS server (the test CA's certificate for names)
// that answers each connection's first line with its name.
func startTLSServer(t *testing.T, ca *testCA, accepted *atomic.Int32, name string, names ...string) *server {
	t.Helper()
	path := ca.issue(t, t.TempDir(), "srv.pem", false, time.Time{}, names...)
	cert, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	return startServer(t, func(c net.Conn) {
		if accepted != nil {
			accepted.Add(1)
		}
		tc := tls.Server(c, cfg)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := bufio.NewReader(tc).ReadString('\n'); err != nil {
			return
		}
		io.WriteString(tc, name)
		tc.Close()
	})
}

// TestTCPSNIRouting: a TCP frontend routes TLS connections by the server
// name of their ClientHello without terminating TLS (the client's
// handshake is with the chosen server, end to end): exact names, a
// wildcard, an unknown name and no name go to the default backend; a
// client that is not TLS goes to the default backend at once; one whose
// ClientHello stays incomplete goes there at inspect_delay.
func TestTCPSNIRouting(t *testing.T) {
	ca := newTestCA(t)
	var dConns atomic.Int32
	a := startTLSServer(t, ca, nil, "a", "a.example")
	b := startTLSServer(t, ca, nil, "b", "*.b.example")
	d := startTLSServer(t, ca, &dConns, "d", "d.example", "other.example")
	cfg := strings.Replace(tcpConfig(`inspect_delay = "2s"
[[frontend.fe.route]]
sni = "*.b.example"
backend = "b"
[[frontend.fe.route]]
sni = "a.example"
backend = "a"
`, "", srv("d", d.addr())), "[backend.be]", `[backend.a]
[[backend.a.server]]
name = "a"
address = "`+a.addr()+`"
[backend.b]
[[backend.b.server]]
name = "b"
address = "`+b.addr()+`"
[backend.be]`, 1)
	clock := newClock()
	p := startLBClock(t, cfg, clock)
	for _, tc := range []struct{ sni, want string }{
		{"a.example", "a"}, {"A.Example", "a"}, {"x.b.example", "b"}, {"other.example", "d"},
	} {
		c, err := tls.Dial("tcp", p.addr("fe"), ca.client(tc.sni))
		if err != nil {
			t.Errorf("SNI %q: %v", tc.sni, err)
			continue
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "hi\n")
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != tc.want {
			t.Errorf("SNI %q: answered by %q; want %q", tc.sni, got, tc.want)
		}
		l := p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" && m["sni"] == strings.ToLower(tc.sni) })
		if l["backend"] != map[string]string{"a": "a", "b": "b", "d": "be"}[tc.want] {
			t.Errorf("SNI %q: log %v", tc.sni, l)
		}
	}
	// No name at all: the default backend.
	c, err := tls.Dial("tcp", p.addr("fe"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "hi\n")
	if got, _ := io.ReadAll(c); string(got) != "d" {
		t.Errorf("no SNI: answered by %q; want d", got)
	}
	c.Close()
	// Not TLS: routed at once (the default backend's TLS server then
	// fails its handshake and closes).
	raw := dial(t, p.addr("fe"))
	io.WriteString(raw, "GET / HTTP/1.1\r\n\r\n")
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, raw)
	raw.Close()
	p.waitLog(t, func(m map[string]any) bool { return m["frontend"] == "fe" && m["server"] == "d" && m["sni"] == nil })
	// Half a ClientHello: held (no server contacted) until inspect_delay,
	// then the default backend.
	hello := captureHello(t)
	half := dial(t, p.addr("fe"))
	defer half.Close()
	before := dConns.Load()
	half.Write(hello[:len(hello)/2])
	time.Sleep(200 * time.Millisecond)
	if n := dConns.Load(); n != before {
		t.Fatalf("a server was contacted before the ClientHello was whole or inspect_delay passed")
	}
	clock.Advance(2500 * time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); dConns.Load() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("inspect_delay passed and the default backend was not contacted")
		}
	}
}

// TestRedirectScheme: a plain-HTTP frontend sends its clients to HTTPS
// with a redirect rule by scheme: the same host (without its port), path
// and query; absolute-form targets too; the server sees nothing.
func TestRedirectScheme(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig(`[[frontend.fe.http_request]]
action = "redirect"
scheme = "https"
status = 301
`, "", srv("s", hb.addr())))
	for _, tc := range []struct{ req, want string }{
		{"GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "https://example.com/a/b?c=d"},
		{"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "https://example.com/"},
		{"GET http://example.org:80/p?q HTTP/1.1\r\nHost: example.org:80\r\n\r\n", "https://example.org/p?q"},
		{"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "https://[::1]/"},
	} {
		got, _ := rawExchange(t, p.addr("fe"), tc.req, 300*time.Millisecond)
		if !strings.HasPrefix(got, "HTTP/1.1 301 ") || !strings.Contains(got, "\r\nLocation: "+tc.want+"\r\n") {
			t.Errorf("%q: got %q; want a 301 to %s", tc.req, clip(got), tc.want)
		}
	}
	if n := len(hb.requests()); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
}

// clientCert is a client certificate for cn issued by ca.
func (ca *testCA) clientCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"lb tests"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestTLSClientCertificates: verify = "required" refuses a client without
// a certificate, or with one from another authority, at the handshake
// (logged once with its reason); verify = "optional" lets both kinds in
// and rules see the verified name (client_cn); the access log carries the
// verified subject.
func TestTLSClientCertificates(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600)
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("ok " + r.URL.Path) })
	get := func(addr string, certs []tls.Certificate, path string) (string, error) {
		cfg := ca.client("a.example")
		cfg.Certificates = certs
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.example\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b), nil
	}
	alice := []tls.Certificate{ca.clientCert(t, "alice")}
	mallory := []tls.Certificate{other.clientCert(t, "alice")}

	t.Run("required", func(t *testing.T) {
		p := startLB(t, httpConfig(tlsTable(fmt.Sprintf("verify = \"required\"\nca = %q", caFile), cert), "", srv("s", hb.addr())))
		if got, err := get(p.addr("fe"), alice, "/x"); err != nil || got != "200 ok /x" {
			t.Errorf("with a valid certificate: %q, %v", got, err)
		}
		l := p.waitLog(t, func(m map[string]any) bool { return m["target"] == "/x" })
		if s, _ := l["tls_client"].(string); !strings.Contains(s, "CN=alice") {
			t.Errorf("log tls_client = %v; want the subject with CN=alice", l["tls_client"])
		}
		for name, certs := range map[string][]tls.Certificate{"none": nil, "another authority": mallory} {
			if got, err := get(p.addr("fe"), certs, "/y"); err == nil {
				t.Errorf("%s: answered %q; want the handshake refused", name, got)
			}
		}
		p.waitLog(t, func(m map[string]any) bool { return m["term"] == "tls" && m["tls_error"] != nil })
	})
	t.Run("optional", func(t *testing.T) {
		rules := `[[frontend.fe.http_request]]
path_prefix = "/admin"
client_cn = "-"
action = "deny"
[[frontend.fe.http_request]]
path_prefix = "/admin"
client_cn = "bob"
action = "deny"
status = 401
`
		p := startLB(t, httpConfig(rules+tlsTable(fmt.Sprintf("verify = \"optional\"\nca = %q", caFile), cert), "", srv("s", hb.addr())))
		for _, tc := range []struct {
			certs      []tls.Certificate
			path, want string
		}{
			{nil, "/public", "200 ok /public"},
			{nil, "/admin", "403 "},
			{alice, "/admin", "200 ok /admin"},
			{[]tls.Certificate{ca.clientCert(t, "bob")}, "/admin", "401 "},
		} {
			got, err := get(p.addr("fe"), tc.certs, tc.path)
			if err != nil || !strings.HasPrefix(got, tc.want) {
				t.Errorf("%d certificate(s), %s: %q, %v; want %q", len(tc.certs), tc.path, got, err, tc.want)
			}
		}
		if got, err := get(p.addr("fe"), mallory, "/public"); err == nil {
			t.Errorf("a certificate of another authority: answered %q; want the handshake refused", got)
		}
	})
}

// TestTLSOCSPStapling: an OCSP response beside the certificate
// ("<file>.ocsp", DER) is stapled to handshakes; one for another
// certificate is refused at load.
func TestTLSOCSPStapling(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "a.pem", false, time.Time{}, "a.example")
	other := ca.issue(t, dir, "b.pem", false, time.Time{}, "b.example")
	staple := func(certFile string) []byte {
		pair, err := tls.LoadX509KeyPair(certFile, certFile)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		der, err := ocsp.CreateResponse(ca.cert, ca.cert, ocsp.Response{
			Status: ocsp.Good, SerialNumber: leaf.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		}, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	good := staple(cert)
	os.WriteFile(cert+".ocsp", good, 0o600)
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	p := startLB(t, httpConfig(tlsTable("", cert), "", srv("s", hb.addr())))
	c, err := tls.Dial("tcp", p.addr("fe"), ca.client("a.example"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.OCSPResponse(); !bytes.Equal(got, good) {
		t.Errorf("stapled OCSP response: %d bytes; want the %d of the file", len(got), len(good))
	}
	c.Close()
	os.WriteFile(cert+".ocsp", staple(other), 0o600)
	path := filepath.Join(dir, "lb.toml")
	writeFile(t, path, httpConfig(tlsTable("", cert), "", srv("s", hb.addr())))
	var out, errb bytes.Buffer
	if code := run([]string{"-c", "-f", path}, &out, &errb, nil, nil); code == 0 || !strings.Contains(errb.String(), ".ocsp") {
		t.Errorf("lb -c with an OCSP response for another certificate: exit %d, %q", code, errb.String())
	}
}

// tlsHTTPServer is an HTTP/1.1 server behind TLS, for backends with a tls
// table: it answers each request with "<sni> <path>", or a large body for
// /big, and counts its connections.
type tlsHTTPServer struct {
	*server
	conns atomic.Int32
}

func startTLSHTTPServer(t *testing.T, ca *testCA, big []byte, names ...string) *tlsHTTPServer {
	t.Helper()
	path := ca.issue(t, t.TempDir(), "srv.pem", false, time.Time{}, names...)
	cert, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsHTTPServer{}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	s.server = startServer(t, func(c net.Conn) {
		s.conns.Add(1)
		tc := tls.Server(c, cfg)
		br := bufio.NewReader(tc)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(r.Body)
			var resp string
			switch r.URL.Path {
			case "/big":
				resp = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
			case "/sum":
				resp = ok(fmt.Sprintf("%d:%x", len(body), sha256.Sum256(body)))
			default:
				resp = ok(tc.ConnectionState().ServerName + " " + r.URL.Path)
			}
			if _, err := io.WriteString(tc, resp); err != nil {
				return
			}
		}
	})
	return s
}

// TestTLSToServers: a backend's tls table makes lb speak TLS to its
// servers, verified against a ca file and the sni (or the address's IP);
// a server whose certificate does not match is refused (503, nothing
// sent) unless verify = false is written; the TLS connections are pooled
// and reused; large bodies both ways go through the pumps and back.
func TestTLSToServers(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600)
	big := bytes.Repeat([]byte("tls-to-server "), 300000) // 4.2 MB
	s := startTLSHTTPServer(t, ca, big, "srv.example")
	get := func(addr, path string) string {
		t.Helper()
		got, _ := rawExchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 300*time.Millisecond)
		return got
	}
	t.Run("verified", func(t *testing.T) {
		// One loop: pools are per loop, and reuse is then the same on every run.
		cfg := strings.Replace(httpConfig("", fmt.Sprintf("[backend.be.tls]\nca = %q\nsni = \"srv.example\"\n", caFile), srv("s", s.addr())),
			"[global]\n", "[global]\nevent_loops = 1\n", 1)
		p := startLB(t, cfg)
		before := s.conns.Load()
		for i := 0; i < 3; i++ {
			if got := get(p.addr("fe"), "/x"); !strings.HasSuffix(got, "srv.example /x") {
				t.Fatalf("request %d: %q", i, clip(got))
			}
		}
		if n := s.conns.Load() - before; n != 1 {
			t.Errorf("3 requests opened %d TLS connections to the server; want 1 (pooled and reused)", n)
		}
		resp, err := http.Get("http://" + p.addr("fe") + "/big")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(b, big) {
			t.Errorf("large response from a TLS server: %d bytes, identical %v", len(b), bytes.Equal(b, big))
		}
		up := bytes.Repeat([]byte("u"), 3<<20)
		resp, err = http.Post("http://"+p.addr("fe")+"/sum", "application/octet-stream", bytes.NewReader(up))
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%d:%x", len(up), sha256.Sum256(up)); string(b) != want {
			t.Errorf("large upload to a TLS server: %q; want %q", b, want)
		}
		if got := get(p.addr("fe"), "/after"); !strings.HasSuffix(got, "srv.example /after") {
			t.Errorf("after the large bodies: %q", clip(got))
		}
	})
	t.Run("wrong name refused", func(t *testing.T) {
		p := startLB(t, httpConfig("", fmt.Sprintf("retries = 0\n[backend.be.tls]\nca = %q\nsni = \"wrong.example\"\n", caFile), srv("s", s.addr())))
		if got := get(p.addr("fe"), "/x"); !strings.HasPrefix(got, "HTTP/1.1 503") {
			t.Errorf("a server whose certificate is not for the sni: %q; want 503", clip(got))
		}
	})
	t.Run("unverified when written", func(t *testing.T) {
		p := startLB(t, httpConfig("", "[backend.be.tls]\nverify = false\nsni = \"wrong.example\"\n", srv("s", s.addr())))
		if got := get(p.addr("fe"), "/x"); !strings.HasSuffix(got, "wrong.example /x") {
			t.Errorf("verify = false: %q", clip(got))
		}
	})
	t.Run("tcp mode", func(t *testing.T) {
		p := startLB(t, tcpConfig("", fmt.Sprintf("[backend.be.tls]\nca = %q\nsni = \"srv.example\"\n", caFile), srv("s", s.addr())))
		if got := get(p.addr("fe"), "/tcp"); !strings.HasSuffix(got, "srv.example /tcp") {
			t.Errorf("TCP mode to a TLS server: %q", clip(got))
		}
	})
}
