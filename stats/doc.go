// Package stats renders the state of the running configuration generation,
// for people (an HTML page, JSON) and for Prometheus (a Collector), and
// applies the runtime API's changes (server state, weight, add and remove)
// through package backend.
//
// It never sits on the data path: it only reads the atomic counters and
// lock-free snapshots that backend and the session keep, at scrape or page
// time, and calls backend's concurrency-safe admin methods. It must not
// import session, listener or gnet; the caller adapts its generation to
// Source. It keeps no globals: the Prometheus registry, the logger and the
// admin token are passed in, and it never touches the default registry.
//
// Every change made through the runtime API is logged as one structured
// "admin" event (action, backend, server, from, to, remote); mutating calls
// can require a bearer token (HandlerOptions) and are refused to cross-site
// browser requests.
package stats
