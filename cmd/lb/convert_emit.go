package main

// Sections to TOML, and writing it (part of lb convert: convert.go)

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ---------------------------------------------------------------------
// Sections to TOML

// defaultsSection reads a defaults section (base: the defaults section
// named by its "from", nil if none).
func (c *converter) defaultsSection(s *cfgSection, base *proxy) *proxy {
	p := newProxy(c, s, base)
	p.read()
	return p
}

// value is what a defaults section d gives key ("mode", "maxconn",
// "retries", "redispatch", "balance", "timeout.NAME"); HAProxy's own
// defaults where lb's differ in how traffic is served (redispatch
// false); "" when unset.
func (d *proxy) value(key string) string {
	for q := d; q != nil; q = q.d {
		var v string
		switch {
		case key == "mode":
			if q.mode != "" {
				v = quote(q.mode)
			}
		case key == "maxconn":
			v = q.fe.keys[key]
		case strings.HasPrefix(key, "timeout."):
			k := strings.TrimPrefix(key, "timeout.")
			if v = q.fe.timeout[k]; v == "" {
				v = q.be.timeout[k]
			}
		default:
			v = q.be.keys[key]
		}
		if v != "" {
			return v
		}
	}
	if key == "redispatch" {
		return "false"
	}
	return ""
}

// lbDefaults are lb's built-in defaults of the keys [defaults] holds.
var lbDefaults = map[string]string{
	"maxconn": "0", "retries": "3", "redispatch": "true", "balance": `"roundrobin"`,
	"timeout.connect": `"5s"`, "timeout.client": `"30s"`, "timeout.server": `"30s"`,
	"timeout.http_request": `"10s"`, "timeout.http_keep_alive": `"5s"`, "timeout.queue": `"5s"`, "timeout.tunnel": `"1h"`,
}

// defaultsBlock writes the primary defaults section as [defaults].
func (c *converter) defaultsBlock(d *proxy) *block {
	t := &tomlTable{header: "[defaults]", keys: table{}, order: defaultsOrder}
	b := &block{tables: []*tomlTable{t}}
	if d.sec.head.text != "" {
		b.comments = append(b.comments, note{d.sec.head.num, c.source(d.sec.head, "")})
		t.notes = append(d.fe.notes, d.be.notes...)
	}
	for _, k := range defaultsOrder {
		if v := d.value(k); v != "" {
			t.keys[k] = v
		}
	}
	if d.be.keys["redispatch"] == "" {
		t.keys["redispatch"] = "false  # HAProxy redispatches only with option redispatch"
	}
	tt := &tomlTable{header: "[defaults.timeout]", keys: table{}, order: timeoutOrder}
	for _, k := range timeoutOrder {
		if v := d.value("timeout." + k); v != "" {
			tt.keys[k] = v
		}
	}
	if len(tt.keys) > 0 {
		b.tables = append(b.tables, tt)
	}
	return b
}

// defaultsNotes is the block of a defaults section other than the first:
// its settings are written into the sections that use it.
func (d *proxy) defaultsNotes() *block {
	b := &block{comments: []note{{d.sec.head.num, d.c.source(d.sec.head, "lb has one [defaults]: its settings are written into each section that follows it")}}}
	b.comments = append(b.comments, d.fe.notes...)
	b.comments = append(b.comments, d.be.notes...)
	return b
}

// inherit sets in t, for each key not set there, the value lb must be
// told so that a section using defaults section d gets d's value and not
// [defaults]' (lb's built-in default when d leaves unset what [defaults]
// sets). prefix is "" or "timeout.".
func (c *converter) inherit(t table, d *proxy, prefix string, keys []string) {
	if d == c.primary {
		return
	}
	for _, k := range keys {
		if t[k] != "" {
			continue
		}
		dv, pv := d.value(prefix+k), c.primary.value(prefix+k)
		switch {
		case dv == pv:
		case dv != "":
			t[k] = dv
		default:
			t[k] = lbDefaults[prefix+k]
		}
	}
}

