package config

import (
	"testing"

	"github.com/lb-proxy/lb/analyzer"
)

func TestSizeText(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "100": 100, "100b": 100, "512k": 512 << 10, "16KiB": 16 << 10, "16kb": 16 << 10,
		"10m": 10 << 20, "10 MiB": 10 << 20, "1g": 1 << 30, "2GB": 2 << 30,
	} {
		var z Size
		if err := z.UnmarshalText([]byte(in)); err != nil || int64(z) != want {
			t.Errorf("%q: %d, %v; want %d", in, z, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "1.5m", "10x", "5ib", "1t", "99999999999999g"} {
		var z Size
		if err := z.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q: accepted as %d; want an error", in, z)
		}
	}
}

// TestLimitDefaults: the request limits' defaults are the analyzer's.
func TestLimitDefaults(t *testing.T) {
	d := analyzer.DefaultLimits
	if int(defaultMaxHeadSize) != d.MaxHead || defaultMaxHeaders != d.MaxHeaders || int(defaultMaxTargetSize) != d.MaxTarget {
		t.Errorf("config defaults %d/%d/%d differ from analyzer.DefaultLimits %+v",
			defaultMaxHeadSize, defaultMaxHeaders, defaultMaxTargetSize, d)
	}
}
