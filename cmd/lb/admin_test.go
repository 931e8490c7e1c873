package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// adminDo sends a request to the admin listener with the given Host and
// bearer token ("" for none) and returns the status.
func adminDo(t *testing.T, method, url, host, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("ready"))
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminHardening: the bearer token is read again on reload (the new
// one works at once, the old one no longer); a request for a name that is
// not the admin listener's (DNS rebinding) is refused while IP addresses,
// localhost and admin.hosts pass; /debug/pprof/ needs the token when one
// is configured and can be switched off.
func TestAdminHardening(t *testing.T) {
	hb := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("x") })
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("first\n"), 0o600)
	cfg := "[admin]\nbind = \"127.0.0.1:0\"\ntoken_file = \"" + tokenFile + "\"\nhosts = [\"lb.internal\"]\n" + httpConfig("", "", srv("s", hb.addr()))
	p := startLB(t, cfg)
	admin := func() string { return "http://" + p.inst.adminAddr() }
	state := func() string { return admin() + "/api/backends/be/servers/s/state" }
	if got := adminDo(t, "POST", state(), "", "first"); got != 200 {
		t.Fatalf("POST with the token: %d", got)
	}
	if got := adminDo(t, "POST", state(), "", "wrong"); got != 401 {
		t.Errorf("POST with a wrong token: %d; want 401", got)
	}
	os.WriteFile(tokenFile, []byte("second\n"), 0o600)
	if got := p.reload(t, cfg); got != "reloaded" {
		t.Fatalf("reload: %s", got)
	}
	if got := adminDo(t, "POST", state(), "", "second"); got != 200 {
		t.Errorf("the new token after a reload: %d; want 200", got)
	}
	if got := adminDo(t, "POST", state(), "", "first"); got != 401 {
		t.Errorf("the old token after a reload: %d; want 401", got)
	}
	for host, want := range map[string]int{
		"evil.example": 421, "evil.example:80": 421, "localhost": 200, "LOCALHOST:9": 200,
		"127.0.0.1": 200, "lb.internal": 200, "[::1]:8404": 200,
	} {
		if got := adminDo(t, "GET", admin()+"/stats.json", host, ""); got != want {
			t.Errorf("GET /stats.json for Host %q: %d; want %d", host, got, want)
		}
	}
	if got := adminDo(t, "POST", state(), "rebind.attacker.example", "second"); got != 421 {
		t.Errorf("POST for a rebound name, even with the token: %d; want 421", got)
	}
	if got := adminDo(t, "GET", admin()+"/debug/pprof/", "", ""); got != 401 {
		t.Errorf("pprof without the token: %d; want 401", got)
	}
	if got := adminDo(t, "GET", admin()+"/debug/pprof/", "", "second"); got != 200 {
		t.Errorf("pprof with the token: %d; want 200", got)
	}
	off := strings.Replace(cfg, "hosts = ", "pprof = false\nhosts = ", 1)
	if got := p.reload(t, off); got != "reloaded" {
		t.Fatalf("reload: %s", got)
	}
	if got := adminDo(t, "GET", admin()+"/debug/pprof/", "", "second"); got != 404 {
		t.Errorf("pprof = false: %d; want 404", got)
	}
	os.Remove(tokenFile)
	if got := p.reload(t, off); got != "reload_failed" {
		t.Errorf("reload with the token file gone: %s; want reload_failed (the running token stays)", got)
	}
	if got := adminDo(t, "POST", state(), "", "second"); got != 200 {
		t.Errorf("the running token after a refused reload: %d; want 200", got)
	}
}
