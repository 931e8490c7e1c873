package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The TOML decoder does not expose where a key was defined, so this file
// holds a small scanner that maps key paths to 1-based line numbers. It runs
// only on input the TOML parser has already accepted; on anything else it
// must still terminate and not panic, but its answers may be incomplete.
//
// Paths are written as Problem.Path documents: segments joined by ".",
// segments that are not bare keys quoted, 0-based array indexes in brackets:
//
//	backend.app.server[1].address
//	frontend."my site".bind[0]

// indexLines returns the line of every key path defined in src: plain and
// dotted keys, table headers ([a.b]), array-table headers ([[a.b]], both as
// "a.b" for the first header and "a.b[i]" for each element), array elements
// ("a.bind[1]") and keys inside inline tables. A path maps to the line where
// it first appears; a table created implicitly (by [a.b.c] or a.b.c = 1)
// maps to that first line.
func indexLines(src string) map[string]int {
	x := &lineScanner{
		s:      strings.TrimPrefix(src, "\uFEFF"),
		line:   1,
		lines:  make(map[string]int),
		arrays: make(map[string]int),
	}
	x.document()
	return x.lines
}

type lineScanner struct {
	s     string
	i     int // read offset in s
	line  int // line of s[i]
	lines map[string]int
	// arrays counts the elements of each array table seen so far, keyed by
	// its resolved path ("backend.app.server").
	arrays map[string]int
}

func (x *lineScanner) eof() bool { return x.i >= len(x.s) }

func (x *lineScanner) record(path string) {
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = x.line
	}
}

// next consumes one byte, counting lines.
func (x *lineScanner) next() {
	if x.s[x.i] == '\n' {
		x.line++
	}
	x.i++
}

// skipBlank skips spaces and tabs.
func (x *lineScanner) skipBlank() {
	for !x.eof() && (x.s[x.i] == ' ' || x.s[x.i] == '\t') {
		x.i++
	}
}

// skipSpace skips whitespace, newlines and comments.
func (x *lineScanner) skipSpace() {
	for !x.eof() {
		switch x.s[x.i] {
		case ' ', '\t', '\r', '\n':
			x.next()
		case '#':
			for !x.eof() && x.s[x.i] != '\n' {
				x.i++
			}
		default:
			return
		}
	}
}

// skipLine skips to the start of the next line.
func (x *lineScanner) skipLine() {
	for !x.eof() && x.s[x.i] != '\n' {
		x.i++
	}
	if !x.eof() {
		x.next()
	}
}

func (x *lineScanner) document() {
	prefix := ""
	for {
		x.skipSpace()
		if x.eof() {
			return
		}
		if x.s[x.i] == '[' {
			prefix = x.header()
			continue
		}
		start := x.i
		x.keyValue(prefix)
		if x.i == start { // not a key: never loop on the same byte
			x.skipLine()
		}
	}
}

// header reads a [table] or [[array table]] header line and returns the
// resolved path that following keys are relative to.
func (x *lineScanner) header() string {
	x.i++ // '['
	array := !x.eof() && x.s[x.i] == '['
	if array {
		x.i++
	}
	x.skipBlank()
	segs := x.key()
	path := ""
	for k, seg := range segs {
		path = joinKey(path, seg)
		if k == len(segs)-1 && array {
			n := x.arrays[path]
			x.arrays[path] = n + 1
			x.record(path)
			path = indexKey(path, n)
		} else if n, ok := x.arrays[path]; ok {
			path = indexKey(path, n-1)
		}
		x.record(path)
	}
	x.skipLine()
	return path
}

// keyValue reads "key = value" relative to prefix.
func (x *lineScanner) keyValue(prefix string) {
	segs := x.key()
	if len(segs) == 0 {
		return
	}
	path := prefix
	for _, seg := range segs {
		path = joinKey(path, seg)
		x.record(path)
	}
	x.skipBlank()
	if !x.eof() && x.s[x.i] == '=' {
		x.i++
		x.skipBlank()
		x.value(path)
	}
}

// key reads a possibly dotted key and returns its segments, unquoted.
func (x *lineScanner) key() []string {
	var segs []string
	for !x.eof() {
		x.skipBlank()
		if x.eof() {
			break
		}
		switch c := x.s[x.i]; {
		case c == '"':
			segs = append(segs, x.basicString())
		case c == '\'':
			segs = append(segs, x.literalString())
		default:
			start := x.i
			for !x.eof() && !strings.ContainsRune(" \t\r\n=.[]#,{}\"'", rune(x.s[x.i])) {
				x.i++
			}
			if x.i == start {
				return segs
			}
			segs = append(segs, x.s[start:x.i])
		}
		x.skipBlank()
		if x.eof() || x.s[x.i] != '.' {
			break
		}
		x.i++
	}
	return segs
}

