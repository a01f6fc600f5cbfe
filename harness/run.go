package harness

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Recorder receives everything a run produces, in order: Begin, then
// evaluation records, accuracy-matrix rows and experience ends as they
// happen, then End. Slices passed to it are only valid during the call.
type Recorder interface {
	Begin(info metrics.RunInfo) error
	// Evaluations receives the records of one evaluation point (every
	// evaluated experience of every model variant).
	Evaluations(recs []metrics.EvalRecord) error
	// Matrix receives one row of the accuracy matrix for every variant.
	Matrix(recs []metrics.MatrixRecord) error
	// ExperienceEnd reports that experience exp ended at iteration t (e_exp).
	ExperienceEnd(exp, t int) error
	// End closes the run with its final status; cause is the error that
	// stopped a failed run.
	End(status metrics.RunStatus, cause error) error
}

// Spec is everything Run needs.
type Spec struct {
	// Config is the resolved configuration (Config.Resolve): it is
	// recorded with the run.
	Config Config
	// Strategy is the run's strategy, the one Config names, as
	// Config.Resolve built it (a strategy value serves one run).
	Strategy strategies.Strategy
	// Stream is the stream Config describes (Data.Stream).
	Stream *streams.Stream
	// Threads is the number of threads the run computes with (<= 0: all
	// cores). Records do not depend on it.
	Threads int
	// CodeVersion is recorded with the run.
	CodeVersion string
	// Progress, when not nil, is called after every iteration.
	Progress func(Progress)
}

// Progress is a snapshot for progress displays.
type Progress struct {
	Experience, Experiences int
	Iteration, Iterations   int
	// Acc holds the live model's latest accuracy on each evaluated seen
	// experience (index k-1 for experience k).
	Acc []float64
}

// Result summarises a finished run.
type Result struct {
	Status     metrics.RunStatus
	Iterations int
	// Ends holds e_k for the experiences that ended.
	Ends []int
}

// ErrDiverged is returned (wrapped) when a run stopped on a non-finite
// loss: of a training update, or of an evaluation (the model's parameters
// are no longer finite).
var ErrDiverged = errors.New("loss is not finite")

// PanicError is a panic of a strategy call (or of the driver while it ran
// one), recovered: the run fails with it, and its message and stack are
// stored with the run.
type PanicError struct {
	// Where says which call panicked, e.g. "strategy er: Step (iteration 12)".
	Where string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("harness: %s panicked: %v\n%s", e.Where, e.Value, e.Stack)
}

// statusOf returns the status of a run that stopped on err.
func statusOf(err error) metrics.RunStatus {
	if errors.Is(err, ErrDiverged) {
		return metrics.RunDiverged
	}
	return metrics.RunFailed
}

// Iterations returns the number of updates each experience gets:
// Iterations when set, else Epochs × ceil(train samples / BatchSize), times
// Repeat (see streams.Schedule); a strategy that is an EpochSizer sets the
// train samples.
func Iterations(cfg *Config, s *streams.Stream) []int {
	sc, err := schedule(cfg, s, strategyOf(cfg))
	if err != nil {
		panic("harness: Iterations: " + err.Error()) // Validate rejects such configurations
	}
	out := make([]int, len(s.Experiences))
	for i := range out {
		out[i] = sc.Updates(i + 1)
	}
	return out
}

func schedule(cfg *Config, s *streams.Stream, strat strategies.Strategy) (*streams.Schedule, error) {
	return streams.NewSchedule(s, streams.ScheduleConfig{BatchSize: cfg.BatchSize, Epochs: cfg.Epochs,
		Iterations: cfg.Iterations, Repeat: cfg.Repeat, Blur: cfg.Blur, EpochSizes: epochSizes(strat, s)})
}

