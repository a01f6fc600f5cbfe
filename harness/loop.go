package harness

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// driver runs the training loop of one run: the schedule, the strategy's
// calls, the clock and the progress; the continual evaluation is its
// points.
type driver struct {
	spec  Spec
	cfg   *Config
	rec   Recorder
	strat strategies.Strategy
	sctx  *strategies.Context
	prog  Progress
	pts   *points
}

func (d *driver) run(ctx context.Context) (res Result, err error) {
	s := d.spec.Stream
	T := len(s.Experiences)
	res = Result{Status: metrics.RunRunning}
	fail := func(err error) (Result, error) {
		res.Status = statusOf(err)
		return res, err
	}
	// A panic of a strategy call (Step, BeforeExperience, AfterExperience,
	// a hook, Variants) fails the run with its message and stack.
	defer func() {
		if r := recover(); r != nil {
			res.Status = metrics.RunFailed
			err = &PanicError{Where: fmt.Sprintf("strategy %s (after %d updates)", d.cfg.Strategy, d.sctx.Iteration), Value: r, Stack: debug.Stack()}
		}
	}()
	sched, serr := schedule(d.cfg, s, d.strat)
	if serr != nil {
		return fail(fmt.Errorf("%w: %v", ErrInvalid, serr))
	}
	d.prog = Progress{Experiences: T, Iterations: sched.Total(), Acc: make([]float64, T)}
	if err := d.pts.matrix(0); err != nil {
		return fail(err)
	}
	if err := d.pts.point(0, 1, false); err != nil {
		return fail(err)
	}
	shuffle := streams.NewRand(d.cfg.Seed, streams.RandShuffle)
	bs := d.cfg.BatchSize
	batch := &streams.Batch{
		X:   make([]float32, bs*s.InputDim),
		Y:   make([]int32, bs),
		Pos: make([]int32, 0, bs),
	}
	blurry := sched.Blurry()
	sources := make([]int32, bs)
	// Loaders are made when an experience is first drawn from: at its
	// start, or earlier at the start of a blurry transition into it.
	loaders := make([]*streams.Loader, T)
	loader := func(k int) *streams.Loader {
		if loaders[k-1] == nil {
			loaders[k-1] = streams.NewLoader(s.Experiences[k-1].Train, bs, shuffle)
		}
		return loaders[k-1]
	}
	hide := d.cfg.HideBoundaries
	t := 0
	for k, exp := range s.Experiences {
		d.sctx.Current = exp
		d.prog.Experience = exp.ID
		if !hide || k == 0 {
			if err := d.strat.BeforeExperience(d.sctx, exp); err != nil {
				return fail(fmt.Errorf("harness: strategy %s: experience %d: %w", d.cfg.Strategy, exp.ID, err))
			}
		}
		updates := sched.Updates(exp.ID)
		if !hide {
			d.sctx.ExperienceIterations = updates
		}
		u := 0 // updates done in this experience
		for j := range sched.Batches[k] {
			if blurry {
				d.fillBlurry(batch, sched, exp.ID, j, loader, sources)
			} else {
				loader(exp.ID).Next(batch)
				batch.Sources = nil
			}
			batch.Experience = exp.ID
			batch.Mask = s.Mask(exp.Task)
			for r := range sched.Repeat {
				if err := ctx.Err(); err != nil {
					res.Status = metrics.RunInterrupted
					res.Iterations = t
					return res, fmt.Errorf("harness: run interrupted at iteration %d: %w", t, err)
				}
				batch.Repeat = r
				d.sctx.Iteration = t
				out, err := d.strat.Step(d.sctx, batch)
				if err != nil {
					return fail(fmt.Errorf("harness: strategy %s: iteration %d: %w", d.cfg.Strategy, t+1, err))
				}
				if !strategies.Finite(out.Loss) {
					res.Status = metrics.RunDiverged
					res.Iterations = t
					return res, fmt.Errorf("harness: iteration %d: training loss %v: %w", t+1, out.Loss, ErrDiverged)
				}
				t++
				u++
				d.sctx.Iteration = t
				if t%d.cfg.Eval.Every == 0 && u < updates {
					if err := d.pts.point(t, exp.ID, false); err != nil {
						return fail(err)
					}
				}
				if d.spec.Progress != nil {
					d.prog.Iteration = t
					d.spec.Progress(d.prog)
				}
			}
		}
		if !hide || k == T-1 {
			if err := d.strat.AfterExperience(d.sctx, exp); err != nil {
				return fail(fmt.Errorf("harness: strategy %s: end of experience %d: %w", d.cfg.Strategy, exp.ID, err))
			}
		}
		if err := d.pts.point(t, exp.ID, true); err != nil {
			return fail(err)
		}
		if err := d.pts.matrix(exp.ID); err != nil {
			return fail(err)
		}
		if err := d.rec.ExperienceEnd(exp.ID, t); err != nil {
			return fail(err)
		}
		res.Ends = append(res.Ends, t)
		res.Iterations = t
		if d.spec.Progress != nil {
			d.prog.Iteration = t
			d.spec.Progress(d.prog)
		}
	}
	res.Status = metrics.RunComplete
	return res, nil
}

// fillBlurry fills batch with mini-batch j of experience k's segment of a
// blurry schedule: rows from experience k-1, then k, then k+1, in the
// proportions of Schedule.Mix, always BatchSize rows. Sources is set when
// the batch mixes two experiences.
func (d *driver) fillBlurry(batch *streams.Batch, sched *streams.Schedule, k, j int, loader func(int) *streams.Loader, sources []int32) {
	bs := sched.BatchSize
	prev, next := sched.Mix(k, j)
	batch.N, batch.Dim = bs, d.spec.Stream.InputDim
	batch.X = batch.X[:bs*batch.Dim]
	batch.Y = batch.Y[:bs]
	batch.Pos = batch.Pos[:0]
	at := 0
	fill := func(exp, n int) {
		if n == 0 {
			return
		}
		loader(exp).Fill(batch, at, n)
		for i := at; i < at+n; i++ {
			sources[i] = int32(exp)
		}
		at += n
	}
	fill(k-1, prev)
	fill(k, bs-prev-next)
	fill(k+1, next)
	batch.Pos = batch.Pos[:bs]
	if prev > 0 || next > 0 {
		batch.Sources = sources[:bs]
	} else {
		batch.Sources = nil
	}
}

// record stores one point's records and updates the progress accuracies.
func (d *driver) record(recs []metrics.EvalRecord) error {
	for _, r := range recs {
		if r.Variant == metrics.VariantLive && r.Evaluated <= r.Training {
			d.prog.Acc[r.Evaluated-1] = r.Accuracy()
		}
	}
	return d.rec.Evaluations(recs)
}
