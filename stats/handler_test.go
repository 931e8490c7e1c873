package stats_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/stats"
)

// A state change through the API is applied, answered with the server's
// status, visible at once in /metrics and /stats.json, and logged.
func TestSetStateVisibleEverywhere(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	for _, tc := range []struct {
		body, ctype string
		admin       backend.Admin
		state       string
	}{
		{"drain", "", backend.AdminDrain, "DRAIN"},
		{"MAINT\n", "text/plain", backend.AdminMaint, "MAINT"},
		{`{"state": "ready"}`, "application/json", backend.AdminReady, "UP"},
		{`{"state":"drain"}`, "", backend.AdminDrain, "DRAIN"}, // JSON recognised without a Content-Type
	} {
		var hdr []string
		if tc.ctype != "" {
			hdr = []string{"Content-Type", tc.ctype}
		}
		r := f.mustDo(t, http.StatusOK, "POST", "/api/backends/app/servers/a2/state", tc.body, hdr...)
		var ss stats.ServerStatus
		if err := json.Unmarshal([]byte(r.body), &ss); err != nil {
			t.Fatalf("answer %q: %v", r.body, err)
		}
		if ss.Name != "a2" || ss.State != tc.state || ss.Admin != tc.admin.String() {
			t.Errorf("body %q: answered %s state %s admin %s; want a2 %s %s", tc.body, ss.Name, ss.State, ss.Admin, tc.state, tc.admin)
		}
		if got := f.app.Server("a2").Admin(); got != tc.admin {
			t.Errorf("body %q: backend admin %v; want %v", tc.body, got, tc.admin)
		}
		m := f.metrics(t)
		for _, st := range []string{"UP", "DOWN", "DRAIN", "MAINT"} {
			want := 0.0
			if st == tc.state {
				want = 1
			}
			key := `lb_server_status{proxy="app",server="a2",state="` + st + `"}`
			if m[key] != want {
				t.Errorf("body %q: %s = %v; want %v", tc.body, key, m[key], want)
			}
		}
		if ss, ok := findServer(t, f.snapshot(t), "app", "a2"); !ok || ss.State != tc.state || ss.LastChange == nil {
			t.Errorf("body %q: /stats.json a2 = %+v; want state %s with a last change", tc.body, ss, tc.state)
		}
	}
	ev := f.logs.events(t, "admin")
	if len(ev) != 4 {
		t.Fatalf("%d admin events; want 4", len(ev))
	}
	want := map[string]any{"level": "info", "event": "admin", "action": "set_state", "backend": "app", "server": "a2",
		"from": "READY", "to": "DRAIN", "state": "DRAIN"}
	for k, v := range want {
		if ev[0][k] != v {
			t.Errorf("first admin event %q = %v; want %v (event %v)", k, ev[0][k], v, ev[0])
		}
	}
	if r, _ := ev[0]["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
		t.Errorf("admin event remote %q; want the client's address", r)
	}
	if ev[1]["from"] != "DRAIN" || ev[1]["to"] != "MAINT" {
		t.Errorf("second admin event %v; want DRAIN -> MAINT", ev[1])
	}
}

func TestSetWeight(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	f.mustDo(t, http.StatusOK, "POST", "/api/backends/app/servers/a1/weight", "10")
	if got := f.app.Server("a1").Weight(); got != 10 {
		t.Errorf("weight after \"10\": %d; want 10", got)
	}
	f.mustDo(t, http.StatusOK, "POST", "/api/backends/app/servers/a1/weight", `{"weight": 256}`, "Content-Type", "application/json")
	wantMetrics(t, f.metrics(t), map[string]float64{
		`lb_server_weight{proxy="app",server="a1"}`: 256,
		`lb_backend_weight{proxy="app"}`:            257,
	})
	r := f.mustDo(t, http.StatusOK, "POST", "/api/backends/app/servers/a1/weight", "0")
	if !strings.Contains(r.body, `"state": "DRAIN"`) {
		t.Errorf("weight 0 answer %s; want state DRAIN", r.body)
	}
	ev := f.logs.events(t, "admin")
	if len(ev) != 3 || ev[2]["action"] != "set_weight" || ev[2]["from"] != "256" || ev[2]["to"] != "0" {
		t.Errorf("admin events %v; want the third a set_weight 256 -> 0", ev)
	}
}

