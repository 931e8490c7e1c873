package main

// Proxies: frontend, backend, listen and defaults sections, line by line (part of lb convert: convert.go)

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------------
// Proxies: defaults, frontend, backend, listen

// proxy is one defaults, frontend, backend or listen section being
// translated: a frontend side (fe) and a backend side (be), either nil
// when the section has none.
type proxy struct {
	c    *converter
	sec  *cfgSection
	d    *proxy // the defaults section it inherits from; nil for a defaults section
	mode string // the section's own mode, "" if unset
	acls map[string][]*aclDef
	fe   *feDraft
	be   *beDraft

	reserved map[string]bool // see converter.proxySection
}

// feDraft is the frontend side of a section.
type feDraft struct {
	keys    table // default_backend, maxconn, inspect_delay, forwarded_for
	timeout table
	binds   []bindSpec
	routes  []pending
	reqs    []pending // http-request rules
	late    []pending // redirect rules: HAProxy evaluates them after http-request rules
	resps   []pending // http-response rules
	notes   []note
	tarpit  string // timeout tarpit, "" if unset
}

// beDraft is the backend side of a section.
type beDraft struct {
	keys         table // balance, hash_type, hash_balance_factor, retries, redispatch, pool_max_conn
	timeout      table
	health       healthDraft
	checkTimeout string        // timeout check
	params       *serverParams // default-server, nil if none
	servers      []serverDraft
	notes        []note
}

// healthDraft is option httpchk / option tcp-check / http-check; empty
// fields are unset.
type healthDraft struct {
	line                 *cfgLine // option httpchk, for a note when no server is checked
	set                  bool     // option httpchk or tcp-check chose the kind
	http                 bool
	method, path, expect string
}

// bindSpec is one translated bind line.
type bindSpec struct {
	addrs       []string
	tls         *tlsSpec // nil: plain
	acceptProxy bool
}

// tlsSpec is a bind's TLS settings.
type tlsSpec struct {
	certs      []string
	alpn       []string
	minVersion string
	verify, ca string
}

// key identifies TLS settings, to group binds that share them.
func (t *tlsSpec) key() string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%q|%q|%s|%s|%s", t.certs, t.alpn, t.minVersion, t.verify, t.ca)
}

// serverParams are a server's options, from default-server and its line.
type serverParams struct {
	weight, maxconn      string
	backup, check, ssl   bool
	checkSSL             bool
	inter, rise, fall    string
	verify, ca, sni, crt string
	sendProxy            string // "v1", "v2" or ""
}

// serverDraft is one server line.
type serverDraft struct {
	l       cfgLine
	name    string
	addr    string
	p       serverParams
	dropped []string
}

// pending is a use_backend, http-request or http-response line whose
// condition is evaluated once the section's frontends are known (ssl_fc
// holds on TLS frontends only).
type pending struct {
	l      cfgLine
	fields table // the route's backend, or the rule's action keys
	action string
	cond   []string // from "if" or "unless"; nil: always
}

// newProxy returns a proxy for s with the sides its kind has.
func newProxy(c *converter, s *cfgSection, d *proxy) *proxy {
	p := &proxy{c: c, sec: s, d: d, acls: map[string][]*aclDef{}}
	if s.kind != "backend" {
		p.fe = &feDraft{keys: table{}, timeout: table{}}
	}
	if s.kind != "frontend" {
		p.be = &beDraft{keys: table{}, timeout: table{}}
	}
	return p
}

// isDefaults reports whether p is a defaults section.
func (p *proxy) isDefaults() bool { return p.sec.kind == "defaults" }

// effMode is the mode the frontend side runs in: its own, its defaults',
// else HAProxy's default, tcp.
func (p *proxy) effMode() string {
	for q := p; q != nil; q = q.d {
		if q.mode != "" {
			return q.mode
		}
	}
	return "tcp"
}

// feNote and beNote file a comment with the side it is about.
func (p *proxy) feNote(n note) {
	if p.fe != nil {
		p.fe.notes = append(p.fe.notes, n)
	} else {
		p.be.notes = append(p.be.notes, n)
	}
}

func (p *proxy) beNote(n note) {
	if p.be != nil {
		p.be.notes = append(p.be.notes, n)
	} else {
		p.fe.notes = append(p.fe.notes, n)
	}
}

// read runs both passes over the section's lines: acls and mode first
// (rules need them wherever they are written), then every line.
func (p *proxy) read() {
	for _, l := range p.sec.lines {
		if l.bad != "" {
			continue
		}
		switch w := l.words; {
		case w[0] == "acl" && len(w) >= 3:
			a, err := parseACL(w[2:])
			p.acls[w[1]] = append(p.acls[w[1]], &aclDef{l: l, a: a, err: err})
		case w[0] == "mode" && len(w) == 2 && (w[1] == "http" || w[1] == "tcp"):
			p.mode = w[1]
		}
	}
	for _, l := range p.sec.lines {
		p.line(l)
	}
}

