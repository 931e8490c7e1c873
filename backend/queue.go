package backend

import "time"

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

	// Class and Offset order the queue (HAProxy's set-priority-class and
	// set-priority-offset): a lower class is served first; within a class,
	// by arrival time plus Offset (a positive offset waits longer). Set
	// them before Acquire; zero for plain arrival order.
	Class  int
	Offset time.Duration

	// The fields below are owned by Backend.mu while the waiter is queued,
	// then by the goroutine that dequeued it until Ready is called.
	key     uint64     // Acquire's key, for the policy when dispatched
	exclude *Server    // Acquire's exclude, honoured when dispatched
	seq     uint64     // arrival order within the backend, the last tie-break
	due     int64      // arrival (unix ns) plus Offset: the order within a class
	q       *waitQueue // the queue holding the waiter; nil when not queued
	prev    *Waiter
	next    *Waiter // also links the ready list built by dispatchLocked
	srv     *Server // the server reserved by dispatchLocked, until Ready
}

// before reports whether a is served before b: class, then due, then
// arrival.
func (a *Waiter) before(b *Waiter) bool {
	if a.Class != b.Class {
		return a.Class < b.Class
	}
	if a.due != b.due {
		return a.due < b.due
	}
	return a.seq < b.seq
}

// waitQueue is an intrusive list of Waiters in service order (before):
// arrival order when no waiter has a class or an offset. Owned by
// Backend.mu.
type waitQueue struct {
	srv        *Server // the server owning this queue; nil for the backend's
	head, tail *Waiter
	n          int
}

// pushLocked inserts w in service order, from the tail (where a waiter
// of the common class and no offset goes: O(1)).
func (q *waitQueue) pushLocked(w *Waiter) {
	w.q = q
	after := q.tail
	for after != nil && w.before(after) {
		after = after.prev
	}
	w.prev = after
	if after != nil {
		w.next = after.next
		after.next = w
	} else {
		w.next = q.head
		q.head = w
	}
	if w.next != nil {
		w.next.prev = w
	} else {
		q.tail = w
	}
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

// mergeLocked moves every waiter of from into q, keeping service order
// (before) across both queues. from is left empty.
func (q *waitQueue) mergeLocked(from *waitQueue) {
	if from.n == 0 {
		return
	}
	x, y := q.head, from.head
	q.head, q.tail, q.n = nil, nil, 0
	from.head, from.tail, from.n = nil, nil, 0
	for x != nil || y != nil {
		var w *Waiter
		if y == nil || (x != nil && x.before(y)) {
			w, x = x, x.next
		} else {
			w, y = y, y.next
		}
		q.pushLocked(w)
	}
}
