package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Load reads the configuration from paths, applies defaults and validates
// it. Each path names a TOML file or a directory, whose *.toml files are
// read in lexical order (subdirectories are ignored). All the files are
// merged into one document: a table may be spread over several files and
// [[array tables]] (servers, routes) are appended in file order, but any
// other key may be defined only once.
//
// On success Load returns a configuration that is ready to use, with
// Files listing the files read. If the files could be read but are not a
// valid configuration, it returns nil and an *Error listing every problem.
// If a file cannot be read, it returns nil and an error wrapping the os
// package's (errors.Is(err, fs.ErrNotExist) works).
func Load(paths ...string) (*Config, error) {
	if len(paths) == 0 {
		return nil, errors.New("config: no configuration file given")
	}
	var files []file
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !fi.IsDir() {
			f, err := readFile(p)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			continue
		}
		entries, err := os.ReadDir(p) // sorted by name
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		n := len(files)
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
				continue
			}
			f, err := readFile(filepath.Join(p, e.Name()))
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		if len(files) == n {
			return nil, fmt.Errorf("config: no *.toml file in directory %s", p)
		}
	}
	return parse(files)
}

// Parse is Load for a single file already read: name is what Config.Files
// will hold, data its content. It returns the configuration, or nil and an
// *Error listing every problem.
func Parse(name string, data []byte) (*Config, error) {
	return parse([]file{{name, data}})
}

// file is one configuration file's name and content.
type file struct {
	name string
	data []byte
}

func readFile(path string) (file, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return file{}, fmt.Errorf("config: %w", err)
	}
	return file{path, data}, nil
}

// parse turns files into a Config: parse each (collecting syntax errors),
// merge them, decode strictly, apply defaults, validate.
func parse(files []file) (*Config, error) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	src := newSource(names)
	r := newReport(src)

	docs := make([]map[string]any, len(files))
	for i, f := range files {
		var m map[string]any
		if _, err := toml.Decode(string(f.data), &m); err != nil {
			var pe toml.ParseError
			if errors.As(err, &pe) {
				r.at(i, pe.Position.Line, "", "syntax error: %s", tomlMessage(pe.Message))
			} else {
				r.at(i, 0, "", "syntax error: %s", tomlMessage(err.Error()))
			}
			continue
		}
		docs[i] = m
	}
	if err := r.err(); err != nil {
		// With a file missing, the rest would be reported wrongly (unknown
		// backends, missing sections): stop at syntax errors.
		return nil, err
	}

	doc := make(map[string]any)
	for i, m := range docs {
		merge(r, src, doc, m, i, indexLines(string(files[i].data)))
	}

	c := &Config{Files: names, src: src}
	decode(doc, c, r)
	applyDefaults(c)
	c.validate(r)
	if err := r.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// merge adds document m, parsed from file number i with key lines lines,
// into doc, and records the position of its keys in src. Tables are merged
// key by key; arrays of tables are appended; any other key already in doc
// is reported as defined twice.
func merge(r *report, src *source, doc, m map[string]any, i int, lines map[string]int) {
	// offsets holds, for each array table appended to, the number of
	// elements doc had before: m's element k is doc's element offset+k.
	offsets := make(map[string]int)
	var walk func(path string, dst, add map[string]any)
	walk = func(path string, dst, add map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(add)) {
			p := joinKey(path, k)
			old, ok := dst[k]
			if !ok {
				dst[k] = add[k]
				continue
			}
			switch a := add[k].(type) {
			case map[string]any:
				if t, ok := old.(map[string]any); ok {
					walk(p, t, a)
					continue
				}
			case []map[string]any:
				if t, ok := old.([]map[string]any); ok {
					offsets[p] = len(t)
					dst[k] = append(t, a...)
					continue
				}
			}
			r.at(i, lines[p], p, "already defined%s", src.at(p, ""))
		}
	}
	walk("", doc, m)

	for p, line := range lines {
		p = rebase(p, offsets)
		if _, ok := src.where[p]; !ok {
			src.where[p] = position{i, line}
		}
	}
}

// rebase renumbers the array index in path that follows one of the array
// paths in offsets: with offsets["a.s"] = 2, "a.s[0].name" -> "a.s[2].name".
func rebase(path string, offsets map[string]int) string {
	for a, off := range offsets {
		rest, ok := strings.CutPrefix(path, a+"[")
		if !ok {
			continue
		}
		digits, tail, ok := strings.Cut(rest, "]")
		n, err := strconv.Atoi(digits)
		if !ok || err != nil {
			continue
		}
		return indexKey(a, n+off) + tail
	}
	return path
}

// tomlMessage adapts a message of the toml package to ours: lowercase
// first letter (unless the word is an acronym), no final period.
func tomlMessage(msg string) string {
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	r, n := utf8.DecodeRuneInString(msg)
	if r2, _ := utf8.DecodeRuneInString(msg[n:]); unicode.IsUpper(r) && !unicode.IsUpper(r2) {
		msg = string(unicode.ToLower(r)) + msg[n:]
	}
	return msg
}
