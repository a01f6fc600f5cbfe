// Package par runs loops on a fixed set of worker goroutines without
// allocating: the work function is installed once and each Run wakes the
// workers with empty-struct channel sends.
package par

import (
	"runtime"
	"sync"
)

// Pool is a fixed set of threads that run one parallel phase at a time.
// Thread 0 is the caller. A Pool must not run phases concurrently; use one
// per goroutine that needs one.
type Pool struct {
	n     int
	fn    func(tid int)
	start []chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// New returns a pool of n threads (n <= 0: runtime.GOMAXPROCS(0)).
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n, start: make([]chan struct{}, n)}
	for tid := 1; tid < n; tid++ {
		ch := make(chan struct{})
		p.start[tid] = ch
		go func() {
			for range ch {
				p.fn(tid)
				p.wg.Done()
			}
		}()
	}
	return p
}

// Threads returns the number of threads.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.n
}

// Run calls fn(tid) for every tid in 0..Threads()-1, concurrently, and
// returns when all calls have returned. A nil Pool runs fn(0). To stay
// allocation-free, pass a function value created once (a method value
// stored in a field), not a new closure per call.
func (p *Pool) Run(fn func(tid int)) {
	if p == nil || p.n == 1 {
		fn(0)
		return
	}
	p.fn = fn
	p.wg.Add(p.n - 1)
	for tid := 1; tid < p.n; tid++ {
		p.start[tid] <- struct{}{}
	}
	fn(0)
	p.wg.Wait()
}

// Close stops the workers; it is idempotent.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		for tid := 1; tid < p.n; tid++ {
			close(p.start[tid])
		}
	})
}

// Split returns thread tid's share [lo, hi) of n items divided into
// contiguous, nearly equal parts aligned to multiples of align (the last
// part takes the remainder).
func Split(n, threads, tid, align int) (lo, hi int) {
	if align < 1 {
		align = 1
	}
	blocks := (n + align - 1) / align
	b0 := blocks * tid / threads
	b1 := blocks * (tid + 1) / threads
	lo, hi = min(b0*align, n), min(b1*align, n)
	return lo, hi
}
