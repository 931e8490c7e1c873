package main

// Reading haproxy.cfg: lines, sections, words, times and addresses (part of lb convert: convert.go)

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

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
