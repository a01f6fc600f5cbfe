// Package strategies is cleval's extension point: the Strategy interface a
// continual-learning method implements, the Context the driver gives it, the
// registry that makes it available by name, and small helpers shared by the
// built-in strategies (weighted cross-entropy over batch segments, parameter
// decoding).
//
// # Writing a strategy
//
// A strategy owns the parameter update; the driver (package harness) owns
// the loop, the clock, evaluation and recording. For each experience the
// driver calls BeforeExperience, then Step once per training iteration with
// the next mini-batch of that experience, then AfterExperience. A Step must
// perform exactly one optimizer update (the iteration counter of every
// metric counts updates). Randomness comes only from Context.Rand.
//
// Register the strategy in an init function of your package:
//
//	func init() {
//		strategies.Register(strategies.Info{
//			Name:    "mine",
//			Summary: "what it does",
//			Params:  []strategies.ParamDoc{{Name: "alpha", Default: "0.5", Doc: "mixing weight in [0, 1]"}},
//			New: func(raw json.RawMessage) (strategies.Strategy, error) {
//				cfg := Config{Alpha: 0.5}
//				if err := strategies.DecodeParams("mine", raw, &cfg); err != nil {
//					return nil, err
//				}
//				return &Mine{cfg: cfg}, nil
//			},
//		})
//	}
//
// and blank-import the package into a copy of cmd/cleval, or build it as a
// Go plugin: a package main that also declares
//
//	var APIVersion = strategies.APIVersion
//
// built with go build -buildmode=plugin and loaded by cleval run --plugin
// (examples/plugin is a complete one).
//
// Optional capabilities are separate interfaces discovered by type
// assertion: a strategy that keeps extra models to evaluate (an EMA
// temporal ensemble, say) implements VariantProvider.
//
// # Composition
//
// Strategies compose by wrapping, not through a shared trainer. A wrapper
// strategy embeds Wrapper, builds the strategy it wraps from its "base"
// and "base_params" parameters (BaseConfig, NewBase) and forwards the
// Strategy calls to it. It acts either around the calls (an EMA updates
// its averages after each Step) or through hooks it installs in the
// Context it passes on (Hooks.With): a SegmentHook changes the softmax of
// the new data (masking), a LogitHook adds a term to the loss (LwF), a
// GradientHook rewrites or adds to the gradient before the optimizer step
// (A-GEM, GEM, OWM, EWC, SI). WeightedStep runs the hooks, inner wrappers'
// first, so any strategy that updates through WeightedStep composes with
// every wrapper. Segments tell hooks which rows are the incoming batch of
// the current experience (Segment.New) and which are replayed.
package strategies
