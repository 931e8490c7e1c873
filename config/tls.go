package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// checkTLS validates a frontend's tls table and loads its certificates
// into t.Certs: a file that cannot be read, holds no certificate or no
// key, a key that does not match its certificate, or a certificate that is
// not valid now is reported at its cert entry.
func checkTLS(r *report, path string, t *TLS) {
	if len(t.Cert) == 0 {
		r.add(path+".cert", "at least one certificate file is required")
	}
	t.Certs = t.Certs[:0]
	for i, name := range t.Cert {
		p := indexKey(path+".cert", i)
		c, err := loadCert(r.resolve(p, name), time.Now())
		if err != nil {
			r.add(p, "%v", err)
			continue
		}
		t.Certs = append(t.Certs, c)
	}
	for i, proto := range t.ALPN {
		switch proto {
		case "http/1.1":
		case "h2":
			r.add(indexKey(path+".alpn", i), `"h2" needs HTTP/2, which lb does not speak yet; offer "http/1.1" only`)
		default:
			r.add(indexKey(path+".alpn", i), `unknown protocol %q (want "http/1.1")`, proto)
		}
	}
	switch t.MinVersion {
	case "", "1.2", "1.3":
	default:
		r.add(path+".min_version", `invalid TLS version %q (want "1.2" or "1.3")`, t.MinVersion)
	}
	switch t.Verify {
	case "", "none":
		if t.CA != "" {
			r.add(path+".ca", `applies only with verify = "optional" or "required"`)
		}
	case "optional", "required":
		if t.CA == "" {
			r.add(path+".ca", "required with verify %q: the PEM file of the authorities client certificates chain to", t.Verify)
			break
		}
		file := r.resolve(path+".ca", t.CA)
		data, err := os.ReadFile(file)
		if err != nil {
			r.add(path+".ca", "%v", err)
			break
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			r.add(path+".ca", "%s: no PEM certificate in it", file)
			break
		}
		t.CAs = pool
	default:
		r.add(path+".verify", `invalid value %q (want "none", "optional" or "required")`, t.Verify)
	}
}

// resolve makes a file name written at key path absolute: a relative name
// is relative to the directory of the file that sets it.
func (r *report) resolve(path, name string) string {
	if filepath.IsAbs(name) || r.src == nil {
		return name
	}
	if pos, ok := r.src.locate(path); ok && pos.file >= 0 && pos.file < len(r.src.files) {
		return filepath.Join(filepath.Dir(r.src.files[pos.file]), name)
	}
	return name
}

// loadCert reads a PEM file holding a certificate chain and its key, and
// checks that the key matches and that the leaf is valid at now.
func loadCert(file string, now time.Time) (tls.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(data, data)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", file, err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", file, err)
	}
	switch {
	case now.After(leaf.NotAfter):
		return tls.Certificate{}, fmt.Errorf("%s: certificate expired on %s", file, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return tls.Certificate{}, fmt.Errorf("%s: certificate not valid before %s", file, leaf.NotBefore.UTC().Format(time.RFC3339))
	case len(leaf.DNSNames) == 0 && leaf.Subject.CommonName == "":
		return tls.Certificate{}, errors.New(file + ": certificate names no host (no DNS SAN, no CN)")
	}
	c.Leaf = leaf
	if err := loadStaple(&c, file+".ocsp", now); err != nil {
		return tls.Certificate{}, err
	}
	return c, nil
}

// loadStaple staples the OCSP response in file (DER, HAProxy's
// "<cert>.ocsp" beside the certificate) when there is one: it must be a
// "good" response for this certificate, signed by its issuer when the
// chain holds it, and not past its next update.
func loadStaple(c *tls.Certificate, file string, now time.Time) error {
	der, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var issuer *x509.Certificate
	if len(c.Certificate) > 1 {
		issuer, _ = x509.ParseCertificate(c.Certificate[1])
	}
	resp, err := ocsp.ParseResponseForCert(der, c.Leaf, issuer)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %v", file, err)
	case resp.SerialNumber.Cmp(c.Leaf.SerialNumber) != 0:
		return fmt.Errorf("%s: the OCSP response is for another certificate", file)
	case resp.Status != ocsp.Good:
		return fmt.Errorf("%s: the OCSP response says the certificate is not good (status %d)", file, resp.Status)
	case !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate):
		return fmt.Errorf("%s: the OCSP response is out of date since %s (fetch a new one)", file, resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	c.OCSPStaple = der
	return nil
}

// checkBackendTLS validates a backend's tls table and loads its files.
func checkBackendTLS(r *report, path string, t *BackendTLS) {
	if t.CA != "" {
		file := r.resolve(path+".ca", t.CA)
		data, err := os.ReadFile(file)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			r.add(path+".ca", "%v", err)
		case !pool.AppendCertsFromPEM(data):
			r.add(path+".ca", "%s: no PEM certificate in it", file)
		default:
			t.CAs = pool
		}
	}
	if t.Cert != "" {
		c, err := loadCert(r.resolve(path+".cert", t.Cert), time.Now())
		if err != nil {
			r.add(path+".cert", "%v", err)
		} else {
			t.ClientCert = []tls.Certificate{c}
		}
	}
	if strings.ContainsAny(t.SNI, " :/*") {
		r.add(path+".sni", "invalid server name %q", t.SNI)
	}
}
