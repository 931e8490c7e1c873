package config

import (
	"os"
	"time"

	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate checks c against every rule of docs/config.md and returns nil or
// an *Error listing all the problems found. Load and Parse call it on the
// defaulted configuration; call it again only on a Config built or changed
// in Go, whose problems then carry no line numbers.
//
// Validate does not apply defaults: on a Config built in Go, a zero value
// is checked as written (global.maxconn = 0 is a problem).
func (c *Config) Validate() error {
	r := newReport(c.src)
	c.validate(r)
	return r.err()
}

// validate adds every problem of c to r.
func (c *Config) validate(r *report) {
	// bound maps each listening address (normalized) to the path that
	// binds it first.
	bound := make(map[string]string)
	bind := func(path, addr string) {
		if err := checkAddr(addr, true); err != nil {
			r.add(path, "%v", err)
			return
		}
		key := normalizeAddr(addr)
		if strings.HasSuffix(key, ":0") {
			return // each gets its own free port
		}
		if first, dup := bound[key]; dup {
			r.add(path, "address %q is already bound by %s%s", addr, first, c.src.at(first, path))
			return
		}
		bound[key] = path
	}

	g := c.Global
	if g.MaxConn < 1 {
		r.add("global.maxconn", "must be at least 1, got %d", g.MaxConn)
	}
	if g.EventLoops < 0 {
		r.add("global.event_loops", "must not be negative (0 means GOMAXPROCS), got %d", g.EventLoops)
	}
	if g.AccessLog == "" {
		r.add("global.access_log", `must not be empty (write "off" to disable the access log)`)
	}
	if c.Admin.Bind != "" {
		bind("admin.bind", c.Admin.Bind)
		if _, _, err := net.SplitHostPort(c.Admin.Bind); err == nil && c.Admin.TokenFile == "" && !LoopbackAddr(c.Admin.Bind) {
			r.add("admin.token_file", "required when admin.bind (%s) is not a loopback address: the runtime API must not be open to the network", c.Admin.Bind)
		}
		if f := c.Admin.TokenFile; f != "" {
			b, err := os.ReadFile(r.resolve("admin.token_file", f))
			switch tok := strings.TrimSpace(string(b)); {
			case err != nil:
				r.add("admin.token_file", "%v", err)
			case tok == "":
				r.add("admin.token_file", "%s is empty: write the bearer token in it", f)
			default:
				c.Admin.Token = tok
			}
		}
		for i, h := range c.Admin.Hosts {
			if h == "" || strings.ContainsAny(h, ":/ ") {
				r.add(indexKey("admin.hosts", i), "invalid host name %q (a name, without a port)", h)
			}
		}
	}

	d := c.Defaults
	checkMode(r, "defaults.mode", d.Mode)
	if d.MaxConn < 0 {
		r.add("defaults.maxconn", "must not be negative (0 means no per-frontend limit), got %d", d.MaxConn)
	}
	if d.Retries < 0 {
		r.add("defaults.retries", "must not be negative, got %d", d.Retries)
	}
	checkBalance(r, "defaults.balance", d.Balance)
	checkBodyMinRate(r, "defaults.http_body_min_rate", d.HTTPBodyMinRate)

	backendNames := slices.Collect(maps.Keys(c.Backends))
	knownBackend := func(path, name string) {
		switch {
		case name == "":
			r.add(path, "required: the name of a [backend.NAME] section")
		case c.Backends[name] == nil:
			r.add(path, "unknown backend %q%s", name, didYouMean(name, backendNames))
		}
	}

	if len(c.Frontends) == 0 {
		r.add("frontend", "no frontend defined; at least one [frontend.NAME] section is required")
	}
	// tcpUser maps a backend name to a tcp-mode frontend that uses it.
	tcpUser := make(map[string]string)
	for _, name := range c.sectionOrder("frontend", slices.Collect(maps.Keys(c.Frontends))) {
		f, p := c.Frontends[name], joinKey("frontend", name)
		if f == nil { // only in a Config built in Go
			r.add(p, "nil section")
			continue
		}
		if len(f.Bind) == 0 {
			r.add(p+".bind", `required: at least one address, such as ["0.0.0.0:80"]`)
		}
		for i, a := range f.Bind {
			bind(indexKey(p+".bind", i), a)
		}
		checkMode(r, p+".mode", f.Mode)
		if f.MaxConn < 0 {
			r.add(p+".maxconn", "must not be negative (0 means only global.maxconn applies), got %d", f.MaxConn)
		}
		knownBackend(p+".default_backend", f.DefaultBackend)
		if f.Mode == ModeTCP {
			tcpUser[f.DefaultBackend] = p
		} else if r.written(p + ".inspect_delay") {
			r.add(p+".inspect_delay", "applies only to tcp-mode frontends with sni routes")
		}
		if f.InspectDelay.Duration < 0 {
			r.add(p+".inspect_delay", "must not be negative")
		}
		for i, rt := range f.Route {
			rp := indexKey(p+".route", i)
			knownBackend(rp+".backend", rt.Backend)
			if f.Mode == ModeTCP {
				tcpUser[rt.Backend] = p
				checkSNIRoute(r, rp, rt)
				continue
			}
			if rt.SNI != "" {
				r.add(rp+".sni", "sni routes are for tcp mode; an http route matches the request's host")
			}
			checkMatch(r, rp, rt.PathPrefix, rt.Header, rt.HeaderValue)
		}
		checkLimits(r, p, f)
		if h := f.RequestIDHeader; h != "" && (!isToken(h) || f.Mode == ModeTCP) {
			r.add(p+".request_id_header", "must be a field name, in an http-mode frontend; got %q", h)
		}
		checkBodyMinRate(r, p+".http_body_min_rate", f.HTTPBodyMinRate)
		if f.Mode == ModeTCP && (len(f.HTTPRequest) > 0 || len(f.HTTPResponse) > 0) {
			r.add(p+".http_request", "http rules apply only in http mode; this frontend is in tcp mode")
		}
		for kind, rules := range map[string][]Rule{"http_request": f.HTTPRequest, "http_response": f.HTTPResponse} {
			if len(rules) > 64 {
				r.add(p+"."+kind, "at most 64 rules, got %d", len(rules))
			}
			for i, rl := range rules {
				checkRule(r, indexKey(p+"."+kind, i), rl, kind == "http_response")
				if rl.ClientCN != "" && (f.TLS == nil || f.TLS.Verify == "" || f.TLS.Verify == "none") {
					r.add(indexKey(p+"."+kind, i)+".client_cn", `needs client certificates: a tls table with verify = "optional" or "required"`)
				}
			}
		}
		if f.TLS != nil {
			checkTLS(r, p+".tls", f.TLS)
		}
		checkAcceptProxy(r, p, f)
		limited := 0
		for i, rl := range f.HTTPRequest {
			if rl.Limit == "" {
				continue
			}
			if limited++; limited == maxLimitRules+1 {
				r.add(indexKey(p+".http_request", i)+".limit", "at most %d rules with a limit per frontend", maxLimitRules)
			}
			if c.Limits[rl.Limit] == nil {
				r.add(indexKey(p+".http_request", i)+".limit", "unknown limit %q%s", rl.Limit, didYouMean(rl.Limit, slices.Collect(maps.Keys(c.Limits))))
			}
		}
	}
	for _, name := range c.sectionOrder("limit", slices.Collect(maps.Keys(c.Limits))) {
		checkLimit(r, joinKey("limit", name), c.Limits[name])
	}

	for _, name := range c.sectionOrder("backend", backendNames) {
		b, p := c.Backends[name], joinKey("backend", name)
		if b == nil {
			r.add(p, "nil section")
			continue
		}
		if checkBalance(r, p+".balance", b.Balance) && balanceNeedsHTTP(b.Balance) && tcpUser[name] != "" {
			r.add(p+".balance", "balance %q needs http mode, but tcp-mode %s uses this backend", b.Balance, tcpUser[name])
		}
		if b.Retries < 0 {
			r.add(p+".retries", "must not be negative, got %d", b.Retries)
		}
		if b.TLS != nil {
			checkBackendTLS(r, p+".tls", b.TLS)
		}
		if b.HashType != "" && b.HashType != "map-based" && b.HashType != "consistent" {
			r.add(p+".hash_type", `invalid hash type %q (want "map-based" or "consistent")`, b.HashType)
		}
		if b.PoolMaxConn < 0 || b.PoolMaxConn > 10000 {
			r.add(p+".pool_max_conn", "must be between 0 (no reuse) and 10000, got %d", b.PoolMaxConn)
		}
		if d := b.PoolPurgeDelay.Duration; d != 0 && d < 100*time.Millisecond || d == 0 && r.written(p+".pool_purge_delay") {
			r.add(p+".pool_purge_delay", "must be at least 100ms, got %s", d)
		}
		if f := b.HashBalanceFactor; f != 0 && f < 100 {
			r.add(p+".hash_balance_factor", "must be 0 (unbounded) or at least 100, got %d", f)
		}
		if h := b.Health; h != nil {
			hp := p + ".health"
			switch h.Kind {
			case "tcp":
			case "http":
				if !strings.HasPrefix(h.Path, "/") {
					r.add(hp+".path", `must start with "/", got %q`, h.Path)
				}
				if !isToken(h.Method) {
					r.add(hp+".method", "invalid method %q (want an HTTP method such as GET, HEAD or OPTIONS)", h.Method)
				}
				if _, _, err := ParseStatusRange(h.ExpectStatus); err != nil {
					r.add(hp+".expect_status", "%v", err)
				}
			default:
				r.add(hp+".kind", `invalid kind %q (want "tcp" or "http")`, h.Kind)
			}
			if h.Interval.Duration <= 0 {
				r.add(hp+".interval", "must be greater than 0, got %q", h.Interval)
			}
			if h.Timeout.Duration <= 0 {
				r.add(hp+".timeout", "must be greater than 0, got %q", h.Timeout)
			}
			if h.Rise < 1 {
				r.add(hp+".rise", "must be at least 1, got %d", h.Rise)
			}
			if h.Fall < 1 {
				r.add(hp+".fall", "must be at least 1, got %d", h.Fall)
			}
		}
		if len(b.Server) == 0 {
			r.add(p+".server", "at least one server is required ([[%s.server]] with name and address)", p)
		}
		// seen maps each server name to the path of its first use.
		seen := make(map[string]string)
		for i, s := range b.Server {
			sp := indexKey(p+".server", i)
			if s == nil {
				r.add(sp, "nil server")
				continue
			}
			switch first, dup := seen[s.Name]; {
			case s.Name == "":
				r.add(sp+".name", "required")
			case dup:
				r.add(sp+".name", "duplicate server name %q, already used by %s%s", s.Name, first, c.src.at(first, sp+".name"))
			default:
				seen[s.Name] = sp
			}
			if s.Address == "" {
				r.add(sp+".address", `required: "host:port"`)
			} else if err := checkAddr(s.Address, false); err != nil {
				r.add(sp+".address", "%v", err)
			}
			if s.Weight < 0 || s.Weight > 256 {
				r.add(sp+".weight", "must be between 0 and 256, got %d", s.Weight)
			}
			if s.MaxConn < 0 {
				r.add(sp+".maxconn", "must not be negative (0 means unlimited), got %d", s.MaxConn)
			}
			if s.SendProxy != "" && s.SendProxy != "v1" && s.SendProxy != "v2" {
				r.add(sp+".send_proxy", `invalid version %q (want "v1" or "v2")`, s.SendProxy)
			}
		}
	}
}

// sectionOrder returns names sorted by the line their [kind.NAME] section
// starts at, then by name, so that "first" and "second" in messages follow
// the file.
func (c *Config) sectionOrder(kind string, names []string) []string {
	line := func(name string) position {
		pos, _ := c.src.locate(joinKey(kind, name))
		return pos
	}
	slices.SortFunc(names, func(a, b string) int {
		pa, pb := line(a), line(b)
		return cmp.Or(cmp.Compare(pa.file, pb.file), cmp.Compare(pa.line, pb.line), strings.Compare(a, b))
	})
	return names
}

// at returns " at line N" (or " at FILE line N") for path, to name it in
// the message of a problem about from; "" when unknown or when both are on
// the same line.
func (s *source) at(path, from string) string {
	if d := s.describe(path); d != "" && d != s.describe(from) {
		return " at " + d
	}
	return ""
}

func checkMode(r *report, path string, m Mode) {
	if m != ModeHTTP && m != ModeTCP {
		r.add(path, `invalid mode %q (want "http" or "tcp")`, m)
	}
}

// checkBalance reports whether b is a balance algorithm, adding a problem
// to r if not.
func checkBalance(r *report, path, b string) bool {
	switch b {
	case "roundrobin", "static-rr", "leastconn", "random", "first", "source", "uri":
		return true
	}
	name, ok := strings.CutPrefix(b, "hdr:")
	switch {
	case !ok:
		r.add(path, "unknown balance %q (want roundrobin, static-rr, leastconn, random, first, source, uri or hdr:<name>)", b)
	case name == "":
		r.add(path, `balance "hdr:" needs a header name, such as "hdr:X-User"`)
	case !isToken(name):
		r.add(path, "invalid header name %q in balance %q", name, b)
	default:
		return true
	}
	return false
}

// balanceNeedsHTTP reports whether the balance algorithm b reads the HTTP
// request.
func balanceNeedsHTTP(b string) bool {
	return b == "uri" || strings.HasPrefix(b, "hdr:")
}

// isToken reports whether s is an HTTP token (RFC 9110, section 5.6.2), the
// syntax of a header field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// checkAddr returns an error unless addr is "host:port" with a numeric port
// in 1-65535 and a host that is an IPv4 address, a bracketed IPv6 address
// or a DNS name. A listen address (listen true) may also leave the host
// empty (":80", every address) and use port 0, which makes the kernel pick
// a free port: that is how tests run lb on 127.0.0.1:0.
// CheckServerAddr reports whether addr is a valid server address
// ("host:port", port 1-65535), with the same rule and message as the
// loader; the runtime API uses it for servers added without a reload.
func CheckServerAddr(addr string) error { return checkAddr(addr, false) }

func checkAddr(addr string, listen bool) error {
	bad := func(why string) error { return fmt.Errorf("invalid address %q: %s", addr, why) }
	if strings.Contains(addr, "://") {
		return bad(`want "host:port", without a scheme`)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		switch {
		case errors.As(err, &ae) && ae.Err == "missing port in address":
			return bad("missing port")
		case errors.As(err, &ae) && ae.Err == "too many colons in address":
			return bad(`too many colons (write an IPv6 address in brackets: "[::1]:80")`)
		case errors.As(err, &ae):
			return bad(strings.TrimSuffix(ae.Err, " in address"))
		}
		return bad(err.Error())
	}
	if port == "" {
		return bad("missing port")
	}
	lowest := 1
	if listen {
		lowest = 0
	}
	if n, err := strconv.Atoi(port); err != nil || port[0] < '0' || port[0] > '9' || n < lowest || n > 65535 {
		return bad(fmt.Sprintf("invalid port %q (want %d-65535)", port, lowest))
	}
	switch ip, err := netip.ParseAddr(host); {
	case host == "":
		if !listen {
			return bad("missing host")
		}
	case strings.HasPrefix(addr, "["):
		if err != nil || !ip.Is6() {
			return bad(fmt.Sprintf("invalid IPv6 address %q", host))
		}
	case err == nil:
	case !isHostname(host):
		return bad(fmt.Sprintf("invalid host %q", host))
	}
	return nil
}

// isHostname reports whether s is a plausible DNS name: dot-separated
// labels of letters, digits, '-' and '_', each 1-63 bytes, 253 bytes in all;
// a final dot is allowed.
func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// normalizeAddr returns a canonical form of a valid listen address, so that
// "[::0]:80" and "[::]:80" compare equal.
func normalizeAddr(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	n, _ := strconv.Atoi(port)
	return net.JoinHostPort(host, strconv.Itoa(n))
}

// LoopbackAddr reports whether a listen address only binds loopback.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseStatusRange parses an expected status: "200" or "200-399".
func ParseStatusRange(s string) (lo, hi int, err error) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return 0, 0, fmt.Errorf(`invalid status range %q (want "200" or "200-399", within 100-599)`, s)
	}
	return lo, hi, nil
}

