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
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
