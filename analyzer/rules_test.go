package analyzer

import (
	"strings"
	"testing"
)

func parseReq(t *testing.T, raw string) *Request {
	t.Helper()
	var r Request
	if err := r.Parse([]byte(raw), DefaultLimits); err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	return &r
}

func TestEveryActionIsNamed(t *testing.T) {
	for a := Action(0); a < numActions; a++ {
		name := a.String()
		if strings.Contains(name, "?") {
			t.Errorf("Action(%d) has no name", a)
		}
		if b, ok := ParseAction(name); !ok || b != a {
			t.Errorf("ParseAction(%q) = %v, %v; want %v", name, b, ok, a)
		}
	}
}

func TestMatch(t *testing.T) {
	r := parseReq(t, "GET http://Api.Example.com:8080/v1/users?x=1 HTTP/1.1\r\nHost: api.example.com:8080\r\nX-Canary: 1\r\n\r\n")
	cases := []struct {
		m    Match
		want bool
	}{
		{Match{}, true},
		{Match{Host: "api.example.com"}, true},
		{Match{Host: "API.EXAMPLE.COM"}, true},
		{Match{Host: "example.com"}, false},
		{Match{PathPrefix: "/v1/"}, true},
		{Match{PathPrefix: "/v2/"}, false},
		{Match{Header: "x-canary"}, true},
		{Match{Header: "X-Canary", HeaderValue: "1"}, true},
		{Match{Header: "X-Canary", HeaderValue: "2"}, false},
		{Match{Header: "X-Other"}, false},
		{Match{Host: "api.example.com", PathPrefix: "/v1/", Header: "X-Canary"}, true},
	}
	for _, c := range cases {
		if got := c.m.Matches(r); got != c.want {
			t.Errorf("%+v.Matches = %v; want %v", c.m, got, c.want)
		}
	}
}

func TestEvalAndEdits(t *testing.T) {
	rules := []Rule{
		{Action: SetHeader, Name: "X-Env", Value: "prod"},
		{Match: Match{PathPrefix: "/admin"}, Action: Deny},
		{Action: DelHeader, Name: "X-Debug"},
		{Action: AddHeader, Name: "X-Via", Value: "lb"},
	}
	r := parseReq(t, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	mask, term := Eval(rules, r, nil, nil)
	if term != -1 || mask != 0b1101 {
		t.Errorf("Eval(/x) = %04b, %d; want 1101, -1", mask, term)
	}
	for name, want := range map[string]bool{"x-env": true, "X-Debug": true, "X-Via": false, "Host": false} {
		if got := Dropped(rules, mask, []byte(name)); got != want {
			t.Errorf("Dropped(%s) = %v; want %v", name, got, want)
		}
	}
	if got := string(AppendAdded(nil, rules, mask)); got != "X-Env: prod\r\nX-Via: lb\r\n" {
		t.Errorf("AppendAdded = %q", got)
	}
	mask, term = Eval(rules, parseReq(t, "GET /admin HTTP/1.1\r\nHost: h\r\n\r\n"), nil, nil)
	if term != 1 || mask != 0b1 {
		t.Errorf("Eval(/admin) = %04b, %d; want 0001, 1 (rules after a terminal one do not apply)", mask, term)
	}
	if n := testing.AllocsPerRun(100, func() { Eval(rules, r, nil, nil); Dropped(rules, 0b1101, []byte("X-A")) }); n != 0 {
		t.Errorf("Eval+Dropped allocate %v times; want 0", n)
	}
}