// Run trains and evaluates one run, handing every record to rec. A
// cancelled ctx stops the run between iterations with status interrupted.
// The returned error is nil only for a complete run.
func Run(ctx context.Context, spec Spec, rec Recorder) (Result, error) {
	cfg := spec.Config
	s := spec.Stream
	if s == nil {
		return Result{}, errors.New("harness: Spec.Stream is nil")
	}
	strat := spec.Strategy
	if strat == nil {
		return Result{}, errors.New("harness: Spec.Strategy is nil (Config.Resolve builds it)")
	}
	threads := spec.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// With two threads or more, training and continual evaluation run side
	// by side on halves of the threads (see pipeline); otherwise one after
	// the other on all of them.
	pipelined := threads >= 2
	trainThreads := threads
	if pipelined {
		trainThreads = threads - threads/2
	}
	var computes []*nn.Compute
	defer func() {
		for _, c := range computes {
			c.Close()
		}
	}()
	newModel := func(spec nn.Spec, threads int) (nn.Model, error) {
		c := nn.NewCompute(threads)
		computes = append(computes, c)
		m, err := nn.New(spec, c)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return m, nil
	}
	model, err := newModel(cfg.ModelSpec(s), trainThreads)
	if err != nil {
		return Result{}, err
	}
	model.Init(streams.NewRand(cfg.Seed, streams.RandInit))
	sctx := &strategies.Context{
		Model:          model,
		Optimizer:      nn.NewSGD(cfg.Optimizer, len(model.Params())),
		Rand:           streams.NewRand(cfg.Seed, streams.RandStrategy),
		Stream:         s,
		BatchSize:      cfg.BatchSize,
		JointBatchNorm: cfg.BatchNorm == BatchNormJoint,
	}
	if cfg.Augment != "" {
		aug, err := streams.NewAugmenter(cfg.Augment, s.Shape())
		if err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		sctx.SetAugment(aug, streams.NewRand(cfg.Seed, streams.RandAugment))
	}
	if ctx.Err() != nil {
		// Stopped before it started: nothing is stored.
		return Result{Status: metrics.RunInterrupted}, fmt.Errorf("harness: run interrupted before it started: %w", ctx.Err())
	}
	if err := setup(strat, sctx, cfg.Strategy); err != nil {
		// Stored as a failed run, with the live model only.
		ev := newEvaluator(s, &cfg.Eval, cfg.Seed, nil)
		if berr := rec.Begin(runInfo(&cfg, s, ev, []string{metrics.VariantLive}, spec.CodeVersion)); berr != nil {
			return Result{Status: metrics.RunFailed}, errors.Join(err, berr)
		}
		return Result{Status: metrics.RunFailed}, errors.Join(err, rec.End(metrics.RunFailed, err))
	}
	variants := []string{metrics.VariantLive}
	vp, _ := strat.(strategies.VariantProvider)
	archs := []nn.Spec{model.Spec()} // the architectures evaluated
	var variantArch []int
	if vp != nil {
		for _, v := range vp.Variants() {
			variants = append(variants, v.Name)
			a := 0
			if v.Spec != nil {
				a = slices.IndexFunc(archs, func(sp nn.Spec) bool { return reflect.DeepEqual(sp, *v.Spec) })
				if a < 0 {
					a = len(archs)
					archs = append(archs, *v.Spec)
				}
			}
			variantArch = append(variantArch, a)
		}
	}
	// Evaluation units: in line, the live model itself; pipelined, one
	// single-threaded model per evaluation worker (threads/2 of them) and
	// one for the driver, which helps once its update is done. Each unit
	// has a model of every evaluated architecture.
	unit := func(live nn.Model, threads int) (*evalUnit, error) {
		models := []nn.Model{live}
		for _, spec := range archs[1:] {
			m, err := newModel(spec, threads)
			if err != nil {
				return nil, err
			}
			models = append(models, m)
		}
		return newEvalUnit(models...), nil
	}
	caller, workers := model, []*evalUnit(nil)
	callerThreads := trainThreads
	if pipelined {
		callerThreads = 1
		if trainThreads > 1 {
			if caller, err = newModel(archs[0], 1); err != nil {
				return Result{}, err
			}
		}
		for range threads / 2 {
			m, err := newModel(archs[0], 1)
			if err != nil {
				return Result{}, err
			}
			u, err := unit(m, 1)
			if err != nil {
				return Result{}, err
			}
			workers = append(workers, u)
		}
	}
	callerUnit, err := unit(caller, callerThreads)
	if err != nil {
		return Result{}, err
	}
	inputsOf := model
	if len(archs) > 1 {
		inputsOf = nil // dense rows, read by every architecture
	}
	ev := newEvaluator(s, &cfg.Eval, cfg.Seed, inputsOf)
	if err := rec.Begin(runInfo(&cfg, s, ev, variants, spec.CodeVersion)); err != nil {
		return Result{}, err
	}
	d := &driver{spec: spec, cfg: &cfg, rec: rec, strat: strat, vp: vp, variantArch: variantArch, sctx: sctx, ev: ev, model: model, pipelined: pipelined}
	d.runner = newEvalRunner(ev, callerUnit, workers)
	defer d.runner.close()
	// Setup leaves garbage (gathered evaluation sets, decoded files) and
	// the loop allocates nothing, so no collection would ever reclaim it:
	// collect once and give the pages back before the long part.
	debug.FreeOSMemory()
	res, runErr := d.run(ctx)
	// An evaluation still in flight was of a completed update: store it
	// (unless its loss is not finite: then the run diverged there).
	if err := d.collect(); err != nil {
		if runErr == nil {
			res.Status = statusOf(err)
		}
		runErr = errors.Join(runErr, err)
	}
	if err := rec.End(res.Status, runErr); err != nil {
		// The writer stores the run as failed when it can (see
		// store.RunWriter.End); no error is dropped.
		if res.Status == metrics.RunComplete || res.Status == metrics.RunDiverged {
			res.Status = metrics.RunFailed
		}
		runErr = errors.Join(runErr, err)
	}
	return res, runErr
}

