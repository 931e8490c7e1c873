// Package listener owns lb's listening sockets and the generic accept(): it
// binds each frontend address (SO_REUSEADDR, SO_REUSEPORT, backlog,
// TCP_DEFER_ACCEPT for HTTP, keepalive inherited by accepted sockets),
// enforces the global and per-frontend maxconn by not accepting while full
// (new connections then wait in the kernel backlog, they are never accepted
// and reset), and hands every accepted connection to its frontend's
// protocol supervisor (package session) on a goroutine of its own.
//
// It owns no session state and makes no balancing or protocol decision. It is
// the only package that may import gnet, whose event loops will host the
// HTTP data path; TCP mode needs half-close, read back-pressure and splice,
// none of which gnet provides, so TCP sessions run on Go's netpoller.
package listener
