// Command plugin is a complete example of a cleval strategy shipped as a
// Go plugin. Build it and run it with:
//
//	go build -buildmode=plugin -o l2anchor.so ./examples/plugin
//	go build -o cleval ./cmd/cleval
//	./cleval run --plugin l2anchor.so --strategy l2-anchor --param strength=0.5
//
// See README.md next to this file.
package main

import (
	"fmt"
	"math"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// APIVersion tells cleval which strategy API the plugin was built
// against; cleval refuses a plugin without it or with another version.
var APIVersion = strategies.APIVersion

// Config holds the parameters of l2-anchor: the JSON names are those of
// --param, the doc tags what `cleval strategies` prints.
type Config struct {
	Strength float64 `json:"strength" doc:"penalty strength s >= 0: loss + s/2·‖θ − θ_start‖²"`
}

// Validate rejects bad values before a run starts; the message names the
// parameter and its range.
func (c *Config) Validate() error {
	if !(c.Strength >= 0) || math.IsInf(c.Strength, 0) {
		return fmt.Errorf("strength %v: must be >= 0 and finite", c.Strength)
	}
	return nil
}

// L2Anchor is fine-tuning with an L2 penalty that pulls the parameters
// towards their values at the start of each experience. The penalty is a
// gradient hook of the strategy's own, so that wrappers (agem, ema, ...)
// act on the whole update.
type L2Anchor struct {
	strategies.Base // no-op Setup, BeforeExperience, AfterExperience
	cfg             Config
	own             strategies.OwnHooks
	ws              *nn.Workspace
	anchor          []float32
}

func init() {
	strategies.Register(strategies.Def[Config]{
		Name:     "l2-anchor",
		Summary:  "example plugin: fine-tuning with an L2 pull towards the parameters at the start of each experience",
		Defaults: Config{Strength: 0.1},
		New:      func(cfg *Config) (strategies.Strategy, error) { return &L2Anchor{cfg: *cfg}, nil },
	})
}

// Setup allocates every buffer a step needs, so that Step allocates
// nothing.
func (s *L2Anchor) Setup(ctx *strategies.Context) error {
	s.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	s.anchor = make([]float32, len(ctx.Model.Params()))
	return nil
}

// BeforeExperience moves the anchor to the current parameters.
func (s *L2Anchor) BeforeExperience(ctx *strategies.Context, _ *streams.Experience) error {
	copy(s.anchor, ctx.Model.Params())
	return nil
}

// Step makes one update on the mean cross-entropy of the batch, with the
// strategy's own hook (HookGradient) and those of the wrappers around it.
func (s *L2Anchor) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	seg := strategies.Segment{N: b.N, Weight: 1, Mask: b.Mask, New: true}
	loss := strategies.WeightedStep(s.own.Context(ctx, s), s.ws, b.X, b.Y, seg)
	return strategies.StepResult{Loss: loss}, nil
}

// HookGradient adds the penalty's gradient s·(θ − θ_start) to the
// cross-entropy's and returns the penalty.
func (s *L2Anchor) HookGradient(ctx *strategies.Context, _ *strategies.Update) float64 {
	p, g := ctx.Model.Params(), ctx.Model.Grads()
	k := float32(s.cfg.Strength)
	var pen float64
	for i, a := range s.anchor {
		d := p[i] - a
		g[i] += k * d
		pen += float64(d) * float64(d)
	}
	return s.cfg.Strength / 2 * pen
}

// main is not used by a plugin; it lets `go build ./...` and `go vet
// ./...` treat this package like any other.
func main() {}