// proxyReasons says why proxy keywords ("option NAME" for options) are
// not translated.
var proxyReasons = map[string]string{
	"log":                                 reasonLog,
	"log-format":                          reasonLog,
	"log-format-sd":                       reasonLog,
	"error-log-format":                    reasonLog,
	"log-tag":                             reasonLog,
	"option httplog":                      reasonLog,
	"option httpslog":                     reasonLog,
	"option tcplog":                       reasonLog,
	"option dontlognull":                  reasonLog,
	"option dontlog-normal":               reasonLog,
	"option log-health-checks":            reasonLog,
	"option log-separate-errors":          reasonLog,
	"option logasap":                      reasonLog,
	"option http-server-close":            reasonConn,
	"option httpclose":                    reasonConn,
	"option forceclose":                   reasonConn,
	"option http-pretend-keepalive":       reasonConn,
	"errorfile":                           reasonErrors,
	"errorfiles":                          reasonErrors,
	"errorloc":                            reasonErrors,
	"errorloc302":                         reasonErrors,
	"errorloc303":                         reasonErrors,
	"http-error":                          reasonErrors,
	"cookie":                              reasonPersist,
	"dynamic-cookie-key":                  reasonPersist,
	"stick":                               reasonPersist,
	"stick-table":                         reasonPersist,
	"persist":                             reasonPersist,
	"force-persist":                       reasonPersist,
	"ignore-persist":                      reasonPersist,
	"option persist":                      reasonPersist,
	"compression":                         "lb does not compress responses",
	"filter":                              "lb has no filters",
	"capture":                             "lb's access log has a fixed set of fields",
	"declare":                             "lb's access log has a fixed set of fields",
	"unique-id-format":                    "lb adds no unique request id",
	"unique-id-header":                    "lb adds no unique request id",
	"monitor-uri":                         "lb has no monitor-uri: an http_request return rule can answer a health path",
	"monitor":                             "lb has no monitor-uri: an http_request return rule can answer a health path",
	"monitor-net":                         "lb has no monitor-uri: an http_request return rule can answer a health path",
	"stats":                               "lb serves stats on the admin listener ([admin] bind)",
	"description":                         "lb keeps no descriptions",
	"id":                                  "lb names frontends and backends; numeric ids are not kept",
	"fullconn":                            "lb has no dynamic server limits (minconn, fullconn)",
	"server-template":                     "lb has no server templates: list each server",
	"email-alert":                         "lb sends no mail alerts",
	"http-after-response":                 "lb has no http-after-response rules",
	"tcp-response":                        "lb has no tcp-response rules",
	"tcp-check":                           "lb's TCP checks only connect",
	"external-check":                      "lb runs no check programs",
	"option external-check":               "lb runs no check programs",
	"load-server-state-from-file":         "lb carries server state across reloads itself",
	"server-state-file-name":              "lb carries server state across reloads itself",
	"use-server":                          "lb has no use-server rules",
	"source":                              "lb connects from the address the system picks",
	"option abortonclose":                 "lb has no abortonclose setting",
	"option http-buffer-request":          "lb streams request bodies: it does not wait for a whole body before it connects",
	"option tcpka":                        "lb sets no TCP keep-alive on connections",
	"option clitcpka":                     "lb sets no TCP keep-alive on connections",
	"option srvtcpka":                     "lb sets no TCP keep-alive on connections",
	"option originalto":                   "lb adds no X-Original-To",
	"option ssl-hello-chk":                reasonCheckKind,
	"option mysql-check":                  reasonCheckKind,
	"option pgsql-check":                  reasonCheckKind,
	"option redis-check":                  reasonCheckKind,
	"option smtpchk":                      reasonCheckKind,
	"option ldap-check":                   reasonCheckKind,
	"option spop-check":                   reasonCheckKind,
	"option accept-invalid-http-request":  "lb refuses invalid requests (RFC 9112)",
	"option accept-invalid-http-response": "lb refuses invalid responses (RFC 9112)",
}

const (
	reasonLog       = "lb writes one JSON line per transaction to global.access_log"
	reasonConn      = "lb keeps connections alive on both sides and pools idle server connections (backend pool_max_conn)"
	reasonErrors    = "lb's own error answers are fixed (an http_request return rule can answer with a body)"
	reasonPersist   = "lb has no session persistence (balance source, uri or hdr:<name> keep a key on one server)"
	reasonCheckKind = "lb checks with a TCP connect or an HTTP request (health.kind); servers with check get a TCP check"
	reasonFrontend  = "a frontend keyword in a backend section"
	reasonBackend   = "a backend keyword in a frontend section"
)