// checkMatch validates the conditions shared by routes and rules.
func checkMatch(r *report, p, pathPrefix, header, headerValue string) {
	if pathPrefix != "" && !strings.HasPrefix(pathPrefix, "/") {
		r.add(p+".path_prefix", `must start with "/", got %q`, pathPrefix)
	}
	if header != "" && !isToken(header) {
		r.add(p+".header", "invalid field name %q", header)
	}
	if headerValue != "" && header == "" {
		r.add(p+".header_value", "needs header")
	}
	if strings.ContainsAny(headerValue, "\r\n\x00") {
		r.add(p+".header_value", "must not contain CR, LF or NUL")
	}
}

// checkRule validates one http_request / http_response rule.
func checkRule(r *report, p string, rl Rule, response bool) {
	checkMatch(r, p, rl.PathPrefix, rl.Header, rl.HeaderValue)
	if rl.Scheme != "" && rl.Action != "redirect" {
		r.add(p+".scheme", "applies only to the redirect action")
	}
	switch rl.Action {
	case "set-header", "add-header", "del-header":
		if !isToken(rl.Name) {
			r.add(p+".name", "required: a valid field name, got %q", rl.Name)
		}
		if strings.ContainsAny(rl.Value, "\r\n\x00") {
			r.add(p+".value", "must not contain CR, LF or NUL")
		}
		if l := strings.ToLower(rl.Name); l == "content-length" || l == "transfer-encoding" {
			r.add(p+".name", "%s carries the message framing and cannot be edited", rl.Name)
		}
	case "redirect":
		if response {
			r.add(p+".action", "redirect applies only to requests")
		}
		switch {
		case rl.Scheme != "" && rl.Location != "":
			r.add(p+".scheme", "a redirect has either location or scheme, not both")
		case rl.Scheme != "":
			if rl.Scheme != "https" && rl.Scheme != "http" {
				r.add(p+".scheme", `invalid scheme %q (want "https" or "http")`, rl.Scheme)
			}
		case rl.Location == "" || strings.ContainsAny(rl.Location, "\r\n\x00 "):
			r.add(p+".location", "required (or scheme): a URL without spaces or control characters, got %q", rl.Location)
		}
		if rl.Status != 0 && rl.Status != 301 && rl.Status != 302 && rl.Status != 303 && rl.Status != 307 && rl.Status != 308 {
			r.add(p+".status", "redirect status must be 301, 302, 303, 307 or 308, got %d", rl.Status)
		}
	case "set-priority-class":
		if response {
			r.add(p+".action", "set-priority-class applies only to requests")
		}
		if rl.Class < -2047 || rl.Class > 2047 {
			r.add(p+".class", "must be between -2047 and 2047, got %d", rl.Class)
		}
	case "set-priority-offset":
		if response {
			r.add(p+".action", "set-priority-offset applies only to requests")
		}
		if d, err := ParseSignedDuration(rl.Offset); err != nil || d < -time.Hour*24 || d > time.Hour*24 {
			r.add(p+".offset", `required: a duration of at most a day either way, such as "2s" or "-500ms", got %q`, rl.Offset)
		}
	case "deny", "tarpit":
		if rl.Status != 0 && (rl.Status < 400 || rl.Status > 599) {
			r.add(p+".status", "%s status must be 400-599, got %d", rl.Action, rl.Status)
		}
		if rl.Action == "tarpit" {
			if response {
				r.add(p+".action", "tarpit applies only to requests")
			}
			if rl.Tarpit.Duration > time.Hour {
				r.add(p+".tarpit", "must be at most 1h, got %s", rl.Tarpit.Duration)
			}
		}
	case "return":
		if response {
			r.add(p+".action", "return applies only to requests")
		}
		if rl.Status != 0 && (rl.Status < 200 || rl.Status > 599) {
			r.add(p+".status", "return status must be 200-599, got %d", rl.Status)
		}
		if strings.ContainsAny(rl.ContentType, "\r\n\x00") {
			r.add(p+".content_type", "must not contain CR, LF or NUL")
		}
	default:
		r.add(p+".action", `invalid action %q (want set-header, add-header, del-header, redirect, deny, return, tarpit, set-priority-class or set-priority-offset)`, rl.Action)
	}
	if rl.Tarpit.Duration != 0 && rl.Action != "tarpit" || rl.Tarpit.Duration == 0 && rl.Action != "tarpit" && r.written(p+".tarpit") {
		r.add(p+".tarpit", "applies only to the tarpit action")
	}
	if rl.Limit != "" {
		switch {
		case response:
			r.add(p+".limit", "limits apply only to http_request rules")
		case rl.Action != "deny" && rl.Action != "tarpit" && rl.Action != "set-priority-class":
			r.add(p+".limit", "a rule with a limit denies, tarpits or sets the priority class; action %q cannot", rl.Action)
		}
	}
}

