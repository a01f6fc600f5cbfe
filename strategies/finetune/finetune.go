// Package finetune implements the naive baseline: plain fine-tuning on each
// experience in turn, with no protection against forgetting.
package finetune

import (
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Naive minimises the mean cross-entropy of each new batch.
type Naive struct {
	strategies.Base
	ws *nn.Workspace
}

func init() {
	strategies.Register(strategies.Def[struct{}]{
		Name:    "naive",
		Summary: "fine-tuning: mean cross-entropy on the new batch only (lower bound)",
		New:     func(*struct{}) (strategies.Strategy, error) { return &Naive{}, nil },
	})
}

// Setup implements strategies.Strategy.
func (s *Naive) Setup(ctx *strategies.Context) error {
	s.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	return nil
}

// Step implements strategies.Strategy.
func (s *Naive) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	loss := strategies.WeightedStep(ctx, s.ws, b.X, b.Y, strategies.Segment{N: b.N, Weight: 1, Mask: b.Mask, New: true})
	return strategies.StepResult{Loss: loss}, nil
}
