package replay

import (
	"encoding/json"
	"fmt"

	"github.com/cleval/cleval/harness/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Buffer policies and update timings (see the package documentation).
const (
	ClassBalanced = "class-balanced"
	Reservoir     = "reservoir"

	UpdateExperienceEnd = "experience-end"
	UpdateStep          = "step"

	LossConcat   = "concat"
	LossWeighted = "weighted"
)

// Config holds ER's parameters.
type Config struct {
	// MemSize is the number of stored samples, >= 1. Default 2000.
	MemSize int `json:"mem_size"`
	// ReplayBatchSize is the number of replayed samples per update, >= 0;
	// 0 means the run's batch size. Resolved at Setup.
	ReplayBatchSize int `json:"replay_batch_size"`
	// Buffer is the policy: "class-balanced" (default) or "reservoir".
	Buffer string `json:"buffer"`
	// Update is when the memory changes: "experience-end" or "step". Empty
	// means experience-end for class-balanced and step for reservoir.
	Update string `json:"update"`
	// Loss is "concat" (default) or "weighted".
	Loss string `json:"loss"`
	// Lambda is the weight of the new-data loss under "weighted", in
	// [0, 1]. Default 0.5.
	Lambda float64 `json:"lambda"`
}

// DefaultConfig returns ER's defaults.
func DefaultConfig() Config {
	return Config{MemSize: 2000, Buffer: ClassBalanced, Loss: LossConcat, Lambda: 0.5}
}

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	if c.MemSize < 1 {
		return fmt.Errorf("mem_size %d: must be >= 1", c.MemSize)
	}
	if c.ReplayBatchSize < 0 {
		return fmt.Errorf("replay_batch_size %d: must be >= 0 (0 = the batch size)", c.ReplayBatchSize)
	}
	switch c.Buffer {
	case ClassBalanced, Reservoir:
	default:
		return fmt.Errorf("buffer %q: must be %q or %q", c.Buffer, ClassBalanced, Reservoir)
	}
	switch c.Update {
	case "":
		c.Update = UpdateExperienceEnd
		if c.Buffer == Reservoir {
			c.Update = UpdateStep
		}
	case UpdateExperienceEnd, UpdateStep:
	default:
		return fmt.Errorf("update %q: must be %q or %q", c.Update, UpdateExperienceEnd, UpdateStep)
	}
	switch c.Loss {
	case LossConcat, LossWeighted:
	default:
		return fmt.Errorf("loss %q: must be %q or %q", c.Loss, LossConcat, LossWeighted)
	}
	if !(c.Lambda >= 0 && c.Lambda <= 1) {
		return fmt.Errorf("lambda %v: must be in [0, 1]", c.Lambda)
	}
	return nil
}

