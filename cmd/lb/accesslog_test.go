package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestAccessLogReopen: with a file destination, SIGUSR1 reopens it, so
// logrotate can move the old one away (its lines stay there).
func TestAccessLogReopen(t *testing.T) {
	hb := startHTTPBackend(t, func(r *http.Request, _ []byte) string { return ok("x") })
	path := filepath.Join(t.TempDir(), "access.log")
	cfg := strings.Replace(httpConfig("", "", srv("s", hb.addr())), "[global]\n", "[global]\naccess_log = \""+path+"\"\n", 1)
	p := startLB(t, cfg)
	get(t, "http://"+p.addr("fe")+"/before")
	waitFor(t, "first line", func() bool { b, _ := os.ReadFile(path); return strings.Contains(string(b), "/before") })
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	p.sig <- syscall.SIGUSR1
	waitFor(t, "reopen event", func() bool { return strings.Contains(p.stderr.String(), `"event":"log_reopened"`) })
	get(t, "http://"+p.addr("fe")+"/after")
	waitFor(t, "line in the new file", func() bool { b, _ := os.ReadFile(path); return strings.Contains(string(b), "/after") })
	if b, _ := os.ReadFile(path + ".1"); strings.Contains(string(b), "/after") || !strings.Contains(string(b), "/before") {
		t.Errorf("rotated file = %q; want only the line from before the reopen", b)
	}
}
