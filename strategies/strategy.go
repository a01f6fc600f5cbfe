package strategies

import (
	"math/rand/v2"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/streams"
)

// APIVersion identifies the Strategy interface; a plugin built against
// another version is refused.
const APIVersion = "cleval-strategy/2"

// Strategy is a continual-learning method: how the model is updated on the
// stream. See the package documentation.
//
// A strategy is only behaviour: its name and parameters belong to its
// registration (Register) and are recorded by the driver. Embed Base for
// the calls a strategy has nothing to do in.
type Strategy interface {
	// Setup is called once before the first experience.
	Setup(ctx *Context) error
	// BeforeExperience is called when experience exp starts.
	BeforeExperience(ctx *Context, exp *streams.Experience) error
	// Step performs one parameter update using batch, a mini-batch of the
	// current experience's training data (a strategy that cannot update
	// yet, such as one waiting for its memory to fill, may skip it and
	// report a loss of 0). batch is owned by the driver and only valid
	// during the call.
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
	Optimizer nn.Optimizer
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
	// JointBatchNorm makes batch normalisation compute its batch
	// statistics over all the segments of an update at once; by default
	// each segment (the new batch, the replayed one) is normalised by its
	// own, as if forwarded separately (see WeightedStep).
	JointBatchNorm bool
	// aug is the training-time augmentation (SetAugment), shared by the
	// copies of the Context that wrappers pass on.
	aug *augmentation
	// Hooks are installed by wrapper strategies for the strategy they
	// wrap (see Hooks and Wrapper); the driver's Context has none.
	Hooks Hooks
}

// Base implements Setup, BeforeExperience and AfterExperience as calls
// that do nothing. Embed it in a strategy that needs only some of them.
type Base struct{}

// Setup implements Strategy.
func (Base) Setup(*Context) error { return nil }

// BeforeExperience implements Strategy.
func (Base) BeforeExperience(*Context, *streams.Experience) error { return nil }

// AfterExperience implements Strategy.
func (Base) AfterExperience(*Context, *streams.Experience) error { return nil }

// Variant is an extra model to evaluate: by default the same architecture
// as the live model with other arenas.
type Variant struct {
	// Name is recorded with every evaluation, e.g. "ema0.99"; "live" is
	// reserved.
	Name string
	// Params has the layout of Context.Model.Params().
	Params []float32
	// State has the layout of Context.Model.State() (empty when the model
	// has no state): the batch-norm statistics the variant is evaluated
	// with.
	State []float32
	// Spec, when not nil, is the variant's own architecture (a second
	// network of another shape); Params and State then have its layouts.
	// It must stay the same for the whole run.
	Spec *nn.Spec
}

// VariantProvider is implemented by strategies that keep models to be
// evaluated alongside the live one. Variants is called at every evaluation
// point; the returned arenas are read, not kept.
type VariantProvider interface {
	Variants() []Variant
}

// ModelChecker is implemented by strategies that work on some models only:
// CheckModel says why the model spec describes does not suit the strategy
// (or its samples: spec.Input), or returns nil. The harness calls it when
// it validates a configuration, with only the architecture's fields set
// (Input and Classes zero), and again once the stream is known, with the
// whole spec — both before anything runs, so that a refusal is bad input.
// Wrappers forward it to the strategy they wrap.
type ModelChecker interface {
	CheckModel(spec nn.Spec) error
}

// augmentation is a Context's training-time data augmentation and its
// buffer.
type augmentation struct {
	a   streams.Augmenter
	rng *rand.Rand
	buf []float32
}

// SetAugment makes every update through WeightedStep train on augmented
// copies of its rows — new and replayed alike — drawn from rng (the run's
// augmentation stream): the batch itself is never changed, so a
// mini-batch used for several updates is augmented afresh each time.
// Evaluation never sees augmentation, nor do the extra passes strategies
// make with WeightedGrad (reference gradients, Fisher estimates). A nil a
// turns augmentation off.
func (ctx *Context) SetAugment(a streams.Augmenter, rng *rand.Rand) {
	if a == nil {
		ctx.aug = nil
		return
	}
	ctx.aug = &augmentation{a: a, rng: rng}
}

// augment returns x (n rows of dim values) augmented into the Context's
// buffer, or x itself without augmentation.
func (ctx *Context) augment(x []float32, n, dim int) []float32 {
	g := ctx.aug
	if g == nil || n == 0 {
		return x
	}
	if cap(g.buf) < n*dim {
		g.buf = make([]float32, n*dim)
	}
	g.buf = g.buf[:n*dim]
	g.a.Augment(g.buf, x[:n*dim], n, g.rng)
	return g.buf
}
