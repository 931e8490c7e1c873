// Package analyzertest holds test inputs for the analyzers that the tests
// of several packages use.
package analyzertest

import (
	"crypto/tls"
	"net"
	"sync"
)

// ClientHello returns the first flight of a crypto/tls client asking for
// server name sni ("" for none): a real ClientHello, as a TLS client
// sends it.
func ClientHello(sni string) []byte {
	a, b := net.Pipe()
	var hello []byte
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		n, _ := b.Read(buf)
		hello = buf[:n]
		b.Close()
	}()
	tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
	wg.Wait()
	return hello
}