// line translates one line of a section.
func (p *proxy) line(l cfgLine) {
	c := p.c
	if l.bad != "" {
		p.feNote(c.untranslated(l, l.bad))
		return
	}
	w := l.words
	fe, be := p.fe, p.be
	switch w[0] {
	case "acl":
		p.aclLine(l)
	case "mode":
		switch {
		case len(w) != 2 || (w[1] != "http" && w[1] != "tcp"):
			p.feNote(c.untranslated(l, `lb's modes are "http" and "tcp"`))
		case fe == nil:
			p.beNote(c.remark(l, "nothing to write: an lb backend serves in the mode of the frontends that use it"))
		default:
			c.translated(l)
		}
	case "bind":
		if fe == nil || p.isDefaults() {
			p.beNote(c.untranslated(l, reasonFrontend))
			return
		}
		p.bind(l)
	case "default_backend":
		if fe == nil || len(w) != 2 || strings.Contains(w[1], "%") {
			p.feNote(c.untranslated(l, "want default_backend NAME (lb names a fixed backend)"))
			return
		}
		fe.keys["default_backend"] = quote(w[1])
		c.translated(l)
	case "use_backend":
		p.useBackend(l)
	case "http-request", "http-response", "redirect":
		p.httpRule(l)
	case "tcp-request":
		p.tcpRequest(l)
	case "maxconn":
		n, err := -1, error(nil)
		if len(w) == 2 {
			n, err = count(w[1])
		}
		switch {
		case fe == nil:
			p.beNote(c.untranslated(l, "lb limits frontends (maxconn) and servers (server maxconn), not backends"))
		case len(w) != 2 || err != nil:
			p.feNote(c.untranslated(l, "want maxconn N"))
		default:
			fe.keys["maxconn"] = strconv.Itoa(n)
			c.translated(l)
		}
	case "timeout":
		p.timeout(l)
	case "option", "no":
		p.option(l)
	case "server":
		if be == nil || p.isDefaults() {
			p.feNote(c.untranslated(l, reasonBackend))
			return
		}
		p.server(l)
	case "default-server":
		if be == nil {
			p.feNote(c.untranslated(l, reasonBackend))
			return
		}
		sp := serverParams{}
		if be.params != nil {
			sp = *be.params
		} else if p.d != nil && p.d.be.params != nil {
			sp = *p.d.be.params
		}
		if dropped := p.serverOptions(&sp, w[1:]); len(dropped) > 0 {
			p.beNote(c.untranslated(l, strings.Join(dropped, "; ")))
		} else {
			c.translated(l)
		}
		be.params = &sp
	case "balance", "hash-type", "hash-balance-factor", "retries", "http-reuse", "http-check":
		if be == nil {
			p.feNote(c.untranslated(l, reasonBackend))
			return
		}
		p.backendKeyword(l)
	default:
		why := proxyReasons[w[0]]
		if why == "" {
			why = "no lb equivalent"
		}
		if strings.HasPrefix(w[0], "req") || strings.HasPrefix(w[0], "rsp") {
			why = "removed from HAProxy 2.1; lb's http_request rules set, add and delete headers"
		}
		p.feNote(c.untranslated(l, why))
	}
}

// aclLine accounts for an acl line: translated where it is used, or
// commented with why it cannot be.
func (p *proxy) aclLine(l cfgLine) {
	if len(l.words) < 3 {
		p.feNote(p.c.untranslated(l, "want acl NAME CRITERION [flags] VALUE..."))
		return
	}
	for _, d := range p.acls[l.words[1]] {
		if d.l.num == l.num && d.err != nil {
			p.feNote(p.c.untranslated(l, d.err.Error()))
			return
		}
	}
	p.c.translated(l)
}

// timeoutKeys maps HAProxy timeouts to lb's, and says whether a frontend
// (true) or a backend reads them.
var timeoutKeys = map[string]struct {
	key   string
	front bool
}{
	"client": {"client", true}, "http-request": {"http_request", true}, "http-keep-alive": {"http_keep_alive", true},
	"connect": {"connect", false}, "server": {"server", false}, "queue": {"queue", false},
	"tunnel": {"tunnel", false}, "check": {"", false},
}

// timeout translates "timeout NAME TIME".
func (p *proxy) timeout(l cfgLine) {
	c, w := p.c, l.words
	if len(w) != 3 {
		p.feNote(c.untranslated(l, "want timeout NAME TIME"))
		return
	}
	if w[1] == "tarpit" {
		// lb's tarpit time is a rule's: finishFrontend writes it on the
		// section's tarpit rules.
		d, err := haproxyTime(w[2])
		switch {
		case err != nil:
			p.feNote(c.untranslated(l, err.Error()))
		case p.fe == nil:
			p.beNote(c.untranslated(l, "HAProxy and lb read the tarpit time on the frontend side"))
		default:
			p.fe.tarpit = d
			c.translated(l)
		}
		return
	}
	tk, ok := timeoutKeys[w[1]]
	if !ok {
		p.feNote(c.untranslated(l, fmt.Sprintf("lb has no %s timeout", w[1])))
		return
	}
	d, err := haproxyTime(w[2])
	if err != nil {
		p.feNote(c.untranslated(l, err.Error()))
		return
	}
	switch {
	case tk.front && p.fe == nil:
		p.beNote(c.untranslated(l, "lb reads client-side timeouts from frontends"))
	case !tk.front && p.be == nil:
		p.feNote(c.untranslated(l, "HAProxy and lb read server-side timeouts from backends"))
	case tk.front:
		p.fe.timeout[tk.key] = quote(d)
		c.translated(l)
	case w[1] == "check":
		if d == "0s" {
			p.beNote(c.untranslated(l, "lb's health check timeout must be greater than 0"))
			return
		}
		p.be.checkTimeout = d
		c.translated(l)
	default:
		p.be.timeout[tk.key] = quote(d)
		c.translated(l)
	}
}

