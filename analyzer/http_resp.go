package analyzer

// responseLimits bound response heads: HAProxy lets a response use the
// whole buffer (tune.bufsize 16384); max_head_size and friends are the
// client's limits, not the servers'.
var responseLimits = Limits{MaxHead: 16384, MaxHeaders: defaultMaxHeaders, MaxTarget: defaultMaxTarget}

// HTTPLBResp is the http_lb_resp analyzer. It parses the response head at
// the start of buf (resuming where the previous call stopped), validates
// it against the request it answers, and decides its framing and the
// client connection's fate. Preconditions: the AnHTTPLBResp bit is set;
// http_lb_req returned Continue for this transaction; buf holds the
// response from its first byte; now is the time of the call (unix ns).
//
// Verdicts:
//   - Wait: the head is incomplete and valid so far.
//   - Fail: the head is invalid, or a 101 the request did not ask for (RFC
//     9110 15.2.2: a tunnel lb did not agree to would carry bytes it never
//     parsed); t.Err has status 502.
//   - Answer: an http_response deny rule applies (t.Answer); the response
//     must not reach the client.
//   - Continue with t.Interim: a 1xx interim head (100 Continue, 103
//     Early Hints) to pass on; the bit stays set, and the session calls
//     t.Res.Reset before the next call, for the final head.
//   - Continue: the final head. The plan is in t: Status, KeepAlive,
//     Tunnel, and the body framing (ResBody). The bit is cleared;
//     AnHTTPXferResBody is set when a body follows.
//
// The head's slices (t.Res) alias buf and are valid only until this call
// returns.
func HTTPLBResp(cfg *Config, t *Txn, an *Bits, buf []byte, now int64) Verdict {
	err := t.Res.Parse(buf, t.Method(), responseLimits)
	if err == ErrIncomplete {
		return Wait
	}
	if err != nil {
		*an &^= AnHTTPLBResp
		return t.fail(err, 502)
	}
	r := &t.Res
	if t.Interim = r.Interim; r.Interim {
		return Continue
	}
	*an &^= AnHTTPLBResp
	if r.Status == 101 && !t.Upgrade {
		return t.failStatus(502, "101 switching protocols the request did not ask for")
	}
	if t.ResDeny >= 0 {
		t.Answer = &cfg.ResRules[t.ResDeny]
		return Answer
	}
	t.Status, t.ResHeadAt = r.Status, now
	t.Tunnel = r.Tunnel || r.Upgrade
	switch {
	case t.Tunnel, r.NoBody:
	case r.Chunked:
		t.ResBody.setChunked(502, 0)
	case r.ContentLength >= 0:
		t.ResBody.setLength(r.ContentLength)
	default:
		t.ResBody.setClose()
	}
	t.KeepAlive = t.ReqKeepAlive && r.KeepAlive && !t.Tunnel && !t.ResBody.UntilClose() && !t.Close
	if !t.ResBody.Done() {
		*an |= AnHTTPXferResBody
	}
	return Continue
}
