package gemm

import "sync"

// pool is a fixed set of worker goroutines that run one parallel phase at
// a time. Worker tid (1..n-1) runs work(tid) each time it is woken; the
// caller itself acts as thread 0. Waking and waiting use channels of
// empty structs and a WaitGroup, so a phase allocates nothing.
type pool struct {
	n     int
	work  func(tid int)
	start []chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// newPool starts n-1 workers that call work(tid) once per run.
func newPool(n int, work func(tid int)) *pool {
	p := &pool{n: n, work: work, start: make([]chan struct{}, n)}
	for tid := 1; tid < n; tid++ {
		ch := make(chan struct{})
		p.start[tid] = ch
		go func() {
			for range ch {
				work(tid)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run executes work(tid) for every tid in 0..n-1 and returns when all are
// done. It must not be called concurrently with itself.
func (p *pool) run() {
	p.wg.Add(p.n - 1)
	for tid := 1; tid < p.n; tid++ {
		p.start[tid] <- struct{}{}
	}
	p.work(0)
	p.wg.Wait()
}

// close stops the workers. It is idempotent.
func (p *pool) close() {
	p.once.Do(func() {
		for tid := 1; tid < p.n; tid++ {
			close(p.start[tid])
		}
	})
}