// option translates "option NAME ..." and "no option NAME".
func (p *proxy) option(l cfgLine) {
	c, w := p.c, l.words
	neg := w[0] == "no"
	if neg {
		w = w[1:]
	}
	if len(w) < 2 || w[0] != "option" {
		p.feNote(c.untranslated(l, "want option NAME or no option NAME"))
		return
	}
	name, args := w[1], w[2:]
	switch name {
	case "redispatch":
		if p.be == nil {
			p.feNote(c.untranslated(l, reasonBackend))
			return
		}
		p.be.keys["redispatch"] = strconv.FormatBool(!neg)
		if len(args) > 0 {
			p.beNote(c.untranslated(l, "the interval "+args[0]+": lb redispatches on the last retry"))
			return
		}
		c.translated(l)
	case "forwardfor":
		switch {
		case p.fe == nil:
			p.beNote(c.remark(l, "nothing to write: lb frontends add X-Forwarded-For by default (forwarded_for)"))
		case neg:
			p.fe.keys["forwarded_for"] = "false"
			c.translated(l)
		case len(args) > 0:
			p.feNote(c.untranslated(l, strings.Join(args, " ")+`: lb adds "X-Forwarded-For: <client address>" to every request (forwarded_for)`))
		default:
			p.feNote(c.remark(l, "nothing to write: lb adds X-Forwarded-For by default (forwarded_for)"))
		}
	case "http-keep-alive":
		if neg {
			p.feNote(c.untranslated(l, reasonConn))
			return
		}
		p.feNote(c.remark(l, "nothing to write: lb keeps connections alive by default"))
	case "splice-auto", "splice-request", "splice-response":
		p.feNote(c.remark(l, "nothing to write: lb switches to splice(2) on its own when a read fills its buffer, like splice-auto"))
	case "httpchk":
		if p.be == nil {
			p.feNote(c.untranslated(l, reasonBackend))
			return
		}
		if neg {
			p.be.health = healthDraft{set: true}
			c.translated(l)
			return
		}
		h := &p.be.health
		h.set, h.http, h.method, h.path, h.line = true, true, "OPTIONS", "/", &l
		switch len(args) {
		case 0:
		case 1:
			h.path = args[0]
		default:
			h.method, h.path = args[0], args[1]
		}
		if !strings.HasPrefix(h.path, "/") {
			p.be.health = healthDraft{}
			p.beNote(c.untranslated(l, "lb's HTTP check path starts with /"))
			return
		}
		if len(args) > 2 {
			p.beNote(c.untranslated(l, strings.Join(args[2:], " ")+": lb's checks send HTTP/1.1 with the server's address as Host"))
			return
		}
		c.translated(l)
	case "tcp-check":
		if p.be == nil {
			p.feNote(c.untranslated(l, reasonBackend))
			return
		}
		p.be.health = healthDraft{set: true}
		p.beNote(c.remark(l, `nothing to write: servers with check get lb's TCP check (kind = "tcp")`))
	default:
		why := proxyReasons["option "+name]
		if why == "" {
			why = "no lb equivalent"
		}
		p.feNote(c.untranslated(l, why))
	}
}

// backendKeyword translates balance, hash-type, hash-balance-factor,
// retries, http-reuse and http-check.
func (p *proxy) backendKeyword(l cfgLine) {
	c, w, be := p.c, l.words, p.be
	bad := func(why string) { p.beNote(c.untranslated(l, why)) }
	switch w[0] {
	case "balance":
		if len(w) < 2 {
			bad("want balance ALGORITHM")
			return
		}
		alg := w[1]
		switch {
		case alg == "roundrobin" || alg == "static-rr" || alg == "leastconn" || alg == "first" || alg == "source" || alg == "random" || alg == "uri":
		case strings.HasPrefix(alg, "random(") && strings.HasSuffix(alg, ")"):
			be.keys["balance"] = quote("random")
			bad(alg + ": lb's random draws one server")
			return
		case strings.HasPrefix(alg, "hdr(") && strings.HasSuffix(alg, ")") && len(alg) > 5:
			alg = "hdr:" + alg[4:len(alg)-1]
		default:
			bad(fmt.Sprintf("balance %s: lb balances by roundrobin, static-rr, leastconn, first, source, uri, random or hdr(NAME)", alg))
			return
		}
		be.keys["balance"] = quote(alg)
		if len(w) > 2 {
			bad(strings.Join(w[2:], " ") + ": lb hashes the whole " + map[bool]string{true: "header", false: "path"}[strings.HasPrefix(alg, "hdr:")])
			return
		}
		c.translated(l)
	case "hash-type":
		if len(w) < 2 || (w[1] != "map-based" && w[1] != "consistent") {
			bad(`lb's hash types are "map-based" and "consistent"`)
			return
		}
		be.keys["hash_type"] = quote(w[1])
		if len(w) > 2 {
			bad(strings.Join(w[2:], " ") + ": lb's hash function is fixed")
			return
		}
		c.translated(l)
	case "hash-balance-factor", "retries":
		n, err := -1, errors.New("want one number")
		if len(w) == 2 {
			n, err = count(w[1])
		}
		if err == nil && w[0] == "hash-balance-factor" && n != 0 && n < 100 {
			err = errors.New("lb's hash_balance_factor is 0 or at least 100")
		}
		if err != nil {
			bad(err.Error())
			return
		}
		be.keys[strings.ReplaceAll(w[0], "-", "_")] = strconv.Itoa(n)
		c.translated(l)
	case "http-reuse":
		if len(w) == 2 && w[1] == "never" {
			be.keys["pool_max_conn"] = "0"
			c.translated(l)
			return
		}
		bad("lb reuses idle server connections by its own rules (backend pool_max_conn, pool_purge_delay)")
	case "http-check":
		p.httpCheck(l)
	}
}

// httpCheck translates http-check send and http-check expect status.
func (p *proxy) httpCheck(l cfgLine) {
	c, w, h := p.c, l.words, &p.be.health
	switch {
	case len(w) == 4 && w[1] == "expect" && w[2] == "status" && validStatusRange(w[3]):
		h.expect = w[3]
		c.translated(l)
	case len(w) > 2 && w[1] == "send":
		var dropped []string
		for i := 2; i+1 < len(w); i += 2 {
			switch w[i] {
			case "meth":
				h.method = w[i+1]
			case "uri":
				if !strings.HasPrefix(w[i+1], "/") {
					dropped = append(dropped, "uri "+w[i+1]+": lb's check path starts with /")
					continue
				}
				h.path = w[i+1]
			default:
				dropped = append(dropped, w[i]+" "+w[i+1]+": lb's checks send HTTP/1.1 with no extra header or body")
			}
		}
		if len(w)%2 == 1 {
			dropped = append(dropped, w[len(w)-1]+": no value")
		}
		if len(dropped) > 0 {
			p.beNote(c.untranslated(l, strings.Join(dropped, "; ")))
			return
		}
		c.translated(l)
	default:
		p.beNote(c.untranslated(l, "lb's HTTP checks expect a status or a range (http-check expect status 200)"))
	}
}

