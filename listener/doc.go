// Package listener owns lb's listening sockets, the generic accept() and
// the event loops. It binds each frontend address (SO_REUSEADDR,
// SO_REUSEPORT, backlog, TCP_DEFER_ACCEPT for HTTP, keepalive inherited by
// accepted sockets), enforces the global and per-frontend maxconn by not
// accepting while full (new connections then wait in the kernel backlog,
// they are never accepted and reset), and hands every accepted connection
// to its frontend's protocol supervisor (package session), which puts it
// on one of the event loops this package runs (Loops, over gnet).
//
// It owns no session state and makes no balancing or protocol decision. It
// is the only package that imports gnet: session declares the interfaces
// it needs (LoopConn, Loop, LoopHandler, Loops) and this package adapts
// gnet to them. What gnet does not do (pause a read, half-close, splice,
// deadlines, TLS) session provides on top, by moving a session's sockets
// to Go's netpoller when it needs to (session/pump.go).
package listener
