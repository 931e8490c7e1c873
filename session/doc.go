// Package session is lb's protocol supervisor: it owns one client
// connection's life from the moment the listener hands it over until both
// sockets are closed and its log line is written. It is one stream engine
// for both modes; a mode is only the set of analyzers a frontend puts on
// the channels.
//
// Vocabulary (fixed here, used everywhere):
//   - connection: a transport (one socket). fc is the front (client-side)
//     end, bc the back (server-side) end.
//   - session: one client connection's whole life (s).
//   - transaction: one request/response exchange (HTTP); TCP mode has one
//     for the whole session. Its state is reset in one place (newTxn).
//   - req / res: the two channels; req carries client-to-server bytes, res
//     server-to-client bytes. A channel holds bytes in order: output (bytes
//     committed to its consumer, not yet written), then input (not yet
//     analyzed); plus analyzer bits, a forward allowance and shutdown flags.
//   - analyzers: package analyzer's functions, run from process in bit
//     order (process.go, a visible list). TCP mode sets none: it connects
//     at once and its channels forward everything, forever. HTTP mode sets
//     http_lb_req on req at the start of each transaction, then the others
//     as the messages go.
//
// HOLD is the connect gate: while the request channel still has
// analyzer.AnHTTPLBReq (the head, and the body bytes that came with it,
// are being parsed and validated), nothing chooses or contacts a server.
// The only code that sets that bit is newTxn (a transaction starts); the
// only code that clears it is analyzer.HTTPLBReq (or an answer that ends
// the transaction). The only code that connects is connect (connect.go),
// called from process once !s.held().
//
// Ownership. Every field of a Session is owned by the session's event
// loop: it is read and written only from callbacks of that loop (gnet
// events, Execute'd tasks: timer expiries, slots granted, dial results,
// pump reports). Nothing else touches a session, so nothing is locked. The
// exceptions are written on the fields: the activity stamps (atomics, also
// written by pumps) and the bytes a pump command lends to its goroutine
// until the pump reports back (pump.go).
//
// How bytes move is a separate choice from what is done with them. On the
// loop (loop.go) a session reads through gnet and writes with writev(2)
// straight to the peer's socket. When the loop cannot give the guarantees
// owed (a write would block: back-pressure; a read filled the loop buffer:
// bulk, splice pays; a half-close; a client sending far ahead), the session
// moves its sockets to two pump goroutines (pump.go), which do blocking
// I/O and splice on the owner's commands and report back to the loop. The
// HTTP decisions (framing, keep-alive, answers, the log line) are made by
// the same code either way.
//
// Timeouts are absolute dates per purpose (expiry.go), folded into one
// timer per session whose expiry runs on the loop; they are read from an
// injectable Clock so tests drive them without sleeping.
//
// The session decides WHEN (timeouts, retries, closing); backend decides
// WHO; analyzer decides WHAT. Session must not import gnet, open listeners,
// or write to the log except its lines (log.go).
package session