// runInfo describes the run for Recorder.Begin.
func runInfo(cfg *Config, s *streams.Stream, ev *evaluator, variants []string, codeVersion string) metrics.RunInfo {
	info := metrics.RunInfo{
		Key:            cfg.Key(),
		Preset:         cfg.Preset,
		Benchmark:      cfg.Benchmark,
		Strategy:       cfg.Strategy,
		Seed:           cfg.Seed,
		Config:         cfg.JSON(),
		CodeVersion:    codeVersion,
		NumExperiences: len(s.Experiences),
		EvalSubset:     ev.subsetKind,
		Variants:       variants,
	}
	for _, e := range s.Experiences {
		info.Experiences = append(info.Experiences, metrics.ExperienceInfo{
			ID: e.ID, Classes: slices.Clone(e.Classes), Task: e.Task,
			TrainSize: e.Train.Len(), TestSize: e.Test.Len(), EvalSize: ev.size(e.ID),
		})
	}
	return info
}

// setup calls the strategy's Setup, recovering a panic into a
// *PanicError.
func setup(strat strategies.Strategy, sctx *strategies.Context, name string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Where: "strategy " + name + ": Setup", Value: r, Stack: debug.Stack()}
		}
	}()
	if err := strat.Setup(sctx); err != nil {
		return fmt.Errorf("harness: strategy %s: setup: %w", name, err)
	}
	return nil
}

