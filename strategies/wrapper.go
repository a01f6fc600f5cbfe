package strategies

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cleval/cleval/streams"
)

// DefaultBase is the strategy a wrapper wraps when its parameters name
// none.
const DefaultBase = "naive"

// BaseConfig is the part of a wrapper's parameters that names the strategy
// it wraps: {"base": "er", "base_params": {...}}. Embed it in the wrapper's
// parameter struct.
type BaseConfig struct {
	// Base is the registered name of the wrapped strategy. Default "naive".
	Base string `json:"base"`
	// BaseParams are its parameters (a JSON object, validated by it);
	// resolved (every parameter with its value) once the wrapper is built.
	BaseParams json.RawMessage `json:"base_params,omitempty"`
}

// BaseParamDocs documents the two parameters of BaseConfig, for Info.Params.
func BaseParamDocs() []ParamDoc {
	return []ParamDoc{
		{Name: "base", Default: DefaultBase, Doc: "wrapped strategy (any registered name, including other wrappers)"},
		{Name: "base_params", Default: "{}", Doc: "parameters of the wrapped strategy, a JSON object"},
	}
}

// NewBase builds the strategy cfg names for the wrapper called wrapper,
// and replaces cfg.BaseParams by the built strategy's resolved parameters.
// Errors name the wrapper and the base.
func NewBase(wrapper string, cfg *BaseConfig) (Strategy, error) {
	if cfg.Base == "" {
		cfg.Base = DefaultBase
	}
	s, err := New(cfg.Base, cfg.BaseParams)
	if err != nil {
		return nil, fmt.Errorf("base %q: %w", cfg.Base, err)
	}
	raw, err := json.Marshal(s.Params())
	if err != nil {
		return nil, fmt.Errorf("base %q: parameters do not marshal: %v", cfg.Base, err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, fmt.Errorf("base %q: parameters marshal to %s, not a JSON object", cfg.Base, raw)
	}
	cfg.BaseParams = raw
	return s, nil
}

// Wrapper holds the strategy a wrapper strategy wraps and forwards the
// Strategy calls to it with the wrapper's hooks installed. Embed it; call
// Init with the wrapper itself from the wrapper's Setup (which installs the
// wrapper's SegmentHook, LogitHook and GradientHook methods) and use Child
// to call the inner strategy from other methods. The forwarding methods
// below are what a wrapper that adds nothing to a call inherits.
type Wrapper struct {
	// Inner is the wrapped strategy.
	Inner Strategy
	hooks Hooks
	child Context
}

// Init installs self's hooks (see Hooks.With) on top of those of ctx and
// calls the inner strategy's Setup.
func (w *Wrapper) Init(ctx *Context, self any) error {
	w.hooks = ctx.Hooks.With(self)
	return w.Inner.Setup(w.Child(ctx))
}

// Child returns the Context to pass to the inner strategy: ctx with the
// wrapper's hooks. The pointer stays the same from call to call.
func (w *Wrapper) Child(ctx *Context) *Context {
	w.child = *ctx
	w.child.Hooks = w.hooks
	return &w.child
}

// Setup forwards to Init with no hooks of the wrapper's own; wrappers with
// hooks define Setup and call Init(ctx, self).
func (w *Wrapper) Setup(ctx *Context) error { return w.Init(ctx, nil) }

// BeforeExperience forwards to the inner strategy.
func (w *Wrapper) BeforeExperience(ctx *Context, exp *streams.Experience) error {
	return w.Inner.BeforeExperience(w.Child(ctx), exp)
}

// Step forwards to the inner strategy.
func (w *Wrapper) Step(ctx *Context, b *streams.Batch) (StepResult, error) {
	return w.Inner.Step(w.Child(ctx), b)
}

// AfterExperience forwards to the inner strategy.
func (w *Wrapper) AfterExperience(ctx *Context, exp *streams.Experience) error {
	return w.Inner.AfterExperience(w.Child(ctx), exp)
}

// Variants returns the inner strategy's variants (nil when it has none),
// so that a wrapper around an EMA keeps its models evaluated.
func (w *Wrapper) Variants() []Variant {
	if vp, ok := w.Inner.(VariantProvider); ok {
		return vp.Variants()
	}
	return nil
}
