// Package finetune implements the naive baseline: plain fine-tuning on each
// experience in turn, with no protection against forgetting.
package finetune

import (
	"encoding/json"

	"github.com/cleval/cleval/harness/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Config has no parameters; it exists so the resolved configuration is an
// (empty) JSON object like every other strategy's.
type Config struct{}

// Naive minimises the mean cross-entropy of each new batch.
type Naive struct {
	cfg Config
	ws  *nn.Workspace
}

var _ strategies.Strategy = (*Naive)(nil)

func init() {
	strategies.Register(strategies.Info{
		Name:    "naive",
		Summary: "fine-tuning: mean cross-entropy on the new batch only (lower bound)",
		New: func(raw json.RawMessage) (strategies.Strategy, error) {
			var cfg Config
			if err := strategies.DecodeParams("naive", raw, &cfg); err != nil {
				return nil, err
			}
			return &Naive{cfg: cfg}, nil
		},
	})
}

// Name implements strategies.Strategy.
func (s *Naive) Name() string { return "naive" }

// Params implements strategies.Strategy.
func (s *Naive) Params() any { return s.cfg }

// Setup implements strategies.Strategy.
func (s *Naive) Setup(ctx *strategies.Context) error {
	s.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *Naive) BeforeExperience(*strategies.Context, *streams.Experience) error { return nil }

// Step implements strategies.Strategy.
func (s *Naive) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	loss := strategies.WeightedStep(ctx, s.ws, b.X, b.Y, strategies.Segment{N: b.N, Weight: 1, Mask: b.Mask, New: true})
	return strategies.StepResult{Loss: loss}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *Naive) AfterExperience(*strategies.Context, *streams.Experience) error { return nil }
