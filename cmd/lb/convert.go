package main

// convert.go is `lb convert FILE`: it translates the common subset of an
// HAProxy 2.x configuration into lb's TOML and prints it on stdout.
//
// It reads haproxy.cfg line by line (sections, keywords, # comments,
// quotes, backslash escapes and line continuations), translates what has
// an lb key, and keeps every line it cannot translate as a TOML comment,
//
//	# haproxy.cfg:LINE: <original line> -- not translated: <why>
//
// so that nothing is lost silently. Lines that need no key (an HAProxy
// setting that is lb's behaviour anyway) are kept the same way, with
// "-- nothing to write: <why>" or "-- note: <caveat>". The output is
// written in the order of the input's sections, keys in a fixed order.
//
// What is translated (docs/config.md, "Converting an haproxy.cfg"):
//   - global: maxconn, nbthread (event_loops), hard-stop-after; crt-base
//     and ca-base resolve the certificate paths below them.
//   - defaults: mode, maxconn, retries, option redispatch, balance and the
//     timeouts go to [defaults]; the rest (option httpchk, http-check,
//     default-server, hash-type, default_backend...) to each section that
//     follows. A second defaults section applies to the sections after it:
//     they get explicit keys where it differs from the first one.
//   - frontend, listen (split into a frontend and a backend of its name),
//     backend: binds (TLS binds to a tls table; plain and TLS binds of one
//     section become two lb frontends), acls on path_beg, hdr(host),
//     hdr_dom(host), req.ssl_sni and ssl_fc, use_backend (routes),
//     http-request / http-response header, redirect, deny and return
//     rules, servers, health checks, server TLS.
//   - a stats-only listen or frontend on a loopback address: [admin].
//
// HAProxy's built-in defaults differ from lb's in places; where that
// changes how traffic is served the converter writes HAProxy's value: a
// section without "mode" is written mode = "tcp", and redispatch is false
// unless "option redispatch" is set.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// runConvert is `lb convert FILE`. It prints the translation of FILE on
// stdout and returns 0; it returns 1 when FILE cannot be read and 2 on a
// usage error, with the message on stderr.
func runConvert(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: lb convert haproxy.cfg > lb.toml")
		return 2
	}
	src, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "lb convert: %v\n", err)
		return 1
	}
	res := convertHAProxy(filepath.Base(args[0]), src)
	if _, err := io.WriteString(stdout, res.TOML); err != nil {
		fmt.Fprintf(stderr, "lb convert: %v\n", err)
		return 1
	}
	return 0
}

// conversion is what convertHAProxy returns.
type conversion struct {
	// TOML is the translated configuration.
	TOML string
	// Untranslated lists the lines (or parts of lines) that were not
	// translated, each also written in TOML as a comment.
	Untranslated []untranslatedLine
	// Lines lists the number of every logical line of the input that is
	// not blank or a comment; Handled says which of them the converter
	// accounted for (translated, commented or both). Tests compare them.
	Lines   []int
	Handled map[int]bool
}

// untranslatedLine is one input line the converter could not translate
// (entirely, or some of its options).
type untranslatedLine struct {
	Num  int
	Text string
	Why  string
}

// convertHAProxy translates the haproxy.cfg content src; file is the name
// used in comments. It never fails: what it cannot read or translate is
// commented.
func convertHAProxy(file string, src []byte) *conversion {
	c := &converter{file: file, res: &conversion{Handled: map[int]bool{}}, global: table{}, names: map[string]bool{}}
	outside, secs := parseHAProxy(src)
	reserved := map[string]bool{}
	for _, s := range secs {
		if s.kind == "frontend" || s.kind == "listen" {
			reserved["frontend."+s.name] = true
		}
		c.res.Lines = append(c.res.Lines, s.head.num)
		for _, l := range s.lines {
			c.res.Lines = append(c.res.Lines, l.num)
		}
	}
	for _, l := range outside {
		c.res.Lines = append(c.res.Lines, l.num)
	}
	sort.Ints(c.res.Lines)

	if len(outside) > 0 {
		b := &block{}
		for _, l := range outside {
			b.comments = append(b.comments, c.untranslated(l, "outside any section"))
		}
		c.blocks = append(c.blocks, b)
	}

	// Global settings first: crt-base and ca-base apply to every section.
	var globalBlock *block
	for _, s := range secs {
		if s.kind == "global" {
			b := c.globalSection(s)
			if globalBlock == nil {
				globalBlock = b
			} else {
				globalBlock.comments = append(globalBlock.comments, b.comments...)
				globalBlock.tables[0].notes = append(globalBlock.tables[0].notes, b.tables[0].notes...)
			}
		}
	}
	if globalBlock != nil {
		c.blocks = append(c.blocks, globalBlock)
	}

	// Every defaults section is read before the proxies, the first one
	// becoming lb's [defaults].
	defs := map[*cfgSection]*proxy{}
	named := map[string]*proxy{}
	for _, s := range secs {
		if s.kind != "defaults" {
			continue
		}
		var base *proxy
		if s.from != "" {
			base = named[s.from]
		}
		d := c.defaultsSection(s, base)
		defs[s] = d
		if s.name != "" {
			named[s.name] = d
		}
		if c.primary == nil {
			c.primary = d
		}
	}
	builtin := newProxy(c, &cfgSection{kind: "defaults"}, nil)
	if c.primary == nil {
		c.primary = builtin
	}
	c.blocks = append(c.blocks, c.defaultsBlock(c.primary))

	cur := builtin
	for _, s := range secs {
		switch s.kind {
		case "global":
		case "defaults":
			cur = defs[s]
			if cur != c.primary {
				c.blocks = append(c.blocks, cur.defaultsNotes())
			}
		case "frontend", "backend", "listen":
			d := cur
			var head []note
			if s.from != "" {
				if named[s.from] != nil {
					d = named[s.from]
				} else {
					head = append(head, c.untranslated(s.head, fmt.Sprintf("no defaults section named %q", s.from)))
				}
			}
			b := c.proxySection(s, d, reserved)
			b.comments = append(head, b.comments...)
			c.blocks = append(c.blocks, b)
		default:
			c.blocks = append(c.blocks, c.otherSection(s))
		}
	}
	c.res.TOML = c.write()
	return c.res
}

