package sweep

import (
	"errors"
	"fmt"
	"math"

	"github.com/cleval/cleval/harness"
)

// Prepare builds the stream of every run with data (which caches the
// datasets), so that a run whose stream cannot be built fails now, with
// its location, and sets each run's Iterations and Memory. Before building
// a stream it refuses one that would not fit in memory, and after, a run
// of more than harness.MaxUpdates updates or whose model and batches
// alone would not fit (harness.CheckRun with one thread; CheckMemory
// checks the threads and workers).
func (p *Plan) Prepare(data *harness.Data) error {
	for i := range p.Runs {
		r := &p.Runs[i]
		fail := func(err error) error {
			if r.src != nil && errors.Is(err, harness.ErrInvalid) {
				return r.src.locate(err, r.Label)
			}
			return err
		}
		if err := data.CheckResources(&r.Config); err != nil {
			return fail(err)
		}
		s, err := data.Stream(&r.Config)
		if err != nil {
			return fail(err)
		}
		if err := harness.CheckRun(&r.Config, s, 1, 1); err != nil {
			return fail(err)
		}
		r.Memory = harness.EstimateMemory(&r.Config, s)
		r.Iterations = 0
		for _, n := range harness.Iterations(&r.Config, s) {
			r.Iterations += n
		}
	}
	return nil
}

// CheckMemory refuses to run runs (prepared) workers at a time with
// threads threads each when the largest would, times workers, need more
// memory than this machine has (harness.MemoryLimit). threads and workers
// are as the Runner resolves them (<= 0: the defaults).
func CheckMemory(runs []Run, workers, threads int) error {
	workers = min(max(1, workers), max(1, len(runs)))
	if threads <= 0 {
		threads = ThreadsPerRun(workers)
	}
	var need int64
	worst := -1
	for i, r := range runs {
		if m := r.Memory.Total(threads); m > need {
			need, worst = m, i
		}
	}
	if worst < 0 {
		return nil
	}
	total := need * int64(workers)
	if need > 0 && total/int64(workers) != need {
		total = math.MaxInt64
	}
	if limit := harness.MemoryLimit(); limit > 0 && total > limit {
		return fmt.Errorf("%w: %d runs at once with %d threads each would need about %s of memory (run %s alone about %s), more than the %s this machine has: use fewer workers or threads",
			harness.ErrInvalid, workers, threads, harness.FormatBytes(total), runs[worst].Label, harness.FormatBytes(need), harness.FormatBytes(limit))
	}
	return nil
}