// Add and remove through the API, with HAProxy's removal rule.
func TestAddRemoveServer(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	r := f.mustDo(t, http.StatusCreated, "POST", "/api/backends/app/servers",
		`{"name": "a3", "address": "10.0.0.33:8080", "maxconn": 5}`, "Content-Type", "application/json")
	if loc := r.header.Get("Location"); loc != "/api/backends/app/servers/a3" {
		t.Errorf("Location %q; want /api/backends/app/servers/a3", loc)
	}
	var ss stats.ServerStatus
	if err := json.Unmarshal([]byte(r.body), &ss); err != nil {
		t.Fatal(err)
	}
	if ss.Name != "a3" || ss.Address != "10.0.0.33:8080" || ss.Weight != 1 || ss.LimitSessions != 5 || ss.State != "UP" || ss.Backup {
		t.Errorf("added %+v; want a3 10.0.0.33:8080 weight 1 (default) maxconn 5 UP", ss)
	}
	wantMetrics(t, f.metrics(t), map[string]float64{
		`lb_server_status{proxy="app",server="a3",state="UP"}`: 1,
		`lb_server_limit_sessions{proxy="app",server="a3"}`:    5,
		`lb_backend_active_servers{proxy="app"}`:               3,
	})
	if _, ok := findServer(t, f.snapshot(t), "app", "a3"); !ok {
		t.Errorf("/stats.json lacks a3")
	}
	f.mustDo(t, http.StatusOK, "GET", "/api/backends/app/servers/a3", "")
	// The new server takes sessions.
	s, err := f.app.Acquire(0, nil, nil)
	for err == nil && s.Name() != "a3" {
		s.Release()
		s, err = f.app.Acquire(0, nil, nil)
	}
	if err != nil {
		t.Fatal(err)
	}

	// Removal needs MAINT and no session.
	r = f.mustDo(t, http.StatusConflict, "DELETE", "/api/backends/app/servers/a3", "")
	if !strings.Contains(r.body, "MAINT") {
		t.Errorf("removal of an UP server: %s; want a word about MAINT", r.body)
	}
	f.mustDo(t, http.StatusOK, "POST", "/api/backends/app/servers/a3/state", "maint")
	r = f.mustDo(t, http.StatusConflict, "DELETE", "/api/backends/app/servers/a3", "")
	if !strings.Contains(r.body, "1 sessions") {
		t.Errorf("removal of a busy server: %s; want its session count", r.body)
	}
	s.Release()
	f.mustDo(t, http.StatusNoContent, "DELETE", "/api/backends/app/servers/a3", "")
	if m := f.metrics(t); len(filter(m, `server="a3"`)) != 0 {
		t.Errorf("metrics still hold a3: %v", filter(m, `server="a3"`))
	}
	if _, ok := findServer(t, f.snapshot(t), "app", "a3"); ok {
		t.Errorf("/stats.json still holds a3")
	}
	f.mustDo(t, http.StatusNotFound, "DELETE", "/api/backends/app/servers/a3", "")
	f.mustDo(t, http.StatusNotFound, "GET", "/api/backends/app/servers/a3", "")

	var actions []string
	for _, ev := range f.logs.events(t, "admin") {
		actions = append(actions, ev["action"].(string))
	}
	if got := strings.Join(actions, ","); got != "add_server,set_state,remove_server" {
		t.Errorf("admin actions %s; want add_server,set_state,remove_server", got)
	}
	ev := f.logs.events(t, "admin")
	if ev[0]["to"] != "10.0.0.33:8080" || ev[2]["from"] != "10.0.0.33:8080" || ev[2]["server"] != "a3" {
		t.Errorf("add/remove events %v / %v; want the address as to / from", ev[0], ev[2])
	}
}