// ---------------------------------------------------------------------
// Reading haproxy.cfg

// cfgLine is one logical line of haproxy.cfg: a physical line, or several
// joined by backslash continuations.
type cfgLine struct {
	// num is the number of its first physical line, from 1.
	num int
	// text is the original text, trimmed, continuations joined by a space.
	text string
	// words are its words, unquoted and unescaped, without the comment.
	words []string
	// bad says why the words could not be read ("" when they could).
	bad string
}

// cfgSection is a section: its head line ("frontend web") and the lines
// up to the next section keyword.
type cfgSection struct {
	kind  string // global, defaults, frontend, backend, listen, userlist, ...
	name  string // the section's name, "" if none
	from  string // the defaults section named by "from NAME", "" if none
	head  cfgLine
	lines []cfgLine
}

// sectionKinds maps each HAProxy section keyword to why lb has no such
// section; "" for the sections the converter translates.
var sectionKinds = map[string]string{
	"global": "", "defaults": "", "frontend": "", "backend": "", "listen": "",
	"userlist":    "lb has no HTTP authentication (userlist)",
	"peers":       "lb has no stick tables to share between peers",
	"resolvers":   "lb has no resolvers section",
	"cache":       "lb does not cache responses",
	"program":     "lb starts no programs: run them as their own systemd units",
	"ring":        "lb has no log rings: access logs go to global.access_log, service logs to stderr",
	"mailers":     "lb sends no mail alerts",
	"http-errors": "lb's own error answers are fixed (an http_request return rule can answer with a body)",
	"fcgi-app":    "lb speaks HTTP/1.1 to servers, not FastCGI",
	"log-forward": "lb does not forward logs",
	"crt-store":   "lb reads certificates from the files named in tls.cert",
	"traces":      "lb has no traces section",
	"acme":        "lb does not fetch certificates",
}

// parseHAProxy splits src into sections of logical lines. Lines before
// the first section keyword are returned in outside. Blank and
// comment-only lines are dropped.
func parseHAProxy(src []byte) (outside []cfgLine, secs []*cfgSection) {
	phys := strings.Split(string(src), "\n")
	var cur *cfgSection
	for i := 0; i < len(phys); i++ {
		num := i + 1
		joined := strings.TrimRight(phys[i], "\r")
		words, cont, bad := splitWords(joined)
		for cont && i+1 < len(phys) {
			i++
			joined = strings.TrimRight(joined[:len(joined)-1], " \t") + " " + strings.TrimSpace(strings.TrimRight(phys[i], "\r"))
			words, cont, bad = splitWords(joined)
		}
		if cont { // a backslash ends the file
			bad = "a backslash continuation ends the file"
		}
		l := cfgLine{num: num, text: strings.TrimSpace(joined), words: words, bad: bad}
		if bad == "" && len(words) == 0 {
			continue
		}
		if bad == "" {
			if _, ok := sectionKinds[words[0]]; ok {
				cur = &cfgSection{kind: words[0], head: l}
				if len(words) > 1 {
					cur.name = words[1]
				}
				if len(words) > 3 && words[2] == "from" {
					cur.from = words[3]
				}
				secs = append(secs, cur)
				continue
			}
		}
		if cur == nil {
			outside = append(outside, l)
		} else {
			cur.lines = append(cur.lines, l)
		}
	}
	return outside, secs
}

