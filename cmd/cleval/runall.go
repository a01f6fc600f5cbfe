package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/internal/progress"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics/store"
)

// runAll runs the configurations, --workers at a time, each with
// --threads threads (default: the cores divided among the workers), and
// returns the ids of the stored runs in configuration order. Records do
// not depend on the number of workers or threads. The first error stops
// the remaining runs from starting.
func runAll(ctx context.Context, c *cli.Context, db *store.DB, data *harness.Data, cfgs []harness.Config, bar *progress.Bar) ([]int64, error) {
	workers := min(c.Int("workers"), len(cfgs))
	threads := c.Int("threads")
	if threads == 0 {
		threads = max(1, runtime.GOMAXPROCS(0)/workers)
	}
	ids := make([]int64, len(cfgs))
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rootErr error // the first failure; it cancels the other runs

	// Progress: iterations summed over the runs in flight and done.
	var mu sync.Mutex
	done, total, finished := make([]int, len(cfgs)), make([]int, len(cfgs)), 0
	fail := func(err error) {
		mu.Lock()
		if rootErr == nil && parent.Err() == nil {
			rootErr = err
		}
		mu.Unlock()
		cancel()
	}
	bar.Start()
	show := func(i int, p harness.Progress) {
		mu.Lock()
		defer mu.Unlock()
		done[i], total[i] = p.Iteration, p.Iterations
		if len(cfgs) == 1 {
			bar.Update(fmt.Sprintf("%s seed %d", cfgs[i].Strategy, cfgs[i].Seed), p.Iteration, p.Iterations, progressDetail(p))
			return
		}
		d, t := 0, 0
		for j := range cfgs {
			d += done[j]
			t += total[j]
			if total[j] == 0 { // not started: assume as long as this one
				t += p.Iterations
			}
		}
		bar.Update(fmt.Sprintf("%d/%d runs", finished, len(cfgs)), d, t, "")
	}

	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cfg := cfgs[i]
				strat, err := cfg.Resolve()
				if err != nil {
					fail(err)
					continue
				}
				stream, err := data.Stream(&cfg)
				if err != nil {
					fail(err)
					continue
				}
				w := db.NewRun()
				spec := harness.Spec{Config: cfg, Strategy: strat, Stream: stream, CodeVersion: version.Version, Threads: threads}
				if bar.Enabled() {
					spec.Progress = func(p harness.Progress) { show(i, p) }
				}
				_, err = harness.Run(ctx, spec, w)
				mu.Lock()
				ids[i] = w.ID()
				finished++
				mu.Unlock()
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	for i := range cfgs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	bar.Done()

	var out []int64
	for _, id := range ids {
		if id != 0 {
			out = append(out, id)
		}
	}
	if parent.Err() != nil {
		return out, fmt.Errorf("%w: unfinished runs stored as interrupted", errInterrupted)
	}
	return out, rootErr
}
