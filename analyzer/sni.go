package analyzer

import "strings"

// tcp_inspect_req: a TCP-mode frontend routes TLS connections by the
// server name the client asks for (HAProxy's req.ssl_sni), without
// terminating TLS. The analyzer reads the ClientHello from the first
// bytes the client sends (RFC 8446 4.1.2, RFC 6066 3); it never changes
// them: what the client sent is forwarded as it is.

// MaxClientHello bounds what tcp_inspect_req waits for: a ClientHello is
// at most a few KiB; more without a whole one is not TLS worth waiting for.
const MaxClientHello = 16 << 10

// ClientHelloSNI reads the server name of the TLS ClientHello at the start
// of b. done is false while more bytes are needed; once done, sni is the
// name (lower case; "" when the client sent none, or b is not a TLS
// ClientHello).
func ClientHelloSNI(b []byte) (sni string, done bool) {
	// Reassemble the handshake message from its records.
	var msg []byte
	need := -1
	for need < 0 || len(msg) < need {
		if len(b) < 5 {
			return "", false
		}
		if b[0] != 22 || b[1] != 3 { // not a TLS handshake record
			return "", true
		}
		n := int(b[3])<<8 | int(b[4])
		if n == 0 || n > 1<<14 {
			return "", true
		}
		if len(b) < 5+n {
			return "", false
		}
		msg = append(msg, b[5:5+n]...)
		b = b[5+n:]
		if need < 0 && len(msg) >= 4 {
			if msg[0] != 1 { // not a ClientHello
				return "", true
			}
			need = 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			if need > MaxClientHello {
				return "", true
			}
		}
	}
	return helloServerName(msg[4:need]), true
}

// helloServerName finds the host_name entry of the server_name extension
// in a ClientHello body; "" when absent or malformed.
func helloServerName(h []byte) string {
	r := reader(h)
	if !r.skip(2+32) || // legacy_version, random
		!r.skipVec(1) || // legacy_session_id
		!r.skipVec(2) || // cipher_suites
		!r.skipVec(1) { // legacy_compression_methods
		return ""
	}
	exts, ok := r.vec(2)
	if !ok {
		return ""
	}
	for len(exts) >= 4 {
		typ := int(exts[0])<<8 | int(exts[1])
		n := int(exts[2])<<8 | int(exts[3])
		if len(exts) < 4+n {
			return ""
		}
		body := exts[4 : 4+n]
		exts = exts[4+n:]
		if typ != 0 { // server_name
			continue
		}
		e := reader(body)
		list, ok := e.vec(2)
		if !ok {
			return ""
		}
		for len(list) >= 3 {
			nameType := list[0]
			l := int(list[1])<<8 | int(list[2])
			if len(list) < 3+l {
				return ""
			}
			name := list[3 : 3+l]
			list = list[3+l:]
			if nameType == 0 && validSNI(name) {
				return strings.ToLower(string(name))
			}
		}
		return ""
	}
	return ""
}

// validSNI accepts a DNS name: letters, digits, '-', '.', '_'.
func validSNI(b []byte) bool {
	if len(b) == 0 || len(b) > 253 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// reader walks a TLS structure.
type reader []byte

func (r *reader) skip(n int) bool {
	if len(*r) < n {
		return false
	}
	*r = (*r)[n:]
	return true
}

// vec returns the next vector whose length takes lenBytes bytes.
func (r *reader) vec(lenBytes int) ([]byte, bool) {
	if len(*r) < lenBytes {
		return nil, false
	}
	n := 0
	for _, c := range (*r)[:lenBytes] {
		n = n<<8 | int(c)
	}
	*r = (*r)[lenBytes:]
	if len(*r) < n {
		return nil, false
	}
	v := (*r)[:n]
	*r = (*r)[n:]
	return v, true
}

func (r *reader) skipVec(lenBytes int) bool {
	_, ok := r.vec(lenBytes)
	return ok
}

// MatchSNI returns the index of the first pattern that matches sni
// ("name" exactly, "*.parent" for one label in front of parent), or -1.
// Exact patterns win over wildcards wherever they are in the list.
func MatchSNI(patterns []string, sni string) int {
	if sni == "" {
		return -1
	}
	for i, p := range patterns {
		if strings.EqualFold(p, sni) {
			return i
		}
	}
	_, parent, ok := strings.Cut(sni, ".")
	if !ok {
		return -1
	}
	for i, p := range patterns {
		if w, ok := strings.CutPrefix(p, "*."); ok && strings.EqualFold(w, parent) {
			return i
		}
	}
	return -1
}
