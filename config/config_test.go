package config_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lb-proxy/lb/config"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current output")

// TestBad parses each testdata/bad/*.toml and compares the error text with
// the .golden file beside it: exactly what `lb -c` prints to the user.
func TestBad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/bad/*.toml files (err %v)", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Parse(filepath.Base(file), data)
			if c != nil || err == nil {
				t.Fatalf("Parse(%s) = %v, %v; want nil, *config.Error", file, c, err)
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse(%s) error is %T; want *config.Error", file, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Parse(%s) errors:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
}

// load loads path or fails the test.
func load(t *testing.T, paths ...string) *config.Config {
	t.Helper()
	c, err := config.Load(paths...)
	if err != nil {
		t.Fatalf("Load(%q): %v", paths, err)
	}
	return c
}

func TestGoodFilesLoad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "good", "*.toml"))
	if len(files) == 0 {
		t.Fatal("no testdata/good/*.toml files")
	}
	for _, file := range files {
		c := load(t, file)
		if len(c.Files) != 1 || c.Files[0] != file {
			t.Errorf("Load(%s).Files = %q; want [%q]", file, c.Files, file)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Load(%s) succeeded but Validate of the result says: %v", file, err)
		}
	}
}

// examples/ holds configurations users copy: every one must load.
func TestExamplesLoad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*.toml"))
	if len(files) == 0 {
		t.Skip("no examples/*.toml")
	}
	for _, file := range files {
		load(t, file)
	}
}

// The shared benchmark's configuration must keep loading
// (shared/CONFIG.md); the repository is cloned next to shared/.
func TestBenchConfigLoads(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "bench", "lb-bench.toml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("benchmark config not available: %v", err)
	}
	c := load(t, path)
	check(t, path, []value{
		{"global.maxconn", c.Global.MaxConn, 4000},
		{"admin.bind", c.Admin.Bind, "127.0.0.1:18404"},
		{"frontend.fe.mode", c.Frontends["fe"].Mode, config.ModeHTTP},
		{"frontend.fe.bind", strings.Join(c.Frontends["fe"].Bind, ","), "127.0.0.1:18080"},
		{"frontend.fetcp.mode", c.Frontends["fetcp"].Mode, config.ModeTCP},
		{"frontend.fetcp.default_backend", c.Frontends["fetcp"].DefaultBackend, "betcp"},
		{"backend.be servers", len(c.Backends["be"].Server), 2},
		{"backend.be.server[1].address", c.Backends["be"].Server[1].Address, "127.0.0.1:18082"},
		{"backend.betcp.timeout.connect", c.Backends["betcp"].Timeout.Connect, dur("5s")},
		{"frontend.fetcp.timeout.tunnel", c.Frontends["fetcp"].Timeout.Tunnel, dur("1h")},
	})
}

// value is one expected value of a loaded configuration.
type value struct {
	key       string
	got, want any
}

func check(t *testing.T, file string, values []value) {
	t.Helper()
	for _, v := range values {
		if v.got != v.want {
			t.Errorf("%s: %s = %v; want %v", file, v.key, v.got, v.want)
		}
	}
}

func dur(s string) config.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return config.Duration{Duration: d}
}

// Every default documented in types.go and docs/config.md, as seen by a
// configuration that sets nothing but what is required.
func TestDefaults(t *testing.T) {
	file := filepath.Join("testdata", "good", "minimal.toml")
	c := load(t, file)
	fe, be := c.Frontends["web"], c.Backends["app"]
	s := be.Server[0]
	check(t, file, []value{
		{"global.maxconn", c.Global.MaxConn, 50000},
		{"global.event_loops", c.Global.EventLoops, 0},
		{"global.hard_stop_after", c.Global.HardStopAfter, dur("30s")},
		{"global.access_log", c.Global.AccessLog, "stdout"},
		{"admin.bind", c.Admin.Bind, ""},
		{"defaults.mode", c.Defaults.Mode, config.ModeHTTP},
		{"defaults.maxconn", c.Defaults.MaxConn, 0},
		{"defaults.retries", c.Defaults.Retries, 3},
		{"defaults.redispatch", c.Defaults.Redispatch, true},
		{"defaults.balance", c.Defaults.Balance, "roundrobin"},
		{"defaults.http_body_min_rate", c.Defaults.HTTPBodyMinRate, config.Size(512)},
		{"defaults.timeout.connect", c.Defaults.Timeout.Connect, dur("5s")},
		{"defaults.timeout.client", c.Defaults.Timeout.Client, dur("30s")},
		{"defaults.timeout.server", c.Defaults.Timeout.Server, dur("30s")},
		{"defaults.timeout.http_request", c.Defaults.Timeout.HTTPRequest, dur("10s")},
		{"defaults.timeout.http_body", c.Defaults.Timeout.HTTPBody, dur("10s")},
		{"defaults.timeout.http_keep_alive", c.Defaults.Timeout.HTTPKeepAlive, dur("5s")},
		{"defaults.timeout.queue", c.Defaults.Timeout.Queue, dur("5s")},
		{"defaults.timeout.tunnel", c.Defaults.Timeout.Tunnel, dur("1h")},
		{"frontend.web.name", fe.Name, "web"},
		{"frontend.web.mode", fe.Mode, config.ModeHTTP},
		{"frontend.web.maxconn", fe.MaxConn, 0},
		{"frontend.web.timeout", fe.Timeout, c.Defaults.Timeout},
		{"frontend.web.http_body_min_rate", fe.HTTPBodyMinRate, config.Size(512)},
		{"frontend.web.tls", fe.TLS == nil, true},
		{"frontend.web.route", len(fe.Route), 0},
		{"backend.app.name", be.Name, "app"},
		{"backend.app.balance", be.Balance, "roundrobin"},
		{"backend.app.retries", be.Retries, 3},
		{"backend.app.redispatch", be.Redispatch, true},
		{"backend.app.timeout", be.Timeout, c.Defaults.Timeout},
		{"backend.app.health", be.Health == nil, true},
		{"backend.app.server[0].weight", s.Weight, 1},
		{"backend.app.server[0].maxconn", s.MaxConn, 0},
		{"backend.app.server[0].backup", s.Backup, false},
	})
}

// Inheritance from [defaults], key by key for timeouts, and explicit zero
// values that must not be replaced by defaults.
func TestInheritance(t *testing.T) {
	file := filepath.Join("testdata", "good", "inherit.toml")
	c := load(t, file)
	db, web := c.Frontends["db"], c.Frontends["web"]
	pg, app, api := c.Backends["pg"], c.Backends["app"], c.Backends["api"]
	check(t, file, []value{
		{"global.maxconn", c.Global.MaxConn, 1000},
		{"global.event_loops", c.Global.EventLoops, 4},
		{"global.hard_stop_after", c.Global.HardStopAfter, dur("0s")},
		{"global.access_log", c.Global.AccessLog, "/var/log/lb/access.log"},
		// [defaults] -> frontends
		{"frontend.db.mode", db.Mode, config.ModeTCP},
		{"frontend.db.maxconn", db.MaxConn, 500},
		{"frontend.web.mode", web.Mode, config.ModeHTTP},
		{"frontend.web.maxconn", web.MaxConn, 0},
		{"frontend.db.http_body_min_rate", db.HTTPBodyMinRate, config.Size(0)},
		{"frontend.web.http_body_min_rate", web.HTTPBodyMinRate, config.Size(1024)},
		// [defaults.timeout] -> frontend timeouts, own keys win
		{"frontend.db.timeout.connect", db.Timeout.Connect, dur("1s")},
		{"frontend.db.timeout.client", db.Timeout.Client, dur("2h")},
		{"frontend.db.timeout.tunnel", db.Timeout.Tunnel, dur("0s")},
		{"frontend.db.timeout.server", db.Timeout.Server, dur("30s")},
		{"frontend.web.timeout.client", web.Timeout.Client, dur("1m")},
		{"frontend.web.timeout.tunnel", web.Timeout.Tunnel, dur("1h")},
		{"frontend.db.timeout.http_body", db.Timeout.HTTPBody, dur("0s")},
		{"frontend.web.timeout.http_body", web.Timeout.HTTPBody, dur("20s")},
		{"frontend.web.timeout.http_request", web.Timeout.HTTPRequest, dur("10s")},
		{"frontend.web.route[0].host", web.Route[0].Host, "api.example.com"},
		{"frontend.web.route[0].backend", web.Route[0].Backend, "api"},
		{"frontend.web.route[1].path_prefix", web.Route[1].PathPrefix, "/static/"},
		// [defaults] -> backends
		{"backend.pg.balance", pg.Balance, "leastconn"},
		{"backend.pg.retries", pg.Retries, 1},
		{"backend.pg.redispatch", pg.Redispatch, false},
		{"backend.app.balance", app.Balance, "hdr:X-User"},
		{"backend.app.retries", app.Retries, 0},
		{"backend.app.redispatch", app.Redispatch, true},
		// [defaults.timeout] -> backend timeouts
		{"backend.pg.timeout.server", pg.Timeout.Server, dur("5m")},
		{"backend.pg.timeout.connect", pg.Timeout.Connect, dur("1s")},
		{"backend.pg.timeout.queue", pg.Timeout.Queue, dur("5s")},
		// health: defaults, timeout = interval unless set
		{"backend.app.health.kind", app.Health.Kind, "http"},
		{"backend.app.health.path", app.Health.Path, "/"},
		{"backend.app.health.interval", app.Health.Interval, dur("500ms")},
		{"backend.app.health.timeout", app.Health.Timeout, dur("500ms")},
		{"backend.app.health.rise", app.Health.Rise, 2},
		{"backend.app.health.fall", app.Health.Fall, 3},
		{"backend.api.health.kind", api.Health.Kind, "tcp"},
		{"backend.api.health.interval", api.Health.Interval, dur("2s")},
		{"backend.api.health.timeout", api.Health.Timeout, dur("1s")},
		{"backend.pg.health", pg.Health == nil, true},
		// servers
		{"backend.app.server[0].weight", app.Server[0].Weight, 0},
		{"backend.app.server[0].address", app.Server[0].Address, "[2001:db8::11]:8080"},
		{"backend.app.server[1].weight", app.Server[1].Weight, 256},
		{"backend.app.server[1].maxconn", app.Server[1].MaxConn, 100},
		{"backend.app.server[1].backup", app.Server[1].Backup, true},
		{"backend.api.server[0].weight", api.Server[0].Weight, 1},
	})
}

// The skeleton of shared/CONFIG.md: values as written (without its TLS
// frontend, refused until issue 10: testdata/bad/tls.toml).
func TestSkeleton(t *testing.T) {
	file := filepath.Join("testdata", "good", "skeleton.toml")
	c := load(t, file)
	web, app := c.Frontends["web"], c.Backends["app"]
	check(t, file, []value{
		{"frontend.web.bind", strings.Join(web.Bind, ","), "0.0.0.0:80,[::]:80"},
		{"frontend.web.maxconn", web.MaxConn, 10000},
		{"frontend.web.route[0].path_prefix", web.Route[0].PathPrefix, "/v1/"},
		{"backend.app.health.path", app.Health.Path, "/healthz"},
		{"backend.app.server[1].name", app.Server[1].Name, "a2"},
		{"backend.app.server[1].backup", app.Server[1].Backup, true},
		{"backend.app.server[1].weight", app.Server[1].Weight, 1},
	})
}

// writeFiles creates a directory holding files (name -> content).
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"10-global.toml": "[global]\nmaxconn = 100\n",
		"20-web.toml":    "[frontend.web]\nbind = [\":80\"]\ndefault_backend = \"app\"\n",
		"30-app.toml":    "[backend.app]\nbalance = \"first\"\n[[backend.app.server]]\nname = \"a1\"\naddress = \"10.0.0.1:80\"\n",
		"40-more.toml":   "[[backend.app.server]]\nname = \"a2\"\naddress = \"10.0.0.2:80\"\n",
		"README":         "not a config file",
	})
	c := load(t, dir)
	var names []string
	for _, f := range c.Files {
		names = append(names, filepath.Base(f))
	}
	check(t, dir, []value{
		{"files", strings.Join(names, ","), "10-global.toml,20-web.toml,30-app.toml,40-more.toml"},
		{"global.maxconn", c.Global.MaxConn, 100},
		{"backend.app.balance", c.Backends["app"].Balance, "first"},
		{"servers", len(c.Backends["app"].Server), 2},
		{"backend.app.server[1].name", c.Backends["app"].Server[1].Name, "a2"},
	})
}

// Problems in merged files name the file; a key set in two files names
// both places; array tables appended from a later file keep their index.
func TestLoadDirectoryProblems(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.toml": "[frontend.web]\nbind = [\":80\"]\ndefault_backend = \"app\"\n\n" +
			"[backend.app]\nbalance = \"first\"\n[[backend.app.server]]\nname = \"a1\"\naddress = \"10.0.0.1:80\"\n",
		"b.toml": "[backend.app]\nbalance = \"random\"\n\n[[backend.app.server]]\nname = \"a2\"\naddress = \"10.0.0.2\"\n",
	})
	_, err := config.Load(dir)
	a, b := filepath.Join(dir, "a.toml"), filepath.Join(dir, "b.toml")
	want := "backend.app.balance: already defined at " + a + " line 6 (" + b + " line 2)\n" +
		"backend.app.server[1].address: invalid address \"10.0.0.2\": missing port (" + b + " line 6)"
	if err == nil || err.Error() != want {
		t.Errorf("Load(%s) error:\n%v\nwant:\n%s", dir, err, want)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.toml":    "[frontend.web]\nbind = [\":80\"]\ndefault_backend = \"app\"\n",
		"backend.toml": "[backend.app]\n[[backend.app.server]]\nname = \"a1\"\naddress = \"10.0.0.1:80\"\n",
	})
	// -f given twice: files are read in the order given.
	c := load(t, filepath.Join(dir, "main.toml"), filepath.Join(dir, "backend.toml"))
	if got := len(c.Files); got != 2 || c.Backends["app"] == nil || c.Frontends["web"] == nil {
		t.Errorf("Load(main.toml, backend.toml) = %d files, frontend %v, backend %v; want 2, both set",
			got, c.Frontends["web"], c.Backends["app"])
	}
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(empty, "missing.toml")
	tests := []struct {
		paths []string
		want  string
	}{
		{nil, "config: no configuration file given"},
		{[]string{missing}, "config: stat " + missing + ": no such file or directory"},
		{[]string{empty}, "config: no *.toml file in directory " + empty},
	}
	for _, tt := range tests {
		c, err := config.Load(tt.paths...)
		if c != nil || err == nil || err.Error() != tt.want {
			t.Errorf("Load(%q) = %v, %v; want nil, %q", tt.paths, c, err, tt.want)
		}
	}
	if _, err := config.Load(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(%q) error %v does not wrap fs.ErrNotExist", missing, err)
	}
}

// A Config built in Go has no source: problems carry no line.
func TestValidateBuiltInGo(t *testing.T) {
	c := &config.Config{
		Global: config.Global{MaxConn: 10, AccessLog: "off"},
		Defaults: config.Defaults{
			Mode:    config.ModeHTTP,
			Balance: "roundrobin",
		},
		Frontends: map[string]*config.Frontend{
			"web": {Name: "web", Bind: []string{":80"}, Mode: config.ModeHTTP, DefaultBackend: "app"},
		},
		Backends: map[string]*config.Backend{
			"app": {Name: "app", Balance: "roundrobin", Server: []*config.Server{
				{Name: "a1", Address: "10.0.0.1:80", Weight: 1},
			}},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v; want nil", err)
	}
	c.Backends["app"].Server = append(c.Backends["app"].Server, &config.Server{Name: "a1", Address: "10.0.0.2:80", Weight: 500})
	want := "backend.app.server[1].name: duplicate server name \"a1\", already used by backend.app.server[0]\n" +
		"backend.app.server[1].weight: must be between 0 and 256, got 500"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant:\n%s", err, want)
	}

	// Validate never panics on a half-built Config.
	c.Backends["app"].Server[1] = nil
	c.Backends["nil"] = nil
	want = "backend.app.server[1]: nil server\nbackend.nil: nil section"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant:\n%s", err, want)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    config.Problem
		want string
	}{
		{config.Problem{Path: "backend.app.server[1].address", Line: 23, Msg: `invalid address "10.0.0.x": missing port`},
			`backend.app.server[1].address: invalid address "10.0.0.x": missing port (line 23)`},
		{config.Problem{Line: 3, Msg: "syntax error: unexpected eof"}, "syntax error: unexpected eof (line 3)"},
		{config.Problem{Path: "frontend", Msg: "no frontend defined"}, "frontend: no frontend defined"},
		{config.Problem{Path: "global.maxconn", File: "conf.d/a.toml", Line: 2, Msg: "must be at least 1, got 0"},
			"global.maxconn: must be at least 1, got 0 (conf.d/a.toml line 2)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.p, got, tt.want)
		}
	}
}

func TestDurationDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"1d": 24 * time.Hour, "2d12h": 60 * time.Hour, "90s": 90 * time.Second, "1d30m": 24*time.Hour + 30*time.Minute} {
		var d config.Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || d.Duration != want {
			t.Errorf("%q: %v, %v; want %v", in, d.Duration, err, want)
		}
	}
	for _, in := range []string{"d", "1dd", "-1d", "1d-5h", "x1d"} {
		var d config.Duration
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted as %v", in, d.Duration)
		}
	}
}