// ER is experience replay.
type ER struct {
	cfg Config
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

var _ strategies.Strategy = (*ER)(nil)

func init() {
	d := DefaultConfig()
	strategies.Register(strategies.Info{
		Name:    "er",
		Summary: "experience replay: new batch plus a batch drawn from a bounded memory",
		Params: []strategies.ParamDoc{
			{Name: "mem_size", Default: fmt.Sprint(d.MemSize), Doc: "samples stored, >= 1"},
			{Name: "replay_batch_size", Default: "0", Doc: "replayed samples per update; 0 = the batch size"},
			{Name: "buffer", Default: d.Buffer, Doc: "class-balanced | reservoir"},
			{Name: "update", Default: "", Doc: "experience-end | step; empty = experience-end for class-balanced, step for reservoir"},
			{Name: "loss", Default: d.Loss, Doc: "concat (mean over new+replay) | weighted (λ·CE(new) + (1−λ)·CE(replay))"},
			{Name: "lambda", Default: fmt.Sprint(d.Lambda), Doc: "weight of the new-data loss under weighted, in [0, 1]"},
		},
		New: func(raw json.RawMessage) (strategies.Strategy, error) {
			cfg := DefaultConfig()
			if err := strategies.DecodeParams("er", raw, &cfg); err != nil {
				return nil, err
			}
			return New(cfg), nil
		},
	})
}

// New returns ER with a validated configuration.
func New(cfg Config) *ER { return &ER{cfg: cfg} }

// Name implements strategies.Strategy.
func (s *ER) Name() string { return "er" }

// Params implements strategies.Strategy.
func (s *ER) Params() any { return s.cfg }

// Memory returns the replay memory (for inspection and tests).
func (s *ER) Memory() *Memory { return s.mem }

// Setup implements strategies.Strategy.
func (s *ER) Setup(ctx *strategies.Context) error {
	if s.cfg.ReplayBatchSize == 0 {
		s.cfg.ReplayBatchSize = ctx.BatchSize
	}
	s.mem = NewMemory(s.cfg.Buffer, s.cfg.MemSize, ctx.Stream.NumClasses)
	n := ctx.BatchSize + s.cfg.ReplayBatchSize
	s.ws = ctx.Model.NewWorkspace(n)
	s.x = make([]float32, n*ctx.Stream.InputDim)
	s.y = make([]int32, n)
	s.sel = make([]int, 0, s.cfg.ReplayBatchSize)
	s.one = make([]int32, 1)
	s.scr = make([]int32, 1)
	if ctx.Stream.Scenario == streams.TaskIncremental {
		s.masks = make([][]bool, n)
	}
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *ER) BeforeExperience(*strategies.Context, *streams.Experience) error { return nil }

// Step implements strategies.Strategy.
func (s *ER) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	d := b.Dim
	copy(s.x, b.X[:b.N*d])
	copy(s.y, b.Y[:b.N])
	s.sel = s.mem.Sample(ctx.Rand, s.cfg.ReplayBatchSize, s.sel[:0])
	for i, k := range s.sel {
		it := s.mem.Item(k)
		r := b.N + i
		s.one[0] = it.Pos
		s.scr = it.Exp.Train.Gather(s.x[r*d:(r+1)*d], s.y[r:r+1], s.one, s.scr)
		if s.masks != nil {
			s.masks[r] = ctx.Stream.Mask(it.Exp.Task)
		}
	}
	nr := len(s.sel)
	var newMasks, repMasks [][]bool
	if s.masks != nil {
		for i := range b.N {
			s.masks[i] = b.Mask
		}
		newMasks, repMasks = s.masks[:b.N], s.masks[b.N:b.N+nr]
	}
	var loss float64
	switch {
	case s.cfg.Loss == LossConcat:
		var all [][]bool
		if s.masks != nil {
			all = s.masks[:b.N+nr]
		}
		loss = strategies.WeightedStep(ctx, s.ws, s.x, s.y, strategies.Segment{N: b.N + nr, Weight: 1, Mask: b.Mask, Masks: all})
	case nr == 0:
		loss = strategies.WeightedStep(ctx, s.ws, s.x, s.y, strategies.Segment{N: b.N, Weight: s.cfg.Lambda, Mask: b.Mask, Masks: newMasks})
	default:
		loss = strategies.WeightedStep(ctx, s.ws, s.x, s.y,
			strategies.Segment{N: b.N, Weight: s.cfg.Lambda, Mask: b.Mask, Masks: newMasks},
			strategies.Segment{N: nr, Weight: 1 - s.cfg.Lambda, Masks: repMasks})
	}
	if s.cfg.Update == UpdateStep {
		for i := range b.N {
			s.mem.Offer(ctx.Rand, Item{Exp: ctx.Current, Pos: b.Pos[i], Label: b.Y[i]})
		}
	}
	return strategies.StepResult{Loss: loss}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *ER) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if s.cfg.Update != UpdateExperienceEnd {
		return nil
	}
	if s.cfg.Buffer == ClassBalanced {
		s.mem.AddExperience(ctx.Rand, exp)
		return nil
	}
	for p := range exp.Train.Len() {
		s.mem.Offer(ctx.Rand, Item{Exp: exp, Pos: int32(p), Label: exp.Train.Label(int32(p))})
	}
	return nil
}
