// Package backend owns a backend's servers, their states, the balance
// policies, the per-backend and per-server queue accounting and the active
// health checks. It decides WHO serves a session; package session decides
// WHEN (timeouts, retries, redispatch) and package analyzer decides WHAT (the
// hash key for uri/hdr balancing).
//
// It must not import session, listener or gnet, and does no data-path I/O:
// the only sockets it opens are health-check connects. It logs only through
// the zerolog.Logger passed in Options (state changes and health
// transitions), keeps no globals and registers nothing anywhere; metrics are
// plain atomic counters and lock-free histograms that a collector reads
// (Server.Counters, Backend.Counters).
//
// Concurrency. Acquire, Cancel, Release, the admin setters and the run-time
// topology changes (AddServer, RemoveServer) are safe for concurrent use
// from any goroutine (event loops). The server list is copy-on-write: a
// topology change builds new slices under Backend.mu and publishes them, so
// readers (Servers, Server) never lock. Each Backend has one mutex,
// Backend.mu, that guards the policy state, the queues and the health
// counters; helpers that need it held end in Locked. Slot counts, states and
// weights are atomics so that readers (State, Current, the metrics collector)
// never lock. Release frees a slot without locking when nothing is queued.
// Waiter.Ready callbacks are always invoked after mu is released.
//
// Goroutines. Start launches one health-check goroutine per server (none
// when the backend has no [health] table), AddServer one for the server it
// adds once started; the Backend owns them, RemoveServer stops its
// server's, and Stop stops them all and waits for them.
package backend
