package replay

import (
	"fmt"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Buffer policies, update timings, loss combinations and λ schedules (see
// the package documentation).
const (
	ClassBalanced      = "class-balanced"
	Reservoir          = "reservoir"
	ExperienceBalanced = "experience-balanced"

	UpdateExperienceEnd   = "experience-end"
	UpdateExperienceStart = "experience-start"
	UpdateStep            = "step"

	LossConcat   = "concat"
	LossWeighted = "weighted"

	ScheduleConstant = "constant"
	ScheduleInverse  = "inverse"
)

// MemoryConfig holds the parameters of a replay memory, shared by er and
// er-ace.
type MemoryConfig struct {
	// MemSize is the number of stored samples, >= 1. Default 2000.
	MemSize int `json:"mem_size" doc:"samples stored, >= 1"`
	// ReplayBatchSize is the number of replayed samples per update, >= 0;
	// 0 means the run's batch size. Resolved at Setup.
	ReplayBatchSize int `json:"replay_batch_size" doc:"replayed samples per update; 0 = the batch size"`
	// Buffer is the policy: "class-balanced", "reservoir" or
	// "experience-balanced".
	Buffer string `json:"buffer" doc:"class-balanced | reservoir | experience-balanced"`
	// Update is when the memory changes: "experience-end", "step" or
	// "experience-start". Empty means experience-end for class-balanced and
	// experience-balanced, step for reservoir.
	Update string `json:"update" doc:"experience-end | step | experience-start; empty = experience-end for class-balanced and experience-balanced, step for reservoir"`
}

func (c *MemoryConfig) validate() error {
	if c.MemSize < 1 {
		return fmt.Errorf("mem_size %d: must be >= 1", c.MemSize)
	}
	if c.ReplayBatchSize < 0 {
		return fmt.Errorf("replay_batch_size %d: must be >= 0 (0 = the batch size)", c.ReplayBatchSize)
	}
	switch c.Buffer {
	case ClassBalanced, Reservoir, ExperienceBalanced:
	default:
		return fmt.Errorf("buffer %q: must be %q, %q or %q", c.Buffer, ClassBalanced, Reservoir, ExperienceBalanced)
	}
	switch c.Update {
	case "":
		c.Update = UpdateExperienceEnd
		if c.Buffer == Reservoir {
			c.Update = UpdateStep
		}
	case UpdateExperienceEnd, UpdateStep, UpdateExperienceStart:
	default:
		return fmt.Errorf("update %q: must be %q, %q or %q", c.Update, UpdateExperienceEnd, UpdateStep, UpdateExperienceStart)
	}
	return nil
}

// Config holds ER's parameters.
type Config struct {
	MemoryConfig
	// Loss is "concat" (default) or "weighted".
	Loss string `json:"loss" doc:"concat (mean over new+replay) | weighted (λ·CE(new) + (1−λ)·CE(replay); λ·CE(new) while the memory is empty)"`
	// Lambda is the weight of the new-data loss under "weighted", in
	// [0, 1]. Default 0.5.
	Lambda float64 `json:"lambda" doc:"weight of the new-data loss under weighted, in [0, 1]"`
	// LambdaSchedule is "constant" (default: λ throughout) or "inverse":
	// λ_t = Lambda/(t+1) during the experience with 0-based index t
	// (experience ID t+1), as in Hess et al. and van de Ven's code, where
	// Lambda = 1 gives the new data the weight of one experience among
	// t+1.
	LambdaSchedule string `json:"lambda_schedule" doc:"constant | inverse (λ_t = lambda/(t+1) in the experience with 0-based index t; lambda 1 gives 1/(t+1))"`
}

// DefaultConfig returns ER's defaults.
func DefaultConfig() Config {
	return Config{MemoryConfig: MemoryConfig{MemSize: 2000, Buffer: ClassBalanced}, Loss: LossConcat, Lambda: 0.5, LambdaSchedule: ScheduleConstant}
}

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	if err := c.MemoryConfig.validate(); err != nil {
		return err
	}
	switch c.Loss {
	case LossConcat, LossWeighted:
	default:
		return fmt.Errorf("loss %q: must be %q or %q", c.Loss, LossConcat, LossWeighted)
	}
	if !(c.Lambda >= 0 && c.Lambda <= 1) {
		return fmt.Errorf("lambda %v: must be in [0, 1]", c.Lambda)
	}
	switch c.LambdaSchedule {
	case ScheduleConstant, ScheduleInverse:
	default:
		return fmt.Errorf("lambda_schedule %q: must be %q or %q", c.LambdaSchedule, ScheduleConstant, ScheduleInverse)
	}
	return nil
}

// LambdaAt returns the weight of the new-data loss under "weighted" during
// experience id (1-based).
func (c *Config) LambdaAt(id int) float64 {
	if c.LambdaSchedule == ScheduleInverse {
		return c.Lambda / float64(id)
	}
	return c.Lambda
}

// ER is experience replay.
type ER struct {
	cfg Config
	rep replayer
}

var _ strategies.Strategy = (*ER)(nil)

func init() {
	strategies.Register(strategies.Def[Config]{
		Name:     "er",
		Summary:  "experience replay: new batch plus a batch drawn from a bounded memory",
		Defaults: DefaultConfig(),
		New:      func(cfg *Config) (strategies.Strategy, error) { return New(*cfg), nil },
	})
}

// New returns ER with a validated configuration.
func New(cfg Config) *ER { return &ER{cfg: cfg} }

// Memory returns the replay memory (for inspection and tests).
func (s *ER) Memory() *Memory { return s.rep.mem }

// Setup implements strategies.Strategy.
func (s *ER) Setup(ctx *strategies.Context) error {
	s.rep.setup(ctx, &s.cfg.MemoryConfig)
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *ER) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	s.rep.before(ctx, exp)
	return nil
}

