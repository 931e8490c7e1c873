package config

import (
	"encoding"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The TOML library stops at the first value it cannot store, and we want
// every problem at once. So the document is parsed into plain maps (which
// cannot fail once the syntax is right) and copied into the schema by the
// small strict decoder below, which reports and skips what does not fit:
// unknown keys, wrong types, bad durations. It follows the `toml` struct
// tags of types.go, exactly (no case folding).

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[Duration]()
	sizeType            = reflect.TypeFor[Size]()
)

// decoder copies a parsed document into a *Config.
type decoder struct {
	r   *report
	set map[string]bool // receives every path written in the document
}

// decode copies the document m into c. Every key path it meets is added to
// r.src.set; every problem is added to r. Values that do not fit are left
// zero.
func decode(m map[string]any, c *Config, r *report) {
	d := decoder{r: r, set: r.src.set}
	d.table("", m, reflect.ValueOf(c).Elem())
}

// table copies the TOML table m into the struct v, at path.
func (d *decoder) table(path string, m map[string]any, v reflect.Value) {
	fields := tomlFields(v.Type())
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := joinKey(path, k)
		i, ok := fields[k]
		if !ok {
			d.r.decodeProblem(p, "unknown key%s", didYouMean(k, slices.Collect(maps.Keys(fields))))
			continue
		}
		d.value(p, m[k], v.Field(i))
	}
}

// value stores the TOML value raw (as produced by the toml package: string,
// int64, float64, bool, time.Time, []any, []map[string]any or
// map[string]any) into v, which must be settable.
func (d *decoder) value(path string, raw any, v reflect.Value) {
	d.set[path] = true
	if n, ok := raw.(int64); ok && v.Type() == sizeType {
		if n < 0 {
			d.r.decodeProblem(path, "negative size %d", n)
			return
		}
		v.SetInt(n)
		return
	}
	if v.Addr().Type().Implements(textUnmarshalerType) {
		s, ok := raw.(string)
		if !ok {
			d.mismatch(path, raw, v.Type())
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.r.decodeProblem(path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s, ok := raw.(string); ok {
			v.SetString(s)
			return
		}
	case reflect.Int:
		if n, ok := raw.(int64); ok {
			if v.OverflowInt(n) {
				d.r.decodeProblem(path, "%d is out of range", n)
				return
			}
			v.SetInt(n)
			return
		}
	case reflect.Bool:
		if b, ok := raw.(bool); ok {
			v.SetBool(b)
			return
		}
	case reflect.Slice:
		var elems []any
		switch a := raw.(type) {
		case []any:
			elems = a
		case []map[string]any:
			for _, e := range a {
				elems = append(elems, e)
			}
		default:
			d.mismatch(path, raw, v.Type())
			return
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			d.value(indexKey(path, i), e, s.Index(i))
		}
		v.Set(s)
		return
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(path, raw, p.Elem())
		v.Set(p)
		return
	case reflect.Struct:
		if m, ok := raw.(map[string]any); ok {
			d.table(path, m, v)
			return
		}
	case reflect.Map:
		if m, ok := raw.(map[string]any); ok {
			mv := reflect.MakeMapWithSize(v.Type(), len(m))
			for _, k := range slices.Sorted(maps.Keys(m)) {
				e := reflect.New(v.Type().Elem()).Elem()
				d.value(joinKey(path, k), m[k], e)
				mv.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
			}
			v.Set(mv)
			return
		}
	}
	d.mismatch(path, raw, v.Type())
}

func (d *decoder) mismatch(path string, raw any, t reflect.Type) {
	d.r.decodeProblem(path, "want %s, got %s", wantType(t), gotType(raw))
}

// tomlFields maps the TOML key of each exported field of struct type t to
// the field's index. Fields tagged `toml:"-"` are left out.
func tomlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
	}
	return fields
}

// wantType names what a value of Go type t is written as in TOML.
func wantType(t reflect.Type) string {
	if t == durationType {
		return `a duration string such as "5s"`
	}
	if t == sizeType {
		return `a size in bytes or a string such as "10m"`
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		e := t.Elem()
		if e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		switch e.Kind() {
		case reflect.Struct:
			return "an array of tables"
		case reflect.String:
			return "an array of strings"
		}
		return "an array"
	case reflect.Pointer:
		return wantType(t.Elem())
	}
	return "a table"
}

// gotType describes a decoded TOML value: its type and, for scalars, the
// value as written.
func gotType(raw any) string {
	switch v := raw.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "datetime"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	}
	return "unknown type"
}

// didYouMean returns `; did you mean "x"?` naming the candidate closest to
// key, or "" when none is close (more than 2 edits, or as many edits as key
// has characters). The comparison ignores case.
func didYouMean(key string, candidates []string) string {
	if len(key) > 64 { // no key is that long; spare the quadratic work
		return ""
	}
	candidates = slices.Sorted(slices.Values(candidates)) // ties go to the first in order
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(key), c); d < bestDist && d < len(key) {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + strconv.Quote(best) + "?"
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions, on
// bytes.
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