// validStatusRange reports whether s is "200" or "200-399".
func validStatusRange(s string) bool {
	lo, hi, found := strings.Cut(s, "-")
	ok := func(v string) bool { n, err := count(v); return err == nil && len(v) == 3 && n >= 100 }
	return ok(lo) && (!found || ok(hi) && hi >= lo)
}

// serverArgs lists the server options that take a value.
var serverArgs = map[string]bool{
	"weight": true, "maxconn": true, "minconn": true, "maxqueue": true, "inter": true, "fastinter": true,
	"downinter": true, "rise": true, "fall": true, "port": true, "addr": true, "ca-file": true, "crt": true,
	"crl-file": true, "sni": true, "verify": true, "verifyhost": true, "cookie": true, "id": true,
	"slowstart": true, "observe": true, "on-error": true, "on-marked-down": true, "on-marked-up": true,
	"error-limit": true, "resolvers": true, "resolve-prefer": true, "resolve-net": true, "resolve-opts": true,
	"init-addr": true, "agent-port": true, "agent-inter": true, "agent-addr": true, "agent-send": true,
	"check-sni": true, "check-alpn": true, "check-proto": true, "alpn": true, "npn": true, "ciphers": true,
	"ciphersuites": true, "curves": true, "source": true, "namespace": true, "proto": true,
	"pool-max-conn": true, "pool-purge-delay": true, "pool-low-conn": true, "max-reuse": true, "tcp-ut": true,
	"track": true, "redir": true, "ssl-min-ver": true, "ssl-max-ver": true, "proxy-v2-options": true,
	"socks4": true, "log-proto": true, "sigalgs": true, "client-sigalgs": true, "set-proxy-v2-tlv-fmt": true,
	"guid": true, "hash-key": true, "init-state": true, "log-bufsize": true, "shard": true, "ws": true,
}

// serverReasons says why server options are not translated.
var serverReasons = map[string]string{
	"cookie":           reasonPersist,
	"disabled":         "set the server's state with the runtime API (POST /api/backends/B/servers/S/state)",
	"fastinter":        "lb checks at one interval",
	"downinter":        "lb checks at one interval",
	"port":             "lb checks the server's own address and port",
	"addr":             "lb checks the server's own address and port",
	"slowstart":        "lb has no slow start",
	"agent-check":      "lb has no agent checks",
	"track":            "lb checks each server itself",
	"pool-max-conn":    "lb sets it per backend (pool_max_conn)",
	"pool-purge-delay": "lb sets it per backend (pool_purge_delay)",
	"alpn":             "lb speaks HTTP/1.1 to servers",
	"verifyhost":       "lb verifies the name in tls.sni, else the server's host",
	"id":               "lb names servers; numeric ids are not kept",
	"resolvers":        "lb has no resolvers section",
	"init-addr":        "lb has no resolvers section",
	"check-send-proxy": "lb's checks send a PROXY header (LOCAL) to send_proxy servers only",
}

// serverOptions applies server options w (from a server or default-server
// line) to sp and returns the options it could not translate, each with
// why.
func (p *proxy) serverOptions(sp *serverParams, w []string) (dropped []string) {
	c := p.c
	return walkOptions(w, serverArgs, serverReasons, func(k, arg string, drop func(string)) bool {
		num := func(dst *string, lo, hi int) {
			n, err := count(arg)
			if err != nil || n < lo || n > hi {
				drop(fmt.Sprintf("lb wants %d to %d", lo, hi))
				return
			}
			*dst = strconv.Itoa(n)
		}
		switch k {
		case "weight":
			num(&sp.weight, 0, 256)
		case "maxconn":
			num(&sp.maxconn, 0, 1<<31-1)
		case "rise":
			num(&sp.rise, 1, 1<<31-1)
		case "fall":
			num(&sp.fall, 1, 1<<31-1)
		case "inter":
			if d, err := haproxyTime(arg); err != nil || d == "0s" {
				drop("lb wants an interval greater than 0")
			} else {
				sp.inter = d
			}
		case "backup", "no-backup":
			sp.backup = k == "backup"
		case "check", "no-check":
			sp.check = k == "check"
		case "ssl", "no-ssl":
			sp.ssl = k == "ssl"
		case "check-ssl", "no-check-ssl":
			sp.checkSSL = k == "check-ssl"
		case "verify":
			switch arg {
			case "none":
				sp.verify = "false"
			case "required":
				sp.verify = "true"
			default:
				drop(`lb's verify is "none" or "required"`)
			}
		case "ca-file":
			if arg == "@system-ca" {
				sp.ca = ""
			} else {
				sp.ca = resolvePath(c.caBase, arg)
			}
		case "crt":
			sp.crt = resolvePath(c.crtBase, arg)
		case "sni":
			if strings.HasPrefix(arg, "str(") && strings.HasSuffix(arg, ")") && len(arg) > 5 {
				sp.sni = arg[4 : len(arg)-1]
			} else {
				drop("lb sends one fixed server name: sni str(NAME)")
			}
		case "send-proxy":
			sp.sendProxy = "v1"
		case "send-proxy-v2":
			sp.sendProxy = "v2"
		case "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn":
			sp.sendProxy = "v2"
			drop("lb sends v2 without the SSL TLV")
		default:
			return false
		}
		return true
	})
}

