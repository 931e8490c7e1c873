package main

import (
	"bytes"
	"sync/atomic"
	"testing"
)

// blockedWriter never returns: the destination of a log that cannot keep
// up.
type blockedWriter struct{ release chan struct{} }

func (b blockedWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

// TestLogWriterDrops: when the destination cannot keep up, Write never
// blocks: lines beyond the bound are dropped and counted in the process's
// count (lb_process_dropped_logs_total).
func TestLogWriterDrops(t *testing.T) {
	var dropped atomic.Int64
	out := blockedWriter{release: make(chan struct{})}
	w := newLogWriter(out, nil, &dropped)
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for i := 0; i < 2*logBufMax/len(line)+10; i++ {
		w.Write(line) // never blocks
	}
	if n := dropped.Load(); n < int64(logBufMax/len(line)/2) {
		t.Errorf("dropped = %d; want about half of the %d lines written", n, 2*logBufMax/len(line))
	}
	close(out.release)
	w.Close()
}
