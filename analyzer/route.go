package analyzer

import "bytes"

// Match is a condition on a request: it holds when every set field holds.
// Host is compared case-insensitively without its port; PathPrefix against
// the request-target's path (an absolute-form target's path too); Header
// requires a field of that name (any case) and, when HeaderValue is set,
// one whose value is exactly HeaderValue. The zero Match always holds.
type Match struct {
	Host        string
	PathPrefix  string
	Header      string
	HeaderValue string
	// ClientCN (rules of TLS frontends that verify client certificates):
	// "*" any verified certificate, "-" none, else the verified
	// certificate's exact common name. "" matches every request.
	ClientCN string
}

// Route is one routing rule of a frontend.
type Route = Match

// Matches reports whether r satisfies m. It allocates nothing.
func (m *Match) Matches(r *Request) bool {
	if m.Host != "" {
		host := r.Host
		if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
			host = host[:i]
		}
		if !equalFold(host, m.Host) {
			return false
		}
	}
	if m.PathPrefix != "" && !bytes.HasPrefix(requestPath(r), []byte(m.PathPrefix)) {
		return false
	}
	switch m.ClientCN {
	case "":
	case "*":
		if !r.ClientCert {
			return false
		}
	case "-":
		if r.ClientCert {
			return false
		}
	default:
		if !r.ClientCert || r.ClientCN != m.ClientCN {
			return false
		}
	}
	if m.Header != "" {
		found := false
		for _, f := range r.Headers {
			if equalFold(f.Name, m.Header) && (m.HeaderValue == "" || string(f.Value) == m.HeaderValue) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// PickRoute returns the index of the first route r matches, or -1 (the
// frontend's default backend). It allocates nothing.
func PickRoute(routes []Route, r *Request) int {
	for i := range routes {
		if routes[i].Matches(r) {
			return i
		}
	}
	return -1
}

// requestPath returns the path of an origin-form or absolute-form target.
func requestPath(r *Request) []byte {
	t := r.Target
	if r.Form == FormAbsolute {
		if i := bytes.Index(t, []byte("://")); i >= 0 {
			t = t[i+3:]
			if j := bytes.IndexByte(t, '/'); j >= 0 {
				t = t[j:]
			} else {
				t = []byte("/")
			}
		}
	}
	return t
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// EqualFold reports whether b and s are equal ignoring ASCII case.
func EqualFold(b []byte, s string) bool { return equalFold(b, s) }
