package backend

import (
	"strconv"
	"sync/atomic"
)

// CodeClass is the class of an HTTP status code, as HAProxy's
// http_responses_total{code} label spells it.
type CodeClass uint8

// The status classes.
const (
	Code1xx CodeClass = iota
	Code2xx
	Code3xx
	Code4xx
	Code5xx
	CodeOther      // outside 100..599
	NumCodeClasses // sentinel: the number of classes
)

var codeClassNames = [...]string{
	Code1xx: "1xx", Code2xx: "2xx", Code3xx: "3xx", Code4xx: "4xx", Code5xx: "5xx", CodeOther: "other",
}

// ClassOf returns the class of an HTTP status code.
func ClassOf(status int) CodeClass {
	if status < 100 || status > 599 {
		return CodeOther
	}
	return CodeClass(status/100 - 1)
}

// String returns "1xx".."5xx" or "other".
func (c CodeClass) String() string {
	if int(c) < len(codeClassNames) {
		return codeClassNames[c]
	}
	return "CodeClass(" + strconv.Itoa(int(c)) + ")"
}

// ResponseCodes counts HTTP responses by status class. The zero value is
// ready for use. Add is lock-free and allocation-free.
type ResponseCodes struct {
	// counts[c] counts responses of class c. atomic: written by the
	// session, read by the metrics collector.
	counts [NumCodeClasses]atomic.Uint64
}

// Add counts one response with the given status code.
func (r *ResponseCodes) Add(status int) { r.counts[ClassOf(status)].Add(1) }

// Load returns the responses counted in class c.
func (r *ResponseCodes) Load(c CodeClass) uint64 { return r.counts[c].Load() }
