// Package analyzer holds the HTTP analyzers and their parsers: pure logic
// over byte slices that decides WHAT happens to a transaction (route, hash
// key, header edits, framing, error status). It does no I/O, no logging
// and starts no goroutines; the current time is an argument.
//
// The contract (contract.go): the analyzers are ordered bits on a channel
// (Bits: http_lb_req, http_xfer_req_body on the request channel;
// http_lb_resp, http_xfer_res_body on the response channel), called by the
// session in bit order as a visible list; each is a function of (Config,
// Txn, the channel's buffered bytes, now) that returns a Verdict
// (Continue, Wait, Answer, Fail), clears its own bit when it is done, and
// leaves its plan in the transaction (Txn). The HTTP/1 parsers (Request,
// Response, ChunkedScanner) and renderers (AppendRequestHead,
// AppendResponseHead, AppendAnswer) are what the session's HTTP/1 codecs
// use; an analyzer never keeps a slice of the buffer it was given and
// never reads past the framing it validated.
package analyzer
