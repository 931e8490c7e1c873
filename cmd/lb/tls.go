package main

import (
	"context"
	"crypto/tls"
	"net"
	"strings"

	"github.com/lb-proxy/lb/config"
	"github.com/lb-proxy/lb/session"
)

// tlsServerConfig is a TLS frontend's crypto/tls configuration: the
// certificates validation loaded, picked by SNI (exact name, then
// wildcard, then the first), TLS 1.2 with AEAD ECDHE suites only, or 1.3.
// Session tickets resume sessions; crypto/tls rotates their keys itself
// (a new key every day, each valid a week).
func tlsServerConfig(t *config.TLS) *tls.Config {
	certs := t.Certs
	exact := map[string][]*tls.Certificate{}
	wild := map[string][]*tls.Certificate{}
	for i := range certs {
		c := &certs[i]
		names := c.Leaf.DNSNames
		if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
			names = []string{c.Leaf.Subject.CommonName}
		}
		for _, n := range names {
			n = strings.ToLower(n)
			m := exact
			if strings.HasPrefix(n, "*.") {
				m, n = wild, n[2:]
			}
			m[n] = append(m[n], c)
		}
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: t.ALPN,
		CipherSuites: []uint16{ // TLS 1.2; 1.3's are all AEAD
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return pickCert(hello, certs, exact, wild), nil
		},
	}
	if t.MinVersion == "1.3" {
		cfg.MinVersion = tls.VersionTLS13
	}
	switch t.Verify {
	case "optional":
		cfg.ClientAuth, cfg.ClientCAs = tls.VerifyClientCertIfGiven, t.CAs
	case "required":
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, t.CAs
	}
	return cfg
}

// pickCert chooses the certificate for a ClientHello: the one for its
// exact server name, else for the name's wildcard, else the first one
// (also when the client sent no name). Several may carry a name (RSA and
// ECDSA); a candidate the client cannot use
// (its key type or signature scheme) is passed over for the next.
func pickCert(hello *tls.ClientHelloInfo, certs []tls.Certificate, exact, wild map[string][]*tls.Certificate) *tls.Certificate {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	var cands []*tls.Certificate
	if name != "" {
		cands = append(cands, exact[name]...)
		if _, parent, ok := strings.Cut(name, "."); ok {
			cands = append(cands, wild[parent]...)
		}
	}
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return &certs[0]
}

// proto is the scheme a frontend's clients use, for X-Forwarded-Proto.
func proto(fc *config.Frontend) string {
	if fc.TLS != nil {
		return "https"
	}
	return "http"
}

// backendTLSConfig is the crypto/tls client configuration lb connects to
// a TLS backend's servers with. The server name is the table's sni, else
// set per dial to the host of the server's address (session.Target.TLS).
// Sessions resume with the servers (a ticket cache per backend).
func backendTLSConfig(t *config.BackendTLS) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            t.CAs, // nil: the system's
		ServerName:         t.SNI,
		InsecureSkipVerify: !t.Verify,
		Certificates:       t.ClientCert,
		ClientSessionCache: tls.NewLRUClientSessionCache(256),
	}
}

// tlsCheckDialer opens health-check connections to a TLS backend's
// servers: the check passes only through a verified handshake.
func tlsCheckDialer(cfg *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &tls.Dialer{Config: session.ServerTLSConfig(cfg, addr)}
		return d.DialContext(ctx, network, addr)
	}
}