// splitWords splits one line into words as HAProxy does: blanks separate
// words; "double" and 'single' quotes group; a backslash escapes the next
// character (\n \r \t and \xHH are control bytes); an unquoted # starts a
// comment. It returns the words, whether the line ends with a backslash
// (a continuation: the caller joins the next line), and why the line
// cannot be read ("" when it can): an unterminated quote, or an
// environment variable ($NAME, ${NAME}), which HAProxy expands and lb
// does not.
func splitWords(s string) (words []string, cont bool, bad string) {
	var cur strings.Builder
	inWord := false
	var quote byte
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	isEnv := func(i int) bool {
		return i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '_' || s[i+1] >= 'A' && s[i+1] <= 'Z' || s[i+1] >= 'a' && s[i+1] <= 'z')
	}
scan:
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
			continue
		case ch == '\\':
			if i+1 == len(s) {
				if quote != 0 {
					return nil, false, "unterminated quote"
				}
				return words, true, ""
			}
			i++
			inWord = true
			switch s[i] {
			case 'n':
				cur.WriteByte('\n')
			case 'r':
				cur.WriteByte('\r')
			case 't':
				cur.WriteByte('\t')
			case 'x':
				if i+2 < len(s) {
					if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
						cur.WriteByte(byte(v))
						i += 2
						continue
					}
				}
				cur.WriteByte('x')
			default:
				cur.WriteByte(s[i])
			}
			continue
		case quote == '"':
			switch {
			case ch == '"':
				quote = 0
			case ch == '$' && isEnv(i):
				return nil, false, "environment variables ($NAME) are not expanded by lb"
			default:
				cur.WriteByte(ch)
			}
			continue
		}
		switch ch {
		case ' ', '\t':
			flush()
		case '#':
			break scan
		case '"', '\'':
			quote = ch
			inWord = true
		case '$':
			if isEnv(i) {
				return nil, false, "environment variables ($NAME) are not expanded by lb"
			}
			cur.WriteByte(ch)
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, false, "unterminated quote"
	}
	flush()
	return words, false, ""
}

// haproxyTime converts an HAProxy time (a number with an optional unit:
// us, ms, s, m, h, d; none means milliseconds) to an lb duration string
// in the largest unit that writes it exactly ("30s", "250ms", "2m",
// "48h"; lb has no "d").
func haproxyTime(s string) (string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	units := map[string]int64{"": 1000, "us": 1, "ms": 1000, "s": 1e6, "m": 60e6, "h": 3600e6, "d": 86400e6}
	unit, ok := units[s[i:]]
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if i == 0 || !ok || err != nil || n > (1<<62)/unit {
		return "", fmt.Errorf("invalid time %q (want a number with a unit us, ms, s, m, h or d)", s)
	}
	us := n * unit
	switch {
	case us == 0:
		return "0s", nil
	case us%3600e6 == 0:
		return fmt.Sprintf("%dh", us/3600e6), nil
	case us%60e6 == 0:
		return fmt.Sprintf("%dm", us/60e6), nil
	case us%1e6 == 0:
		return fmt.Sprintf("%ds", us/1e6), nil
	case us%1e3 == 0:
		return fmt.Sprintf("%dms", us/1e3), nil
	}
	return fmt.Sprintf("%dus", us), nil
}

// count parses a non-negative integer.
func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	return n, nil
}

// splitHostPort splits HAProxy's "host:port", where an IPv6 host may be
// written without brackets (":::80", "::1:8080"): the last colon starts
// the port.
func splitHostPort(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		return net.SplitHostPort(a)
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", "", errors.New("no port")
	}
	return a[:i], a[i+1:], nil
}

// joinHostPort writes host and port as lb does, IPv6 hosts in brackets.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// validPort reports whether port is a plain number from lowest to 65535.
func validPort(port string, lowest int) bool {
	n, err := strconv.Atoi(port)
	return err == nil && port[0] >= '0' && port[0] <= '9' && n >= lowest && n <= 65535
}

// bindAddrs converts a bind address list ("*:80", ":443", ":::80",
// "ipv6@:80", "10.0.0.1:80,10.0.0.2:80") to lb listen addresses. An
// empty or "*" host is HAProxy's "every IPv4 address": "0.0.0.0".
func bindAddrs(list string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(list, ",") {
		family := ""
		if pfx, rest, ok := strings.Cut(a, "@"); ok {
			switch pfx {
			case "ipv4", "tcp4":
				family = "4"
			case "ipv6", "tcp6":
				family = "6"
			case "tcp":
			default:
				return nil, fmt.Errorf("%s: lb listens on TCP host:port addresses only", a)
			}
			a = rest
		}
		if strings.HasPrefix(a, "/") {
			return nil, fmt.Errorf("%s: lb listens on TCP host:port addresses only", a)
		}
		host, port, err := splitHostPort(a)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: want host:port", a)
		case strings.Contains(port, "-"):
			return nil, fmt.Errorf("%s: lb binds one port per address, not a range", a)
		case !validPort(port, 0):
			return nil, fmt.Errorf("%s: invalid port %q", a, port)
		}
		if host == "" || host == "*" {
			host = "0.0.0.0"
			if family == "6" {
				host = "::"
			}
		}
		out = append(out, joinHostPort(host, port))
	}
	return out, nil
}

