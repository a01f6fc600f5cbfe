package regularize

import (
	"fmt"
	"math"
	"slices"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Fisher estimates.
const (
	FisherExpected  = "expected"
	FisherEmpirical = "empirical"
	FisherSample    = "sample"
)

// EWCConfig holds the parameters of ewc.
type EWCConfig struct {
	strategies.BaseConfig
	// Lambda is the penalty strength λ, >= 0. Default 100.
	Lambda float64 `json:"lambda" doc:"penalty strength λ, >= 0: loss + λ/2·Σ F̃(θ−θ*)²"`
	// Gamma is the online decay γ of the accumulated Fisher, in [0, 1].
	// Default 1.
	Gamma float64 `json:"gamma" doc:"online decay of the accumulated Fisher, in [0, 1]: F̃ ← γF̃ + F"`
	// Fisher is the estimate of the diagonal Fisher: "expected" (default),
	// "empirical" or "sample".
	Fisher string `json:"fisher" doc:"expected (exact, over the model's predictive distribution) | empirical (true labels) | sample (one label drawn from the model)"`
	// FisherSamples is the number of training samples of the experience
	// the Fisher is estimated on (a uniformly random subset), >= 0; 0
	// (default) means all of them.
	FisherSamples int `json:"fisher_samples" doc:"training samples the Fisher is estimated on; 0 = all"`
	// Granularity is what the squared gradients are of: "sample" (one per
	// training sample; needs a model that computes per-sample gradients,
	// nn.SampleGradients: the mlp) or "minibatch" (one per mini-batch of
	// the run's batch size, averaged over the mini-batches: the estimate
	// Avalanche's EWC makes, for any model; fisher empirical or sample).
	// Empty means sample when the model computes per-sample gradients,
	// minibatch otherwise.
	Granularity string `json:"granularity,omitempty" doc:"sample (per-sample squared gradients; mlp) | minibatch (squared mini-batch gradients, as Avalanche; any model, fisher empirical or sample); empty = sample where available"`
}

// Fisher granularities (EWCConfig.Granularity).
const (
	GranularitySample    = "sample"
	GranularityMinibatch = "minibatch"
)

// Validate implements strategies.Validator.
func (c *EWCConfig) Validate() error {
	if !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0) {
		return fmt.Errorf("lambda %v: must be >= 0 and finite", c.Lambda)
	}
	if !(c.Gamma >= 0 && c.Gamma <= 1) {
		return fmt.Errorf("gamma %v: must be in [0, 1]", c.Gamma)
	}
	switch c.Fisher {
	case FisherExpected, FisherEmpirical, FisherSample:
	default:
		return fmt.Errorf("fisher %q: must be %q, %q or %q", c.Fisher, FisherExpected, FisherEmpirical, FisherSample)
	}
	if c.FisherSamples < 0 {
		return fmt.Errorf("fisher_samples %d: must be >= 0 (0 = all)", c.FisherSamples)
	}
	switch c.Granularity {
	case "", GranularitySample:
	case GranularityMinibatch:
		if c.Fisher == FisherExpected {
			return fmt.Errorf("fisher %s needs per-sample gradients: with granularity minibatch use fisher empirical or sample", c.Fisher)
		}
	default:
		return fmt.Errorf("granularity %q: must be %s or %s", c.Granularity, GranularitySample, GranularityMinibatch)
	}
	return nil
}

// CheckModel implements strategies.ModelChecker: per-sample squared
// gradients exist for the mlp only.
func (s *EWC) CheckModel(spec nn.Spec) error {
	arch := spec.Arch
	if arch != "mlp" {
		switch {
		case s.cfg.Granularity == GranularitySample:
			return fmt.Errorf("ewc: granularity sample needs per-sample gradients, which model %s does not compute: use granularity minibatch", arch)
		case s.cfg.Fisher == FisherExpected:
			return fmt.Errorf("ewc: fisher expected needs per-sample gradients, which model %s does not compute: use fisher empirical or sample (estimated per mini-batch)", arch)
		}
	}
	return s.Wrapper.CheckModel(spec)
}

// EWC is online elastic weight consolidation (Kirkpatrick et al. 2017;
// online form of Schwarz et al. 2018) as a wrapper.
type EWC struct {
	strategies.Wrapper
	cfg    EWCConfig
	fisher []float32 // accumulated F̃
	star   []float32 // θ* (parameters at the last experience end)
	tmp    []float32
	done   bool // at least one experience consolidated
}

var (
	_ strategies.Strategy     = (*EWC)(nil)
	_ strategies.GradientHook = (*EWC)(nil)
)

