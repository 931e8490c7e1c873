package main

// Conditions: acls and if/unless expressions, as routes and rules (part of lb convert: convert.go)

import (
	"errors"
	"fmt"
	"strings"
)

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