// proxySection translates a frontend, backend or listen section;
// reserved holds the frontend names of the input ("frontend.NAME"), which
// the names of split frontends avoid.
func (c *converter) proxySection(s *cfgSection, d *proxy, reserved map[string]bool) *block {
	if isStats(s) {
		return c.statsSection(s)
	}
	fe, be := c.names["frontend."+s.name], c.names["backend."+s.name]
	if why := ""; s.name == "" || (s.kind != "backend" && fe) || (s.kind != "frontend" && be) {
		why = fmt.Sprintf("a second section named %q (HAProxy refuses it)", s.name)
		if s.name == "" {
			why = "a section without a name"
		}
		b := &block{comments: []note{c.untranslated(s.head, why)}}
		for _, l := range s.lines {
			b.comments = append(b.comments, c.untranslated(l, "inside "+s.head.text))
		}
		return b
	}
	p := newProxy(c, s, d)
	p.reserved = reserved
	p.read()
	b := &block{}
	var fes []*tomlTable
	if p.fe != nil {
		var split string
		fes, split = p.finishFrontend()
		suffix := ""
		if s.kind == "listen" {
			suffix = "split into [frontend." + tomlKey(s.name) + "] and [backend." + tomlKey(s.name) + "]"
		}
		if split != "" {
			if suffix != "" {
				suffix += "; "
			}
			suffix += split
		}
		b.comments = append(b.comments, note{s.head.num, c.source(s.head, suffix)})
		b.tables = append(b.tables, fes...)
	} else {
		b.comments = append(b.comments, note{s.head.num, c.source(s.head, "")})
	}
	if p.be != nil {
		bes := p.finishBackend()
		if p.fe != nil && len(bes) > 0 {
			bes[0].comment = "# " + s.kind + " " + commentText(s.name) + ", backend side"
		}
		b.tables = append(b.tables, bes...)
	}
	return b
}

// variant is one lb frontend made from a section: its binds share TLS
// settings.
type variant struct {
	name        string
	tls         *tlsSpec
	acceptProxy bool
	binds       []string
	t           *tomlTable
	extra       []*tomlTable // timeout, tls
	items       []*tomlTable // routes and rules
}

