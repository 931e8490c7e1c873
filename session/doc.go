// Package session is lb's protocol supervisor: it owns one client
// connection's life from the moment the listener hands it over until both
// sockets are closed and the session's single log line is written.
//
// Vocabulary (fixed here, used everywhere):
//   - connection: a transport (one socket). fc is the front (client-side)
//     connection, bc the back (server-side) one.
//   - session: one client connection's whole life (s).
//   - transaction: one request/response exchange inside a session (HTTP).
//   - req / res: the two channels; req carries client-to-server bytes, res
//     server-to-client bytes.
//
// Modes:
//   - TCP mode has no analyzers: the session picks a server through package
//     backend and connects at once (retries, redispatch), then the two
//     channels forward autonomously (kernel splice once a flow proves bulky)
//     and wake the session only on error, close or timeout.
//   - HTTP mode HOLDs the request channel while analyzers run (package
//     analyzer); it arrives with HTTP mode.
//
// HOLD is the connect gate: while request analyzer bits remain, nothing
// connects. In TCP mode there are no analyzer bits, so HOLD is never set and
// the session connects at once. The only code allowed to set or clear HOLD is
// the analyzer loop of the HTTP session (not yet present).
//
// The session decides WHEN (timeouts, retries, closing); backend decides WHO;
// analyzer decides WHAT. Session must not import gnet, open listeners, or
// write anything to the log except its one line at close (Session.log).
//
// Timeouts are absolute deadlines per purpose, folded into one wake-up per
// session; they are read from an injectable Clock so tests can drive them.
package session
