package analyzer

// Verdict is what an analyzer tells the session after one call.
type Verdict uint8

// The verdicts.
const (
	// Continue: the analyzer is done with this message and cleared its bit.
	Continue Verdict = iota
	// Wait: more bytes are needed; the session keeps HOLD.
	Wait
	// Abort: the transaction fails; the session answers and closes.
	Abort
)

var verdictNames = [...]string{Continue: "continue", Wait: "wait", Abort: "abort"}

// String names the verdict.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(?)"
}

// Bit is one analyzer on a channel; lower bits run first.
type Bit uint32

// The analyzer bits, in execution order.
const (
	// HTTPLBReq parses and validates a request head, then decides the
	// backend (http_lb_req).
	HTTPLBReq Bit = 1 << iota
	// HTTPLBResp parses and validates a response head (http_lb_resp).
	HTTPLBResp
	bitEnd
)

// String names a single bit, or lists the bits of a set.
func (b Bit) String() string {
	switch b {
	case 0:
		return "none"
	case HTTPLBReq:
		return "http_lb_req"
	case HTTPLBResp:
		return "http_lb_resp"
	}
	s := ""
	for x := Bit(1); x < bitEnd; x <<= 1 {
		if b&x != 0 {
			if s != "" {
				s += "|"
			}
			s += x.String()
		}
	}
	if b&^(bitEnd-1) != 0 {
		s += "|unknown"
	}
	return s
}