// serverAddr converts a server address ("10.0.0.1:8080", "app:80",
// "ipv6@::1:80") to lb's "host:port"; lb needs a host and a fixed port.
func serverAddr(a string) (string, error) {
	if pfx, rest, ok := strings.Cut(a, "@"); ok {
		if pfx != "ipv4" && pfx != "ipv6" && pfx != "tcp" && pfx != "tcp4" && pfx != "tcp6" {
			return "", fmt.Errorf("%s: lb connects to TCP host:port addresses only", a)
		}
		a = rest
	}
	if strings.HasPrefix(a, "/") {
		return "", fmt.Errorf("%s: lb connects to TCP host:port addresses only", a)
	}
	host, port, err := splitHostPort(a)
	switch {
	case err != nil || port == "":
		return "", fmt.Errorf("%s: lb needs the server's port (HAProxy used the client's destination port)", a)
	case !validPort(port, 1):
		return "", fmt.Errorf("%s: lb needs a fixed port from 1 to 65535, not %q", a, port)
	case host == "" || host == "*":
		return "", fmt.Errorf("%s: lb needs the server's host", a)
	}
	return joinHostPort(host, port), nil
}

// ---------------------------------------------------------------------
// The converter

// converter holds one conversion's state.
type converter struct {
	file string
	res  *conversion

	global          table  // [global] keys
	admin           string // [admin] bind, from a stats proxy
	crtBase, caBase string // global crt-base, ca-base
	verifyNone      bool   // global ssl-server-verify none

	primary *proxy // the defaults section written as [defaults]
	blocks  []*block

	// names holds the table names taken ("frontend.web", "backend.app")
	// or reserved by a section of the input, so that no two sections
	// write the same table.
	names map[string]bool
}

// untranslated records that l (or a part of it) is not translated and
// returns its comment.
func (c *converter) untranslated(l cfgLine, why string) note {
	c.res.Untranslated = append(c.res.Untranslated, untranslatedLine{l.num, l.text, why})
	c.res.Handled[l.num] = true
	return note{l.num, fmt.Sprintf("# %s:%d: %s -- not translated: %s", c.file, l.num, commentText(l.text), commentText(why))}
}

// remark returns a comment on l that needs no key: why starts with
// "nothing to write:" or "note:".
func (c *converter) remark(l cfgLine, why string) note {
	c.res.Handled[l.num] = true
	return note{l.num, fmt.Sprintf("# %s:%d: %s -- %s", c.file, l.num, commentText(l.text), commentText(why))}
}

// source returns the comment naming the line a table comes from.
func (c *converter) source(l cfgLine, suffix string) string {
	c.res.Handled[l.num] = true
	s := fmt.Sprintf("# %s:%d: %s", c.file, l.num, commentText(l.text))
	if suffix != "" {
		s += " -- " + commentText(suffix)
	}
	return s
}

// translated records that l is translated.
func (c *converter) translated(l cfgLine) { c.res.Handled[l.num] = true }

// commentText makes s safe inside a TOML comment: valid UTF-8 and no
// control characters but tabs.
func commentText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// path resolves a certificate file name against base (crt-base, ca-base)
// as HAProxy does: a relative name is relative to base when base is set.
func resolvePath(base, name string) string {
	if base == "" || strings.HasPrefix(name, "/") {
		return name
	}
	return path.Join(base, name)
}

// globalReasons says why global keywords are not translated.
var globalReasons = map[string]string{
	"daemon":                        "lb runs in the foreground: let systemd supervise it (examples/lb.service)",
	"master-worker":                 "lb runs in the foreground: let systemd supervise it (examples/lb.service)",
	"user":                          "set User= in the systemd unit",
	"uid":                           "set User= in the systemd unit",
	"group":                         "set Group= in the systemd unit",
	"gid":                           "set Group= in the systemd unit",
	"chroot":                        "set RootDirectory= in the systemd unit",
	"pidfile":                       "lb runs in the foreground and writes no pid file (systemd knows its pid)",
	"nbproc":                        "lb is one process; event_loops sets its event loops",
	"ulimit-n":                      "set LimitNOFILE= in the systemd unit",
	"log":                           "lb writes one JSON line per transaction to global.access_log and its service log to stderr",
	"log-send-hostname":             "lb writes one JSON line per transaction to global.access_log and its service log to stderr",
	"log-tag":                       "lb writes one JSON line per transaction to global.access_log and its service log to stderr",
	"stats":                         "lb serves stats and its runtime API on the admin listener ([admin] bind)",
	"ssl-default-bind-options":      "set each frontend's [frontend.NAME.tls] min_version (lb accepts TLS 1.2 and 1.3 by default)",
	"ssl-default-bind-ciphers":      "lb's TLS 1.2 cipher suites are fixed: ECDHE with AES-GCM or ChaCha20-Poly1305",
	"ssl-default-bind-ciphersuites": "lb's TLS 1.3 cipher suites are Go's",
	"ssl-default-server-options":    "lb speaks TLS 1.2 or 1.3 to servers",
	"ssl-default-server-ciphers":    "lb's TLS cipher suites are fixed",
	"ssl-dh-param-file":             "lb uses ECDHE only",
	"cpu-map":                       "lb does not pin threads to CPUs",
	"setenv":                        "lb does not expand environment variables",
	"presetenv":                     "lb does not expand environment variables",
	"resetenv":                      "lb does not expand environment variables",
	"unsetenv":                      "lb does not expand environment variables",
	"lua-load":                      "lb does not run Lua",
	"server-state-file":             "lb carries server state across reloads itself",
	"server-state-base":             "lb carries server state across reloads itself",
}

