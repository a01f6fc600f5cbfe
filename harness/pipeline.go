package harness

import (
	"sync/atomic"
)

// evalRunner runs evaluation tasks on its units: one per worker goroutine
// and one for the caller, who joins in when it asks for the results. Units
// take tasks in order from a shared counter and each result lands at its
// task's index, so the records do not depend on which unit ran which task
// or on how many units there are. The goroutines and buffers live for the
// whole run: running tasks allocates nothing.
//
// Pipelined (two threads or more), the driver starts a point's tasks right
// after an update, on copies of the parameters, and collects them after
// the next update: the workers evaluate while the driver trains, then the
// driver helps with what is left.
type evalRunner struct {
	ev      *evaluator
	caller  *evalUnit
	workers []*evalWorker
	arenas  []arenas
	tasks   []evalTask
	res     []taskResult
	next    atomic.Int64
	running bool
}

type evalWorker struct {
	u           *evalUnit
	start, done chan struct{}
}

func newEvalRunner(ev *evaluator, caller *evalUnit, workers []*evalUnit) *evalRunner {
	r := &evalRunner{ev: ev, caller: caller}
	for _, u := range workers {
		w := &evalWorker{u: u, start: make(chan struct{}), done: make(chan struct{})}
		r.workers = append(r.workers, w)
		go func() {
			for range w.start {
				r.work(w.u)
				w.done <- struct{}{}
			}
		}()
	}
	return r
}

// arenas are the parameters and state of one evaluated model, of
// architecture arch (an index into the units' models).
type arenas struct {
	params, state []float32
	arch          int
}

// start hands the tasks to the workers; a[t.v] holds task t's arenas.
// The slices must stay unchanged until finish returns.
func (r *evalRunner) start(a []arenas, tasks []evalTask) {
	r.arenas, r.tasks = a, tasks
	if cap(r.res) < len(tasks) {
		r.res = make([]taskResult, len(tasks))
	}
	r.res = r.res[:len(tasks)]
	r.next.Store(0)
	r.running = true
	for _, w := range r.workers {
		w.start <- struct{}{}
	}
}

// finish runs the tasks left on the caller's unit, waits for the workers
// and returns the results, task by task.
func (r *evalRunner) finish() []taskResult {
	r.work(r.caller)
	for _, w := range r.workers {
		<-w.done
	}
	r.running = false
	return r.res
}

func (r *evalRunner) work(u *evalUnit) {
	for {
		i := int(r.next.Add(1)) - 1
		if i >= len(r.tasks) {
			return
		}
		t := r.tasks[i]
		r.res[i] = r.ev.runTask(u, r.arenas[t.v], t)
	}
}

// close stops the workers (after the tasks in flight, if any).
func (r *evalRunner) close() {
	if r.running {
		r.finish()
	}
	for _, w := range r.workers {
		close(w.start)
	}
}
