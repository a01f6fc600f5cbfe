package strategies

import (
	"bytes"
	"fmt"

	"encoding/json"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/streams"
)

// DefaultBase is the strategy a wrapper wraps when its parameters name
// none.
const DefaultBase = "naive"

// BaseConfig is the part of a wrapper's parameters that names the strategy
// it wraps: {"base": "er", "base_params": {...}}. Embed it in the wrapper's
// parameter struct.
type BaseConfig struct {
	// Base is the registered name of the wrapped strategy.
	Base string `json:"base" doc:"wrapped strategy (any registered name, including other wrappers)"`
	// BaseParams are its parameters (a JSON object, validated by it);
	// resolved (every parameter with its value) once the wrapper is built.
	BaseParams json.RawMessage `json:"base_params,omitempty" doc:"parameters of the wrapped strategy, a JSON object"`
}

// WrapDefaults returns the BaseConfig of a wrapper's defaults: it wraps
// DefaultBase.
func WrapDefaults() BaseConfig { return BaseConfig{Base: DefaultBase} }

// NewWrapper builds the strategy cfg names for the wrapper registered as
// wrapper, replaces cfg.BaseParams by its resolved parameters, and returns
// the Wrapper to embed. Errors name the base.
func NewWrapper(wrapper string, cfg *BaseConfig) (Wrapper, error) {
	if cfg.Base == "" {
		cfg.Base = DefaultBase
	}
	r, err := Resolve(cfg.Base, cfg.BaseParams)
	if err != nil {
		return Wrapper{}, fmt.Errorf("base %q: %w", cfg.Base, err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(r.Params), []byte("{")) {
		return Wrapper{}, fmt.Errorf("base %q: parameters marshal to %s, not a JSON object", cfg.Base, r.Params)
	}
	cfg.BaseParams = r.Params
	return Wrapper{Inner: r.Strategy, name: wrapper, innerName: cfg.Base}, nil
}

// Wrapped returns the strategy the wrapper wraps (for checks of a
// composition before it runs).
func (w *Wrapper) Wrapped() Strategy { return w.Inner }

// Wrap returns a Wrapper around inner for a wrapper built in code rather
// than from parameters; the names are those its errors use.
func Wrap(wrapper, innerName string, inner Strategy) Wrapper {
	return Wrapper{Inner: inner, name: wrapper, innerName: innerName}
}

// Wrapper holds the strategy a wrapper strategy wraps and forwards the
// Strategy calls to it with the wrapper's hooks installed. Embed it (built
// by NewWrapper); call Init with the wrapper itself from the wrapper's
// Setup (which installs the wrapper's SegmentHook, LogitHook and
// GradientHook methods) and use Child to call the inner strategy from
// other methods. The forwarding methods below are what a wrapper that adds
// nothing to a call inherits.
//
// A wrapper's hooks take effect only if the inner strategy updates through
// WeightedStep. Step checks it: an inner Step that stepped the optimizer
// without running the wrapper's hooks fails the run with an error naming
// both strategies, instead of silently training without the wrapper.
type Wrapper struct {
	// Inner is the wrapped strategy.
	Inner           Strategy
	name, innerName string
	hooks           Hooks
	ran             *int // updates that ran the wrapper's hooks; nil without hooks
	opt             countingOptimizer
	child           Context
}

// countingOptimizer counts the updates the inner strategy makes.
type countingOptimizer struct {
	nn.Optimizer
	steps int
}

func (o *countingOptimizer) Step(params, grads []float32) {
	o.steps++
	o.Optimizer.Step(params, grads)
}

// Init installs self's hooks (see Hooks.With) on top of those of ctx and
// calls the inner strategy's Setup.
func (w *Wrapper) Init(ctx *Context, self any) error {
	if w.Inner == nil {
		return fmt.Errorf("strategies: wrapper %s was not built with NewWrapper", w.name)
	}
	w.hooks, w.ran = ctx.Hooks.with(self)
	return w.Inner.Setup(w.Child(ctx))
}

// Child returns the Context to pass to the inner strategy: ctx with the
// wrapper's hooks. The pointer stays the same from call to call.
func (w *Wrapper) Child(ctx *Context) *Context {
	w.child = *ctx
	w.child.Hooks = w.hooks
	w.opt.Optimizer = ctx.Optimizer
	w.child.Optimizer = &w.opt
	return &w.child
}

// Setup forwards to Init with no hooks of the wrapper's own; wrappers with
// hooks define Setup and call Init(ctx, self).
func (w *Wrapper) Setup(ctx *Context) error { return w.Init(ctx, nil) }

// BeforeExperience forwards to the inner strategy.
func (w *Wrapper) BeforeExperience(ctx *Context, exp *streams.Experience) error {
	return w.Inner.BeforeExperience(w.Child(ctx), exp)
}

// Step forwards to the inner strategy and checks that the wrapper's hooks
// ran if it updated the model.
func (w *Wrapper) Step(ctx *Context, b *streams.Batch) (StepResult, error) {
	child := w.Child(ctx)
	steps, ran := w.opt.steps, 0
	if w.ran != nil {
		ran = *w.ran
	}
	res, err := w.Inner.Step(child, b)
	if err == nil && w.ran != nil && w.opt.steps > steps && *w.ran == ran {
		return res, fmt.Errorf("strategies: %s updated the model without running the hooks of %s around it: "+
			"a strategy composes with wrappers only if it updates through strategies.WeightedStep "+
			"(its own loss terms as hooks, see OwnHooks)", w.innerName, w.name)
	}
	return res, err
}

// AfterExperience forwards to the inner strategy.
func (w *Wrapper) AfterExperience(ctx *Context, exp *streams.Experience) error {
	return w.Inner.AfterExperience(w.Child(ctx), exp)
}

// CheckModel forwards to the inner strategy when it is a ModelChecker.
func (w *Wrapper) CheckModel(spec nn.Spec) error {
	if mc, ok := w.Inner.(ModelChecker); ok {
		return mc.CheckModel(spec)
	}
	return nil
}

// Variants returns the inner strategy's variants (nil when it has none),
// so that a wrapper around an EMA keeps its models evaluated.
func (w *Wrapper) Variants() []Variant {
	if vp, ok := w.Inner.(VariantProvider); ok {
		return vp.Variants()
	}
	return nil
}