// finishFrontend writes the frontend side: one lb frontend per set of TLS
// settings among its binds (lb has one tls table per frontend). split
// describes a split, "" if none.
func (p *proxy) finishFrontend() ([]*tomlTable, string) {
	c, fe, name := p.c, p.fe, p.sec.name
	var vs []*variant
	byKey := map[string]*variant{}
	for _, b := range fe.binds {
		k := fmt.Sprint(b.tls.key(), b.acceptProxy)
		v := byKey[k]
		if v == nil {
			v = &variant{tls: b.tls, acceptProxy: b.acceptProxy}
			byKey[k] = v
			vs = append(vs, v)
		}
		v.binds = append(v.binds, b.addrs...)
	}
	if len(vs) == 0 {
		vs = []*variant{{}}
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].tls == nil && vs[j].tls != nil })
	split := ""
	c.names["frontend."+name] = true
	for i, v := range vs {
		v.name = name
		if i > 0 {
			suffix := "_tls"
			if v.tls == nil {
				suffix = "_proxy"
			}
			for n := 1; ; n++ {
				v.name = name + suffix
				if n > 1 {
					v.name += strconv.Itoa(n)
				}
				if !c.names["frontend."+v.name] && !p.reserved["frontend."+v.name] {
					break
				}
			}
			c.names["frontend."+v.name] = true
			if split == "" {
				split = "lb has one tls table and one accept_proxy per frontend: binds with other settings are in [frontend." + tomlKey(v.name) + "]"
			} else {
				split += ", [frontend." + tomlKey(v.name) + "]"
			}
		}
	}
	if len(vs) > 1 && fe.keys["maxconn"] != "" {
		split += " (maxconn applies to each)"
	}

	keys := table{}
	for k, v := range fe.keys {
		keys[k] = v
	}
	keys["mode"] = quote(p.effMode())
	if keys["default_backend"] == "" {
		switch {
		case p.sec.kind == "listen":
			keys["default_backend"] = quote(name)
		case p.d.fe.keys["default_backend"] != "":
			keys["default_backend"] = p.d.fe.keys["default_backend"]
		}
	}
	if keys["forwarded_for"] == "" && p.d.fe.keys["forwarded_for"] != "" {
		keys["forwarded_for"] = p.d.fe.keys["forwarded_for"]
	}
	c.inherit(keys, p.d, "", []string{"maxconn"})
	timeout := table{}
	for k, v := range fe.timeout {
		timeout[k] = v
	}
	c.inherit(timeout, p.d, "timeout.", []string{"client", "http_request", "http_keep_alive"})

	for _, v := range vs {
		kv := table{}
		for k, x := range keys {
			kv[k] = x
		}
		if len(v.binds) > 0 {
			kv["bind"] = quoteList(v.binds)
		}
		if v.acceptProxy {
			kv["accept_proxy"] = "true"
			kv["accept_proxy_from"] = `["0.0.0.0/0", "::/0"]`
		}
		v.t = &tomlTable{header: "[frontend." + tomlKey(v.name) + "]", keys: kv, order: frontendOrder}
		if v.acceptProxy {
			v.t.notes = append(v.t.notes, note{p.sec.head.num, "# HAProxy's accept-proxy trusts every source; narrow accept_proxy_from to the load balancers in front of lb"})
		}
		if len(timeout) > 0 {
			v.extra = append(v.extra, &tomlTable{header: "[frontend." + tomlKey(v.name) + ".timeout]", keys: timeout, order: timeoutOrder})
		}
		if ts := v.tls; ts != nil {
			tt := table{"cert": quoteList(ts.certs)}
			if len(ts.alpn) > 0 {
				tt["alpn"] = quoteList(ts.alpn)
			}
			tt.str("min_version", ts.minVersion)
			if ts.verify != "" {
				tt["verify"], tt["ca"] = quote(ts.verify), quote(ts.ca)
			}
			v.extra = append(v.extra, &tomlTable{header: "[frontend." + tomlKey(v.name) + ".tls]", keys: tt, order: feTLSOrder})
		}
	}
	if keys["default_backend"] == "" {
		vs[0].t.notes = append(vs[0].t.notes, note{p.sec.head.num, "# lb requires default_backend: HAProxy answered 503 to what no use_backend matched; name a backend here"})
	}

	// Tarpit rules hold for timeout tarpit, else (HAProxy) timeout
	// connect, from the section or its defaults.
	for i := range fe.reqs {
		if fe.reqs[i].action == "tarpit" {
			hold := orDefault(fe.tarpit, p.d.fe.tarpit)
			if hold == "" && p.be != nil {
				hold = strings.Trim(orDefault(p.be.timeout["connect"], p.d.be.timeout["connect"]), `"`)
			} else if hold == "" {
				hold = strings.Trim(p.d.be.timeout["connect"], `"`)
			}
			if hold != "" {
				fe.reqs[i].fields["tarpit"] = quote(hold)
			}
		}
	}
	// In lb's order of evaluation: request rules, then routes.
	tcp := p.effMode() == "tcp"
	p.items(vs, append(fe.reqs, fe.late...), "http_request", tcp)
	p.items(vs, fe.resps, "http_response", tcp)
	p.items(vs, fe.routes, "route", tcp)

	var out []*tomlTable
	for i, v := range vs {
		if i == 0 {
			v.t.notes = append(v.t.notes, fe.notes...)
		}
		out = append(out, v.t)
		out = append(out, v.extra...)
		out = append(out, v.items...)
	}
	return out, split
}