func filter(m map[string]float64, substr string) []string {
	var out []string
	for k := range m {
		if strings.Contains(k, substr) {
			out = append(out, k)
		}
	}
	return out
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	const srvPath = "/api/backends/app/servers/a1"
	js := []string{"Content-Type", "application/json"}
	for _, tc := range []struct {
		method, path, body string
		header             []string
		code               int
		want               string // in the error message
	}{
		{"POST", srvPath + "/state", "sleep", nil, 400, `unknown state "sleep" (want ready, drain or maint)`},
		{"POST", srvPath + "/state", "", nil, 400, "empty body"},
		{"POST", srvPath + "/state", `{"state": 1}`, js, 400, `"state" must be a string`},
		{"POST", srvPath + "/state", `{"state": "maint", "x": 1}`, js, 400, `want exactly {"state": ...}`},
		{"POST", srvPath + "/state", `{"state": `, js, 400, "bad JSON body"},
		{"POST", srvPath + "/weight", "300", nil, 400, "weight 300 out of 0..256"},
		{"POST", srvPath + "/weight", "-1", nil, 400, "weight -1 out of 0..256"},
		{"POST", srvPath + "/weight", "50%", nil, 400, `weight "50%" is not an integer`},
		{"POST", srvPath + "/weight", `{"weight": 1.5}`, js, 400, "is not an integer"},
		{"POST", srvPath + "/weight", strings.Repeat("1", 70<<10), nil, 400, "body over 65536 bytes"},
		{"POST", "/api/backends/app/servers", `{"name": "x", "address": "nowhere"}`, js, 400, `bad address "nowhere": missing port`},
		{"POST", "/api/backends/app/servers", `{"name": "x", "address": "10.0.0.1:80", "weight": 300}`, js, 400, "weight 300 out of 0..256"},
		{"POST", "/api/backends/app/servers", `{"name": "x", "address": "10.0.0.1:80", "maxconn": -1}`, js, 400, "negative maxconn"},
		{"POST", "/api/backends/app/servers", `{"address": "10.0.0.1:80"}`, js, 400, "empty name"},
		{"POST", "/api/backends/app/servers", `{"name": "x", "address": "10.0.0.1:80", "wieght": 2}`, js, 400, `unknown field "wieght"`},
		{"POST", "/api/backends/app/servers", `{"name": "x", "address": "10.0.0.1:80"} {}`, js, 400, "more than one value"},
		{"POST", "/api/backends/app/servers", `{"name": "a1", "address": "10.0.0.1:80"}`, js, 409, "server name already in use"},
		{"POST", "/api/backends/nope/servers/a1/state", "drain", nil, 404, `no backend "nope"`},
		{"POST", "/api/backends/app/servers/nope/state", "drain", nil, 404, `backend "app" has no server "nope"`},
		{"POST", "/api/backends/app/servers/nope/weight", "1", nil, 404, "has no server"},
		{"POST", "/api/backends/nope/servers", `{"name": "x", "address": "10.0.0.1:80"}`, js, 404, "no backend"},
		{"DELETE", "/api/backends/nope/servers/a1", "", nil, 404, "no backend"},
		{"DELETE", "/api/backends/app/servers/nope", "", nil, 404, "no such server"},
		{"GET", "/api/backends/nope", "", nil, 404, "no backend"},
		{"GET", "/api/backends/app/servers/nope", "", nil, 404, "has no server"},
		{"PUT", srvPath + "/state", "drain", nil, 405, ""},
		{"GET", srvPath + "/state", "", nil, 405, ""},
	} {
		r := f.do(t, tc.method, tc.path, tc.body, tc.header...)
		msg := r.body
		if tc.code != 405 {
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
				t.Errorf("%s %s: body %q is not {\"error\": ...}", tc.method, tc.path, r.body)
			}
			msg = e.Error
		}
		if r.code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s %.40q: %d %s; want %d with %q", tc.method, tc.path, tc.body, r.code, msg, tc.code, tc.want)
		}
	}
	// Nothing changed.
	a1 := f.app.Server("a1")
	if a1.Admin() != backend.AdminReady || a1.Weight() != 1 || len(f.app.Servers()) != 3 {
		t.Errorf("after bad requests a1 is %v weight %d, %d servers; want READY, 1, 3", a1.Admin(), a1.Weight(), len(f.app.Servers()))
	}
	if ev := f.logs.events(t, "admin"); len(ev) != 0 {
		t.Errorf("admin events for refused requests: %v", ev)
	}
}

