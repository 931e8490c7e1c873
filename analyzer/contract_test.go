package analyzer

import (
	"strings"
	"testing"
)

func TestEveryBitAndVerdictIsNamed(t *testing.T) {
	for b := Bit(1); b < bitEnd; b <<= 1 {
		if s := b.String(); s == "" || strings.Contains(s, "unknown") || strings.Contains(s, "|") {
			t.Errorf("Bit(%#x).String() = %q; want a single name", uint32(b), s)
		}
	}
	for v := Continue; v <= Abort; v++ {
		if s := v.String(); strings.Contains(s, "?") {
			t.Errorf("Verdict(%d).String() = %q; want a name", v, s)
		}
	}
	if got := (HTTPLBReq | HTTPLBResp).String(); got != "http_lb_req|http_lb_resp" {
		t.Errorf("set String() = %q; want %q", got, "http_lb_req|http_lb_resp")
	}
}
