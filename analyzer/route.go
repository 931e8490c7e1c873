package analyzer

import "bytes"

// Route is one routing rule of a frontend: a request matches when every
// set condition holds. Host is compared case-insensitively without its port;
// PathPrefix against the request-target's path (an absolute-form target's
// path too).
type Route struct {
	Host       string
	PathPrefix string
}

// PickRoute returns the index of the first route r matches, or -1 (the
// frontend's default backend). It allocates nothing.
func PickRoute(routes []Route, r *Request) int {
	host := r.Host
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		host = host[:i]
	}
	path := requestPath(r)
	for i := range routes {
		rt := &routes[i]
		if rt.Host != "" && !equalFold(host, rt.Host) {
			continue
		}
		if rt.PathPrefix != "" && !bytes.HasPrefix(path, []byte(rt.PathPrefix)) {
			continue
		}
		return i
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
