package session

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pipe is a kernel pipe used as the splice intermediary of one channel.
type pipe struct{ r, w int }

// PipePool bounds and recycles the kernel pipes used for splice, as
// HAProxy's maxpipes does: a channel that cannot get a pipe keeps copying
// through a user-space buffer. The zero value is not usable; see NewPipePool.
type PipePool struct {
	max  int // most pipes that may exist at once (in use + free)
	size int // F_SETPIPE_SZ request; the kernel may grant less

	mu   sync.Mutex
	free []pipe // guarded by mu
	n    int    // pipes in existence; guarded by mu

	inUse   atomic.Int64 // atomic: read by the metrics collector
	refused atomic.Int64 // atomic: requests refused at the bound
}

// NewPipePool returns a pool of at most max pipes of size bytes each.
// max <= 0 disables splice (Get always refuses).
func NewPipePool(max, size int) *PipePool {
	return &PipePool{max: max, size: size}
}

// Get returns a pipe, or ok=false if the bound is reached or the kernel
// refused one. Safe for concurrent use.
func (pp *PipePool) Get() (p pipe, ok bool) {
	pp.mu.Lock()
	if n := len(pp.free); n > 0 {
		p = pp.free[n-1]
		pp.free = pp.free[:n-1]
		pp.mu.Unlock()
		pp.inUse.Add(1)
		return p, true
	}
	if pp.n >= pp.max {
		pp.mu.Unlock()
		pp.refused.Add(1)
		return pipe{}, false
	}
	pp.n++
	pp.mu.Unlock()

	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		pp.mu.Lock()
		pp.n--
		pp.mu.Unlock()
		pp.refused.Add(1)
		return pipe{}, false
	}
	if pp.size > 0 {
		// Best effort: an unprivileged process over fs.pipe-user-pages-soft
		// keeps the default 64 KiB, which still works, just with more calls.
		_, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pp.size)
	}
	pp.inUse.Add(1)
	return pipe{r: fds[0], w: fds[1]}, true
}

// Put returns a pipe. A pipe that may still hold bytes (clean=false) is
// closed rather than recycled. Safe for concurrent use.
func (pp *PipePool) Put(p pipe, clean bool) {
	pp.inUse.Add(-1)
	pp.mu.Lock()
	if clean { // n <= max, so the free list is bounded too
		pp.free = append(pp.free, p)
		pp.mu.Unlock()
		return
	}
	pp.n--
	pp.mu.Unlock()
	unix.Close(p.r)
	unix.Close(p.w)
}

// InUse returns the number of pipes currently held by channels.
func (pp *PipePool) InUse() int64 { return pp.inUse.Load() }

// Close closes every free pipe. Pipes in use are closed when put back.
func (pp *PipePool) Close() {
	pp.mu.Lock()
	free := pp.free
	pp.free = nil
	pp.n -= len(free)
	pp.mu.Unlock()
	for _, p := range free {
		unix.Close(p.r)
		unix.Close(p.w)
	}
}

// Existing returns how many pipes exist, in use or free.
func (pp *PipePool) Existing() int {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return pp.n
}
