package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration: a syntax error, an
// unknown key, a value of the wrong type, or a rule Validate enforces.
type Problem struct {
	// Path is the key path the problem is about, written as in the file with
	// 0-based array indexes: "backend.app.server[1].address". It is empty
	// for a syntax error and for problems about the configuration as a whole.
	Path string
	// File is the file the line is in. It is set only when the configuration
	// was read from more than one file; otherwise it is "".
	File string
	// Line is the 1-based line of the key, or of the table header that
	// would hold it when the key is absent. 0 means unknown (for instance a
	// *Config that was built in Go rather than parsed).
	Line int
	// Msg says what is wrong, lowercase, without the path or line.
	Msg string
}

// String formats the problem the way `lb -c` prints it:
//
//	backend.app.server[1].address: invalid address "10.0.0.x": missing port (line 23)
//
// The path is left out when empty, the location when unknown, and the file
// name is included (as "(conf.d/b.toml line 23)") only when File is set.
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if loc := location(p.File, p.Line); loc != "" {
		b.WriteString(" (")
		b.WriteString(loc)
		b.WriteString(")")
	}
	return b.String()
}

// location formats a file and line as "line 23" or "b.toml line 23"; it
// returns "" when the line is unknown.
func location(file string, line int) string {
	switch {
	case line <= 0:
		return ""
	case file == "":
		return fmt.Sprintf("line %d", line)
	default:
		return fmt.Sprintf("%s line %d", file, line)
	}
}

// Error is the error Load, Parse and Validate return when a configuration is
// not usable. It lists every problem found, ordered by file and line.
// Problems is never empty.
type Error struct {
	Problems []Problem
}

// Error returns the problems, one per line, each formatted by
// Problem.String. There is no trailing newline.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