// value skips one value, recording array elements and inline-table keys
// under path.
func (x *lineScanner) value(path string) {
	if x.eof() {
		return
	}
	switch x.s[x.i] {
	case '"':
		if strings.HasPrefix(x.s[x.i:], `"""`) {
			x.multilineString(`"""`, true)
		} else {
			x.basicString()
		}
	case '\'':
		if strings.HasPrefix(x.s[x.i:], `'''`) {
			x.multilineString(`'''`, false)
		} else {
			x.literalString()
		}
	case '[':
		x.i++
		for n := 0; ; {
			x.skipSpace()
			if x.eof() {
				return
			}
			switch x.s[x.i] {
			case ']':
				x.i++
				return
			case ',':
				x.i++
			default:
				elem := indexKey(path, n)
				n++
				x.record(elem)
				start := x.i
				x.value(elem)
				if x.i == start {
					x.i++
				}
			}
		}
	case '{':
		x.i++
		for {
			x.skipSpace()
			if x.eof() {
				return
			}
			switch x.s[x.i] {
			case '}':
				x.i++
				return
			case ',':
				x.i++
			default:
				start := x.i
				x.keyValue(path)
				if x.i == start {
					x.i++
				}
			}
		}
	default:
		x.scalar()
	}
}

// scalar skips a number, boolean or date-time. An offset date-time may
// separate date and time with a space: "1979-05-27 07:32:00Z".
func (x *lineScanner) scalar() {
	start := x.i
	for !x.eof() {
		c := x.s[x.i]
		if c == ' ' && x.i-start == 10 && x.s[start+4] == '-' && x.s[start+7] == '-' &&
			x.i+1 < len(x.s) && x.s[x.i+1] >= '0' && x.s[x.i+1] <= '9' {
			x.i++
			continue
		}
		if strings.IndexByte(" \t\r\n,]}#", c) >= 0 {
			break
		}
		x.i++
	}
}

// basicString reads a single-line "..." string and returns it unescaped.
func (x *lineScanner) basicString() string {
	x.i++ // opening quote
	var b strings.Builder
	for !x.eof() {
		c := x.s[x.i]
		switch {
		case c == '"':
			x.i++
			return b.String()
		case c == '\n':
			return b.String()
		case c == '\\' && x.i+1 < len(x.s):
			x.i++
			x.unescape(&b)
		default:
			b.WriteByte(c)
			x.i++
		}
	}
	return b.String()
}

// unescape decodes the escape sequence after a backslash (x.i is on the
// character following it).
func (x *lineScanner) unescape(b *strings.Builder) {
	c := x.s[x.i]
	x.i++
	width := 0
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'f':
		b.WriteByte('\f')
	case 'r':
		b.WriteByte('\r')
	case 'e':
		b.WriteByte(0x1b)
	case '"', '\\':
		b.WriteByte(c)
	case 'x':
		width = 2
	case 'u':
		width = 4
	case 'U':
		width = 8
	default:
		b.WriteByte('\\')
		b.WriteByte(c)
	}
	if width == 0 {
		return
	}
	if x.i+width > len(x.s) {
		b.WriteByte('\\')
		b.WriteByte(c)
		return
	}
	n, err := strconv.ParseUint(x.s[x.i:x.i+width], 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		b.WriteByte('\\')
		b.WriteByte(c)
		return
	}
	x.i += width
	b.WriteRune(rune(n))
}

// literalString reads a single-line '...' string.
func (x *lineScanner) literalString() string {
	x.i++
	start := x.i
	for !x.eof() && x.s[x.i] != '\'' && x.s[x.i] != '\n' {
		x.i++
	}
	s := x.s[start:x.i]
	if !x.eof() && x.s[x.i] == '\'' {
		x.i++
	}
	return s
}

// multilineString skips a multi-line string whose delimiter, delim, is a
// triple quote, counting lines. Up to two extra quotes may precede the
// closing delimiter.
func (x *lineScanner) multilineString(delim string, escapes bool) {
	x.i += 3
	for !x.eof() {
		if escapes && x.s[x.i] == '\\' {
			x.i++
			if !x.eof() {
				x.next()
			}
			continue
		}
		if strings.HasPrefix(x.s[x.i:], delim) {
			x.i += 3
			for k := 0; k < 2 && !x.eof() && x.s[x.i] == delim[0]; k++ {
				x.i++
			}
			return
		}
		x.next()
	}
}

// joinKey appends one key segment to a path, quoting it unless it is a bare
// key (A-Z a-z 0-9 _ -).
func joinKey(path, seg string) string {
	if !isBareKey(seg) {
		seg = strconv.Quote(seg)
	}
	if path == "" {
		return seg
	}
	return path + "." + seg
}

// indexKey appends a 0-based array index to a path: "bind" -> "bind[2]".
func indexKey(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parentKey returns the path of the table or array holding path, or "" at
// the top: "a.b[1].c" -> "a.b[1]" -> "a.b" -> "a" -> "".
func parentKey(path string) string {
	n := len(path)
	switch {
	case n == 0:
		return ""
	case path[n-1] == ']':
		if j := strings.LastIndexByte(path, '['); j >= 0 {
			return path[:j]
		}
		return ""
	case path[n-1] == '"' && n >= 2:
		// A quoted segment: find its opening quote, one not escaped.
		for j := n - 2; j >= 0; j-- {
			if path[j] != '"' {
				continue
			}
			k := j
			for k > 0 && path[k-1] == '\\' {
				k--
			}
			if (j-k)%2 == 0 {
				return strings.TrimSuffix(path[:j], ".")
			}
		}
		return ""
	default:
		if j := strings.LastIndexByte(path, '.'); j >= 0 {
			return path[:j]
		}
		return ""
	}
}
