package par

import (
	"sync/atomic"
	"testing"
)

func TestSplitCoversOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 16, 400, 401} {
		for threads := 1; threads <= 5; threads++ {
			for _, align := range []int{1, 8, 16} {
				next := 0
				for tid := range threads {
					lo, hi := Split(n, threads, tid, align)
					if lo != next || hi < lo {
						t.Fatalf("n %d threads %d align %d: part %d = [%d, %d), want start %d", n, threads, align, tid, lo, hi, next)
					}
					if tid < threads-1 && hi%align != 0 && hi != n {
						t.Fatalf("n %d threads %d align %d: boundary %d not aligned", n, threads, align, hi)
					}
					next = hi
				}
				if next != n {
					t.Fatalf("n %d threads %d align %d: parts end at %d", n, threads, align, next)
				}
			}
		}
	}
}

type counter struct {
	hits [8]atomic.Int32
	fn   func(int)
}

func (c *counter) work(tid int) { c.hits[tid].Add(1) }

func TestRunCallsEveryThreadOnceWithoutAllocating(t *testing.T) {
	p := New(4)
	defer p.Close()
	c := &counter{}
	c.fn = c.work
	for range 10 {
		p.Run(c.fn)
	}
	for tid := range 4 {
		if got := c.hits[tid].Load(); got != 10 {
			t.Errorf("thread %d ran %d times, want 10", tid, got)
		}
	}
	if a := testing.AllocsPerRun(100, func() { p.Run(c.fn) }); a != 0 {
		t.Errorf("%v allocations per Run", a)
	}
	var nilPool *Pool
	nilPool.Run(c.fn)
	if c.hits[0].Load() != 10+101+1 {
		t.Errorf("nil pool did not run thread 0")
	}
}
