package main

import (
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatsPageInBrowser renders /stats in a real headless browser
// (Debian's chromium; skipped when it is missing, CI installs it): the
// page draws its sparklines and every table, with no script and nothing
// fetched from elsewhere, and a screenshot 1400 px wide is written for a
// person to look at ($LB_STATS_SCREENSHOT names where to keep it).
func TestStatsPageInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("x") })
	p := startLB(t, "[admin]\nbind = \"127.0.0.1:0\"\n"+httpConfig(`[[frontend.fe.http_request]]
path_prefix = "/deny"
action = "deny"
`, "[backend.be.health]\nkind = \"http\"\ninterval = \"100ms\"\n", srv("s1", hb.addr()), srv("s2", hb.addr())))
	page := "http://" + p.inst.adminAddr() + "/stats"
	// Traffic between page views: the sparkline needs samples a second apart.
	for round := 0; round < 4; round++ {
		for i := 0; i < 20*(round+1); i++ {
			path := "/"
			if i%10 == 0 {
				path = "/deny"
			}
			if resp, err := http.Get("http://" + p.addr("fe") + path); err == nil {
				resp.Body.Close()
			}
		}
		get(t, page)
		time.Sleep(1100 * time.Millisecond)
	}
	dir := t.TempDir()
	shot := filepath.Join(dir, "stats.png")
	if keep := os.Getenv("LB_STATS_SCREENSHOT"); keep != "" {
		shot = keep
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + filepath.Join(dir, "profile")}
	out, err := exec.Command(chromium, append(args, "--window-size=1400,900", "--screenshot="+shot, page)...).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 1400 {
		t.Fatalf("screenshot: %v, %v", err, img)
	}
	dom, err := exec.Command(chromium, append(args, "--dump-dom", page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	html := string(dom)
	for _, want := range []string{"<polyline", "Frontends", "Backend be", "session rate", "response ms p50 / p99", "aborts client / server", "L7OK", ">s1<", ">s2<"} {
		if !strings.Contains(html, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if i := strings.Index(html, bad); i >= 0 && !strings.Contains(html[max(i-20, 0):min(i+60, len(html))], "stats.json") && bad != "http://" {
			t.Errorf("the page has %q", bad)
		}
	}
}