// items evaluates pending routes or rules (kind "route", "http_request"
// or "http_response") on each variant and writes them.
func (p *proxy) items(vs []*variant, its []pending, kind string, tcp bool) {
	c := p.c
	order := ruleOrder
	if kind == "route" {
		order = routeOrder
	}
next:
	for _, it := range its {
		results := make([][]match, len(vs))
		var notes []string
		for i, v := range vs {
			alts, ns, err := p.cond(it.cond, v.tls != nil)
			if err == nil {
				err = checkAlts(alts, kind, it.action, tcp)
			}
			if err != nil {
				p.fe.notes = append(p.fe.notes, c.untranslated(it.l, err.Error()))
				continue next
			}
			results[i] = alts
			notes = append(notes, ns...)
		}
		var never []string
		for i, v := range vs {
			if len(results[i]) == 0 {
				never = append(never, v.name)
			}
			for j, m := range results[i] {
				t := table{}
				for k, x := range it.fields {
					t[k] = x
				}
				t.str("host", m.host)
				t.str("path_prefix", m.path)
				t.str("sni", m.sni)
				tt := &tomlTable{header: "[[frontend." + tomlKey(v.name) + "." + kind + "]]", keys: t, order: order}
				if j == 0 {
					tt.comment = c.source(it.l, "")
				}
				v.items = append(v.items, tt)
			}
		}
		switch {
		case len(never) == len(vs):
			p.fe.notes = append(p.fe.notes, c.remark(it.l, "nothing to write: the condition never holds here"))
		case len(never) > 0:
			p.fe.notes = append(p.fe.notes, c.remark(it.l, "note: never holds on frontend "+strings.Join(never, ", ")+", where it is not written"))
		}
		seen := map[string]bool{}
		for _, n := range notes {
			if !seen[n] {
				seen[n] = true
				p.fe.notes = append(p.fe.notes, c.remark(it.l, n))
			}
		}
	}
}

// checkAlts says why alternatives cannot be written as lb routes or
// rules of kind in a frontend of that mode (nil if they can).
func checkAlts(alts []match, kind, action string, tcp bool) error {
	for _, m := range alts {
		switch {
		case tcp && kind == "route" && m.sni == "":
			if m.host != "" || m.path != "" {
				return errors.New("host and path matches need an http-mode frontend")
			}
			return errors.New("lb's tcp routes match a TLS server name (req.ssl_sni); an unconditional use_backend is default_backend")
		case !tcp && m.sni != "":
			return errors.New("req.ssl_sni matches in tcp mode; an http-mode frontend matches the host (hdr(host))")
		}
	}
	if action == "add-header" {
		for i := range alts {
			for j := i + 1; j < len(alts); j++ {
				if overlap(alts[i], alts[j]) {
					return errors.New("alternatives of the condition overlap: one add-header rule each would add the header twice")
				}
			}
		}
	}
	return nil
}

