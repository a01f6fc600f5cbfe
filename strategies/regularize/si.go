package regularize

import (
	"fmt"
	"math"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// SIConfig holds the parameters of si.
type SIConfig struct {
	strategies.BaseConfig
	// C is the penalty strength c, >= 0. Default 1.
	C float64 `json:"c" doc:"penalty strength c, >= 0: loss + c·Σ Ω(θ−θ*)²"`
	// Xi is the damping ξ > 0 of the importance. Default 0.1.
	Xi float64 `json:"xi" doc:"damping ξ > 0 in Ω += ω/(Δ² + ξ)"`
}

// Validate implements strategies.Validator.
func (c *SIConfig) Validate() error {
	if !(c.C >= 0) || math.IsInf(c.C, 0) {
		return fmt.Errorf("c %v: must be >= 0 and finite", c.C)
	}
	if !(c.Xi > 0) || math.IsInf(c.Xi, 0) {
		return fmt.Errorf("xi %v: must be > 0 and finite", c.Xi)
	}
	return nil
}

// SI is synaptic intelligence (Zenke, Poole & Ganguli 2017) as a wrapper.
//
// During an experience each parameter's path integral ω accumulates
// −g·Δθ over the updates, with g the gradient of the loss before SI's own
// penalty (the unregularised gradient, as the authors' code) and Δθ the
// update's change. At the end of the experience Ω += ω/(Δ² + ξ), with Δ
// the parameter's change over the experience, ω is reset and θ* set to the
// current parameters. The loss gets c·Σ Ω(θ − θ*)².
type SI struct {
	strategies.Wrapper
	cfg   SIConfig
	omega []float32 // Ω
	w     []float32 // ω of the current experience
	star  []float32 // θ*
	start []float32 // θ at the start of the experience
	prev  []float32 // θ before the update in progress
	g     []float32 // the unregularised gradient of the update
}

var (
	_ strategies.Strategy     = (*SI)(nil)
	_ strategies.GradientHook = (*SI)(nil)
)

func init() {
	strategies.Register(strategies.Def[SIConfig]{
		Name:     "si",
		Summary:  "synaptic intelligence (Zenke et al. 2017): path-integral importance, quadratic penalty; wraps any strategy",
		Defaults: SIConfig{BaseConfig: strategies.WrapDefaults(), C: 1, Xi: 0.1},
		New: func(cfg *SIConfig) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("si", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &SI{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// Omega returns the importance Ω (for inspection and tests).
func (s *SI) Omega() []float32 { return s.omega }

// Setup implements strategies.Strategy.
func (s *SI) Setup(ctx *strategies.Context) error {
	p := ctx.Model.Params()
	n := len(p)
	s.omega = make([]float32, n)
	s.w = make([]float32, n)
	s.star = append([]float32(nil), p...)
	s.start = append([]float32(nil), p...)
	s.prev = make([]float32, n)
	s.g = make([]float32, n)
	return s.Init(ctx, s)
}

// BeforeExperience implements strategies.Strategy.
func (s *SI) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	copy(s.start, ctx.Model.Params())
	return s.Wrapper.BeforeExperience(ctx, exp)
}

// Step implements strategies.Strategy.
func (s *SI) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	p := ctx.Model.Params()
	copy(s.prev, p)
	clear(s.g)
	res, err := s.Wrapper.Step(ctx, b)
	if err != nil {
		return res, err
	}
	for i, v := range p {
		s.w[i] -= s.g[i] * (v - s.prev[i])
	}
	return res, nil
}

// HookGradient implements strategies.GradientHook: it keeps the
// unregularised gradient and adds the penalty's, 2c·Ω⊙(θ−θ*).
func (s *SI) HookGradient(ctx *strategies.Context, _ *strategies.Update) float64 {
	g := ctx.Model.Grads()
	copy(s.g, g)
	p := ctx.Model.Params()
	c2 := float32(2 * s.cfg.C)
	var pen float64
	for i, o := range s.omega {
		if o == 0 {
			continue
		}
		d := p[i] - s.star[i]
		g[i] += c2 * o * d
		pen += float64(o) * float64(d) * float64(d)
	}
	return s.cfg.C * pen
}

// AfterExperience implements strategies.Strategy.
func (s *SI) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.AfterExperience(ctx, exp); err != nil {
		return err
	}
	p := ctx.Model.Params()
	xi := s.cfg.Xi
	for i, v := range p {
		d := float64(v) - float64(s.start[i])
		s.omega[i] += float32(float64(s.w[i]) / (d*d + xi))
		s.w[i] = 0
	}
	copy(s.star, p)
	return nil
}
