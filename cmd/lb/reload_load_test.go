package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReloadUnderLoad: keep-alive clients hammer lb while it reloads ten
// times (adding and removing a server): no request fails.
func TestReloadUnderLoad(t *testing.T) {
	a := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("a") })
	b := startHTTPBackend(t, func(*http.Request, []byte) string { return ok("b") })
	cfgA := httpConfig("", "", srv("a", a.addr()))
	cfgAB := httpConfig("", "", srv("a", a.addr()), srv("b", b.addr()))
	p := startLB(t, cfgA)
	url := "http://" + p.addr("fe") + "/"
	var (
		stop         atomic.Bool
		okN, failN   atomic.Int64
		wg           sync.WaitGroup
		firstFailure atomic.Value
	)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for !stop.Load() {
				resp, err := client.Get(url)
				if err == nil {
					body, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					if rerr == nil && resp.StatusCode == 200 && (string(body) == "a" || string(body) == "b") {
						okN.Add(1)
						continue
					}
					err = fmt.Errorf("status %d body %q err %v", resp.StatusCode, body, rerr)
				}
				failN.Add(1)
				firstFailure.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		cfg := cfgAB
		if i%2 == 1 {
			cfg = cfgA
		}
		if got := p.reload(t, cfg); got != "reloaded" {
			t.Fatalf("reload %d: %s", i, got)
		}
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failN.Load() > 0 || okN.Load() == 0 {
		t.Errorf("%d requests failed (first: %v), %d succeeded across 10 reloads; want 0 failures", failN.Load(), firstFailure.Load(), okN.Load())
	}
	_ = strings.Contains
}
