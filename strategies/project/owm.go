package project

import (
	"fmt"
	"math"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// OWMConfig holds the parameters of owm.
type OWMConfig struct {
	strategies.BaseConfig
	// Alpha holds α_0 per layer (see OWM), each > 0. Default [0.9, 1, 0.6]
	// (the authors' three-layer MNIST code).
	Alpha []float64 `json:"alpha" doc:"α_0 per layer (> 0); the last value is the output layer's, the first ones the first layers'"`
	// AlphaDecay holds each layer's decay d_l in (0, 1]: α_l = α_0,l ·
	// d_l^λ with λ the fraction of the current experience's updates done.
	// Default [0.001, 0.1, 1]. Same length as Alpha.
	AlphaDecay []float64 `json:"alpha_decay" doc:"per-layer decay d in (0, 1]: α = α_0·d^λ, λ = fraction of the experience done"`
	// ClipNorm clips each layer's gradient ([W; b]) to this Euclidean norm
	// before the projection, >= 0; 0 disables. Default 10.
	ClipNorm float64 `json:"clip_norm" doc:"clip each layer's gradient to this norm before projecting; 0 = no clipping"`
}

// Validate implements strategies.Validator.
func (c *OWMConfig) Validate() error {
	if len(c.Alpha) == 0 {
		return fmt.Errorf("alpha: at least one value is needed")
	}
	if len(c.AlphaDecay) != len(c.Alpha) {
		return fmt.Errorf("alpha_decay has %d values, alpha %d: they must have the same length", len(c.AlphaDecay), len(c.Alpha))
	}
	for i, a := range c.Alpha {
		if !(a > 0) || math.IsInf(a, 0) {
			return fmt.Errorf("alpha[%d] = %v: must be > 0 and finite", i, a)
		}
	}
	for i, d := range c.AlphaDecay {
		if !(d > 0 && d <= 1) {
			return fmt.Errorf("alpha_decay[%d] = %v: must be in (0, 1]", i, d)
		}
	}
	if !(c.ClipNorm >= 0) || math.IsInf(c.ClipNorm, 0) {
		return fmt.Errorf("clip_norm %v: must be >= 0 and finite", c.ClipNorm)
	}
	return nil
}

// entry returns the index into Alpha of layer l of L: the last entry for
// the output layer, entry min(l, n-2) for the others (the first entries for
// the first layers), so the defaults of a three-layer network also fit a
// two-layer one as the authors used them ([0.9·0.001^λ, 0.6]).
func (c *OWMConfig) entry(l, L int) int {
	n := len(c.Alpha)
	if l == L-1 || n == 1 {
		return n - 1
	}
	return min(l, n-2)
}

// OWM is orthogonal weight modification (Zeng, Chen, Cui & Yu 2019,
// "Continual learning of context-dependent processing in neural
// networks"), as the authors' code does it.
//
// Each layer l keeps a projector P_l over its input space augmented with a
// constant 1 (the bias), initialised to the identity. At every update,
// with r the mean over the batch of the layer's augmented input,
//
//	k = P_l·r;  P_l ← P_l − k·kᵀ/(α_l + rᵀ·k)
//
// and then the layer's gradient [∇W; ∇b] (clipped to clip_norm) is replaced
// by P_l·[∇W; ∇b] before the optimizer step. The update multiplies P_l·r
// by α_l/(α_l + rᵀP_l r), so P_l maps the (mean) inputs the layer has
// seen close to 0 and later updates, P_l·G, leave the layer's response to
// them nearly unchanged: (P_l·G)ᵀr = Gᵀ(P_l·r) as P_l is symmetric. α_l = α_0,l · d_l^λ, λ the fraction of the current
// experience's updates done (the authors decay the first layers' α during
// each task). P_l is kept in float64; the product with the gradient is a
// float32 GEMM. OWM needs a model of fully connected layers (nn.LinearLayers). The authors
// train with SGD, momentum 0.9, lr 0.2, batch 40.
//
// When the driver does not report the number of updates in the experience
// (Context.ExperienceIterations = 0), λ stays 0: α_l = α_0,l.
type OWM struct {
	strategies.Wrapper
	cfg    OWMConfig
	model  nn.LinearLayers
	layers []nn.Linear
	p      [][]float64 // P_l, (In+1)×(In+1) row-major
	p32    []float32   // float32 copy of one P_l for the product
	r, k   []float64
	tmp    []float32
	step   int // updates done in the current experience
}

var (
	_ strategies.Strategy     = (*OWM)(nil)
	_ strategies.GradientHook = (*OWM)(nil)
)

func init() {
	strategies.Register(strategies.Def[OWMConfig]{
		Name:     "owm",
		Summary:  "OWM (Zeng et al. 2019): per-layer projectors updated from layer inputs make updates orthogonal to past inputs; wraps any strategy",
		Defaults: OWMConfig{BaseConfig: strategies.WrapDefaults(), Alpha: []float64{0.9, 1, 0.6}, AlphaDecay: []float64{0.001, 0.1, 1}, ClipNorm: 10},
		New: func(cfg *OWMConfig) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("owm", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &OWM{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// CheckModel implements strategies.ModelChecker: OWM's projectors act on
// the inputs of fully connected layers.
func (s *OWM) CheckModel(spec nn.Spec) error {
	if spec.Arch != "mlp" {
		return fmt.Errorf("owm: projects the inputs of fully connected layers and needs the mlp model, not %s", spec.Arch)
	}
	return s.Wrapper.CheckModel(spec)
}

// Setup implements strategies.Strategy.
func (s *OWM) Setup(ctx *strategies.Context) error {
	m, ok := ctx.Model.(nn.LinearLayers)
	if !ok {
		return fmt.Errorf("owm: needs a model of fully connected layers (mlp), got %s", ctx.Model.Spec().Arch)
	}
	s.model = m
	s.layers = m.Linears()
	maxIn, maxOut := 0, 0
	for _, L := range s.layers {
		a := L.In + 1
		P := make([]float64, a*a)
		for i := range a {
			P[i*a+i] = 1
		}
		s.p = append(s.p, P)
		maxIn, maxOut = max(maxIn, a), max(maxOut, L.Out)
	}
	s.p32 = make([]float32, maxIn*maxIn)
	s.r = make([]float64, maxIn)
	s.k = make([]float64, maxIn)
	s.tmp = make([]float32, maxIn*maxOut)
	return s.Init(ctx, s)
}

// Projector returns P_l (for inspection and tests).
func (s *OWM) Projector(l int) []float64 { return s.p[l] }

// BeforeExperience implements strategies.Strategy.
func (s *OWM) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	s.step = 0
	return s.Wrapper.BeforeExperience(ctx, exp)
}

// alpha returns α of layer l at the current point of the experience.
func (s *OWM) alpha(ctx *strategies.Context, l int) float64 {
	e := s.cfg.entry(l, len(s.layers))
	lambda := 0.0
	if n := ctx.ExperienceIterations; n > 0 {
		lambda = float64(s.step) / float64(n)
	}
	return s.cfg.Alpha[e] * math.Pow(s.cfg.AlphaDecay[e], lambda)
}

// HookGradient implements strategies.GradientHook.
func (s *OWM) HookGradient(ctx *strategies.Context, u *strategies.Update) float64 {
	grads := ctx.Model.Grads()
	for l, L := range s.layers {
		in := s.model.LinearInput(u.WS, l)
		if in == nil {
			panic("owm: no layer input: the update's forward pass kept none")
		}
		s.UpdateProjector(l, in, u.N, s.alpha(ctx, l))
		g := grads[L.W : L.W+(L.In+1)*L.Out]
		if s.cfg.ClipNorm > 0 {
			clip(g, s.cfg.ClipNorm)
		}
		s.ProjectLayer(l, g)
	}
	s.step++
	return 0
}

// UpdateProjector applies OWM's recursive update to P_l with the mean r of
// the n rows of in (each In values, augmented with a 1):
// k = P·r, P ← P − k·kᵀ/(alpha + rᵀk).
func (s *OWM) UpdateProjector(l int, in []float32, n int, alpha float64) {
	L := s.layers[l]
	a := L.In + 1
	r, k, P := s.r[:a], s.k[:a], s.p[l]
	clear(r)
	for i := range n {
		for j, v := range in[i*L.In : (i+1)*L.In] {
			r[j] += float64(v)
		}
	}
	for j := range L.In {
		r[j] /= float64(n)
	}
	r[L.In] = 1
	rk := 0.0
	for i := range a {
		row := P[i*a : (i+1)*a]
		acc := 0.0
		for j, v := range row {
			acc += v * r[j]
		}
		k[i] = acc
		rk += r[i] * acc
	}
	c := 1 / (alpha + rk)
	for i := range a {
		ki := k[i] * c
		row := P[i*a : (i+1)*a]
		for j := range row {
			row[j] -= ki * k[j]
		}
	}
}

// ProjectLayer replaces g, the (In+1)×Out gradient [∇W; ∇b] of layer l, by
// P_l·g.
func (s *OWM) ProjectLayer(l int, g []float32) {
	L := s.layers[l]
	a := L.In + 1
	p32 := s.p32[:a*a]
	for i, v := range s.p[l] {
		p32[i] = float32(v)
	}
	tmp := s.tmp[:a*L.Out]
	s.model.Compute().Sgemm(false, false, a, L.Out, a, 1, p32, a, g, L.Out, 0, tmp, L.Out)
	copy(g, tmp)
}

// clip scales g to Euclidean norm at most c.
func clip(g []float32, c float64) {
	var ss float64
	for _, v := range g {
		ss += float64(v) * float64(v)
	}
	if norm := math.Sqrt(ss); norm > c {
		f := float32(c / norm)
		for i := range g {
			g[i] *= f
		}
	}
}
