package harness

import (
	"context"
	"errors"
	"fmt"
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
	pts, variants, err := newPoints(&cfg, s, model, strat, threads, trainThreads, newModel)
	if err != nil {
		return Result{}, err
	}
	pts.rec = rec
	ev := pts.ev
	if err := rec.Begin(runInfo(&cfg, s, ev, variants, spec.CodeVersion)); err != nil {
		return Result{}, err
	}
	d := &driver{spec: spec, cfg: &cfg, rec: rec, strat: strat, sctx: sctx, pts: pts}
	pts.onRecords = d.record
	defer pts.runner.close()
	// Setup leaves garbage (gathered evaluation sets, decoded files) and
	// the loop allocates nothing, so no collection would ever reclaim it:
	// collect once and give the pages back before the long part.
	debug.FreeOSMemory()
	res, runErr := d.run(ctx)
	// An evaluation still in flight was of a completed update: store it
	// (unless its loss is not finite: then the run diverged there).
	if err := d.pts.collect(); err != nil {
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
