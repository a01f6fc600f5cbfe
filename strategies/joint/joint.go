// Package joint implements the two baselines that train on all the data
// seen so far: "cumulative" (incremental joint training, as in van de
// Ven's stability-gap demonstration) and "joint" (the upper bound: all the
// data so far, trained from the start of each experience).
//
// # cumulative
//
// During experience k every update uses data of experiences 1..k. Two
// samplings:
//
//   - "union" (default), exactly as in van de Ven's demo
//     (StabilityGap/stability_gap_example.py in GMvandeVen/continual-learning):
//     at the start of experience k the training sets of experiences 1..k
//     are concatenated and a data loader with shuffle and drop_last draws
//     batches of k·batch_size samples from the concatenation; when it runs
//     out, a new permutation starts. With training sets of equal size a
//     batch therefore holds batch_size samples of each experience on
//     average (not exactly: the composition of each batch is random). The
//     driver's batch of experience k only sets the pace (one update per
//     driver batch) and is not used.
//   - "stratified": each batch holds the driver's batch of experience k
//     plus exactly batch_size samples of each earlier experience, each
//     drawn by its own loader (shuffle, drop_last, a new permutation when
//     it runs out; the loaders persist across experiences).
//
// The loss is the mean cross-entropy over the whole batch. In the union
// mode the batch has no New segment (softmax masking and LwF do not apply);
// in the stratified mode the driver's batch is the New segment.
//
// # joint
//
// At the start of each experience k the model is re-initialised (PyTorch's
// default initialisation, drawn from the strategy's random stream) and the
// optimizer state reset, unless reinit is false; then every update uses a
// batch of batch_size samples of the union of experiences 1..k, drawn in
// epochs of a fresh permutation of the union (the last batch of an epoch
// holds the remainder). It is the per-experience offline model: the
// reference of the gap measures relative to an upper bound (cleval report
// --reference).
//
// Its length: with epochs_over "union" (default) a run whose length is
// set by epochs gives experience k the configured epochs over the union
// of experiences 1..k, Epochs·⌈(n_1+…+n_k)/batch_size⌉ updates (Joint is
// a harness.EpochSizer), so each model is trained as an offline model on
// its data would be; Iterations, when set, fixes the count as for every
// strategy. With "experience" it gets the driver's count for experience
// k alone (the same number of updates as any other strategy at e_k,
// which under-trains the later models). The updates made are recorded
// with the run (e_k in its experiences, its iterations).
//
// Which upper bound: joint (re-initialised, trained to convergence on
// everything seen) answers "how good can a model of this architecture be
// on experiences 1..k"; it is the reference of the gap measures, whose
// ratios compare the learner at every update with that offline model.
// cumulative (no re-initialisation, each update on data of every seen
// experience, the same number of updates as the learner) answers "what
// does the learner lose by not seeing the old data": it has the same
// clock and shows its own, small, stability gap, so it is the upper bound
// to compare curves and continual-evaluation metrics (min-ACC, WC-ACC)
// with, update for update.
package joint