// walkOptions walks the options w of a server or bind line. Those named in
// args take the next word as their value. apply translates one option,
// calling drop to say why it could not; it returns false for options it
// does not know, which are dropped with their reason from reasons.
func walkOptions(w []string, args map[string]bool, reasons map[string]string, apply func(k, arg string, drop func(string)) bool) (dropped []string) {
	for i := 0; i < len(w); i++ {
		k, arg := w[i], ""
		if args[k] {
			if i+1 == len(w) {
				dropped = append(dropped, k+": no value")
				break
			}
			i++
			arg = w[i]
		}
		drop := func(why string) {
			part := k
			if arg != "" {
				part += " " + arg
			}
			dropped = append(dropped, part+": "+why)
		}
		if !apply(k, arg, drop) {
			why := reasons[k]
			if why == "" {
				why = "no lb equivalent"
			}
			drop(why)
		}
	}
	return dropped
}

// server reads a server line; finishBackend writes it.
func (p *proxy) server(l cfgLine) {
	c, w := p.c, l.words
	if len(w) < 3 {
		p.beNote(c.untranslated(l, "want server NAME ADDRESS [options]"))
		return
	}
	addr, err := serverAddr(w[2])
	if err != nil {
		p.beNote(c.untranslated(l, err.Error()))
		return
	}
	sp := serverParams{}
	if p.be.params != nil {
		sp = *p.be.params
	} else if p.d != nil && p.d.be.params != nil {
		sp = *p.d.be.params
	}
	dropped := p.serverOptions(&sp, w[3:])
	if sp.checkSSL && !sp.ssl {
		dropped = append(dropped, "check-ssl: lb checks through TLS only the servers it speaks TLS to")
	}
	p.be.servers = append(p.be.servers, serverDraft{l: l, name: w[1], addr: addr, p: sp, dropped: dropped})
}

// bindArgs lists the bind options that take a value.
var bindArgs = map[string]bool{
	"crt": true, "crt-list": true, "alpn": true, "npn": true, "ciphers": true, "ciphersuites": true,
	"curves": true, "ecdhe": true, "ca-file": true, "crl-file": true, "verify": true, "ssl-min-ver": true,
	"ssl-max-ver": true, "name": true, "id": true, "process": true, "thread": true, "interface": true,
	"mss": true, "backlog": true, "maxconn": true, "nice": true, "user": true, "group": true, "uid": true,
	"gid": true, "mode": true, "namespace": true, "tcp-ut": true, "level": true, "severity-output": true,
	"ca-ignore-err": true, "crt-ignore-err": true, "ca-sign-file": true, "ca-sign-pass": true,
	"ca-verify-file": true, "proto": true, "sigalgs": true, "client-sigalgs": true, "quic-cc-algo": true,
	"label": true, "guid-prefix": true, "shards": true, "idle-ping": true,
}

// bindReasons says why bind options are not translated.
var bindReasons = map[string]string{
	"accept-netscaler-cip":  "lb does not read the NetScaler client IP protocol",
	"ciphers":               "lb's TLS 1.2 cipher suites are fixed: ECDHE with AES-GCM or ChaCha20-Poly1305",
	"ciphersuites":          "lb's TLS 1.3 cipher suites are Go's",
	"curves":                "lb's curves are Go's",
	"ecdhe":                 "lb's curves are Go's",
	"no-sslv3":              "lb accepts TLS 1.2 and 1.3 only (min_version)",
	"no-tlsv10":             "lb accepts TLS 1.2 and 1.3 only (min_version)",
	"no-tlsv11":             "lb accepts TLS 1.2 and 1.3 only (min_version)",
	"no-tlsv12":             "write min_version = \"1.3\" in the tls table",
	"ssl-max-ver":           "lb accepts up to TLS 1.3",
	"no-tls-tickets":        "lb resumes sessions with rotating TLS tickets",
	"strict-sni":            "lb serves its first certificate to clients whose name matches none",
	"npn":                   "lb offers ALPN only",
	"crt-list":              "lb reads certificates from the files named in tls.cert",
	"v6only":                "lb's [::] listeners also accept IPv4",
	"name":                  "lb names listeners by their frontend",
	"maxconn":               "lb limits connections per frontend (maxconn)",
	"process":               "lb is one process",
	"thread":                "lb spreads connections over its event loops itself",
	"prefer-client-ciphers": "lb prefers its own cipher order",
	"crl-file":              "lb does not read certificate revocation lists",
}