// finishBackend writes the backend side: its table, timeouts, tls,
// health and servers.
func (p *proxy) finishBackend() []*tomlTable {
	c, be, d, name := p.c, p.be, p.d, p.sec.name
	c.names["backend."+name] = true
	keys := table{}
	for k, v := range be.keys {
		keys[k] = v
	}
	for _, k := range []string{"hash_type", "hash_balance_factor", "pool_max_conn"} {
		if keys[k] == "" && d.be.keys[k] != "" {
			keys[k] = d.be.keys[k]
		}
	}
	c.inherit(keys, d, "", []string{"retries", "redispatch", "balance"})
	timeout := table{}
	for k, v := range be.timeout {
		timeout[k] = v
	}
	c.inherit(timeout, d, "timeout.", []string{"connect", "server", "queue", "tunnel"})

	prefix := "backend." + tomlKey(name)
	main := &tomlTable{header: "[" + prefix + "]", keys: keys, order: backendOrder, notes: be.notes, always: true}
	out := []*tomlTable{main}
	if len(timeout) > 0 {
		out = append(out, &tomlTable{header: "[" + prefix + ".timeout]", keys: timeout, order: timeoutOrder})
	}

	// Health: HAProxy checks the servers with "check"; lb checks every
	// server of a backend with a health table, with one interval, rise
	// and fall.
	h, dh := be.health, d.be.health
	if !h.set {
		h.http = dh.http
	}
	h.method, h.path, h.expect = orDefault(h.method, dh.method), orDefault(h.path, dh.path), orDefault(h.expect, dh.expect)
	var first *serverDraft
	for i := range be.servers {
		if be.servers[i].p.check {
			first = &be.servers[i]
			break
		}
	}
	if first != nil {
		ht := table{"kind": `"tcp"`}
		if h.http {
			ht["kind"] = `"http"`
			ht.str("method", h.method)
			ht.str("path", h.path)
		}
		if h.expect != "" && h.http {
			ht["expect_status"] = quote(h.expect)
		}
		ht.str("interval", first.p.inter)
		if t := orDefault(be.checkTimeout, d.be.checkTimeout); t != "" {
			ht["timeout"] = quote(t)
		}
		if first.p.rise != "" {
			ht["rise"] = first.p.rise
		}
		if first.p.fall != "" {
			ht["fall"] = first.p.fall
		}
		out = append(out, &tomlTable{header: "[" + prefix + ".health]", keys: ht, order: healthOrder})
	} else if be.health.line != nil && len(be.servers) > 0 {
		main.notes = append(main.notes, c.remark(*be.health.line, "note: no server has check, so lb checks nothing"))
	}

	// TLS: lb speaks TLS to every server of a backend with a tls table.
	var tlsFirst *serverDraft
	for i := range be.servers {
		if be.servers[i].p.ssl {
			tlsFirst = &be.servers[i]
			break
		}
	}
	if tlsFirst != nil {
		sp := tlsFirst.p
		tt := table{}
		if sp.verify == "false" || sp.verify == "" && c.verifyNone {
			tt["verify"] = "false"
		}
		tt.str("ca", sp.ca)
		tt.str("sni", sp.sni)
		tt.str("cert", sp.crt)
		out = append(out, &tomlTable{header: "[" + prefix + ".tls]", keys: tt, order: beTLSOrder, always: true})
	}

	for i := range be.servers {
		s := &be.servers[i]
		sp := s.p
		if first != nil && s != first {
			var diff []string
			for _, x := range [][3]string{{"inter", sp.inter, first.p.inter}, {"rise", sp.rise, first.p.rise}, {"fall", sp.fall, first.p.fall}} {
				if x[1] != x[2] && sp.check {
					diff = append(diff, x[0]+" "+orDefault(x[1], "(default)"))
				}
			}
			if len(diff) > 0 {
				s.dropped = append(s.dropped, strings.Join(diff, " ")+": lb checks all servers of a backend alike, as server "+first.name)
			}
		}
		if tlsFirst != nil && s != tlsFirst {
			switch {
			case !sp.ssl:
				s.dropped = append(s.dropped, "no ssl: lb speaks TLS to every server of a backend with ssl servers")
			case sp.verify != tlsFirst.p.verify || sp.ca != tlsFirst.p.ca || sp.sni != tlsFirst.p.sni || sp.crt != tlsFirst.p.crt:
				s.dropped = append(s.dropped, "its TLS options: lb has one tls table per backend, written from server "+tlsFirst.name)
			}
		}
		st := table{"name": quote(s.name), "address": quote(s.addr)}
		if sp.weight != "" {
			st["weight"] = sp.weight
		}
		if sp.backup {
			st["backup"] = "true"
		}
		if sp.maxconn != "" {
			st["maxconn"] = sp.maxconn
		}
		st.str("send_proxy", sp.sendProxy)
		tt := &tomlTable{header: "[[" + prefix + ".server]]", keys: st, order: serverOrder}
		switch {
		case len(s.dropped) > 0:
			tt.comment = c.untranslated(s.l, strings.Join(s.dropped, "; ")).text
		case first != nil && !sp.check:
			tt.comment = c.remark(s.l, "note: without check in HAProxy; lb checks every server of a backend with a health table").text
		default:
			c.translated(s.l)
		}
		out = append(out, tt)
	}
	return out
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// isStats reports whether s is a stats-only listen or frontend: stats
// enable or stats uri, and no servers or backends.
func isStats(s *cfgSection) bool {
	if s.kind != "listen" && s.kind != "frontend" {
		return false
	}
	stats := false
	for _, l := range s.lines {
		if len(l.words) == 0 {
			continue
		}
		switch l.words[0] {
		case "server", "default_backend", "use_backend":
			return false
		case "stats":
			if len(l.words) > 1 && (l.words[1] == "enable" || l.words[1] == "uri") {
				stats = true
			}
		}
	}
	return stats
}

// statsSection translates a stats-only proxy into [admin] bind when it
// listens on one loopback address (lb's admin listener needs a token
// elsewhere); otherwise comments it out.
func (c *converter) statsSection(s *cfgSection) *block {
	var addr string
	why := ""
	for _, l := range s.lines {
		if len(l.words) == 0 || l.words[0] != "bind" {
			continue
		}
		a := "?"
		if len(l.words) > 1 {
			a = l.words[1]
		}
		addrs, err := bindAddrs(a)
		switch {
		case addr != "" || err != nil || len(addrs) != 1 || len(l.words) > 2:
			why = "lb's admin listener has one plain address"
		default:
			host, _, _ := net.SplitHostPort(addrs[0])
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				why = "an admin listener on a non-loopback address needs admin.token_file, which HAProxy has no equivalent of"
			}
			addr = addrs[0]
		}
	}
	switch {
	case addr == "" && why == "":
		why = "no bind"
	case c.admin != "" && why == "":
		why = "lb has one admin listener, already set"
	}
	b := &block{}
	if why != "" {
		b.comments = append(b.comments, c.untranslated(s.head, "a stats listener: "+why))
		for _, l := range s.lines {
			b.comments = append(b.comments, c.untranslated(l, "inside "+s.kind+" "+s.name+", not translated"))
		}
		return b
	}
	c.admin = addr
	t := &tomlTable{header: "[admin]", keys: table{"bind": quote(addr)}, order: adminOrder}
	b.comments = append(b.comments, note{s.head.num, c.source(s.head, "lb's admin listener serves stats (/stats, /stats.json), /metrics and the runtime API")})
	b.tables = append(b.tables, t)
	for _, l := range s.lines {
		w := l.words
		switch {
		case l.bad != "":
			t.notes = append(t.notes, c.untranslated(l, l.bad))
		case w[0] == "bind":
			c.translated(l)
		case w[0] == "mode" || len(w) > 1 && w[0] == "stats" && w[1] == "enable":
			t.notes = append(t.notes, c.remark(l, "nothing to write"))
		case len(w) > 1 && w[0] == "stats" && w[1] == "uri":
			t.notes = append(t.notes, c.untranslated(l, "lb serves stats at /stats and /stats.json"))
		case len(w) > 1 && w[0] == "stats" && (w[1] == "auth" || w[1] == "admin"):
			t.notes = append(t.notes, c.untranslated(l, "lb's admin listener reads without a password on loopback; mutating calls take the bearer token of admin.token_file"))
		case len(w) > 2 && w[0] == "http-request" && w[1] == "use-service" && w[2] == "prometheus-exporter":
			t.notes = append(t.notes, c.remark(l, "nothing to write: lb's admin listener serves GET /metrics"))
		default:
			t.notes = append(t.notes, c.untranslated(l, "lb's stats page has no such setting"))
		}
	}
	return b
}

