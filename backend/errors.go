package backend

import "errors"

// Outcomes of Acquire that callers branch on, and the queue timeout the
// session reports. Compare with errors.Is.
var (
	// ErrNoServer: no server is usable at all (all DOWN, in maintenance,
	// draining or weighted 0, actives and backups alike). HAProxy answers 503.
	ErrNoServer = errors.New("backend: no server available")
	// ErrQueued: usable servers exist but all are at maxconn; the Waiter was
	// queued and its Ready will be called once a slot is reserved for it,
	// unless Cancel returns true first.
	ErrQueued = errors.New("backend: queued")
	// ErrQueueFull: a wait was needed but the backend already holds
	// Options.MaxQueue waiters.
	ErrQueueFull = errors.New("backend: queue full")
	// ErrWouldQueue: a wait was needed and the caller passed no Waiter
	// (nothing is counted: a caller that can wait asks again with one, so
	// that a session needs a Waiter only when it waits).
	ErrWouldQueue = errors.New("backend: would queue")
	// ErrQueueTimeout is never returned by this package: the session returns
	// it when timeout.queue expires before Ready (HAProxy code sQ, 503).
	ErrQueueTimeout = errors.New("backend: queue timeout")

	// ErrServerExists: AddServer was given a name the backend already has.
	ErrServerExists = errors.New("backend: server name already in use")
	// ErrNoSuchServer: RemoveServer was given a name the backend does not
	// have.
	ErrNoSuchServer = errors.New("backend: no such server")
	// ErrServerNotInMaint: RemoveServer needs the server in MAINT first.
	ErrServerNotInMaint = errors.New("backend: server must be in MAINT to be removed")
	// ErrServerBusy: RemoveServer found sessions or waiters still on the
	// server; retry once Current() is 0.
	ErrServerBusy = errors.New("backend: server still has sessions")
)
