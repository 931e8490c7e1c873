package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestReloadKeepsRuntimeChanges: what the runtime API changed (a weight, a
// server added, a server removed) survives a reload of an unchanged file,
// and each kept change is logged; where the new file changed that server,
// the file wins and the dropped change is logged.
func TestReloadKeepsRuntimeChanges(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	cfg := "[admin]\nbind = \"127.0.0.1:0\"\n" + httpConfig("", "", srv("a", hb.addr()), srv("b", hb.addr()), srv("c", hb.addr()))
	p := startLB(t, cfg)
	api := func() string { return "http://" + p.inst.adminAddr() + "/api/backends/be/servers" }
	post := func(url, body string, want int) {
		t.Helper()
		resp, err := http.Post(url, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s %s: %d; want %d", url, body, resp.StatusCode, want)
		}
	}
	post(api()+"/a/weight", "7", 200)
	post(api(), `{"name": "d", "address": "`+hb.addr()+`", "weight": 3}`, 201)
	post(api()+"/d/weight", "4", 200)
	post(api()+"/c/state", "maint", 200)
	req, _ := http.NewRequest("DELETE", api()+"/c", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE c: %v %v", resp, err)
	}
	resp.Body.Close()

	servers := func() map[string]int {
		out := map[string]int{}
		for _, s := range p.inst.backend("be").Servers() {
			out[s.Name()] = s.Weight()
		}
		return out
	}
	if got := p.reload(t, cfg); got != "reloaded" {
		t.Fatalf("reload: %s", got)
	}
	if got := servers(); len(got) != 3 || got["a"] != 7 || got["b"] != 1 || got["d"] != 4 {
		t.Errorf("after reloading the same file: %v; want a:7 b:1 d:4 and no c", got)
	}
	for _, want := range []string{`"event":"runtime_kept","backend":"be","server":"a","change":"weight"`,
		`"event":"runtime_kept","backend":"be","server":"d","change":"added"`,
		`"event":"runtime_kept","backend":"be","server":"c","change":"removed"`} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	// The same changes survive a second reload (they are carried on).
	if got := p.reload(t, cfg); got != "reloaded" {
		t.Fatalf("reload: %s", got)
	}
	if got := servers(); got["a"] != 7 || got["d"] != 4 || len(got) != 3 {
		t.Errorf("after a second reload: %v", got)
	}
	// The file now changes a (weight 2) and defines d and c itself.
	changed := "[admin]\nbind = \"127.0.0.1:0\"\n" + httpConfig("", "", srv("a", hb.addr(), "weight = 2"), srv("b", hb.addr()),
		srv("c", hb.addr(), "weight = 5"), srv("d", hb.addr(), "weight = 9"))
	if got := p.reload(t, changed); got != "reloaded" {
		t.Fatalf("reload: %s", got)
	}
	if got := servers(); got["a"] != 2 || got["b"] != 1 || got["c"] != 5 || got["d"] != 9 {
		t.Errorf("after a file that changed every touched server: %v; want a:2 b:1 c:5 d:9", got)
	}
	for _, want := range []string{`"event":"runtime_overridden","backend":"be","server":"a","change":"weight"`,
		`"event":"runtime_overridden","backend":"be","server":"d","change":"added"`,
		`"event":"runtime_overridden","backend":"be","server":"c","change":"removed"`} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}
