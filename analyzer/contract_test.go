package analyzer

import (
	"strings"
	"testing"
)

func TestEveryBitAndVerdictIsNamed(t *testing.T) {
	for b := Bits(1); b < bitsEnd; b <<= 1 {
		if s := b.String(); s == "" || strings.Contains(s, "unknown") || strings.Contains(s, "|") {
			t.Errorf("Bits(%#x).String() = %q; want a single name", uint8(b), s)
		}
	}
	if got := Bits(0).String(); got != "none" {
		t.Errorf("Bits(0).String() = %q; want none", got)
	}
	if got := Bits(1 << 7).String(); got != "unknown" {
		t.Errorf("an unnamed bit prints %q; want unknown", got)
	}
	for v := Verdict(0); v < verdictEnd; v++ {
		if s := v.String(); s == "" || strings.Contains(s, "?") {
			t.Errorf("Verdict(%d).String() = %q; want a name", v, s)
		}
	}
	if got := (AnHTTPLBReq | AnHTTPLBResp).String(); got != "http_lb_req|http_lb_resp" {
		t.Errorf("set String() = %q; want %q", got, "http_lb_req|http_lb_resp")
	}
}
