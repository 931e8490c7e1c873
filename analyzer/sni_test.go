package analyzer

import (
	"strings"
	"testing"

	"github.com/lb-proxy/lb/analyzer/analyzertest"
)

// clientHello returns the first flight of a crypto/tls client for sni.
func clientHello(_ testing.TB, sni string) []byte { return analyzertest.ClientHello(sni) }

func TestClientHelloSNI(t *testing.T) {
	for _, sni := range []string{"a.example", "Mixed.Example.ORG", ""} {
		h := clientHello(t, sni)
		for n := 0; n < len(h); n++ {
			if _, done := ClientHelloSNI(h[:n]); done {
				t.Fatalf("SNI %q: done after %d of %d bytes", sni, n, len(h))
			}
		}
		got, done := ClientHelloSNI(h)
		if !done || got != strings.ToLower(sni) {
			t.Errorf("ClientHelloSNI = %q, %v; want %q, true", got, done, strings.ToLower(sni))
		}
		// Split into two records: the same name.
		body := h[5:]
		split := append([]byte{22, 3, 1, 0, 40}, body[:40]...)
		rest := len(body) - 40
		split = append(split, 22, 3, 1, byte(rest>>8), byte(rest))
		split = append(split, body[40:]...)
		if got, done := ClientHelloSNI(split); !done || got != strings.ToLower(sni) {
			t.Errorf("two records: %q, %v", got, done)
		}
	}
	for _, in := range []string{"GET / HTTP/1.1\r\n", "\x16\x03\x01\x00\x00", "\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", "SSH-2.0-x\r\n"} {
		if got, done := ClientHelloSNI([]byte(in)); !done || got != "" {
			t.Errorf("ClientHelloSNI(%q) = %q, %v; want \"\", true (not a ClientHello)", in, got, done)
		}
	}
}

func TestMatchSNI(t *testing.T) {
	pats := []string{"*.example.com", "api.example.com", "Other.org"}
	for sni, want := range map[string]int{
		"api.example.com": 1, "www.example.com": 0, "a.b.example.com": -1, "example.com": -1,
		"other.org": 2, "": -1, "x.other.org": -1,
	} {
		if got := MatchSNI(pats, sni); got != want {
			t.Errorf("MatchSNI(%q) = %d; want %d", sni, got, want)
		}
	}
}

// FuzzClientHelloSNI: any bytes give a bounded answer without panicking,
// a name that is a valid host name, and "done" stays done as bytes come.
func FuzzClientHelloSNI(f *testing.F) {
	f.Add(clientHello(f, "a.example"))
	f.Add(clientHello(f, ""))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sni, done := ClientHelloSNI(b)
		if sni != "" && (!done || !validSNI([]byte(sni)) || sni != strings.ToLower(sni)) {
			t.Fatalf("ClientHelloSNI = %q, %v", sni, done)
		}
		if done {
			if sni2, done2 := ClientHelloSNI(append(b, 0, 1, 2)); !done2 || sni2 != sni {
				t.Fatalf("more bytes changed the answer: %q %v -> %q %v", sni, done, sni2, done2)
			}
		}
	})
}
