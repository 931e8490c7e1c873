package session

import (
	"testing"
	"time"

	"github.com/lb-proxy/lb/analyzer"
	"github.com/lb-proxy/lb/config"
)

// TestExpiries: each state arms the purposes that name what lb waits for,
// and only those (issue 8: a stalled server is timeout.server, a stalled
// client timeout.client, tunnel only in a tunnel).
func TestExpiries(t *testing.T) {
	const s = int64(time.Second)
	d := func(v time.Duration) config.Duration { return config.Duration{Duration: v} }
	feT := config.Timeouts{Client: d(30 * time.Second), HTTPRequest: d(10 * time.Second),
		HTTPKeepAlive: d(5 * time.Second), HTTPBody: d(10 * time.Second)}
	beT := config.Timeouts{Server: d(20 * time.Second), Connect: d(4 * time.Second), Queue: d(3 * time.Second),
		Tunnel: d(time.Hour)}
	be := &Target{Cfg: &config.Backend{Timeout: beT}}
	beNoTunnel := &Target{Cfg: &config.Backend{Timeout: config.Timeouts{Server: d(20 * time.Second)}}}
	type want map[expiry]int64
	cases := []struct {
		name  string
		mode  config.Mode
		setup func(ss *Session)
		want  want
	}{
		{"idle between requests: keep-alive only", config.ModeHTTP, func(ss *Session) {
			ss.t, ss.nreq, ss.idleSince = nil, 2, 100*s
		}, want{expHTTPKeepAlive: 105 * s}},
		{"first request head: http_request and client", config.ModeHTTP, func(ss *Session) {
			ss.req.an = analyzer.AnHTTPLBReq
		}, want{expHTTPRequest: 110 * s, expClient: 130 * s}},
		{"queued", config.ModeHTTP, func(ss *Session) {
			ss.t.cs, ss.t.tPhase = csQueued, 101*s
		}, want{expQueue: 104 * s}},
		{"connecting", config.ModeHTTP, func(ss *Session) {
			ss.t.cs, ss.t.tPhase = csConnecting, 101*s
		}, want{expConnect: 105 * s}},
		{"retry pause: min(connect, 1s)", config.ModeHTTP, func(ss *Session) {
			ss.t.cs, ss.t.tPhase = csPausing, 101*s
		}, want{expTurnAround: 102 * s}},
		{"request body: client and the body rate, not the server", config.ModeHTTP, func(ss *Session) {
			ss.t.cs, ss.bc.open = csConnected, true
			ss.req.an, ss.res.an = analyzer.AnHTTPXferReqBody, analyzer.AnHTTPLBResp
			ss.t.bodyStart = 100 * s
			ss.t.a.ReqBody.Bytes = 1024
		}, want{expClient: 130 * s, expHTTPBody: 100*s + 10*s + 2*s}},
		{"waiting for the response head: server only", config.ModeHTTP, func(ss *Session) {
			ss.t.cs, ss.bc.open = csConnected, true
			ss.res.an = analyzer.AnHTTPLBResp
			ss.bc.act.Store(102 * s)
		}, want{expServer: 122 * s}},
		{"response body: server only, not tunnel (the 15 s bug)", config.ModeHTTP, func(ss *Session) {
			ss.t.cs, ss.bc.open = csConnected, true
			ss.res.an = analyzer.AnHTTPXferResBody
			ss.bc.act.Store(103 * s)
		}, want{expServer: 123 * s}},
		{"tunnel: tunnel only, from the later activity", config.ModeTCP, func(ss *Session) {
			ss.tunnel, ss.t.cs, ss.bc.open = true, csConnected, true
			ss.bc.act.Store(107 * s)
		}, want{expTunnel: 107*s + 3600*s}},
		{"TCP without tunnel timeout: client and server", config.ModeTCP, func(ss *Session) {
			ss.tunnel, ss.t.cs, ss.bc.open = true, csConnected, true
			ss.t.target = beNoTunnel
			ss.bc.act.Store(107 * s)
		}, want{expClient: 130 * s, expServer: 127 * s}},
		{"lingering: linger only", config.ModeHTTP, func(ss *Session) {
			ss.linger = 104 * s
		}, want{expLinger: 101 * s}},
	}
	for _, c := range cases {
		fe := &Frontend{Mode: c.mode, Timeouts: feT, BodyMinRate: 512}
		ss := &Session{fe: fe, env: &Env{}, tnow: 110 * s}
		ss.fc.act.Store(100 * s)
		ss.bc.act.Store(100 * s)
		ss.t = &txn{txnState: txnState{target: be, tStart: 100 * s}}
		ss.nreq, ss.idleSince = 1, 100*s
		c.setup(ss)
		ss.updateExpiries()
		for p := expiry(0); p < numExpiries; p++ {
			if got := ss.exp[p]; got != c.want[p] {
				t.Errorf("%s: %s = %v; want %v", c.name, p, time.Duration(got), time.Duration(c.want[p]))
			}
		}
	}
}
