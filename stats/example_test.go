package stats_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/stats"
)

// exampleGeneration stands for what cmd/lb keeps per configuration
// generation.
type exampleGeneration struct {
	maxConn   int
	backends  []*backend.Backend
	frontends []stats.Frontend
}

// exampleSource adapts the current generation, switched on reload, to
// stats.Source.
type exampleSource struct {
	start time.Time
	cur   atomic.Pointer[exampleGeneration]
}

func (s *exampleSource) Process() stats.Process {
	g := s.cur.Load()
	return stats.Process{Version: "v0.1.0", StartTime: s.start, MaxConnections: int64(g.maxConn)}
}

func (s *exampleSource) Frontends() []stats.Frontend {
	return append([]stats.Frontend(nil), s.cur.Load().frontends...)
}

func (s *exampleSource) Backends() []*backend.Backend {
	return append([]*backend.Backend(nil), s.cur.Load().backends...)
}

// The admin listener: a registry of its own with the lb collector (and, if
// wanted, Go's runtime and process collectors), the handler, an
// http.Server with timeouts, and its stop.
func ExampleNewHandler() {
	src := &exampleSource{start: time.Now()}
	src.cur.Store(&exampleGeneration{maxConn: 50000})

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		stats.NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	h := stats.NewHandler(stats.HandlerOptions{
		Source:       src,
		Gatherer:     reg,
		Token:        "", // read from a file by the caller
		RequireToken: false,
		Logger:       zerolog.Nop(),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
	}
	done := make(chan struct{})
	go func() { // owned by the caller; stopped by Shutdown below
		defer close(done)
		_ = srv.Serve(ln)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	<-done
	// Output:
}
