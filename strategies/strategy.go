package strategies

import (
	"math/rand/v2"

	"github.com/cleval/cleval/harness/nn"
	"github.com/cleval/cleval/streams"
)

// APIVersion identifies the Strategy interface; a plugin built against
// another version is refused.
const APIVersion = "cleval-strategy/1"

// Strategy is a continual-learning method: how the model is updated on the
// stream. See the package documentation.
type Strategy interface {
	// Name returns the registered name.
	Name() string
	// Params returns the resolved parameters (defaults filled in), recorded
	// with the run; it must marshal to a JSON object.
	Params() any
	// Setup is called once before the first experience.
	Setup(ctx *Context) error
	// BeforeExperience is called when experience exp starts.
	BeforeExperience(ctx *Context, exp *streams.Experience) error
	// Step performs exactly one parameter update using batch, a mini-batch
	// of the current experience's training data. batch is owned by the
	// driver and only valid during the call.
	Step(ctx *Context, batch *streams.Batch) (StepResult, error)
	// AfterExperience is called after the last update of exp, before the
	// end-of-experience evaluation.
	AfterExperience(ctx *Context, exp *streams.Experience) error
}

// StepResult reports one update.
type StepResult struct {
	// Loss is the value of the loss that was minimised. A NaN or infinite
	// loss marks the run as diverged and stops it.
	Loss float64
}

// Context is what the driver shares with a strategy. The strategy may
// update Model's parameters and Optimizer's state; everything else is
// read-only.
type Context struct {
	// Model is the live model.
	Model nn.Model
	// Optimizer updates Model's parameters from its gradients.
	Optimizer *nn.SGD
	// Rand is the strategy's own random stream, derived from the run seed.
	Rand *rand.Rand
	// Stream describes the benchmark: scenario, classes, input size. Only
	// experiences up to Current may be used for training.
	Stream *streams.Stream
	// Current is the experience being trained (nil before the first).
	Current *streams.Experience
	// BatchSize is the number of new samples per batch (the last batch of
	// an epoch may hold fewer).
	BatchSize int
	// Iteration is the number of updates done so far in the run.
	Iteration int
	// ExperienceIterations is the number of updates the driver makes in
	// the current experience, 0 when the driver does not say.
	ExperienceIterations int
	// Hooks are installed by wrapper strategies for the strategy they
	// wrap (see Hooks and Wrapper); the driver's Context has none.
	Hooks Hooks
}

// Variant is an extra model to evaluate: the same architecture as the live
// model with another parameter arena.
type Variant struct {
	// Name is recorded with every evaluation, e.g. "ema0.99"; "live" is
	// reserved.
	Name string
	// Params has the layout of Context.Model.Params().
	Params []float32
}

// VariantProvider is implemented by strategies that keep models to be
// evaluated alongside the live one. Variants is called at every evaluation
// point; the returned arenas are read, not kept.
type VariantProvider interface {
	Variants() []Variant
}