// Step implements strategies.Strategy.
func (s *ER) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	r := &s.rep
	nr := r.gather(ctx, b, r.cfg.ReplayBatchSize)
	newMasks, repMasks := r.rowMasks(b, nr)
	var loss float64
	switch {
	case s.cfg.Loss == LossConcat:
		var all [][]bool
		if r.masks != nil {
			all = r.masks[:b.N+nr]
		}
		// One mean over new and replayed rows; the segments are weighted
		// by their share of the rows so that wrappers see which rows are
		// new.
		w := float64(b.N) / float64(b.N+nr)
		if all == nil {
			loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y,
				strategies.Segment{N: b.N, Weight: w, Mask: b.Mask, New: true},
				strategies.Segment{N: nr, Weight: 1 - w})
		} else {
			loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y,
				strategies.Segment{N: b.N, Weight: w, Masks: newMasks, New: true},
				strategies.Segment{N: nr, Weight: 1 - w, Masks: repMasks})
		}
	case nr == 0:
		loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y, strategies.Segment{N: b.N, Weight: s.cfg.LambdaAt(ctx.Current.ID), Mask: b.Mask, Masks: newMasks, New: true})
	default:
		lambda := s.cfg.LambdaAt(ctx.Current.ID)
		loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y,
			strategies.Segment{N: b.N, Weight: lambda, Mask: b.Mask, Masks: newMasks, New: true},
			strategies.Segment{N: nr, Weight: 1 - lambda, Masks: repMasks})
	}
	r.afterStep(ctx, b)
	return strategies.StepResult{Loss: loss}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *ER) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	s.rep.after(ctx, exp)
	return nil
}

// replayer is the memory and batch assembly shared by er and er-ace.
type replayer struct {
	cfg *MemoryConfig
	mem *Memory
	ws  *nn.Workspace
	x   []float32
	y   []int32
	sel []int
	one []int32
	scr []int32
	// masks holds each row's task mask in task-incremental streams (nil
	// otherwise).
	masks [][]bool
}