// globalSection translates a global section.
func (c *converter) globalSection(s *cfgSection) *block {
	t := &tomlTable{header: "[global]", keys: c.global, order: globalOrder}
	b := &block{comments: []note{{s.head.num, c.source(s.head, "")}}, tables: []*tomlTable{t}}
	for _, l := range s.lines {
		w := l.words
		if l.bad != "" {
			t.notes = append(t.notes, c.untranslated(l, l.bad))
			continue
		}
		arg := ""
		if len(w) == 2 {
			arg = w[1]
		}
		switch {
		case (w[0] == "maxconn" || w[0] == "nbthread") && arg != "":
			n, err := count(arg)
			switch {
			case err != nil:
				t.notes = append(t.notes, c.untranslated(l, err.Error()))
			case w[0] == "maxconn" && n < 1:
				t.notes = append(t.notes, c.untranslated(l, "lb's global maxconn is at least 1"))
			case w[0] == "maxconn":
				c.global["maxconn"] = strconv.Itoa(n)
				c.translated(l)
			default:
				c.global["event_loops"] = strconv.Itoa(n)
				c.translated(l)
			}
		case w[0] == "hard-stop-after" && arg != "":
			d, err := haproxyTime(arg)
			if err != nil {
				t.notes = append(t.notes, c.untranslated(l, err.Error()))
				continue
			}
			c.global["hard_stop_after"] = quote(d)
			c.translated(l)
		case (w[0] == "crt-base" || w[0] == "ca-base") && arg != "":
			if w[0] == "crt-base" {
				c.crtBase = arg
			} else {
				c.caBase = arg
			}
			t.notes = append(t.notes, c.remark(l, "nothing to write: relative certificate paths below are written relative to it"))
		case w[0] == "ssl-server-verify" && (arg == "none" || arg == "required"):
			c.verifyNone = arg == "none"
			if c.verifyNone {
				t.notes = append(t.notes, c.remark(l, `note: written as verify = false in the tls table of every backend with ssl servers`))
			} else {
				t.notes = append(t.notes, c.remark(l, "nothing to write: lb verifies server certificates by default"))
			}
		default:
			why := globalReasons[w[0]]
			switch {
			case why != "":
			case strings.HasPrefix(w[0], "tune."):
				why = "lb has no such tuning setting"
			default:
				why = "no lb equivalent"
			}
			t.notes = append(t.notes, c.untranslated(l, why))
		}
	}
	return b
}

// otherSection comments out a section lb has no equivalent for.
func (c *converter) otherSection(s *cfgSection) *block {
	why := sectionKinds[s.kind]
	b := &block{comments: []note{c.untranslated(s.head, why)}}
	for _, l := range s.lines {
		b.comments = append(b.comments, c.untranslated(l, "inside "+s.kind+" "+s.name))
	}
	return b
}

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
	addrs []string
	tls   *tlsSpec // nil: plain
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
	"cookie":               reasonPersist,
	"send-proxy":           "lb does not send the PROXY protocol",
	"send-proxy-v2":        "lb does not send the PROXY protocol",
	"send-proxy-v2-ssl":    "lb does not send the PROXY protocol",
	"send-proxy-v2-ssl-cn": "lb does not send the PROXY protocol",
	"disabled":             "set the server's state with the runtime API (POST /api/backends/B/servers/S/state)",
	"fastinter":            "lb checks at one interval",
	"downinter":            "lb checks at one interval",
	"port":                 "lb checks the server's own address and port",
	"addr":                 "lb checks the server's own address and port",
	"slowstart":            "lb has no slow start",
	"agent-check":          "lb has no agent checks",
	"track":                "lb checks each server itself",
	"pool-max-conn":        "lb sets it per backend (pool_max_conn)",
	"pool-purge-delay":     "lb sets it per backend (pool_purge_delay)",
	"alpn":                 "lb speaks HTTP/1.1 to servers",
	"verifyhost":           "lb verifies the name in tls.sni, else the server's host",
	"id":                   "lb names servers; numeric ids are not kept",
	"resolvers":            "lb has no resolvers section",
	"init-addr":            "lb has no resolvers section",
	"check-send-proxy":     "lb does not send the PROXY protocol",
}