func init() {
	strategies.Register(strategies.Def[EWCConfig]{
		Name:     "ewc",
		Summary:  "online EWC with a diagonal Fisher: quadratic penalty towards the last experience's parameters; wraps any strategy",
		Defaults: EWCConfig{BaseConfig: strategies.WrapDefaults(), Lambda: 100, Gamma: 1, Fisher: FisherExpected},
		New: func(cfg *EWCConfig) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("ewc", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &EWC{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// Fisher returns the accumulated Fisher F̃ (for inspection and tests).
func (s *EWC) Fisher() []float32 { return s.fisher }

// Setup implements strategies.Strategy.
func (s *EWC) Setup(ctx *strategies.Context) error {
	if _, ok := ctx.Model.(nn.SampleGradients); !ok && s.cfg.Granularity != GranularityMinibatch {
		if err := s.CheckModel(ctx.Model.Spec()); err != nil {
			return err
		}
		s.cfg.Granularity = GranularityMinibatch
	}
	n := len(ctx.Model.Params())
	s.fisher = make([]float32, n)
	s.star = make([]float32, n)
	s.tmp = make([]float32, n)
	return s.Init(ctx, s)
}

// AfterExperience implements strategies.Strategy: the experience's Fisher
// is accumulated and θ* moves to the current parameters.
func (s *EWC) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.AfterExperience(ctx, exp); err != nil {
		return err
	}
	if s.cfg.Granularity == GranularityMinibatch {
		estimateFisherMinibatch(ctx, exp, s.cfg.Fisher, s.cfg.FisherSamples, s.tmp)
	} else {
		EstimateFisher(ctx, exp, s.cfg.Fisher, s.cfg.FisherSamples, s.tmp)
	}
	g := float32(s.cfg.Gamma)
	for i, f := range s.tmp {
		s.fisher[i] = g*s.fisher[i] + f
	}
	copy(s.star, ctx.Model.Params())
	s.done = true
	return nil
}

// HookGradient implements strategies.GradientHook: it adds the gradient of
// λ/2·Σ F̃(θ−θ*)², λ·F̃⊙(θ−θ*), and returns the penalty.
func (s *EWC) HookGradient(ctx *strategies.Context, _ *strategies.Update) float64 {
	if !s.done {
		return 0
	}
	p := ctx.Model.Params()
	g := ctx.Model.Grads()
	lam := float32(s.cfg.Lambda)
	var pen float64
	for i, f := range s.fisher {
		d := p[i] - s.star[i]
		g[i] += lam * f * d
		pen += float64(f) * float64(d) * float64(d)
	}
	return s.cfg.Lambda / 2 * pen
}

// EstimateFisher writes into dst the diagonal Fisher information of the model
// at its current parameters, averaged over the training samples of exp (a
// uniformly random subset of n of them when 0 < n < their number), with
// the task mask of exp in task-incremental streams:
//
//   - "expected": E_x Σ_c p(c|x)·(∇ log p(c|x))², the exact diagonal Fisher
//     of the model's predictive distribution;
//   - "empirical": E_x (∇ log p(y|x))² with the true label y;
//   - "sample": E_x (∇ log p(ŷ|x))² with ŷ drawn from p(·|x) (ctx.Rand).
//
// Per-sample squared gradients come from one batched backward pass per
// chunk (nn.SampleGradients). It leaves the model's gradient
// arena zeroed and allocates (it runs at experience ends).
func EstimateFisher(ctx *strategies.Context, exp *streams.Experience, kind string, n int, dst []float32) {
	mlp, ok := ctx.Model.(nn.SampleGradients)
	if !ok {
		panic(fmt.Sprintf("regularize: the Fisher estimate needs per-sample gradients, which model %s does not compute", ctx.Model.Spec().Arch))
	}
	clear(dst)
	pos := fisherSubset(ctx, exp, n)
	C := mlp.OutputDim()
	d := mlp.InputDim()
	chunk := max(1, min(ctx.BatchSize, len(pos)))
	ws := mlp.NewWorkspace(chunk)
	x := make([]float32, chunk*d)
	y := make([]int32, chunk)
	prob := make([]float64, C)
	mask := ctx.Stream.Mask(exp.Task)
	var scr []int32
	for at := 0; at < len(pos); at += chunk {
		rows := min(chunk, len(pos)-at)
		scr = exp.Train.Gather(x[:rows*d], y[:rows], pos[at:at+rows], scr)
		logits := mlp.Forward(ws, x[:rows*d], rows)
		dl := ws.LogitGrad()
		switch kind {
		case FisherEmpirical:
			nn.SoftmaxCE(logits, rows, C, y, nn.SoftmaxMask{Mask: mask}, 1, dl)
			mlp.Backward(ws)
			mlp.AddSquaredSampleGrads(ws, dst)
		case FisherSample:
			for r := range rows {
				y[r] = drawLabel(ctx, logits[r*C:(r+1)*C], mask, prob)
			}
			nn.SoftmaxCE(logits, rows, C, y, nn.SoftmaxMask{Mask: mask}, 1, dl)
			mlp.Backward(ws)
			mlp.AddSquaredSampleGrads(ws, dst)
		default: // expected
			probs := make([]float64, rows*C)
			for r := range rows {
				softmax(logits[r*C:(r+1)*C], mask, probs[r*C:(r+1)*C])
			}
			for c := range C {
				if mask != nil && !mask[c] {
					continue
				}
				// Row r's loss gradient, weighted so that its square is
				// p(c|x)·(∇ log p(c|x))²: sqrt(p_c)·(p − e_c).
				for r := range rows {
					p := probs[r*C : (r+1)*C]
					w := math.Sqrt(p[c])
					for j := range C {
						v := p[j]
						if j == c {
							v--
						}
						dl[r*C+j] = float32(w * v)
					}
				}
				mlp.Backward(ws)
				mlp.AddSquaredSampleGrads(ws, dst)
			}
		}
	}
	mlp.ZeroGrad()
	inv := float32(1 / float64(len(pos)))
	for i := range dst {
		dst[i] *= inv
	}
}

// softmax writes the (masked) softmax of logits into p, in float64.
func softmax(logits []float32, mask []bool, p []float64) {
	best := math.Inf(-1)
	for c, v := range logits {
		if (mask == nil || mask[c]) && float64(v) > best {
			best = float64(v)
		}
	}
	sum := 0.0
	for c, v := range logits {
		if mask != nil && !mask[c] {
			p[c] = 0
			continue
		}
		p[c] = math.Exp(float64(v) - best)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
}

// estimateFisherMinibatch writes into dst the mean over the mini-batches of
// exp's training samples (the same subset as EstimateFisher, in mini-batches
// of the run's batch size) of the squared gradient of the mini-batch's mean
// cross-entropy, with the true labels (empirical) or labels drawn from the
// model (sample): the estimate of Avalanche's EWC, for models without
// per-sample gradients. The forward passes are training passes, as in
// PyTorch code that estimates the Fisher in training mode: batch
// normalisation uses batch statistics and updates its running statistics.
// It leaves the gradient arena zeroed and allocates (experience ends only).
func estimateFisherMinibatch(ctx *strategies.Context, exp *streams.Experience, kind string, n int, dst []float32) {
	m := ctx.Model
	clear(dst)
	pos := fisherSubset(ctx, exp, n)
	C, d := m.OutputDim(), m.InputDim()
	chunk := max(1, min(ctx.BatchSize, len(pos)))
	ws := m.NewWorkspace(chunk)
	x := make([]float32, chunk*d)
	y := make([]int32, chunk)
	prob := make([]float64, C)
	mask := ctx.Stream.Mask(exp.Task)
	var scr []int32
	batches := 0
	for at := 0; at < len(pos); at += chunk {
		rows := min(chunk, len(pos)-at)
		scr = exp.Train.Gather(x[:rows*d], y[:rows], pos[at:at+rows], scr)
		logits := m.Forward(ws, x[:rows*d], rows)
		if kind == FisherSample {
			for r := range rows {
				y[r] = drawLabel(ctx, logits[r*C:(r+1)*C], mask, prob)
			}
		}
		nn.SoftmaxCE(logits, rows, C, y, nn.SoftmaxMask{Mask: mask}, float32(1/float64(rows)), ws.LogitGrad())
		m.ZeroGrad()
		m.Backward(ws)
		for i, g := range m.Grads() {
			dst[i] += g * g
		}
		batches++
	}
	m.ZeroGrad()
	if batches > 0 {
		inv := float32(1 / float64(batches))
		for i := range dst {
			dst[i] *= inv
		}
	}
}

// fisherSubset returns the positions in exp's training split the Fisher is
// estimated on: all of them, or a uniformly random subset of n (sorted)
// drawn from ctx.Rand when 0 < n < their number.
func fisherSubset(ctx *strategies.Context, exp *streams.Experience, n int) []int32 {
	total := exp.Train.Len()
	pos := make([]int32, total)
	for i := range pos {
		pos[i] = int32(i)
	}
	if n > 0 && n < total {
		for i := range n {
			j := i + ctx.Rand.IntN(total-i)
			pos[i], pos[j] = pos[j], pos[i]
		}
		pos = pos[:n]
		slices.Sort(pos)
	}
	return pos
}

// drawLabel draws a label from the softmax of one row of logits (within
// mask) with ctx.Rand; prob is scratch of the row's width.
func drawLabel(ctx *strategies.Context, logits []float32, mask []bool, prob []float64) int32 {
	softmax(logits, mask, prob)
	u := ctx.Rand.Float64()
	lab := -1
	for c, p := range prob {
		if p == 0 {
			continue
		}
		lab = c
		if u < p {
			break
		}
		u -= p
	}
	return int32(lab)
}