func (r *replayer) setup(ctx *strategies.Context, cfg *MemoryConfig) {
	if cfg.ReplayBatchSize == 0 {
		cfg.ReplayBatchSize = ctx.BatchSize
	}
	r.cfg = cfg
	r.mem = NewMemory(cfg.Buffer, cfg.MemSize, ctx.Stream.NumClasses)
	n := ctx.BatchSize + cfg.ReplayBatchSize
	r.ws = ctx.Model.NewWorkspace(n)
	r.x = make([]float32, n*ctx.Stream.InputDim)
	r.y = make([]int32, n)
	r.sel = make([]int, 0, cfg.ReplayBatchSize)
	r.one = make([]int32, 1)
	r.scr = make([]int32, 1)
	if ctx.Stream.Scenario == streams.TaskIncremental {
		r.masks = make([][]bool, n)
	}
}

// gather copies the new batch into the first rows and appends up to k
// replayed samples; it returns the number replayed.
func (r *replayer) gather(ctx *strategies.Context, b *streams.Batch, k int) int {
	d := b.Dim
	copy(r.x, b.X[:b.N*d])
	copy(r.y, b.Y[:b.N])
	r.sel = r.mem.Sample(ctx.Rand, k, r.sel[:0])
	for i, j := range r.sel {
		it := r.mem.Item(j)
		row := b.N + i
		r.one[0] = it.Pos
		r.scr = it.Exp.Train.Gather(r.x[row*d:(row+1)*d], r.y[row:row+1], r.one, r.scr)
		if r.masks != nil {
			r.masks[row] = ctx.Stream.Mask(it.Exp.Task)
		}
	}
	return len(r.sel)
}

// rowMasks returns the per-row task masks of the new and replayed rows
// (nil outside task-incremental streams).
func (r *replayer) rowMasks(b *streams.Batch, nr int) (newMasks, repMasks [][]bool) {
	if r.masks == nil {
		return nil, nil
	}
	for i := range b.N {
		r.masks[i] = b.Mask
	}
	return r.masks[:b.N], r.masks[b.N : b.N+nr]
}

func (r *replayer) offerAll(ctx *strategies.Context, exp *streams.Experience) {
	for p := range exp.Train.Len() {
		it := Item{Exp: exp, Pos: int32(p), Label: exp.Train.Label(int32(p))}
		if r.cfg.Buffer == ExperienceBalanced {
			r.mem.OfferExperience(ctx.Rand, it)
		} else {
			r.mem.Offer(ctx.Rand, it)
		}
	}
}

// add stores exp as a whole (experience-end and experience-start updates).
func (r *replayer) add(ctx *strategies.Context, exp *streams.Experience) {
	switch r.cfg.Buffer {
	case ClassBalanced:
		r.mem.AddExperience(ctx.Rand, exp)
	case ExperienceBalanced:
		r.mem.AddExperienceBalanced(ctx.Rand, exp)
	default:
		r.offerAll(ctx, exp)
	}
}

func (r *replayer) before(ctx *strategies.Context, exp *streams.Experience) {
	switch r.cfg.Update {
	case UpdateExperienceStart:
		r.add(ctx, exp)
	case UpdateStep:
		if r.cfg.Buffer == ExperienceBalanced {
			r.mem.StartExperience()
		}
	}
}

// afterStep offers the incoming samples to a memory updated every step,
// once per mini-batch (on its first repeated update), each with the
// experience it comes from (batches of blurry boundaries mix two).
func (r *replayer) afterStep(ctx *strategies.Context, b *streams.Batch) {
	if r.cfg.Update != UpdateStep || b.Repeat != 0 {
		return
	}
	for i := range b.N {
		exp := ctx.Current
		if b.Sources != nil {
			exp = ctx.Stream.Experiences[b.Sources[i]-1]
		}
		it := Item{Exp: exp, Pos: b.Pos[i], Label: b.Y[i]}
		if r.cfg.Buffer == ExperienceBalanced {
			r.mem.OfferExperience(ctx.Rand, it)
		} else {
			r.mem.Offer(ctx.Rand, it)
		}
	}
}

func (r *replayer) after(ctx *strategies.Context, exp *streams.Experience) {
	if r.cfg.Update == UpdateExperienceEnd {
		r.add(ctx, exp)
	}
}
