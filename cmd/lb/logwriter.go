package main

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// logWriter takes the access log off the data path: Write copies a line
// into a bounded buffer (no syscall), and a flusher goroutine writes the
// buffer out in batches. When the buffer is full, lines are dropped and
// counted rather than blocking an event loop (HAProxy's dropped_logs).
type logWriter struct {
	out    io.Writer
	reopen func() (io.Writer, error) // reopens a file destination (SIGUSR1), or nil

	mu      sync.Mutex
	buf     []byte // pending lines; guarded by mu
	spare   []byte // the flusher's buffer
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	dropped *atomic.Int64 // atomic: lines dropped because the buffer was full (the process's count)
}

const (
	logBufMax   = 4 << 20               // pending bytes before lines are dropped
	logFlushLen = 64 << 10              // flush early once this much is pending
	logFlushAge = 50 * time.Millisecond // flush at least this often
)

func newLogWriter(out io.Writer, reopen func() (io.Writer, error), dropped *atomic.Int64) *logWriter {
	w := &logWriter{out: out, reopen: reopen, dropped: dropped, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.flusher()
	return w
}

// Write queues one log line. Safe for concurrent use; never blocks on I/O.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) > logBufMax {
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	n := len(w.buf)
	w.mu.Unlock()
	if n >= logFlushLen {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// flusher is the writer's goroutine; Close stops it after a last flush.
func (w *logWriter) flusher() {
	defer close(w.done)
	t := time.NewTicker(logFlushAge)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.wake:
		case <-w.stop:
			w.flush()
			return
		}
		w.flush()
	}
}

func (w *logWriter) flush() {
	w.mu.Lock()
	w.buf, w.spare = w.spare[:0], w.buf
	out := w.out
	w.mu.Unlock()
	if len(w.spare) > 0 {
		out.Write(w.spare)
	}
}

// Reopen reopens a file destination (for logrotate, on SIGUSR1).
func (w *logWriter) Reopen() error {
	if w.reopen == nil {
		return nil
	}
	out, err := w.reopen()
	if err != nil {
		return err
	}
	w.mu.Lock()
	old := w.out
	w.out = out
	w.mu.Unlock()
	if f, ok := old.(*os.File); ok && f != os.Stdout && f != os.Stderr {
		f.Close()
	}
	return nil
}

// Close flushes what is pending and stops the flusher.
func (w *logWriter) Close() error {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.out.(*os.File); ok && f != os.Stdout && f != os.Stderr {
		return f.Close()
	}
	return nil
}
