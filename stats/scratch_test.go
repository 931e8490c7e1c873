package stats_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lb-proxy/lb/stats"
)

func TestScratch(t *testing.T) {
	f := newFixture(t, stats.HandlerOptions{})
	f.app.Servers()[0].Counters().ConnectTime.Observe(3 * time.Millisecond)
	r := f.do(t, "GET", "/metrics", "")
	fmt.Println(r.body)
}
