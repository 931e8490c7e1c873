package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// source remembers where a Config came from, so that problems found after
// decoding (by Validate) can name a line, and applyDefaults can tell unset
// keys from zero values. A Config built in Go has none (a nil *source, on
// which every method works), and its problems carry no line.
type source struct {
	// files are the file names in load order.
	files []string
	// where maps a key path (in the merged document) to the place it is
	// first defined.
	where map[string]position
	// set holds every key path defined in the files: the tables, the keys,
	// the array elements. applyDefaults reads it to tell "unset" from zero.
	set map[string]bool
	// origin maps an inherited key path to the path its value came from:
	// "backend.app.balance" -> "defaults.balance". Problems about an
	// inherited value are reported at the origin, once.
	origin map[string]string
}

// position is a place in one of the source files.
type position struct {
	file int // index in source.files
	line int // 1-based
}

func newSource(files []string) *source {
	return &source{
		files:  files,
		where:  make(map[string]position),
		set:    make(map[string]bool),
		origin: make(map[string]string),
	}
}

// isSet reports whether path was written in the files.
func (s *source) isSet(path string) bool { return s != nil && s.set[path] }

// inherit records that path took its value from origin.
func (s *source) inherit(path, origin string) {
	if s != nil {
		s.origin[path] = origin
	}
}

// locate returns the position of path, or of its closest enclosing table
// when the key itself is absent. ok is false when nothing is known.
func (s *source) locate(path string) (pos position, ok bool) {
	if s == nil {
		return position{}, false
	}
	for p := path; ; p = parentKey(p) {
		if pos, ok := s.where[p]; ok {
			return pos, true
		}
		if p == "" {
			return position{}, false
		}
	}
}

// describe formats the position of path for use inside a message:
// "line 12" or "a.toml line 12"; "" when unknown.
func (s *source) describe(path string) string {
	pos, ok := s.locate(path)
	if !ok {
		return ""
	}
	file := ""
	if len(s.files) > 1 {
		file = s.files[pos.file]
	}
	return location(file, pos.line)
}

// report collects problems; its err method returns them as one *Error.
type report struct {
	src  *source
	list []entry
	// decoded holds the paths that failed to decode. Validation problems at
	// or under one of them are dropped: a value that could not be read
	// would only be reported again as missing or zero.
	decoded []string
}

type entry struct {
	Problem
	file int // index in src.files, -1 if unknown
}

func newReport(src *source) *report { return &report{src: src} }

// at adds a problem at an explicit position, for problems found before the
// key paths are known (syntax errors).
func (r *report) at(file, line int, path, format string, args ...any) {
	r.list = append(r.list, entry{Problem{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}, file})
}

// decodeProblem adds a problem found while decoding the value at path.
func (r *report) decodeProblem(path, format string, args ...any) {
	r.add(path, format, args...)
	r.decoded = append(r.decoded, path)
}

// add adds a problem about path, located at path's line (or its table's).
// An inherited path is reported at its origin.
func (r *report) add(path, format string, args ...any) {
	if r.src != nil {
		if o, ok := r.src.origin[path]; ok {
			path = o
		}
	}
	for _, d := range r.decoded {
		if path == d || strings.HasPrefix(path, d+".") || strings.HasPrefix(path, d+"[") {
			return
		}
	}
	e := entry{Problem{Path: path, Msg: fmt.Sprintf(format, args...)}, -1}
	if pos, ok := r.src.locate(path); ok {
		e.file, e.Line = pos.file, pos.line
	}
	r.list = append(r.list, e)
}

// err returns nil if no problem was reported, else an *Error holding them
// sorted by file and line (problems of unknown place first), duplicates
// removed.
func (r *report) err() error {
	if len(r.list) == 0 {
		return nil
	}
	slices.SortStableFunc(r.list, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.Line, b.Line))
	})
	multi := r.src != nil && len(r.src.files) > 1
	e := &Error{Problems: make([]Problem, 0, len(r.list))}
	seen := make(map[Problem]bool)
	for _, en := range r.list {
		p := en.Problem
		if multi && en.file >= 0 {
			p.File = r.src.files[en.file]
		}
		if !seen[p] {
			seen[p] = true
			e.Problems = append(e.Problems, p)
		}
	}
	return e
}

// written reports whether the document set the key path p (false for a
// Config built in Go).
func (r *report) written(p string) bool { return r.src != nil && r.src.set[p] }
