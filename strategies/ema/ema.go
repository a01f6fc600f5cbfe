// Package ema implements temporal ensembles by exponential moving average
// of the weights (Soutif-Cormerais et al. 2023, "Improving online continual
// learning performance and stability with temporal ensembles") as the
// wrapper strategy "ema".
//
// The wrapped strategy trains the live model as it would alone. After
// every update, each EMA model (one per decay λ) moves towards it:
//
//	θ_ema ← λ·θ_ema + (1 − λ)·θ
//
// starting from θ_ema = θ at the start of the run (the initial model).
// During the first experience the decay is min(λ, warmup_decay) (default
// 0.9), so the EMA follows the rapidly changing early model more closely;
// warmup_decay = 1 disables the warm-up. Each EMA model is evaluated
// alongside the live one at every evaluation point and recorded as its own
// model variant, named "ema" followed by the decay ("ema0.99"), so every
// metric exists for each. The arithmetic is float32, element by element:
// e = float32(λ)·e + float32(1−λ)·θ.
//
// Models with batch normalisation have running statistics besides their
// parameters (nn.Model.State). By default (state "average") each EMA model
// averages them with the same decay as its parameters, after every update,
// so that an EMA model is evaluated with statistics that match its
// averaged weights (as weight-averaging code that averages the whole state
// of a model does); with state "live" it is evaluated with the live
// model's current running statistics instead.
//
// Composition: {"base": "er", "base_params": {...}, "decays": [0.99,
// 0.999]}. Any strategy can be wrapped, including other wrappers; variants
// of the wrapped strategy are evaluated too (their names must differ).
package ema

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Config holds the parameters of ema.
type Config struct {
	strategies.BaseConfig
	// Decays are the EMA decays λ, each in [0, 1], distinct; at least one.
	// Default [0.99].
	Decays []float64 `json:"decays" doc:"EMA decays λ in [0, 1], one model variant each (named ema<λ>)"`
	// WarmupDecay caps the decays during the first experience, in [0, 1].
	// Default 0.9; 1 disables the warm-up.
	WarmupDecay float64 `json:"warmup_decay" doc:"decay cap during the first experience, in [0, 1]; 1 = no warm-up"`
	// State is what an EMA model's batch-norm statistics are: "average"
	// (the default when empty) or "live".
	State string `json:"state,omitempty" doc:"batch-norm statistics of the EMA models: average (averaged like the weights; the default when empty) | live (the live model's)"`
}

// EMA model states (Config.State).
const (
	StateAverage = "average"
	StateLive    = "live"
)

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	if len(c.Decays) == 0 {
		return fmt.Errorf("decays: at least one decay is needed")
	}
	for i, d := range c.Decays {
		if !(d >= 0 && d <= 1) {
			return fmt.Errorf("decays[%d] = %v: must be in [0, 1]", i, d)
		}
		if slices.Contains(c.Decays[:i], d) {
			return fmt.Errorf("decays: %v listed twice", d)
		}
	}
	switch c.State {
	case "", StateAverage, StateLive:
	default:
		return fmt.Errorf("state %q: must be %s or %s", c.State, StateAverage, StateLive)
	}
	if !(c.WarmupDecay >= 0 && c.WarmupDecay <= 1) {
		return fmt.Errorf("warmup_decay %v: must be in [0, 1]", c.WarmupDecay)
	}
	return nil
}

// VariantName returns the name of the EMA variant with decay d.
func VariantName(d float64) string { return "ema" + strconv.FormatFloat(d, 'g', -1, 64) }

// EMA is the temporal-ensemble wrapper.
type EMA struct {
	strategies.Wrapper
	cfg    Config
	arenas [][]float32
	states [][]float32 // EMA of the model state ("average")
	own    []strategies.Variant
	out    []strategies.Variant
}

var (
	_ strategies.Strategy        = (*EMA)(nil)
	_ strategies.VariantProvider = (*EMA)(nil)
)

func init() {
	strategies.Register(strategies.Def[Config]{
		Name:     "ema",
		Summary:  "EMA temporal ensembles (Soutif-Cormerais et al. 2023): weight averages evaluated as extra model variants; wraps any strategy",
		Defaults: Config{BaseConfig: strategies.WrapDefaults(), Decays: []float64{0.99}, WarmupDecay: 0.9},
		New: func(cfg *Config) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("ema", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			if err := checkNested(cfg.Decays, w.Inner); err != nil {
				return nil, err
			}
			return &EMA{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// checkNested refuses, before the run, an EMA wrapping (at any depth)
// another EMA with one of the same decays: both would make a variant of
// the same name.
func checkNested(decays []float64, inner strategies.Strategy) error {
	for inner != nil {
		if e, ok := inner.(*EMA); ok {
			for _, d := range e.cfg.Decays {
				if slices.Contains(decays, d) {
					return fmt.Errorf("decay %v: the ema it wraps (base) has it too, and both would store variant %q: give the two different decays", d, VariantName(d))
				}
			}
		}
		w, ok := inner.(interface{ Wrapped() strategies.Strategy })
		if !ok {
			return nil
		}
		inner = w.Wrapped()
	}
	return nil
}

// Setup implements strategies.Strategy.
func (s *EMA) Setup(ctx *strategies.Context) error {
	if err := s.Init(ctx, nil); err != nil {
		return err
	}
	p := ctx.Model.Params()
	names := []string{"live"}
	for _, v := range s.Wrapper.Variants() {
		names = append(names, v.Name)
	}
	s.arenas = make([][]float32, len(s.cfg.Decays))
	s.own = make([]strategies.Variant, len(s.cfg.Decays))
	for i, d := range s.cfg.Decays {
		s.arenas[i] = slices.Clone(p)
		st := ctx.Model.State()
		if s.cfg.State != StateLive {
			st = slices.Clone(st)
			s.states = append(s.states, st)
		}
		name := VariantName(d)
		if slices.Contains(names, name) {
			return fmt.Errorf("ema: variant name %q is taken (by the wrapped strategy)", name)
		}
		names = append(names, name)
		s.own[i] = strategies.Variant{Name: name, Params: s.arenas[i], State: st}
	}
	s.out = make([]strategies.Variant, 0, len(names))
	return nil
}

// Step implements strategies.Strategy: the wrapped strategy's update, then
// every EMA moves.
func (s *EMA) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	res, err := s.Wrapper.Step(ctx, b)
	if err != nil || !strategies.Finite(res.Loss) {
		return res, err
	}
	p := ctx.Model.Params()
	for i, d := range s.cfg.Decays {
		if ctx.Current != nil && ctx.Current.ID == 1 {
			d = min(d, s.cfg.WarmupDecay)
		}
		Update(s.arenas[i], p, d)
		if s.states != nil {
			Update(s.states[i], ctx.Model.State(), d)
		}
	}
	return res, nil
}

// Update moves ema towards p: ema = float32(d)·ema + float32(1−d)·p.
func Update(ema, p []float32, d float64) {
	l, m := float32(d), float32(1-d)
	p = p[:len(ema)]
	for i, v := range p {
		ema[i] = l*ema[i] + m*v
	}
}

// Variants implements strategies.VariantProvider: the wrapped strategy's
// variants, then one per decay.
func (s *EMA) Variants() []strategies.Variant {
	s.out = append(s.out[:0], s.Wrapper.Variants()...)
	return append(s.out, s.own...)
}
