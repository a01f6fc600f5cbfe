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
// A strategy is only behaviour (Setup, BeforeExperience, Step,
// AfterExperience); embed Base for the calls it has nothing to do in. Its
// name and parameters belong to its registration: a parameter struct whose
// fields carry json and doc tags, with the defaults as Go values (the
// documentation `cleval strategies` prints is derived from them), and an
// optional Validate method. Register it in an init function of your
// package:
//
//	type Config struct {
//		Alpha float64 `json:"alpha" doc:"mixing weight in [0, 1]"`
//	}
//
//	func init() {
//		strategies.Register(strategies.Def[Config]{
//			Name:     "mine",
//			Summary:  "what it does",
//			Defaults: Config{Alpha: 0.5},
//			New:      func(cfg *Config) (strategies.Strategy, error) { return &Mine{cfg: *cfg}, nil },
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
// and "base_params" parameters (BaseConfig, NewWrapper) and forwards the
// Strategy calls to it. It acts either around the calls (an EMA updates
// its averages after each Step) or through hooks it installs in the
// Context it passes on (Hooks.With): a SegmentHook changes the softmax of
// the new data (masking), a LogitHook adds a term to the loss (LwF), a
// GradientHook rewrites or adds to the gradient before the optimizer step
// (A-GEM, GEM, OWM, EWC, SI). WeightedStep runs the hooks, inner wrappers'
// first, so any strategy that updates through WeightedStep composes with
// every wrapper. Segments tell hooks which rows are the incoming batch of
// the current experience (Segment.New) and which are replayed.
//
// A strategy that adds loss terms of its own does so as hooks too: it
// implements LogitHook or GradientHook and updates through WeightedStep
// with the Context of OwnHooks, so that its terms run first and the
// wrappers around it (a projection such as A-GEM) see the whole gradient.
// Composition cannot break silently: a wrapper whose hooks did not run on
// an update the strategy inside it made fails the run with an error naming
// both.
//
// Package strategytest is the test kit: it drives a strategy the way the
// harness does and checks the properties every strategy must have
// (determinism, no allocation per step, well-formed variants,
// composition). Plugin authors use it too.
package strategies
