package backend

// Waiter is one session waiting for a server slot. The caller owns it and
// may embed it in its session to avoid an allocation; Acquire links it into a
// queue without copying. A Waiter may be reused once Ready has been called or
// Cancel has returned true, never while it is queued.
type Waiter struct {
	// Ready is called exactly once when a slot has been reserved for the
	// waiter on srv; the callee owns the slot and must Release it. It is
	// called from whichever goroutine freed the slot (a Release, a health
	// check, an admin change), never while a backend lock is held and never
	// from inside the Acquire that queued the waiter. It must not block: post
	// a wake-up to the session's event loop and return. Required when the
	// waiter may be queued.
	Ready func(srv *Server)

	// The fields below are owned by Backend.mu while the waiter is queued,
	// then by the goroutine that dequeued it until Ready is called.
	key     uint64     // Acquire's key, for the policy when dispatched
	exclude *Server    // Acquire's exclude, honoured when dispatched
	seq     uint64     // arrival order within the backend, for merging queues
	q       *waitQueue // the queue holding the waiter; nil when not queued
	prev    *Waiter
	next    *Waiter // also links the ready list built by dispatchLocked
	srv     *Server // the server reserved by dispatchLocked, until Ready
}

// waitQueue is an intrusive FIFO of Waiters. Owned by Backend.mu.
type waitQueue struct {
	srv        *Server // the server owning this queue; nil for the backend's
	head, tail *Waiter
	n          int
}

// pushLocked appends w at the tail.
func (q *waitQueue) pushLocked(w *Waiter) {
	w.q = q
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

// removeLocked unlinks w, which must be in q.
func (q *waitQueue) removeLocked(w *Waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.q, w.prev, w.next = nil, nil, nil
	q.n--
}

// mergeLocked moves every waiter of from into q, keeping arrival order
// (seq) across both queues. from is left empty.
func (q *waitQueue) mergeLocked(from *waitQueue) {
	if from.n == 0 {
		return
	}
	x, y := q.head, from.head
	q.head, q.tail, q.n = nil, nil, 0
	from.head, from.tail, from.n = nil, nil, 0
	for x != nil || y != nil {
		var w *Waiter
		if y == nil || (x != nil && x.seq < y.seq) {
			w, x = x, x.next
		} else {
			w, y = y, y.next
		}
		q.pushLocked(w)
	}
}
