package session

import (
	"sync"

	"github.com/lb-proxy/lb/analyzer"
)

// channel is one direction of a session: req carries the client's bytes to
// the server, res the server's bytes to the client. Owned by the session's
// loop; while a pump command runs, the bytes it names are lent to the pump
// (pump.go) and the owner neither moves nor overwrites them.
//
// A channel's bytes are, in order:
//
//	output: head[headOff:]   bytes lb made (a rendered head, an answer)
//	        input[:fwd]      input bytes committed to the consumer
//	input:  input[fwd:]      bytes the analyzers have not looked at yet
//
// where input is the channel's own buffer (own[ownOff:]) when it holds
// bytes, else the producer connection's loop buffer (loop.go: input).
// Output goes out in that order (writev on the loop, a pump command
// otherwise) and nothing else is ever written to the consumer.
type channel struct {
	// head is output lb made. Not owned: it aliases a buffer of the
	// transaction (the rendered request head, kept for a resend) or of the
	// session (the response head, an answer).
	head    []byte
	headOff int
	// fwd is how many input bytes, from the start, are committed to the
	// consumer and follow head.
	fwd int
	// own is input the channel holds itself: bytes carried over a
	// hand-off or back onto the loop, or read by a pump. From bufPool, or
	// larger when an analyzer needs more; released when empty.
	own    []byte
	ownOff int
	// bytes counts the bytes written to the consumer in the current
	// transaction (the log's bytes_in / bytes_out).
	bytes int64
	// spliced counts those of them moved with splice(2).
	spliced int64
	// pump is the channel's I/O agent in pump mode, nil on the loop.
	pump *pump
	// an holds the analyzers still to run on this channel, lowest bit
	// first (process.go). No bits: the channel forwards everything when
	// the session is a tunnel (TCP mode, after a 101), and holds its input
	// otherwise (HTTP bytes sent ahead, waiting for the next transaction).
	an analyzer.Bits
	// shutr: the producer sent its FIN (or is gone); no more input comes.
	shutr bool
	// shutw: the consumer's write side was shut (a FIN relayed, or the
	// close after an answer).
	shutw bool
}

// pending reports whether the channel has output not yet written.
func (c *channel) pending() bool { return c.headOff < len(c.head) || c.fwd > 0 }

// hasOwn reports whether the channel's input is in its own buffer.
func (c *channel) hasOwn() bool { return c.ownOff < len(c.own) }

// setHead makes b the channel's lb-made output (it must have none).
func (c *channel) setHead(b []byte) { c.head, c.headOff = b, 0 }

// wroteHead records n bytes of head written; it returns how many of n went
// beyond head (into the committed input).
func (c *channel) wroteHead(n int) int {
	h := len(c.head) - c.headOff
	if n < h {
		c.headOff += n
		return 0
	}
	c.head, c.headOff = nil, 0
	return n - h
}

// dropOwn consumes n bytes of the own buffer; an emptied buffer goes back
// to the pool, unless a pump command still has it (then schedule or
// finish gives it back once the pump is idle).
func (c *channel) dropOwn(n int) {
	c.ownOff += n
	if c.ownOff >= len(c.own) {
		c.releaseOwn()
	}
}

// lent reports whether a pump command has the channel's buffers now.
func (c *channel) lent() bool { return c.pump != nil && c.pump.busy }

// releaseOwn gives the own buffer back (it must hold nothing of value);
// while a pump has it, it is only emptied.
func (c *channel) releaseOwn() {
	if c.lent() {
		c.ownOff = len(c.own) // empty; the pump may still be reading past len
		return
	}
	if cap(c.own) == bufSize {
		b := c.own[:0]
		bufPool.Put(&b)
	}
	c.own, c.ownOff = nil, 0
}

// room makes free space at the end of own for a read (compacting, or
// growing up to maxOwn) and returns it; empty when own is full. Call it
// only while no pump command has bytes of own.
func (c *channel) room() []byte {
	if c.own == nil {
		c.own = (*bufPool.Get().(*[]byte))[:0]
	}
	if len(c.own) == cap(c.own) && c.ownOff > 0 {
		n := copy(c.own, c.own[c.ownOff:])
		c.own, c.ownOff = c.own[:n], 0
	}
	if len(c.own) == cap(c.own) && cap(c.own) < maxOwn {
		b := make([]byte, len(c.own), min(2*cap(c.own), maxOwn))
		copy(b, c.own)
		c.releaseOwn()
		c.own = b
	}
	return c.own[len(c.own):cap(c.own)]
}

// keep appends b (input taken out of a loop buffer) to own.
func (c *channel) keep(b []byte) {
	if c.own == nil && len(b) <= bufSize {
		c.own = (*bufPool.Get().(*[]byte))[:0]
	}
	if c.ownOff > 0 && c.ownOff == len(c.own) {
		c.own, c.ownOff = c.own[:0], 0
	}
	c.own = append(c.own, b...)
}

// reset empties the channel's per-transaction state; its own buffer (bytes
// sent ahead) and shutdown flags stay.
func (c *channel) reset() {
	c.an, c.head, c.headOff, c.fwd, c.bytes, c.spliced = 0, nil, 0, 0, 0, 0
}

// Buffers.
const (
	// bufSize is a channel's own buffer, and a pump's copy buffer
	// (HAProxy's tune.bufsize).
	bufSize = 16 << 10
	// maxOwn bounds a channel's own buffer: a request head can use up to
	// max_head_size (64k at most), plus a read.
	maxOwn = 128 << 10
	// maxAhead bounds the bytes a client may send ahead of its current
	// transaction before lb stops reading it (on the loop, by handing the
	// session to the pumps, which simply do not read).
	maxAhead = 64 << 10
	// bulkRead is the read size from which the loop considers a flow bulky
	// and hands it to the pumps, which splice: a read that filled the
	// loop's whole buffer.
	bulkRead = 64 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}
