package backend

import (
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	var r Rate
	t0 := time.Unix(1000, 0)
	for i := 0; i < 10; i++ {
		r.Add(t0.Add(time.Duration(i) * 10 * time.Millisecond))
	}
	if v := r.Value(t0.Add(500 * time.Millisecond)); v != 10 {
		t.Errorf("rate within the second: %d; want 10", v)
	}
	if v := r.Value(t0.Add(1500 * time.Millisecond)); v != 5 {
		t.Errorf("half a second later: %d; want 5 (half of the last second)", v)
	}
	if v := r.Value(t0.Add(3 * time.Second)); v != 0 {
		t.Errorf("long after: %d; want 0", v)
	}
	r.Add(t0.Add(1200 * time.Millisecond))
	if v := r.Value(t0.Add(1200 * time.Millisecond)); v != 9 {
		t.Errorf("next second: %d; want 1 + 10*0.8 = 9", v)
	}
	if m := r.Max(); m != 10 {
		t.Errorf("max %d; want 10", m)
	}
}