// ---------------------------------------------------------------------
// Writing TOML

// table is a TOML table's keys with their values, already encoded.
type table map[string]string

// str sets key k to the quoted v, unless v is empty (the key is then left
// to lb's default).
func (t table) str(k, v string) {
	if v != "" {
		t[k] = quote(v)
	}
}

// note is a comment line, with the input line it is about (0 if none).
type note struct {
	num  int
	text string
}

// tomlTable is one TOML table to write.
type tomlTable struct {
	comment string   // a comment line above the header, "" if none
	header  string   // "[frontend.web]", "[[backend.app.server]]"
	keys    table    // its keys
	order   []string // the order keys are written in
	notes   []note   // comment lines written after the keys
	always  bool     // written even when it has no keys (a tls table, a backend)
}

// block is what one section turns into: comments, then tables.
type block struct {
	comments []note
	tables   []*tomlTable
}

// Key orders, as in docs/config.md.
var (
	globalOrder   = []string{"maxconn", "event_loops", "hard_stop_after"}
	adminOrder    = []string{"bind"}
	defaultsOrder = []string{"mode", "maxconn", "retries", "redispatch", "balance"}
	timeoutOrder  = []string{"connect", "client", "server", "http_request", "http_keep_alive", "queue", "tunnel"}
	frontendOrder = []string{"bind", "mode", "accept_proxy", "accept_proxy_from", "default_backend", "maxconn", "inspect_delay", "forwarded_for"}
	feTLSOrder    = []string{"cert", "alpn", "min_version", "verify", "ca"}
	routeOrder    = []string{"host", "path_prefix", "sni", "backend"}
	ruleOrder     = []string{"host", "path_prefix", "action", "name", "value", "location", "scheme", "status", "tarpit", "body", "content_type", "class", "offset"}
	backendOrder  = []string{"balance", "hash_type", "hash_balance_factor", "retries", "redispatch", "pool_max_conn"}
	beTLSOrder    = []string{"verify", "ca", "sni", "cert"}
	healthOrder   = []string{"kind", "method", "path", "expect_status", "interval", "timeout", "rise", "fall"}
	serverOrder   = []string{"name", "address", "weight", "backup", "maxconn", "send_proxy"}
)

