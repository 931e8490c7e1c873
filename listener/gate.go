package listener

// Gate bounds how many connections are open at once (a maxconn). A nil
// *Gate is unlimited. Safe for concurrent use.
type Gate struct {
	sem chan struct{}
}

// NewGate returns a gate of n slots, or nil (unlimited) when n <= 0.
func NewGate(n int) *Gate {
	if n <= 0 {
		return nil
	}
	return &Gate{sem: make(chan struct{}, n)}
}

// Acquire takes a slot, waiting while the gate is full; it returns false if
// stop closes first.
func (g *Gate) Acquire(stop <-chan struct{}) bool {
	if g == nil {
		return true
	}
	select {
	case g.sem <- struct{}{}:
		return true
	default:
	}
	select {
	case g.sem <- struct{}{}:
		return true
	case <-stop:
		return false
	}
}

// TryAcquire takes a slot if one is free now.
func (g *Gate) TryAcquire() bool {
	if g == nil {
		return true
	}
	select {
	case g.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees a slot taken by Acquire.
func (g *Gate) Release() {
	if g != nil {
		<-g.sem
	}
}

// Current returns the slots in use (0 for an unlimited gate).
func (g *Gate) Current() int {
	if g == nil {
		return 0
	}
	return len(g.sem)
}

// Limit returns the gate's size, 0 when unlimited.
func (g *Gate) Limit() int {
	if g == nil {
		return 0
	}
	return cap(g.sem)
}
