package listener

import (
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	stop := make(chan struct{})
	var unlimited *Gate
	for i := 0; i < 1000; i++ {
		if !unlimited.Acquire(stop) {
			t.Fatal("a nil gate refused a slot")
		}
	}
	g := NewGate(2)
	if !g.Acquire(stop) || !g.Acquire(stop) {
		t.Fatal("a gate of 2 refused one of its first two slots")
	}
	if g.Current() != 2 || g.Limit() != 2 {
		t.Errorf("Current, Limit = %d, %d; want 2, 2", g.Current(), g.Limit())
	}
	got := make(chan bool)
	go func() { got <- g.Acquire(stop) }()
	select {
	case <-got:
		t.Fatal("a full gate granted a third slot")
	case <-time.After(50 * time.Millisecond):
	}
	g.Release()
	if !<-got {
		t.Fatal("a freed slot was not granted to the waiter")
	}
	go func() { got <- g.Acquire(stop) }()
	close(stop)
	if <-got {
		t.Error("Acquire on a full gate returned true after stop")
	}
}