// write renders the conversion.
func (c *converter) write() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# lb configuration converted from %s by `lb convert`.\n", commentText(c.file))
	b.WriteString("# Each section starts with its line in the input. Lines lb cannot express are kept as comments\n")
	b.WriteString("# (\"-- not translated: why\"): review them. Keys not written take lb's defaults (docs/config.md);\n")
	b.WriteString("# unlike HAProxy, lb adds X-Forwarded-For and X-Forwarded-Proto to requests (forwarded_for,\n")
	b.WriteString("# forwarded_proto) and its timeouts default to finite values.\n")
	for _, bl := range c.blocks {
		if len(bl.comments) == 0 && len(bl.tables) == 0 {
			continue
		}
		b.WriteString("\n")
		sort.SliceStable(bl.comments, func(i, j int) bool { return bl.comments[i].num < bl.comments[j].num })
		for _, n := range bl.comments {
			b.WriteString(n.text + "\n")
		}
		wrote := false
		for _, t := range bl.tables {
			if len(t.keys) == 0 && len(t.notes) == 0 && !t.always && !strings.HasPrefix(t.header, "[[") {
				continue
			}
			if wrote {
				b.WriteString("\n")
			}
			wrote = true
			if t.comment != "" {
				b.WriteString(t.comment + "\n")
			}
			b.WriteString(t.header + "\n")
			n := 0
			for _, k := range t.order {
				if v, ok := t.keys[k]; ok {
					fmt.Fprintf(&b, "%s = %s\n", k, v)
					n++
				}
			}
			if n != len(t.keys) {
				panic(fmt.Sprintf("lb convert: %s has keys outside its order %q: %v", t.header, t.order, t.keys))
			}
			sort.SliceStable(t.notes, func(i, j int) bool { return t.notes[i].num < t.notes[j].num })
			for _, n := range t.notes {
				b.WriteString(n.text + "\n")
			}
		}
	}
	return b.String()
}

// quote encodes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// quoteList encodes ss as a TOML array of strings.
func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlKey writes a table name as a TOML key: bare when it can be, else
// quoted.
func tomlKey(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return quote(s)
		}
	}
	return s
}