import (
	"fmt"
	"math/rand/v2"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Sampling modes of cumulative.
const (
	SamplingUnion      = "union"
	SamplingStratified = "stratified"
)

// CumulativeConfig holds the parameters of cumulative.
type CumulativeConfig struct {
	// Sampling is "union" (default) or "stratified".
	Sampling string `json:"sampling" doc:"union (k·batch_size from the concatenation of experiences 1..k, shuffle + drop_last, as in the demo) | stratified (the new batch + batch_size from each earlier experience)"`
}

// Validate implements strategies.Validator.
func (c *CumulativeConfig) Validate() error {
	switch c.Sampling {
	case SamplingUnion, SamplingStratified:
		return nil
	}
	return fmt.Errorf("sampling %q: must be %q or %q", c.Sampling, SamplingUnion, SamplingStratified)
}

// Lengths of joint's experiences.
const (
	EpochsOverUnion      = "union"
	EpochsOverExperience = "experience"
)

// JointConfig holds the parameters of joint.
type JointConfig struct {
	// Reinit re-initialises the model and resets the optimizer at the
	// start of every experience. Default true.
	Reinit bool `json:"reinit" doc:"re-initialise the model and reset the optimizer at the start of every experience"`
	// EpochsOver is what an epoch of experience k covers: "union"
	// (default: the union of experiences 1..k) or "experience" (experience
	// k alone, the driver's count).
	EpochsOver string `json:"epochs_over" doc:"union (experience k gets the configured epochs over the union of experiences 1..k) | experience (the driver's count for experience k alone); iterations, when set, fixes the count"`
}

// Validate implements strategies.Validator.
func (c *JointConfig) Validate() error {
	switch c.EpochsOver {
	case EpochsOverUnion, EpochsOverExperience:
		return nil
	}
	return fmt.Errorf("epochs_over %q: must be %q or %q", c.EpochsOver, EpochsOverUnion, EpochsOverExperience)
}

func init() {
	strategies.Register(strategies.Def[CumulativeConfig]{
		Name:     "cumulative",
		Summary:  "incremental joint training: each batch draws from all experiences so far (van de Ven's stability-gap demo)",
		Defaults: CumulativeConfig{Sampling: SamplingUnion},
		New:      func(cfg *CumulativeConfig) (strategies.Strategy, error) { return &Cumulative{cfg: *cfg}, nil },
	})
	strategies.Register(strategies.Def[JointConfig]{
		Name:     "joint",
		Summary:  "upper bound: batches from the union of all experiences so far, model re-initialised at each experience start",
		Defaults: JointConfig{Reinit: true, EpochsOver: EpochsOverUnion},
		New:      func(cfg *JointConfig) (strategies.Strategy, error) { return &Joint{cfg: *cfg}, nil },
	})
}

// rows is a batch under construction: samples, labels, task masks.
type rows struct {
	x     []float32
	y     []int32
	exps  []*streams.Experience
	masks [][]bool // nil outside task-incremental streams
	ws    *nn.Workspace
}

func (r *rows) alloc(ctx *strategies.Context, n int) {
	r.x = make([]float32, n*ctx.Stream.InputDim)
	r.y = make([]int32, n)
	r.exps = make([]*streams.Experience, n)
	if ctx.Stream.Scenario == streams.TaskIncremental {
		r.masks = make([][]bool, n)
	}
	r.ws = ctx.Model.NewWorkspace(n)
}

// fillMasks sets the task masks of rows [lo, hi) from their experiences.
func (r *rows) fillMasks(ctx *strategies.Context, lo, hi int) [][]bool {
	if r.masks == nil {
		return nil
	}
	for i := lo; i < hi; i++ {
		r.masks[i] = ctx.Stream.Mask(r.exps[i].Task)
	}
	return r.masks[lo:hi]
}

// Cumulative is incremental joint training.
type Cumulative struct {
	cfg   CumulativeConfig
	rows  rows
	union strategies.Cycler
	// per[j] draws the batches of experience j+1 in the stratified mode.
	per []*strategies.Cycler
}

var _ strategies.Strategy = (*Cumulative)(nil)

// Setup implements strategies.Strategy.
func (s *Cumulative) Setup(ctx *strategies.Context) error {
	s.rows.alloc(ctx, len(ctx.Stream.Experiences)*ctx.BatchSize)
	s.union.DropLast = true
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *Cumulative) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	seen := ctx.Stream.Experiences[:exp.ID]
	if s.cfg.Sampling == SamplingUnion {
		s.union.Reset(seen)
		if s.union.Len() < exp.ID*ctx.BatchSize {
			return fmt.Errorf("cumulative: experiences 1..%d hold %d samples, fewer than one batch of %d", exp.ID, s.union.Len(), exp.ID*ctx.BatchSize)
		}
		return nil
	}
	for len(s.per) < exp.ID-1 {
		e := ctx.Stream.Experiences[len(s.per)]
		if e.Train.Len() < ctx.BatchSize {
			return fmt.Errorf("cumulative: experience %d holds %d samples, fewer than one batch of %d", e.ID, e.Train.Len(), ctx.BatchSize)
		}
		c := &strategies.Cycler{DropLast: true}
		c.Reset([]*streams.Experience{e})
		s.per = append(s.per, c)
	}
	return nil
}

