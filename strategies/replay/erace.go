package replay

import (
	"fmt"
	"math"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// ER-ACE masking conventions (see the package documentation).
const (
	ACEAvalanche      = "avalanche"
	ACEAvalancheAlpha = "avalanche-alpha"
	ACEAML            = "aml"
)

// ACEConfig holds ER-ACE's parameters.
type ACEConfig struct {
	MemoryConfig
	// Convention is the masking convention: "avalanche" (default),
	// "avalanche-alpha" or "aml".
	Convention string `json:"convention" doc:"avalanche ((CE over the batch's classes + CE(replay))/2) | avalanche-alpha (α·CE over the batch's classes + (1−α)·CE(replay)) | aml (mask seen classes absent from the batch, keep unseen ones, from experience 2; CE + CE(replay))"`
	// Alpha is the weight of the new-data loss under "avalanche-alpha", in
	// [0, 1] (the replay loss gets 1 − Alpha). Default 0.5.
	Alpha float64 `json:"alpha" doc:"weight of the new-data loss under avalanche-alpha, in [0, 1]"`
}

// DefaultACEConfig returns ER-ACE's defaults: a reservoir memory of 2000
// updated every step (the online setting of Caccia et al.).
func DefaultACEConfig() ACEConfig {
	return ACEConfig{MemoryConfig: MemoryConfig{MemSize: 2000, Buffer: Reservoir}, Convention: ACEAvalanche, Alpha: 0.5}
}

// Validate implements strategies.Validator.
func (c *ACEConfig) Validate() error {
	if err := c.MemoryConfig.validate(); err != nil {
		return err
	}
	switch c.Convention {
	case ACEAvalanche, ACEAvalancheAlpha, ACEAML:
	default:
		return fmt.Errorf("convention %q: must be %q, %q or %q", c.Convention, ACEAvalanche, ACEAvalancheAlpha, ACEAML)
	}
	if !(c.Alpha >= 0 && c.Alpha <= 1) {
		return fmt.Errorf("alpha %v: must be in [0, 1]", c.Alpha)
	}
	return nil
}

// ERACE is experience replay with asymmetric cross-entropy (Caccia et al.
// 2022).
type ERACE struct {
	cfg  ACEConfig
	rep  replayer
	keep []bool // classes whose logits the new batch keeps
	// maxSeen is the largest class index seen so far, -1 before any.
	maxSeen int
}

var _ strategies.Strategy = (*ERACE)(nil)

func init() {
	strategies.Register(strategies.Def[ACEConfig]{
		Name:     "er-ace",
		Summary:  "ER with asymmetric cross-entropy: the new batch's softmax is restricted, replay is not (three public conventions)",
		Defaults: DefaultACEConfig(),
		New:      func(cfg *ACEConfig) (strategies.Strategy, error) { return &ERACE{cfg: *cfg, maxSeen: -1}, nil },
	})
}

// Memory returns the replay memory (for inspection and tests).
func (s *ERACE) Memory() *Memory { return s.rep.mem }

// Setup implements strategies.Strategy.
func (s *ERACE) Setup(ctx *strategies.Context) error {
	s.rep.setup(ctx, &s.cfg.MemoryConfig)
	s.keep = make([]bool, ctx.Stream.NumClasses)
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *ERACE) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	s.rep.before(ctx, exp)
	return nil
}

// Keep returns the classes the last update's new batch kept (for tests).
func (s *ERACE) Keep() []bool { return s.keep }

// Step implements strategies.Strategy.
func (s *ERACE) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	r := &s.rep
	// Classes present in the incoming batch, and (aml) the largest class
	// index seen so far.
	clear(s.keep)
	for _, y := range b.Y[:b.N] {
		s.keep[y] = true
		s.maxSeen = max(s.maxSeen, int(y))
	}
	var replay bool
	if s.cfg.Convention == ACEAML {
		replay = ctx.Current.ID > 1 && r.mem.Len() > 0
	} else {
		replay = r.mem.Len() >= r.cfg.ReplayBatchSize
	}
	nr := 0
	if replay {
		nr = r.gather(ctx, b, r.cfg.ReplayBatchSize)
	} else {
		r.gather(ctx, b, 0)
	}
	newMasks, repMasks := r.rowMasks(b, nr)
	newSeg := strategies.Segment{N: b.N, Weight: 1, Mask: b.Mask, Masks: newMasks, New: true}
	var loss float64
	switch {
	case s.cfg.Convention == ACEAML:
		if ctx.Current.ID > 1 {
			// Mammoth / AML code: mask[:, present] = 1, and, when
			// max(seen) < C-1, mask[:, max(seen):] = 1 (by class index).
			if s.maxSeen < len(s.keep)-1 {
				for c := s.maxSeen; c < len(s.keep); c++ {
					s.keep[c] = true
				}
			}
			newSeg.Keep, newSeg.MaskValue = s.keep, math.Inf(-1)
		}
		if nr == 0 {
			loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y, newSeg)
		} else {
			loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y, newSeg, strategies.Segment{N: nr, Weight: 1, Masks: repMasks})
		}
	case !replay:
		// Avalanche: plain cross-entropy over all classes until the
		// memory holds a replay batch.
		loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y, newSeg)
	default:
		alpha := 0.5
		if s.cfg.Convention == ACEAvalancheAlpha {
			alpha = s.cfg.Alpha
		}
		newSeg.Weight = alpha
		newSeg.Keep, newSeg.MaskValue = s.keep, math.Inf(-1)
		loss = strategies.WeightedStep(ctx, r.ws, r.x, r.y, newSeg, strategies.Segment{N: nr, Weight: 1 - alpha, Masks: repMasks})
	}
	r.afterStep(ctx, b)
	return strategies.StepResult{Loss: loss}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *ERACE) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	s.rep.after(ctx, exp)
	return nil
}