// bind translates a bind line into fe.binds.
func (p *proxy) bind(l cfgLine) {
	c, w := p.c, l.words
	if len(w) < 2 {
		p.feNote(c.untranslated(l, "want bind ADDRESS [options]"))
		return
	}
	addrs, err := bindAddrs(w[1])
	if err != nil {
		p.feNote(c.untranslated(l, err.Error()))
		return
	}
	ts, ssl, acceptProxy := &tlsSpec{}, false, false
	var alpnDropped []string
	dropped := walkOptions(w[2:], bindArgs, bindReasons, func(k, arg string, drop func(string)) bool {
		switch k {
		case "ssl":
			ssl = true
		case "crt":
			ts.certs = append(ts.certs, resolvePath(c.crtBase, arg))
		case "alpn":
			for _, proto := range strings.Split(arg, ",") {
				switch proto {
				case "http/1.1":
					ts.alpn = append(ts.alpn, proto)
				case "h2":
					alpnDropped = append(alpnDropped, "h2 in alpn "+arg+": lb does not speak HTTP/2 yet (kept http/1.1)")
				default:
					alpnDropped = append(alpnDropped, proto+" in alpn "+arg+": lb offers http/1.1 only")
				}
			}
		case "ssl-min-ver":
			switch arg {
			case "TLSv1.2":
				ts.minVersion = "1.2"
			case "TLSv1.3":
				ts.minVersion = "1.3"
			default:
				drop("lb accepts TLS 1.2 and newer")
			}
		case "ca-file":
			ts.ca = resolvePath(c.caBase, arg)
		case "verify":
			switch arg {
			case "none", "optional", "required":
				ts.verify = arg
			default:
				drop(`lb's verify is "none", "optional" or "required"`)
			}
		case "accept-proxy":
			acceptProxy = true
		case "v4v6", "tfo", "defer-accept":
			// lb's [::] listeners are dual-stack; the others change no behaviour a client sees.
		default:
			return false
		}
		return true
	})
	dropped = append(alpnDropped, dropped...)
	spec := bindSpec{addrs: addrs, acceptProxy: acceptProxy}
	switch {
	case ssl && len(ts.certs) == 0:
		p.feNote(c.untranslated(l, "ssl without crt: lb needs certificate files in tls.cert"))
		return
	case ssl:
		if ts.verify == "none" {
			ts.verify = ""
		}
		if ts.verify == "" && ts.ca != "" {
			dropped = append(dropped, "ca-file "+ts.ca+": used only with verify optional or required")
			ts.ca = ""
		}
		if ts.verify != "" && ts.ca == "" {
			dropped = append(dropped, "verify "+ts.verify+": lb needs ca-file to verify client certificates")
			ts.verify = ""
		}
		spec.tls = ts
	case len(ts.certs) > 0 || len(ts.alpn) > 0 || ts.minVersion != "" || ts.ca != "" || ts.verify != "":
		dropped = append(dropped, "TLS options without ssl: HAProxy ignores them")
	}
	p.fe.binds = append(p.fe.binds, spec)
	if len(dropped) > 0 {
		p.feNote(c.untranslated(l, strings.Join(dropped, "; ")))
		return
	}
	c.translated(l)
}

// useBackend reads a use_backend line: a route.
func (p *proxy) useBackend(l cfgLine) {
	c, w := p.c, l.words
	switch {
	case p.fe == nil || p.isDefaults():
		p.beNote(c.untranslated(l, reasonFrontend))
		return
	case len(w) < 2 || strings.Contains(w[1], "%"):
		p.feNote(c.untranslated(l, "lb routes to a fixed backend name"))
		return
	case len(w) > 2 && w[2] != "if" && w[2] != "unless":
		p.feNote(c.untranslated(l, "want use_backend NAME [if|unless CONDITION]"))
		return
	}
	p.fe.routes = append(p.fe.routes, pending{l: l, fields: table{"backend": quote(w[1])}, cond: w[2:]})
	c.translated(l)
}

// tcpRequest translates tcp-request inspect-delay and the usual
// "tcp-request content accept if { req_ssl_hello_type 1 }".
func (p *proxy) tcpRequest(l cfgLine) {
	c, w := p.c, l.words
	if p.fe == nil {
		p.beNote(c.untranslated(l, "lb has no tcp-request rules"))
		return
	}
	rest := strings.Join(w[1:], " ")
	switch {
	case len(w) == 3 && w[1] == "inspect-delay" && !p.isDefaults():
		d, err := haproxyTime(w[2])
		switch {
		case err != nil:
			p.feNote(c.untranslated(l, err.Error()))
		case p.effMode() != "tcp":
			p.feNote(c.untranslated(l, "lb reads whole request heads in http mode (timeout.http_request)"))
		default:
			p.fe.keys["inspect_delay"] = quote(d)
			c.translated(l)
		}
	case rest == "content accept if { req_ssl_hello_type 1 }" || rest == "content accept if { req.ssl_hello_type 1 }":
		p.feNote(c.remark(l, "nothing to write: lb waits for a whole ClientHello before it routes by sni (inspect_delay)"))
	default:
		p.feNote(c.untranslated(l, "lb has no tcp-request rules"))
	}
}

// httpRule reads an http-request, http-response or redirect line.
func (p *proxy) httpRule(l cfgLine) {
	c, w := p.c, l.words
	response := w[0] == "http-response"
	args := w[1:]
	if w[0] == "redirect" {
		args = w
	}
	switch {
	case p.fe == nil || p.isDefaults():
		p.beNote(c.untranslated(l, "lb's http rules belong to frontends"))
		return
	case p.effMode() != "http":
		p.feNote(c.untranslated(l, "http rules need an http-mode frontend"))
		return
	case len(args) == 0:
		p.feNote(c.untranslated(l, "no action"))
		return
	}
	var cond []string
	for i, a := range args {
		if a == "if" || a == "unless" {
			args, cond = args[:i], args[i:]
			break
		}
	}
	if len(args) == 0 {
		p.feNote(c.untranslated(l, "no action"))
		return
	}
	fields, err := httpAction(args, response)
	if err != nil {
		p.feNote(c.untranslated(l, err.Error()))
		return
	}
	it := pending{l: l, fields: fields, action: args[0], cond: cond}
	switch {
	case response:
		p.fe.resps = append(p.fe.resps, it)
	case w[0] == "redirect":
		p.fe.late = append(p.fe.late, it)
	default:
		p.fe.reqs = append(p.fe.reqs, it)
	}
	c.translated(l)
}

