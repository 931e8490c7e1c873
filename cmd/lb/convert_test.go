package main

import (
	"bytes"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestConvertGolden (testdata/convert/*.toml)")

// convertInputs lists the golden inputs, testdata/convert/*.cfg.
func convertInputs(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "convert", "*.cfg"))
	if len(files) < 5 {
		t.Fatalf("found %d inputs in testdata/convert; want at least 5", len(files))
	}
	return files
}

// TestConvertGolden: `lb convert FILE` prints the golden translation of
// each testdata/convert/*.cfg (FILE.toml without the .cfg), and every
// translation passes `lb -c`, with the certificate and CA files it names
// created for the check.
func TestConvertGolden(t *testing.T) {
	for _, in := range convertInputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{"convert", in}, &out, &errOut, nil, nil); code != 0 || errOut.Len() != 0 {
				t.Fatalf("lb convert %s: exit %d, stderr %q; want 0 and nothing", in, code, errOut.String())
			}
			golden := strings.TrimSuffix(in, ".cfg") + ".toml"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run Convert -update to write it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("lb convert %s differs from %s (go test -run Convert -update rewrites it):\n%s", in, golden, lineDiff(string(want), got))
			}

			path := filepath.Join(t.TempDir(), "lb.toml")
			writeFile(t, path, withTestCerts(t, out.String()))
			var check, checkErr bytes.Buffer
			if code := run([]string{"-c", "-f", path}, &check, &checkErr, nil, nil); code != 0 {
				t.Errorf("lb -c on the translation of %s: exit %d:\n%s", in, code, checkErr.String())
			}
		})
	}
}

// certKey matches the keys of tls tables that name files lb -c reads.
var certKey = regexp.MustCompile(`^(cert|ca) = (.*)$`)

// withTestCerts returns conf with each file named by a tls table's cert
// or ca key replaced by a file of a test CA written in a temporary
// directory: certificates for "localhost" for cert, the CA's certificate
// for ca.
func withTestCerts(t *testing.T, conf string) string {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})))
	files := map[string]string{}
	lines := strings.Split(conf, "\n")
	for i, l := range lines {
		m := certKey.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, q := range regexp.MustCompile(`"[^"]*"`).FindAllString(m[2], -1) {
			name := strings.Trim(q, `"`)
			if files[m[1]+name] == "" {
				if m[1] == "ca" {
					files[m[1]+name] = caFile
				} else {
					files[m[1]+name] = ca.issue(t, dir, fmt.Sprintf("cert%d.pem", len(files)), false, time.Time{}, "localhost")
				}
			}
			lines[i] = strings.Replace(lines[i], q, fmt.Sprintf("%q", files[m[1]+name]), 1)
		}
	}
	return strings.Join(lines, "\n")
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  got:  %q\n  want: %q", i+1, gl, wl)
		}
	}
	return "(same lines)"
}

// TestConvertKeepsEveryLine: no input line is lost. Every line that is
// not blank or a comment is accounted for (translated, commented, or
// both), and every line or part of a line that is not translated appears
// in the output as "# FILE:LINE: <line> -- not translated: <why>".
func TestConvertKeepsEveryLine(t *testing.T) {
	for _, in := range convertInputs(t) {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(in)
		res := convertHAProxy(name, src)
		if len(res.Lines) == 0 {
			t.Errorf("%s: no lines read", name)
		}
		for _, n := range res.Lines {
			if !res.Handled[n] {
				t.Errorf("%s:%d: %q is neither translated nor commented", name, n, strings.Split(string(src), "\n")[n-1])
			}
		}
		for _, u := range res.Untranslated {
			want := fmt.Sprintf("# %s:%d: %s -- not translated: %s\n", name, u.Num, u.Text, u.Why)
			if !strings.Contains(res.TOML, want) {
				t.Errorf("%s: the output lacks %q", name, want)
			}
		}
	}
}

// TestConvertUnsupported: in unsupported.cfg, everything but the section
// heads, mode, default_backend and option tcp-check lines is reported as
// not translated (server lines with their dropped options), and the
// translation still loads.
func TestConvertUnsupported(t *testing.T) {
	in := filepath.Join("testdata", "convert", "unsupported.cfg")
	src, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	res := convertHAProxy("unsupported.cfg", src)
	untranslated := map[int]bool{}
	for _, u := range res.Untranslated {
		untranslated[u.Num] = true
	}
	translated := map[string]bool{"global": true, "defaults": true, "frontend": true, "backend": true, "mode": true, "default_backend": true}
	for i, l := range strings.Split(string(src), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || translated[f[0]] || l == "    option tcp-check" {
			continue
		}
		if !untranslated[i+1] {
			t.Errorf("unsupported.cfg:%d: %q is not reported as not translated", i+1, l)
		}
	}
}

// TestConvertWords: the line reader's quoting, escapes, comments and
// continuations.
func TestConvertWords(t *testing.T) {
	for _, tc := range []struct {
		in    string
		words []string
		cont  bool
		bad   bool
	}{
		{in: "  server s1 10.0.0.1:80   check  ", words: []string{"server", "s1", "10.0.0.1:80", "check"}},
		{in: `http-request set-header X "a b" # comment`, words: []string{"http-request", "set-header", "X", "a b"}},
		{in: `string 'it''s' "q\"uote" a\ b \x41`, words: []string{"string", "its", `q"uote`, "a b", "A"}},
		{in: `set-header X ""`, words: []string{"set-header", "X", ""}},
		{in: `bind :80 \`, words: []string{"bind", ":80"}, cont: true},
		{in: `regex ^/a$`, words: []string{"regex", "^/a$"}},
		{in: `server a ${HOST}:80`, bad: true},
		{in: `server a "$HOST:80"`, bad: true},
		{in: `string "open`, bad: true},
		{in: "# only a comment", words: nil},
	} {
		words, cont, bad := splitWords(tc.in)
		if fmt.Sprintf("%q", words) != fmt.Sprintf("%q", tc.words) && !tc.bad || cont != tc.cont || (bad != "") != tc.bad {
			t.Errorf("splitWords(%q) = %q, %v, %q; want %q, %v, bad %v", tc.in, words, cont, bad, tc.words, tc.cont, tc.bad)
		}
	}
}

// TestConvertTime: HAProxy times become lb durations in the largest exact
// unit; days become hours; a bare number is milliseconds.
func TestConvertTime(t *testing.T) {
	for in, want := range map[string]string{
		"5000": "5s", "250": "250ms", "30s": "30s", "90s": "90s", "120s": "2m", "1m": "1m",
		"1h": "1h", "1d": "24h", "2d": "48h", "0": "0s", "1500us": "1500us", "3000ms": "3s",
	} {
		if got, err := haproxyTime(in); err != nil || got != want {
			t.Errorf("haproxyTime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "5x", "-5s", "1.5s", "5 s"} {
		if got, err := haproxyTime(in); err == nil {
			t.Errorf("haproxyTime(%q) = %q; want an error", in, got)
		}
	}
}

// TestConvertConditions: acls and anonymous acls become alternatives of
// host, path prefix and sni; ssl_fc is constant per frontend; what lb
// cannot match or negate is refused.
func TestConvertConditions(t *testing.T) {
	p := newProxy(&converter{res: &conversion{Handled: map[int]bool{}}}, &cfgSection{kind: "frontend"}, nil)
	for name, def := range map[string]string{
		"api": "hdr(host) -i api.example.com", "static": "path_beg /static /img", "tls": "ssl_fc",
		"v2": "path -m beg /static/v2", "lan": "src 10.0.0.0/8",
	} {
		a, err := parseACL(strings.Fields(def))
		p.acls[name] = []*aclDef{{l: cfgLine{num: 7}, a: a, err: err}}
	}
	m := func(host, path, sni string) match { return match{host: host, path: path, sni: sni} }
	for _, tc := range []struct {
		cond string
		tls  bool
		want []match
		err  string
	}{
		{cond: "", want: []match{{}}},
		{cond: "if api", want: []match{m("api.example.com", "", "")}},
		{cond: "if api static", want: []match{m("api.example.com", "/static", ""), m("api.example.com", "/img", "")}},
		{cond: "if static v2", want: []match{m("", "/static/v2", "")}},
		{cond: "if api || static", want: []match{m("api.example.com", "", ""), m("", "/static", ""), m("", "/img", "")}},
		{cond: "if { hdr(host) a.com } { hdr(host) b.com }", want: nil},
		{cond: "if { req.ssl_sni -i x.example.com }", want: []match{m("", "", "x.example.com")}},
		{cond: "if tls", tls: true, want: []match{{}}},
		{cond: "if tls", want: nil},
		{cond: "unless tls", want: []match{{}}},
		{cond: "if !tls api", want: []match{m("api.example.com", "", "")}},
		{cond: "if ! tls api", tls: true, want: nil},
		{cond: "if !api", err: "cannot negate"},
		{cond: "unless api", err: "cannot negate"},
		{cond: "if lan", err: "acl lan (line 7) is not translated"},
		{cond: "if nope", err: "acl nope: not defined"},
		{cond: "if { path_end .php }", err: "path_end"},
		{cond: "if { path_beg -i /x }", err: "case-sensitive"},
		{cond: "if { hdr(host) a.com:8080 }", err: "without a port"},
		{cond: "if { path_beg /x", err: "closing }"},
	} {
		got, _, err := p.cond(strings.Fields(tc.cond), tc.tls)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("cond(%q) error %v; want one with %q", tc.cond, err, tc.err)
		case tc.err == "" && (err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want)):
			t.Errorf("cond(%q, tls %v) = %v, %v; want %v", tc.cond, tc.tls, got, err, tc.want)
		}
	}
}

// TestConvertCommand: lb convert exits 1 when the file cannot be read and
// 2 on a usage error, printing nothing on stdout.
func TestConvertCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"convert", filepath.Join(t.TempDir(), "missing.cfg")}, 1},
		{[]string{"convert"}, 2},
		{[]string{"convert", "a.cfg", "b.cfg"}, 2},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut, nil, nil); code != tc.code || out.Len() != 0 || errOut.Len() == 0 {
			t.Errorf("lb %q: exit %d, stdout %q, stderr %q; want %d, nothing, a message", tc.args, code, out.String(), errOut.String(), tc.code)
		}
	}
}

// FuzzConvert: whatever the input, lb convert does not panic, accounts
// for every line, and writes valid TOML (no table twice, every string
// and comment well formed). Seeds: the golden inputs and a few oddities.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "convert", "*.cfg"))
	for _, in := range files {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("frontend a\n bind :80\nfrontend a\n bind :81\nlisten a\nbackend\nfrontend \"x.y\\\"z\"\n bind :1 ssl crt a\n bind :2\nfrontend x.y\"z_tls\n"))
	f.Add([]byte("backend b\n server s \"\\x01\\n\":80 weight 300\n\xff\xfe # \x00\n acl a path_beg \\"))
	f.Add([]byte("defaults \nmode http\nfrontend 0\nhttp-request if"))
	f.Add([]byte("frontend 0\nbind :00\nbind :0 ssl crt 0\nbind :0 ssl crt 00"))
	f.Add([]byte("frontend 0\nbind\nstats enable"))
	f.Fuzz(func(t *testing.T, src []byte) {
		res := convertHAProxy("fuzz.cfg", src)
		var m map[string]any
		if _, err := toml.Decode(res.TOML, &m); err != nil {
			t.Fatalf("invalid TOML for %q: %v\n%s", src, err, res.TOML)
		}
		for _, n := range res.Lines {
			if !res.Handled[n] {
				t.Fatalf("line %d of %q is neither translated nor commented", n, src)
			}
		}
	})
}