// checkLimits checks a frontend's HTTP request limits. Zero (a Config
// built in Go) means the default.
func checkLimits(r *report, p string, f *Frontend) {
	head := f.MaxHeadSize
	if head == 0 {
		head = defaultMaxHeadSize
	}
	if head < 1<<10 || head > 64<<10 {
		r.add(p+".max_head_size", "must be between 1k and 64k (the head is held in one buffer), got %d", f.MaxHeadSize)
	}
	if f.MaxHeaders < 0 || f.MaxHeaders > 1000 || (f.MaxHeaders == 0 && r.written(p+".max_headers")) {
		r.add(p+".max_headers", "must be between 1 and 1000, got %d", f.MaxHeaders)
	}
	if t := f.MaxTargetSize; t != 0 && (t < 256 || t > head) || t == 0 && r.written(p+".max_target_size") {
		r.add(p+".max_target_size", "must be between 256 and max_head_size (%d), got %d", head, t)
	}
}

// maxBodyMinRate bounds http_body_min_rate: a higher minimum is a typo
// (a unit too many), and would cut nearly every body.
const maxBodyMinRate Size = 1 << 30

// checkBodyMinRate checks an http_body_min_rate (bytes per second) at
// path: 0 (no rate rule) to 1g. Negative values are refused when decoding;
// the check repeats it for a Config built in Go.
func checkBodyMinRate(r *report, path string, rate Size) {
	if rate < 0 || rate > maxBodyMinRate {
		r.add(path, "must be between 0 (no minimum rate) and 1g (%d) bytes per second, got %d", maxBodyMinRate, rate)
	}
}