// literal returns an HAProxy log-format value as the literal it is, or an
// error when it holds an expression (%[...], %ci...), which lb does not
// evaluate.
func literal(s string) (string, error) {
	if strings.Contains(strings.ReplaceAll(s, "%%", ""), "%") {
		return "", fmt.Errorf("%s: a log-format expression; lb writes literal values", s)
	}
	return strings.ReplaceAll(s, "%%", "%"), nil
}

// httpAction translates an http rule's action and its arguments (without
// the condition) into rule keys.
func httpAction(w []string, response bool) (table, error) {
	t := table{}
	act, args := w[0], w[1:]
	status := func(v string, lo, hi int) error {
		n, err := count(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("status %s: lb wants %d-%d here", v, lo, hi)
		}
		t["status"] = strconv.Itoa(n)
		return nil
	}
	switch act {
	case "set-header", "add-header":
		if len(args) != 2 {
			return nil, fmt.Errorf("want %s NAME VALUE", act)
		}
		v, err := literal(args[1])
		if err != nil {
			return nil, err
		}
		t["name"], t["value"] = quote(args[0]), quote(v)
	case "del-header":
		if !(len(args) == 1 || len(args) == 3 && args[1] == "-m" && args[2] == "str") {
			return nil, errors.New("lb deletes a header by its exact name")
		}
		t["name"] = quote(args[0])
	case "redirect":
		if response {
			return nil, errors.New("lb redirects requests only")
		}
		if len(args) < 2 {
			return nil, errors.New("want redirect location URL or redirect scheme SCHEME")
		}
		switch args[0] {
		case "location":
			v, err := literal(args[1])
			if err != nil {
				return nil, err
			}
			t["location"] = quote(v)
		case "scheme":
			s := strings.ToLower(args[1])
			if s != "https" && s != "http" {
				return nil, fmt.Errorf("scheme %s: lb redirects to http or https", args[1])
			}
			t["scheme"] = quote(s)
		default:
			return nil, fmt.Errorf("redirect %s: lb redirects to a location or a scheme", args[0])
		}
		for i := 2; i < len(args); i++ {
			if args[i] != "code" || i+1 == len(args) {
				return nil, fmt.Errorf("%s: lb's redirect keeps the path and query as they are", args[i])
			}
			i++
			n, err := count(args[i])
			if err != nil || n != 301 && n != 302 && n != 303 && n != 307 && n != 308 {
				return nil, fmt.Errorf("code %s: lb redirects with 301, 302, 303, 307 or 308", args[i])
			}
			t["status"] = strconv.Itoa(n)
		}
	case "deny", "return":
		if act == "return" && response {
			return nil, errors.New("lb returns answers to requests only")
		}
		for i := 0; i < len(args); i++ {
			if i+1 == len(args) {
				return nil, fmt.Errorf("%s: no value", args[i])
			}
			k, v := args[i], args[i+1]
			i++
			switch {
			case k == "status" || k == "deny_status" && act == "deny":
				lo := 200
				if act == "deny" {
					lo = 400
				}
				if err := status(v, lo, 599); err != nil {
					return nil, err
				}
			case k == "content-type":
				t["content_type"] = quote(v)
			case k == "string":
				t["body"] = quote(v)
			default:
				return nil, fmt.Errorf("%s: lb's %s answers with a status, a content-type and a literal string", k, act)
			}
		}
	case "set-priority-class", "set-priority-offset":
		// HAProxy takes a sample expression; lb a constant: int(N) or N,
		// the offset in milliseconds.
		if response {
			return nil, fmt.Errorf("lb sets the priority of requests only")
		}
		if len(args) != 1 {
			return nil, fmt.Errorf("want %s int(N)", act)
		}
		v := args[0]
		if strings.HasPrefix(v, "int(") && strings.HasSuffix(v, ")") {
			v = v[4 : len(v)-1]
		}
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: lb sets a constant priority, int(N)", args[0])
		case act == "set-priority-class":
			if n < -2047 || n > 2047 {
				return nil, fmt.Errorf("%s: lb's classes are -2047..2047", args[0])
			}
			t["class"] = strconv.Itoa(n)
		default:
			if n < -524287 || n > 524287 {
				return nil, fmt.Errorf("%s: HAProxy's offsets are -524287..524287 ms", args[0])
			}
			t["offset"] = quote(strconv.Itoa(n) + "ms")
		}
	case "tarpit":
		// HAProxy answers 500 after the hold unless deny_status says;
		// finishFrontend adds the hold (timeout tarpit).
		if response {
			return nil, errors.New("lb tarpits requests only")
		}
		t["status"] = "500"
		switch {
		case len(args) == 2 && args[0] == "deny_status":
			if err := status(args[1], 400, 599); err != nil {
				return nil, err
			}
		case len(args) != 0:
			return nil, errors.New("want tarpit [deny_status STATUS]")
		}
	case "allow":
		return nil, errors.New("lb has no allow rule (an allow stops the evaluation of the rules after it)")
	default:
		return nil, fmt.Errorf("http-%s %s: lb's rules set, add and delete headers, redirect, deny, return, tarpit and set the priority",
			map[bool]string{true: "response", false: "request"}[response], act)
	}
	t["action"] = quote(act)
	return t, nil
}