type driver struct {
	spec  Spec
	cfg   *Config
	rec   Recorder
	strat strategies.Strategy
	vp    strategies.VariantProvider
	// variantArch[i] is the architecture of variant i (an index into the
	// evaluation units' models).
	variantArch []int
	sctx        *strategies.Context
	ev          *evaluator
	model       nn.Model
	recs        []metrics.EvalRecord
	mrecs       []metrics.MatrixRecord
	prog        Progress

	runner    *evalRunner
	pipelined bool // points are evaluated while the next update trains
	tasks     []evalTask
	arenas    []arenas    // the arenas of the tasks in flight
	snap      [][]float32 // pipelined: copies of the live and variant arenas
	names     []string    // variant names of the tasks in flight
	inflight  struct {
		t, c, lo, hi int
		pending      bool
	}
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
	if err := d.matrix(0); err != nil {
		return fail(err)
	}
	if err := d.point(0, 1, false); err != nil {
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
					if err := d.point(t, exp.ID, false); err != nil {
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
		if err := d.point(t, exp.ID, true); err != nil {
			return fail(err)
		}
		if err := d.matrix(exp.ID); err != nil {
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

// point runs the continual evaluation at iteration t while experience c is
// trained; end marks the evaluation at an experience end. Pipelined, it
// starts the point on copies of the parameters and returns; the records
// are stored when the next point starts (or at once at an experience end),
// always in order.
func (d *driver) point(t, c int, end bool) error {
	if err := d.collect(); err != nil {
		return err
	}
	T := len(d.spec.Stream.Experiences)
	lo, hi := 1, c
	switch {
	case d.cfg.Eval.Experiences == EvalAll:
		hi = T
	case end && c < T:
		hi = c + 1
	}
	d.ev.prepare(lo, hi)
	d.setArenas(d.pipelined)
	d.tasks = d.ev.pointTasks(d.tasks[:0], len(d.arenas), lo, hi)
	d.inflight.t, d.inflight.c, d.inflight.lo, d.inflight.hi = t, c, lo, hi
	d.inflight.pending = true
	d.runner.start(d.arenas, d.tasks)
	if !d.pipelined || end {
		return d.collect()
	}
	return nil
}

// setArenas sets d.arenas (and d.names) to the live model's arenas and
// every variant's: the arenas themselves, or copies when the evaluation
// runs while training goes on.
func (d *driver) setArenas(copies bool) {
	d.names = append(d.names[:0], metrics.VariantLive)
	d.arenas = append(d.arenas[:0], arenas{params: d.model.Params(), state: d.model.State()})
	if d.vp != nil {
		for i, v := range d.vp.Variants() {
			d.names = append(d.names, v.Name)
			d.arenas = append(d.arenas, arenas{params: v.Params, state: v.State, arch: d.variantArch[i]})
		}
	}
	if !copies {
		return
	}
	for len(d.snap) < 2*len(d.arenas) {
		d.snap = append(d.snap, nil)
	}
	for i, a := range d.arenas {
		d.snap[2*i] = append(d.snap[2*i][:0], a.params...)
		d.snap[2*i+1] = append(d.snap[2*i+1][:0], a.state...)
		d.arenas[i] = arenas{params: d.snap[2*i], state: d.snap[2*i+1], arch: a.arch}
	}
}

// collect finishes the point in flight, if any, and stores its records.
func (d *driver) collect() error {
	if !d.inflight.pending {
		return nil
	}
	d.inflight.pending = false
	res := d.runner.finish()
	t, c, lo, hi := d.inflight.t, d.inflight.c, d.inflight.lo, d.inflight.hi
	per := hi - lo + 1
	d.recs = d.recs[:0]
	for _, name := range d.names {
		for k := lo; k <= hi; k++ {
			d.recs = append(d.recs, metrics.EvalRecord{Iteration: t, Training: c, Evaluated: k, Variant: name, Subset: d.ev.subsetKind})
		}
	}
	for i, tk := range d.tasks {
		r := &d.recs[tk.v*per+tk.k-lo]
		r.Correct += res[i].correct
		r.Total += tk.r1 - tk.r0
		r.LossSum += res[i].loss
	}
	for _, r := range d.recs {
		if !strategies.Finite(r.LossSum) {
			// The parameters are not finite: the run diverged after the
			// update before t. The point is not stored (its loss cannot
			// be).
			return fmt.Errorf("harness: evaluation at iteration %d: loss on experience %d (%s) is %v: %w", t, r.Evaluated, r.Variant, r.LossSum, ErrDiverged)
		}
	}
	return d.record(d.recs)
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

// matrix evaluates row i of the accuracy matrix, on every unit.
func (d *driver) matrix(i int) error {
	if err := d.collect(); err != nil {
		return err
	}
	d.setArenas(false)
	d.tasks = d.ev.matrixTasks(d.tasks[:0], len(d.arenas))
	d.runner.start(d.arenas, d.tasks)
	res := d.runner.finish()
	T := len(d.spec.Stream.Experiences)
	d.mrecs = d.mrecs[:0]
	for _, name := range d.names {
		for _, e := range d.spec.Stream.Experiences {
			d.mrecs = append(d.mrecs, metrics.MatrixRecord{Row: i, Col: e.ID, Variant: name})
		}
	}
	for j, tk := range d.tasks {
		r := &d.mrecs[tk.v*T+tk.k-1]
		r.Correct += res[j].correct
		r.Total += tk.r1 - tk.r0
		r.LossSum += res[j].loss
	}
	for _, r := range d.mrecs {
		if !strategies.Finite(r.LossSum) {
			return fmt.Errorf("harness: accuracy matrix row %d: loss on experience %d (%s) is %v: %w", i, r.Col, r.Variant, r.LossSum, ErrDiverged)
		}
	}
	return d.rec.Matrix(d.mrecs)
}