// checkSNIRoute validates a TCP-mode route: an sni and nothing else.
func checkSNIRoute(r *report, p string, rt Route) {
	if rt.Host != "" || rt.PathPrefix != "" || rt.Header != "" || rt.HeaderValue != "" {
		r.add(p, "a tcp-mode route matches only sni (host, path_prefix and header need http mode)")
	}
	name := strings.TrimPrefix(rt.SNI, "*.")
	switch {
	case rt.SNI == "":
		r.add(p+".sni", "required in a tcp-mode route: the TLS server name to match")
	case strings.ContainsAny(name, "*:/ ") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		r.add(p+".sni", `invalid server name %q (want "host.example" or "*.example")`, rt.SNI)
	}
}

// checkAcceptProxy validates the PROXY protocol keys of a frontend.
func checkAcceptProxy(r *report, p string, f *Frontend) {
	if !f.AcceptProxy {
		if len(f.AcceptProxyFrom) > 0 || f.AcceptProxyUntrusted != "" {
			r.add(p+".accept_proxy", "accept_proxy_from and accept_proxy_untrusted need accept_proxy = true")
		}
		return
	}
	if len(f.AcceptProxyFrom) == 0 {
		r.add(p+".accept_proxy_from", `required with accept_proxy: the networks of the proxies trusted to send the header, e.g. ["10.0.0.0/8"]`)
	}
	for i, n := range f.AcceptProxyFrom {
		if _, err := ParseNetwork(n); err != nil {
			r.add(indexKey(p+".accept_proxy_from", i), "%v", err)
		}
	}
	switch f.AcceptProxyUntrusted {
	case "", "plain", "refuse":
	default:
		r.add(p+".accept_proxy_untrusted", `invalid value %q (want "plain" or "refuse")`, f.AcceptProxyUntrusted)
	}
}

