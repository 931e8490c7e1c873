// Package listener owns lb's listening sockets, the generic accept() and
// the event loops. Each bound address is a set of gnet engines, one event
// loop each, each accepting on its own socket (SO_REUSEADDR, SO_REUSEPORT,
// backlog, TCP_DEFER_ACCEPT for HTTP, keepalive inherited by accepted
// sockets); a connection is served by the loop that accepted it. It
// enforces the global and per-frontend maxconn (a connection above them
// waits, unread, in the listener's bounded waiting room until a slot frees;
// it is never accepted and reset while there is room), and hands every
// connection to its frontend's protocol supervisor (package session).
//
// It owns no session state and makes no balancing or protocol decision. It
// is the only package that imports gnet: session declares the interfaces
// it needs (LoopConn, Loop, LoopHandler, Loops) and this package adapts
// gnet to them. What gnet does not do (pause a read, half-close, splice,
// deadlines, TLS) session provides on top, by moving a session's sockets
// to Go's netpoller when it needs to (session/pump.go); what it does not
// do for listeners (close one while its loop runs on) this package does
// (Unlisten).
package listener