// Step implements strategies.Strategy.
func (s *Cumulative) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	d := ctx.Stream.InputDim
	r := &s.rows
	k := ctx.Current.ID
	if s.cfg.Sampling == SamplingUnion {
		n := s.union.Next(ctx.Rand, k*ctx.BatchSize, d, r.x, r.y, r.exps, nil)
		loss := strategies.WeightedStep(ctx, r.ws, r.x, r.y, strategies.Segment{N: n, Weight: 1, Masks: r.fillMasks(ctx, 0, n)})
		return strategies.StepResult{Loss: loss}, nil
	}
	copy(r.x, b.X[:b.N*d])
	copy(r.y, b.Y[:b.N])
	n := b.N
	for _, c := range s.per[:k-1] {
		n += c.Next(ctx.Rand, ctx.BatchSize, d, r.x[n*d:], r.y[n:], r.exps[n:], nil)
	}
	total := n
	var newMasks, oldMasks [][]bool
	if r.masks != nil {
		for i := range b.N {
			r.masks[i] = b.Mask
		}
		newMasks = r.masks[:b.N]
		oldMasks = r.fillMasks(ctx, b.N, total)
	}
	// One mean over the whole batch: the two segments are weighted by
	// their share of the rows.
	w := float64(b.N) / float64(total)
	loss := strategies.WeightedStep(ctx, r.ws, r.x, r.y,
		strategies.Segment{N: b.N, Weight: w, Mask: b.Mask, Masks: newMasks, New: true},
		strategies.Segment{N: total - b.N, Weight: 1 - w, Masks: oldMasks})
	return strategies.StepResult{Loss: loss}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *Cumulative) AfterExperience(*strategies.Context, *streams.Experience) error { return nil }

// Joint is the upper-bound baseline.
type Joint struct {
	cfg   JointConfig
	rows  rows
	union strategies.Cycler
}

var _ strategies.Strategy = (*Joint)(nil)

// initializer is implemented by models that can redraw their parameters
// (nn.MLP).
type initializer interface{ Init(rng *rand.Rand) }

// Setup implements strategies.Strategy.
func (s *Joint) Setup(ctx *strategies.Context) error {
	if _, ok := ctx.Model.(initializer); s.cfg.Reinit && !ok {
		return fmt.Errorf("joint: reinit needs a model with an Init method, got %T", ctx.Model)
	}
	s.rows.alloc(ctx, ctx.BatchSize)
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *Joint) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if s.cfg.Reinit && exp.ID > 1 {
		ctx.Model.(initializer).Init(ctx.Rand)
		ctx.Optimizer.Reset()
	}
	s.union.Reset(ctx.Stream.Experiences[:exp.ID])
	return nil
}

// Step implements strategies.Strategy.
func (s *Joint) Step(ctx *strategies.Context, _ *streams.Batch) (strategies.StepResult, error) {
	r := &s.rows
	n := s.union.Next(ctx.Rand, ctx.BatchSize, ctx.Stream.InputDim, r.x, r.y, r.exps, nil)
	loss := strategies.WeightedStep(ctx, r.ws, r.x, r.y, strategies.Segment{N: n, Weight: 1, Masks: r.fillMasks(ctx, 0, n)})
	return strategies.StepResult{Loss: loss}, nil
}

// AfterExperience implements strategies.Strategy.
func (s *Joint) AfterExperience(*strategies.Context, *streams.Experience) error { return nil }

// EpochSize implements harness.EpochSizer: the samples of experiences
// 1..k under "union", of experience k under "experience".
func (s *Joint) EpochSize(st *streams.Stream, k int) int {
	if s.cfg.EpochsOver == EpochsOverExperience {
		return st.Experiences[k-1].Train.Len()
	}
	n := 0
	for _, e := range st.Experiences[:k] {
		n += e.Train.Len()
	}
	return n
}