// ParseNetwork parses a network ("10.0.0.0/8") or an address (one host).
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid network %q (want e.g. \"10.0.0.0/8\" or \"192.0.2.7\")", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseSignedDuration parses a duration that may be negative ("-500ms").
func ParseSignedDuration(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	d, err := parseDuration(strings.TrimPrefix(s, "-"))
	if err != nil {
		return 0, err
	}
	if neg {
		d = -d
	}
	return d, nil
}

// maxLimitRules bounds the rules with a limit in one frontend (each
// request holds at most this many table entries).
const maxLimitRules = 8

// checkLimit validates a [limit.NAME] table (defaults applied).
func checkLimit(r *report, p string, l *Limit) {
	if l == nil {
		r.add(p, "nil section")
		return
	}
	switch {
	case l.Key == "src" || l.Key == "backend":
	case strings.HasPrefix(l.Key, "header:") && isToken(l.Key[7:]):
	default:
		r.add(p+".key", `invalid key %q (want "src", "header:NAME" or "backend")`, l.Key)
	}
	if l.Size < 1 || l.Size > 10_000_000 {
		r.add(p+".size", "must be between 1 and 10000000, got %d", l.Size)
	}
	if l.Window.Duration < time.Second || l.Window.Duration > 24*time.Hour {
		r.add(p+".window", "must be between 1s and 1d, got %s", l.Window.Duration)
	}
	if l.Sync.Duration < 10*time.Millisecond || l.Sync.Duration > l.Window.Duration/2 {
		r.add(p+".sync", "must be at least 10ms and at most half the window, got %s", l.Sync.Duration)
	}
	if l.Expire.Duration < l.Window.Duration {
		r.add(p+".expire", "must be at least the window (%s), got %s", l.Window.Duration, l.Expire.Duration)
	}
	for k, v := range map[string]int64{"rate": int64(l.Rate), "bytes_rate": int64(l.BytesRate), "conns": int64(l.Conns), "requests": int64(l.Requests)} {
		if v < 0 {
			r.add(p+"."+k, "must not be negative, got %d", v)
		}
	}
	if l.Rate <= 0 && l.BytesRate <= 0 && l.Conns <= 0 && l.Requests <= 0 {
		r.add(p, "no limit: set rate, bytes_rate, conns or requests")
	}
	if l.Redis != "" {
		if u, err := url.Parse(l.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			r.add(p+".redis", `invalid Redis URL %q (want "redis://HOST:PORT/DB")`, l.Redis)
		}
		if l.Rate <= 0 && l.BytesRate <= 0 {
			r.add(p+".redis", "Redis shares rate and bytes_rate; this table has neither")
		}
	}
	if l.RedisDown != "open" && l.RedisDown != "closed" {
		r.add(p+".redis_down", `invalid value %q (want "open" or "closed")`, l.RedisDown)
	}
}