func TestToken(t *testing.T) {
	const path = "/api/backends/app/servers/a1/state"
	for _, tc := range []struct {
		name    string
		opts    stats.HandlerOptions
		auth    string // Authorization header; "" = none
		code    int
		changed bool
	}{
		{"no token configured", stats.HandlerOptions{}, "", 200, true},
		{"required, none sent", stats.HandlerOptions{Token: "s3cret", RequireToken: true}, "", 401, false},
		{"required, wrong", stats.HandlerOptions{Token: "s3cret", RequireToken: true}, "Bearer s3cre", 401, false},
		{"required, longer", stats.HandlerOptions{Token: "s3cret", RequireToken: true}, "Bearer s3cret2", 401, false},
		{"required, other scheme", stats.HandlerOptions{Token: "s3cret", RequireToken: true}, "Basic s3cret", 401, false},
		{"required, right", stats.HandlerOptions{Token: "s3cret", RequireToken: true}, "Bearer s3cret", 200, true},
		{"required, scheme case", stats.HandlerOptions{Token: "s3cret", RequireToken: true}, "bearer s3cret", 200, true},
		{"set but not required: still enforced", stats.HandlerOptions{Token: "s3cret"}, "", 401, false},
		{"set but not required, right", stats.HandlerOptions{Token: "s3cret"}, "Bearer s3cret", 200, true},
		{"required without a token: fails closed", stats.HandlerOptions{RequireToken: true}, "Bearer ", 401, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			r := f.do(t, "POST", path, "maint", hdr...)
			if r.code != tc.code {
				t.Errorf("POST with %q: %d %s; want %d", tc.auth, r.code, r.body, tc.code)
			}
			if got := f.app.Server("a1").Admin() == backend.AdminMaint; got != tc.changed {
				t.Errorf("POST with %q: changed %v; want %v", tc.auth, got, tc.changed)
			}
			if tc.code == 401 {
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("401 WWW-Authenticate %q; want Bearer", got)
				}
				if n := len(f.logs.events(t, "admin_denied")); n != 1 {
					t.Errorf("%d admin_denied events; want 1", n)
				}
				// Every mutating endpoint is guarded.
				f.mustDo(t, 401, "POST", "/api/backends/app/servers/a1/weight", "3")
				f.mustDo(t, 401, "POST", "/api/backends/app/servers", `{"name":"x","address":"10.0.0.1:80"}`)
				f.mustDo(t, 401, "DELETE", "/api/backends/app/servers/a1", "")
				// A limit table's keys are client data: guarded too.
				f.mustDo(t, 401, "GET", "/api/limits/t", "")
			} else {
				f.mustDo(t, 404, "GET", "/api/limits/t", "", hdr...) // the fixture has no tables
			}
			// Reads never need the token.
			for _, p := range []string{"/metrics", "/stats", "/stats.json", "/api/backends", "/api/backends/app", "/api/backends/app/servers/a1", "/api/limits"} {
				f.mustDo(t, 200, "GET", p, "")
			}
		})
	}
}

