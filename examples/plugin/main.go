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
	"encoding/json"
	"fmt"
	"math"

	"github.com/cleval/cleval/harness/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// APIVersion tells cleval which strategy API the plugin was built
// against; cleval refuses a plugin without it or with another version.
var APIVersion = strategies.APIVersion

// Config holds the parameters of l2-anchor. Its JSON field names are the
// parameter names of --param; the zero values are not the defaults (see
// init).
type Config struct {
	// Strength is the penalty strength s >= 0: the loss is mean CE + s/2 ·
	// ‖θ − θ_start‖², θ_start the parameters at the start of the current
	// experience.
	Strength float64 `json:"strength"`
}

// Validate rejects bad values before a run starts (strategies.DecodeParams
// calls it); the message names the field and its range.
func (c *Config) Validate() error {
	if !(c.Strength >= 0) || math.IsInf(c.Strength, 0) {
		return fmt.Errorf("strength %v: must be >= 0 and finite", c.Strength)
	}
	return nil
}

// L2Anchor is fine-tuning with an L2 penalty that pulls the parameters
// towards their values at the start of each experience: a minimal
// regulariser that shows the whole Strategy interface.
type L2Anchor struct {
	cfg    Config
	ws     *nn.Workspace
	anchor []float32
}

var _ strategies.Strategy = (*L2Anchor)(nil)

func init() {
	strategies.Register(strategies.Info{
		Name:    "l2-anchor",
		Summary: "example plugin: fine-tuning with an L2 pull towards the parameters at the start of each experience",
		Params: []strategies.ParamDoc{
			{Name: "strength", Default: "0.1", Doc: "penalty strength s >= 0: loss + s/2·‖θ − θ_start‖²"},
		},
		New: func(raw json.RawMessage) (strategies.Strategy, error) {
			cfg := Config{Strength: 0.1}
			if err := strategies.DecodeParams("l2-anchor", raw, &cfg); err != nil {
				return nil, err
			}
			return &L2Anchor{cfg: cfg}, nil
		},
	})
}

// Name implements strategies.Strategy.
func (s *L2Anchor) Name() string { return "l2-anchor" }

// Params implements strategies.Strategy: recorded with the run.
func (s *L2Anchor) Params() any { return s.cfg }

// Setup implements strategies.Strategy: every buffer a step needs is
// allocated here, so that Step allocates nothing.
func (s *L2Anchor) Setup(ctx *strategies.Context) error {
	s.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	s.anchor = make([]float32, len(ctx.Model.Params()))
	return nil
}

// BeforeExperience implements strategies.Strategy: the anchor moves to the
// current parameters.
func (s *L2Anchor) BeforeExperience(ctx *strategies.Context, _ *streams.Experience) error {
	copy(s.anchor, ctx.Model.Params())
	return nil
}

// Step implements strategies.Strategy: exactly one optimizer update.
// WeightedGrad leaves the cross-entropy's gradient in the model's gradient
// arena; the penalty's gradient s·(θ − θ_start) is added to it before the
// update. (A strategy that has nothing to add would call
// strategies.WeightedStep, which also runs the hooks of wrappers such as
// mask or agem around it.)
func (s *L2Anchor) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	loss := strategies.WeightedGrad(ctx.Model, s.ws, b.X, b.Y, strategies.Segment{N: b.N, Weight: 1, Mask: b.Mask, New: true})
	if !strategies.Finite(loss) {
		return strategies.StepResult{Loss: loss}, nil // the driver stops the run as diverged
	}
	p, g := ctx.Model.Params(), ctx.Model.Grads()
	k := float32(s.cfg.Strength)
	var pen float64
	for i, a := range s.anchor {
		d := p[i] - a
		g[i] += k * d
		pen += float64(d) * float64(d)
	}
	ctx.Optimizer.Step(p, g)
	return strategies.StepResult{Loss: loss + s.cfg.Strength/2*pen}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *L2Anchor) AfterExperience(*strategies.Context, *streams.Experience) error { return nil }

// main is not used by a plugin; it lets `go build ./...` and `go vet
// ./...` treat this package like any other.
func main() {}
