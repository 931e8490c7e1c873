// Package analyzer holds the HTTP analyzers (http_lb_req, http_lb_resp) and
// their parsers: pure logic over byte slices that decides WHAT happens to a
// transaction (route, hash key, header edits, error status). It does no I/O,
// no logging and starts no goroutines; the current time is an argument.
//
// The analyzer contract (implemented by HTTP mode):
//   - Analyzers are ordered bits on a channel (Bit); bit order is execution
//     order. The session calls them in that order, as a visible list.
//   - An analyzer is called with the channel's buffered bytes and `now`, and
//     returns a Verdict: Continue (done: it cleared its own bit), Wait (needs
//     more bytes; the session keeps HOLD and the analyzer's deadline), or
//     Abort (with a status and a termination code; the session answers and
//     closes).
//   - An analyzer never consumes bytes it did not parse, never reads beyond
//     the message framing it validated, and never keeps a slice after it
//     returns.
package analyzer