// A browser's cross-site POST (a web page aiming at a loopback admin
// listener) is refused even without a token.
func TestCrossOriginRefused(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	f.mustDo(t, http.StatusForbidden, "POST", "/api/backends/app/servers/a1/state", "maint",
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if f.app.Server("a1").Admin() != backend.AdminReady {
		t.Errorf("cross-site request changed the server")
	}
	// Same-origin and non-browser clients pass.
	f.mustDo(t, http.StatusOK, "POST", "/api/backends/app/servers/a1/state", "drain", "Sec-Fetch-Site", "same-origin")
}

func TestStatsPage(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	if _, err := f.app.AddServer(testServer(`<script>x</script>`, "10.0.0.50:80")); err != nil {
		t.Fatal(err)
	}
	f.app.Server("a2").SetAdmin(backend.AdminMaint)
	r := f.mustDo(t, http.StatusOK, "GET", "/stats", "")
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="5">`,
		`version v1.2.3`,
		`up 1m30s`,
		`<td class="l">web</td>`,
		`Backend app`,
		`<td class="l maint">MAINT</td>`,
		`<td class="l up">UP</td>`,
		`&lt;script&gt;x&lt;/script&gt;`,
		`1.0 MiB`,
		`b1 (backup)`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/stats lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>") {
		t.Errorf("/stats holds an unescaped server name")
	}
	if r := f.mustDo(t, http.StatusOK, "GET", "/", ""); !strings.Contains(r.body, "lb statistics") {
		t.Errorf("GET / does not lead to the stats page")
	}
}

// /stats.json keeps its documented field names.
func TestStatsJSONFieldNames(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	f.app.Server("a1").Counters().ConnectTime.Observe(4_000_000) // 4ms
	r := f.mustDo(t, http.StatusOK, "GET", "/stats.json", "")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) string {
		var out []string
		for k := range v.(map[string]any) {
			out = append(out, k)
		}
		return strings.Join(sorted(out), " ")
	}
	be := doc["backends"].([]any)[0].(map[string]any)
	sv := be["servers"].([]any)[0].(map[string]any)
	for _, tc := range []struct {
		what string
		v    any
		want string
	}{
		{"top", doc, "backends frontends process time"},
		{"process", doc["process"], "connections_total current_connections max_connections start_time uptime_seconds version"},
		{"frontend", doc["frontends"].([]any)[0], "bytes_in bytes_out current_sessions denied_requests http_requests http_responses limit_sessions max_session_rate max_sessions mode name rate_history request_errors session_rate sessions_total"},
		{"backend", be, "active_servers backup_servers balance bytes_in bytes_out client_aborts connect_errors current_queue current_sessions downs http_requests http_responses max_queue max_session_rate name no_server queue_full redispatches response_errors retries server_aborts servers session_rate sessions_total status timers weight"},
		{"server", sv, "address admin backup bytes_in bytes_out check_downs check_duration_seconds check_failures check_status client_aborts connect_errors current_queue current_sessions downtime_seconds http_responses last_change limit_sessions max_queue name response_errors retries server_aborts sessions_total state timers weight"},
		{"timers", sv["timers"], "connect queue response total"},
		{"timer", sv["timers"].(map[string]any)["connect"], "count mean_seconds p50_seconds p99_seconds"},
		{"http_responses", sv["http_responses"], "1xx 2xx 3xx 4xx 5xx other"},
	} {
		if got := keys(tc.v); got != tc.want {
			t.Errorf("%s keys:\n got %s\nwant %s", tc.what, got, tc.want)
		}
	}
	if got := sv["timers"].(map[string]any)["connect"].(map[string]any)["mean_seconds"]; got != 0.004 {
		t.Errorf("a1 connect mean_seconds %v; want 0.004", got)
	}
	if got := doc["process"].(map[string]any)["uptime_seconds"]; got != 90.0 {
		t.Errorf("uptime_seconds %v; want 90", got)
	}
	r = f.mustDo(t, http.StatusOK, "GET", "/api/backends", "")
	var list struct {
		Backends []stats.BackendStatus `json:"backends"`
	}
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list.Backends) != 1 || len(list.Backends[0].Servers) != 3 {
		t.Errorf("/api/backends = %s (%v); want app with 3 servers", r.body, err)
	}
}