// serverOptions applies server options w (from a server or default-server
// line) to sp and returns the options it could not translate, each with
// why.
func (p *proxy) serverOptions(sp *serverParams, w []string) (dropped []string) {
	c := p.c
	for i := 0; i < len(w); i++ {
		k, arg := w[i], ""
		if serverArgs[k] {
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
		default:
			why := serverReasons[k]
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
	"accept-proxy":          "lb does not read the PROXY protocol",
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
	ts, ssl := &tlsSpec{}, false
	var dropped []string
	for i := 2; i < len(w); i++ {
		k, arg := w[i], ""
		if bindArgs[k] {
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
					dropped = append(dropped, "h2 in alpn "+arg+": lb does not speak HTTP/2 yet (kept http/1.1)")
				default:
					dropped = append(dropped, proto+" in alpn "+arg+": lb offers http/1.1 only")
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
		case "v4v6", "tfo", "defer-accept":
			// lb's [::] listeners are dual-stack; the others change no behaviour a client sees.
		default:
			why := bindReasons[k]
			if why == "" {
				why = "no lb equivalent"
			}
			drop(why)
		}
	}
	spec := bindSpec{addrs: addrs}
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
	case "allow":
		return nil, errors.New("lb has no allow rule (an allow stops the evaluation of the rules after it)")
	default:
		return nil, fmt.Errorf("http-%s %s: lb's rules set, add and delete headers, redirect, deny and return",
			map[bool]string{true: "response", false: "request"}[response], act)
	}
	t["action"] = quote(act)
	return t, nil
}

// ---------------------------------------------------------------------
// Conditions

// match is one alternative of a translated condition; empty fields match
// anything, so the zero match always holds.
type match struct{ host, path, sni string }

// atom is a translated acl: alternatives, or ssl_fc, which holds on TLS
// frontends only.
type atom struct {
	alts  []match
	sslfc bool
	note  string // a caveat of the translation, "" if none
}

// eval returns a's alternatives on a plain (tls false) or TLS frontend.
func (a atom) eval(tls bool) []match {
	if a.sslfc {
		if tls {
			return []match{{}}
		}
		return nil
	}
	return a.alts
}

// aclDef is one acl line.
type aclDef struct {
	l   cfgLine
	a   atom
	err error
}

const aclKinds = "lb matches the host (hdr(host), hdr_dom(host)), the path prefix (path_beg), ssl_fc and, in tcp mode, the TLS server name (req.ssl_sni)"

// parseACL translates an acl's criterion, flags and values (an acl line
// without "acl NAME", or an anonymous { ... } acl).
func parseACL(w []string) (atom, error) {
	if len(w) == 0 {
		return atom{}, errors.New("empty acl")
	}
	crit := strings.ToLower(w[0])
	kind, method := "", ""
	switch crit {
	case "path_beg":
		kind, method = "path", "beg"
	case "path":
		kind = "path"
	case "hdr(host)", "req.hdr(host)", "req.fhdr(host)":
		kind = "host"
	case "hdr_dom(host)", "req.hdr_dom(host)":
		kind, method = "host", "dom"
	case "req.ssl_sni", "req_ssl_sni":
		kind = "sni"
	case "ssl_fc", "always_true", "always_false":
		if len(w) > 1 {
			return atom{}, fmt.Errorf("%s takes no value", w[0])
		}
		switch crit {
		case "ssl_fc":
			return atom{sslfc: true}, nil
		case "always_true":
			return atom{alts: []match{{}}}, nil
		}
		return atom{}, nil
	default:
		return atom{}, fmt.Errorf("%s: %s", w[0], aclKinds)
	}
	icase, i := false, 1
flags:
	for ; i < len(w); i++ {
		switch w[i] {
		case "-i":
			icase = true
		case "-m":
			if i+1 == len(w) || method != "" && w[i+1] != method {
				return atom{}, fmt.Errorf("%s -m: %s", w[0], aclKinds)
			}
			i++
			method = w[i]
		case "--":
			i++
			break flags
		default:
			if strings.HasPrefix(w[i], "-") {
				return atom{}, fmt.Errorf("flag %s: lb matches literal values written in the rule", w[i])
			}
			break flags
		}
	}
	values := w[i:]
	if len(values) == 0 {
		return atom{}, fmt.Errorf("%s: no value to match", w[0])
	}
	var a atom
	for _, v := range values {
		switch kind {
		case "path":
			switch {
			case method != "beg":
				return atom{}, fmt.Errorf("%s: lb matches path prefixes (path_beg)", strings.Join(w, " "))
			case icase:
				return atom{}, errors.New("path_beg -i: lb's path_prefix is case-sensitive")
			case !strings.HasPrefix(v, "/"):
				return atom{}, fmt.Errorf("path_beg %s: lb's path_prefix starts with /", v)
			}
			a.alts = append(a.alts, match{path: v})
		case "host", "sni":
			switch {
			case method != "" && method != "str" && !(kind == "host" && method == "dom"):
				return atom{}, fmt.Errorf("%s -m %s: lb compares whole names", w[0], method)
			case strings.ContainsAny(v, ":/ *"):
				return atom{}, fmt.Errorf("%s: lb compares a name, without a port", v)
			}
			if kind == "sni" {
				a.alts = append(a.alts, match{sni: v})
			} else {
				a.alts = append(a.alts, match{host: v})
			}
		}
	}
	if method == "dom" {
		a.note = "note: hdr_dom(host) also matched subdomains (www." + values[0] + "); lb's host matches the exact name"
	}
	return a, nil
}

// mergeMatch is the alternative that holds when both a and b hold; false
// when none can (two different hosts, two unrelated path prefixes).
func mergeMatch(a, b match) (match, bool) {
	one := func(x, y string) (string, bool) {
		if x == "" || strings.EqualFold(x, y) {
			return y, true
		}
		return x, y == ""
	}
	var ok1, ok2, ok3 bool
	var m match
	m.host, ok1 = one(a.host, b.host)
	m.sni, ok2 = one(a.sni, b.sni)
	switch {
	case strings.HasPrefix(a.path, b.path):
		m.path, ok3 = a.path, true
	case strings.HasPrefix(b.path, a.path):
		m.path, ok3 = b.path, true
	}
	return m, ok1 && ok2 && ok3
}

// overlap reports whether one request could match both a and b.
func overlap(a, b match) bool { _, ok := mergeMatch(a, b); return ok }

// cond translates a condition (words from "if" or "unless"; none means
// always) for a plain (tls false) or TLS frontend into alternatives, in
// which any one holding makes the condition hold: nil never holds, a
// single zero match always does. It returns the caveats of the
// translation, or why the condition cannot be translated: lb conditions
// match and cannot negate a match, so ! and unless apply only to what
// is constant on one frontend (ssl_fc, TRUE, FALSE).
func (p *proxy) cond(words []string, tls bool) ([]match, []string, error) {
	if len(words) == 0 {
		return []match{{}}, nil, nil
	}
	unless := words[0] == "unless"
	words = words[1:]
	if len(words) == 0 {
		return nil, nil, errors.New("empty condition")
	}
	var alts []match
	var notes []string
	var terms [][]string
	start := 0
	for i, w := range words {
		if w == "||" || w == "or" {
			terms, start = append(terms, words[start:i]), i+1
		}
	}
	terms = append(terms, words[start:])
	for _, term := range terms {
		if len(term) == 0 {
			return nil, nil, errors.New("an empty term in the condition")
		}
		cur := []match{{}}
		for i := 0; i < len(term); i++ {
			w, neg := term[i], false
			for {
				for strings.HasPrefix(w, "!") {
					neg, w = !neg, w[1:]
				}
				if w != "" || i+1 == len(term) {
					break
				}
				i++
				w = term[i]
			}
			var a atom
			name := w
			switch {
			case w == "":
				return nil, nil, errors.New("a ! without an acl")
			case w == "{":
				j := i + 1
				for j < len(term) && term[j] != "}" {
					j++
				}
				if j == len(term) {
					return nil, nil, errors.New("an anonymous acl without its closing }")
				}
				var err error
				if a, err = parseACL(term[i+1 : j]); err != nil {
					return nil, nil, err
				}
				name = "{ " + strings.Join(term[i+1:j], " ") + " }"
				i = j
			case w == "TRUE":
				a = atom{alts: []match{{}}}
			case w == "FALSE":
			default:
				defs := p.acls[w]
				if len(defs) == 0 {
					return nil, nil, fmt.Errorf("acl %s: not defined in this section or one of HAProxy's predefined acls; %s", w, aclKinds)
				}
				for _, d := range defs {
					if d.err != nil {
						return nil, nil, fmt.Errorf("acl %s (line %d) is not translated", w, d.l.num)
					}
					a.sslfc = a.sslfc || d.a.sslfc
					a.alts = append(a.alts, d.a.alts...)
					if d.a.note != "" {
						a.note = d.a.note
					}
				}
				if a.sslfc && len(a.alts) > 0 {
					return nil, nil, fmt.Errorf("acl %s mixes ssl_fc with matches", w)
				}
			}
			if a.note != "" {
				notes = append(notes, a.note)
			}
			v := a.eval(tls)
			if neg {
				switch {
				case len(v) == 0:
					v = []match{{}}
				case alwaysHolds(v):
					v = nil
				default:
					return nil, nil, fmt.Errorf("!%s: lb's conditions cannot negate a match", name)
				}
			}
			var next []match
			for _, x := range cur {
				for _, y := range v {
					if m, ok := mergeMatch(x, y); ok {
						next = append(next, m)
					}
				}
			}
			cur = next
		}
		alts = append(alts, cur...)
	}
	alts = simplify(alts)
	if unless {
		switch {
		case len(alts) == 0:
			alts = []match{{}}
		case alwaysHolds(alts):
			alts = nil
		default:
			return nil, nil, errors.New("unless: lb's conditions cannot negate a match")
		}
	}
	if len(alts) > 16 {
		return nil, nil, fmt.Errorf("the condition expands to %d alternatives; lb would need one rule each", len(alts))
	}
	return alts, notes, nil
}

// alwaysHolds reports whether alternatives alts hold for every request.
func alwaysHolds(alts []match) bool { return len(alts) == 1 && alts[0] == match{} }

// simplify drops duplicate alternatives; any that always holds makes the
// whole always hold.
func simplify(alts []match) []match {
	var out []match
	seen := map[match]bool{}
	for _, m := range alts {
		if m == (match{}) {
			return []match{{}}
		}
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

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
	name  string
	tls   *tlsSpec
	binds []string
	t     *tomlTable
	extra []*tomlTable // timeout, tls
	items []*tomlTable // routes and rules
}

// finishFrontend writes the frontend side: one lb frontend per set of TLS
// settings among its binds (lb has one tls table per frontend). split
// describes a split, "" if none.
func (p *proxy) finishFrontend() ([]*tomlTable, string) {
	c, fe, name := p.c, p.fe, p.sec.name
	var vs []*variant
	byKey := map[string]*variant{}
	for _, b := range fe.binds {
		k := b.tls.key()
		v := byKey[k]
		if v == nil {
			v = &variant{tls: b.tls}
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
			for n := 1; ; n++ {
				v.name = name + "_tls"
				if n > 1 {
					v.name += strconv.Itoa(n)
				}
				if !c.names["frontend."+v.name] && !p.reserved["frontend."+v.name] {
					break
				}
			}
			c.names["frontend."+v.name] = true
			if split == "" {
				split = "lb has one tls table per frontend: binds with other TLS settings are in [frontend." + tomlKey(v.name) + "]"
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
		v.t = &tomlTable{header: "[frontend." + tomlKey(v.name) + "]", keys: kv, order: frontendOrder}
		if len(timeout) > 0 {
			v.extra = append(v.extra, &tomlTable{header: "[frontend." + tomlKey(v.name) + ".timeout]", keys: timeout, order: timeoutOrder})
		}
		if ts := v.tls; ts != nil {
			tt := table{"cert": quoteList(ts.certs)}
			if len(ts.alpn) > 0 {
				tt["alpn"] = quoteList(ts.alpn)
			}
			if ts.minVersion != "" {
				tt["min_version"] = quote(ts.minVersion)
			}
			if ts.verify != "" {
				tt["verify"], tt["ca"] = quote(ts.verify), quote(ts.ca)
			}
			v.extra = append(v.extra, &tomlTable{header: "[frontend." + tomlKey(v.name) + ".tls]", keys: tt, order: feTLSOrder})
		}
	}
	if keys["default_backend"] == "" {
		vs[0].t.notes = append(vs[0].t.notes, note{p.sec.head.num, "# lb requires default_backend: HAProxy answered 503 to what no use_backend matched; name a backend here"})
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
				if m.host != "" {
					t["host"] = quote(m.host)
				}
				if m.path != "" {
					t["path_prefix"] = quote(m.path)
				}
				if m.sni != "" {
					t["sni"] = quote(m.sni)
				}
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
			if h.method != "" {
				ht["method"] = quote(h.method)
			}
			if h.path != "" {
				ht["path"] = quote(h.path)
			}
		}
		if h.expect != "" && h.http {
			ht["expect_status"] = quote(h.expect)
		}
		if first.p.inter != "" {
			ht["interval"] = quote(first.p.inter)
		}
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
		if sp.ca != "" {
			tt["ca"] = quote(sp.ca)
		}
		if sp.sni != "" {
			tt["sni"] = quote(sp.sni)
		}
		if sp.crt != "" {
			tt["cert"] = quote(sp.crt)
		}
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
	frontendOrder = []string{"bind", "mode", "default_backend", "maxconn", "inspect_delay", "forwarded_for"}
	feTLSOrder    = []string{"cert", "alpn", "min_version", "verify", "ca"}
	routeOrder    = []string{"host", "path_prefix", "sni", "backend"}
	ruleOrder     = []string{"host", "path_prefix", "action", "name", "value", "location", "scheme", "status", "body", "content_type"}
	backendOrder  = []string{"balance", "hash_type", "hash_balance_factor", "retries", "redispatch", "pool_max_conn"}
	beTLSOrder    = []string{"verify", "ca", "sni", "cert"}
	healthOrder   = []string{"kind", "method", "path", "expect_status", "interval", "timeout", "rise", "fall"}
	serverOrder   = []string{"name", "address", "weight", "backup", "maxconn"}
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
