package analyzer

// The analyzer contract.
//
// An analyzer is a pure function of (configuration, transaction, the
// channel's buffered bytes, now). The session calls the analyzers of a
// channel in bit order, as a visible list (session/process.go), whenever
// the channel has new bytes or the transaction moved on. An analyzer:
//   - returns a Verdict: Continue (done with this message part; it cleared
//     its own bit, and may have set the next analyzer's bit), Wait (it
//     needs more bytes; its bit stays), Answer (lb answers the request
//     itself: Txn.Answer says how), or Fail (the message is invalid:
//     Txn.Err says why and with which status);
//   - leaves its plan in the transaction (route, hash key, header edits,
//     framing, how many buffered bytes are validated and may be
//     forwarded);
//   - never does I/O, never logs, never keeps a slice of buf after it
//     returns, never reads past the message framing it validated.
//
// The session executes plans: it drops and forwards bytes, picks and
// connects servers, answers, and logs.

// Verdict is what an analyzer tells the session after one call.
type Verdict uint8

// The verdicts.
const (
	// Continue: the analyzer is done with this part of the message and
	// cleared its bit (an interim 1xx response head is the exception: the
	// head is done, the bit stays for the final one).
	Continue Verdict = iota
	// Wait: more bytes are needed; the bit stays and the session keeps
	// the channel's state (while http_lb_req waits, that is HOLD).
	Wait
	// Answer: lb answers the request itself (a redirect, deny or return
	// rule); Txn.Answer is the rule.
	Answer
	// Fail: the message is invalid or over a limit; Txn.Err holds the
	// status (400, 413, 414, 417, 431, 501, 505 for requests; 502 for
	// responses) and the reason.
	Fail
	verdictEnd
)

var verdictNames = [...]string{Continue: "continue", Wait: "wait", Answer: "answer", Fail: "fail"}

// String names the verdict.
func (v Verdict) String() string {
	if v < verdictEnd {
		return verdictNames[v]
	}
	return "verdict(?)"
}

// Bits is a set of analyzers on a channel; lower bits run first. The
// request channel holds the AnHTTPLBReq and AnHTTPXferReqBody bits, the
// response channel AnHTTPLBResp and AnHTTPXferResBody. A channel with no bits
// forwards what it gets without looking (TCP mode, tunnels).
type Bits uint8

// The analyzer bits, in execution order.
const (
	// AnHTTPLBReq (http_lb_req) parses and validates a request head and the
	// body bytes that arrived with it, then decides: rules, route, hash
	// key, header edits, body framing. While it is set the request is
	// HELD: no server is chosen or contacted.
	AnHTTPLBReq Bits = 1 << iota
	// AnHTTPXferReqBody (http_xfer_req_body) validates the request body as
	// it streams (chunked framing, the body limit) and says how much of it
	// may be forwarded; it clears itself at the end of the body.
	AnHTTPXferReqBody
	// AnHTTPLBResp (http_lb_resp) parses and validates a response head and
	// decides its framing, its header edits and the connection's fate.
	AnHTTPLBResp
	// AnHTTPXferResBody (http_xfer_res_body) validates the response body as
	// it streams; it clears itself at the end of the body.
	AnHTTPXferResBody
	// AnTCPInspectReq (tcp_inspect_req, TCP mode with sni routes) waits for
	// the client's TLS ClientHello and routes by its server name
	// (TCPInspect). While it is set the connection is HELD.
	AnTCPInspectReq
	bitsEnd
)

var bitNames = [...]string{"http_lb_req", "http_xfer_req_body", "http_lb_resp", "http_xfer_res_body", "tcp_inspect_req"}

// String names a single bit, or lists the bits of a set ("none" when
// empty).
func (b Bits) String() string {
	if b == 0 {
		return "none"
	}
	s := ""
	for i, x := 0, Bits(1); x < bitsEnd; i, x = i+1, x<<1 {
		if b&x != 0 {
			if s != "" {
				s += "|"
			}
			s += bitNames[i]
		}
	}
	if b&^(bitsEnd-1) != 0 {
		if s != "" {
			s += "|"
		}
		s += "unknown"
	}
	return s
}
