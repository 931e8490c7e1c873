package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboard: every metric the example dashboard's queries use
// exists on /metrics (the checked-in family list TestMetricFamilies keeps
// true; histogram series end in _bucket, _count or _sum).
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	fam, err := os.ReadFile(filepath.Join("testdata", "metric_families.txt"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range strings.Fields(string(fam)) {
		known[f] = true
	}
	known["lb_process_uptime_seconds"] = true
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range regexp.MustCompile(`lb_[a-z0-9_]+`).FindAllString(tg.Expr, -1) {
				n++
				base := m
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if s, ok := strings.CutSuffix(m, suf); ok && known[s] {
						base = s
					}
				}
				if !known[base] {
					t.Errorf("panel %q uses %s, which /metrics does not have", p.Title, m)
				}
			}
		}
	}
	if len(dash.Panels) < 10 || n < 20 {
		t.Errorf("%d panels, %d metric uses: the dashboard looks empty", len(dash.Panels), n)
	}
}
