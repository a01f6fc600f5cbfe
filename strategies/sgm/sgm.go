package sgm

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/internal/runopt"
	"github.com/cleval/cleval/streams"
)

// Components of SGM.
const (
	CompInit = "init"
	CompSoft = "soft"
	CompLoRA = "lora"
	CompOOCF = "oocf"
)

// Components lists every component, in the order of the documentation.
var Components = []string{CompInit, CompSoft, CompLoRA, CompOOCF}

// Biases of the data-driven initialisation.
const (
	InitBiasKeep = "keep"
	InitBiasZero = "zero"
)

// Config holds the parameters of sgm.
type Config struct {
	strategies.BaseConfig
	// Components are the components that act, any of init, soft, lora and
	// oocf, each at most once. Default all four.
	Components []string `json:"components" doc:"components that act: any of init (data-driven init of new output units), soft (dynamic soft targets), lora (low-rank adapters on the hidden layers), oocf (old-output-class freezing); [] = the wrapped strategy alone"`
	// Start is the first experience the components act in, >= 1. Default
	// 2 (experience 1 is the base training).
	Start int `json:"start" doc:"first experience the components act in, >= 1 (the ones before are the base training)"`
	// InitBias is what init does to the bias of a new class: "keep"
	// (default) or "zero".
	InitBias string `json:"init_bias" doc:"bias of a new class at data-driven init: keep | zero"`
	// Rank r of the adapters, >= 1. Default 48.
	Rank int `json:"rank" doc:"LoRA rank r >= 1"`
	// LoRAAlpha sets the adapters' scaling s = LoRAAlpha/Rank, > 0.
	// Default 240 (s = 5 at rank 48).
	LoRAAlpha float64 `json:"lora_alpha" doc:"LoRA alpha > 0; the adapters are scaled by alpha/rank"`
	// LoRALRScale multiplies the run's learning rate for the adapters,
	// > 0. Default 1.
	LoRALRScale float64 `json:"lora_lr_scale" doc:"the adapters' learning rate as a multiple of the run's, > 0"`
}

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	for i, comp := range c.Components {
		if !slices.Contains(Components, comp) {
			return fmt.Errorf("components: unknown component %q (known: %s)", comp, strings.Join(Components, ", "))
		}
		if slices.Contains(c.Components[:i], comp) {
			return fmt.Errorf("components: %q listed twice", comp)
		}
	}
	if c.Start < 1 {
		return fmt.Errorf("start %d: must be >= 1", c.Start)
	}
	switch c.InitBias {
	case InitBiasKeep, InitBiasZero:
	default:
		return fmt.Errorf("init_bias %q: must be %q or %q", c.InitBias, InitBiasKeep, InitBiasZero)
	}
	if c.Rank < 1 {
		return fmt.Errorf("rank %d: must be >= 1", c.Rank)
	}
	if !(c.LoRAAlpha > 0) || math.IsInf(c.LoRAAlpha, 0) {
		return fmt.Errorf("lora_alpha %v: must be > 0 and finite", c.LoRAAlpha)
	}
	if !(c.LoRALRScale > 0) || math.IsInf(c.LoRALRScale, 0) {
		return fmt.Errorf("lora_lr_scale %v: must be > 0 and finite", c.LoRALRScale)
	}
	return nil
}

// DefaultConfig returns SGM's defaults: every component, over naive.
func DefaultConfig() Config {
	return Config{BaseConfig: strategies.WrapDefaults(), Components: slices.Clone(Components), Start: 2,
		InitBias: InitBiasKeep, Rank: 48, LoRAAlpha: 240, LoRALRScale: 1}
}

func init() {
	strategies.Register(strategies.Def[Config]{
		Name: "sgm",
		Summary: "SGM stability gap mitigation (Harun & Kanan 2024): data-driven init of new output units, dynamic soft targets, " +
			"LoRA on the hidden layers, old-output-class freezing, each switchable; wraps any rehearsal strategy",
		Defaults: DefaultConfig(),
		New: func(cfg *Config) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("sgm", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			if cfg.Components == nil {
				cfg.Components = []string{}
			}
			return &SGM{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// SGM is the stability-gap-mitigation wrapper.
type SGM struct {
	strategies.Wrapper
	cfg                  Config
	init, soft, lr, oocf bool
	// active is set during experiences >= Start.
	active bool
	C      int
	head   nn.Linear

	// old marks the classes of the experiences before the current one;
	// oldList lists them.
	old     []bool
	oldList []int

	// Soft targets: cur (C×C) and cnt accumulate the softmax of correctly
	// classified rows per class since the experience start; final holds S.
	cur, final []float64
	cnt        []float64
	p, q       []float64

	// OOCF: the old classes' head columns and biases before an update.
	snapW, snapB []float32

	// LoRA.
	layers   []adapter
	lp, lg   []float32 // adapters and their gradients
	loraOpt  *nn.SGD
	scale    float32
	frozen   []float32 // the parameters at the experience start (W0 and the frozen rest)
	body     [][2]int  // the ranges of the parameters outside the head
	loraInit bool      // adapters drawn for the current experience
	pending  bool      // lg holds the gradients of an update not yet applied

	// Data-driven init.
	ws   *nn.Workspace
	x    []float32
	y    []int32
	pos  []int32
	scr  []int32
	sums []float64
	cnts []int
}

// adapter is the LoRA pair of one weight matrix: W = W0 + s·P·Q.
type adapter struct {
	M    nn.Matrix
	w0   []float32 // W0: the matrix's part of frozen
	p, q int       // offsets of P (Rows×r) and Q (r×Cols) in lp and lg
}

var (
	_ strategies.Strategy     = (*SGM)(nil)
	_ strategies.ModelChecker = (*SGM)(nil)
	_ strategies.LogitHook    = (*SGM)(nil)
	_ strategies.GradientHook = (*SGM)(nil)
)

// initRows is the batch of the data-driven initialisation's passes.
const initRows = 256

// Setup implements strategies.Strategy.
func (s *SGM) Setup(ctx *strategies.Context) error {
	has := func(c string) bool { return slices.Contains(s.cfg.Components, c) }
	s.init, s.soft, s.lr, s.oocf = has(CompInit), has(CompSoft), has(CompLoRA), has(CompOOCF)
	m := ctx.Model
	s.C = m.OutputDim()
	s.head = m.Head()
	C := s.C
	s.old = make([]bool, C)
	s.oldList = make([]int, 0, C)
	if s.soft {
		s.cur = make([]float64, C*C)
		s.final = make([]float64, C*C)
		s.cnt = make([]float64, C)
		s.p = make([]float64, C)
		s.q = make([]float64, C)
	}
	if s.oocf {
		s.snapW = make([]float32, C*s.head.In)
		s.snapB = make([]float32, C)
	}
	if s.init {
		s.ws = m.NewWorkspace(initRows)
		s.x = make([]float32, initRows*m.InputDim())
		s.y = make([]int32, initRows)
		s.pos = make([]int32, initRows)
		s.scr = make([]int32, initRows)
		s.sums = make([]float64, C*m.FeatureDim())
		s.cnts = make([]int, C)
	}
	if s.lr {
		if err := s.setupLoRA(ctx); err != nil {
			return err
		}
	}
	return s.Init(ctx, s)
}

// CheckModel implements strategies.ModelChecker: the component lora needs
// the weight matrices of the model's hidden layers (nn.WeightMatrices).
// Called with the whole spec, it builds the model to ask it.
func (s *SGM) CheckModel(spec nn.Spec) error {
	if slices.Contains(s.cfg.Components, CompLoRA) && spec.Input.Dim() > 0 {
		if m, err := nn.New(spec, nil); err == nil {
			if _, err := loraMatrices(m); err != nil {
				return err
			}
		}
	}
	return s.Wrapper.CheckModel(spec)
}

// loraMatrices returns the weight matrices lora adapts, or why m has none.
func loraMatrices(m nn.Model) ([]nn.Matrix, error) {
	wm, ok := m.(nn.WeightMatrices)
	if !ok {
		return nil, fmt.Errorf("sgm: component lora adapts the weight matrices of the hidden layers (nn.WeightMatrices), which model %s does not give; leave lora out of components", m.Spec().Arch)
	}
	return wm.Matrices(), nil
}

func (s *SGM) setupLoRA(ctx *strategies.Context) error {
	mats, err := loraMatrices(ctx.Model)
	if err != nil {
		return err
	}
	cfg, ok := runopt.SGDConfig(ctx.Optimizer)
	if !ok {
		return fmt.Errorf("sgm: component lora trains its adapters with the run's SGD, whose configuration the optimizer in the context does not expose")
	}
	cfg.LR *= s.cfg.LoRALRScale
	r := s.cfg.Rank
	params := ctx.Model.Params()
	s.frozen = make([]float32, len(params))
	n := 0
	for _, mx := range mats {
		s.layers = append(s.layers, adapter{M: mx, w0: s.frozen[mx.W : mx.W+mx.Rows*mx.Cols], p: n, q: n + mx.Rows*r})
		n += mx.Rows*r + r*mx.Cols
	}
	// The body: every parameter outside the head's weight and bias.
	h := s.head
	head := [][2]int{{h.W, h.W + h.In*h.Out}, {h.B, h.B + h.Out}}
	if head[1][0] < head[0][0] {
		head[0], head[1] = head[1], head[0]
	}
	at := 0
	for _, hr := range head {
		if hr[0] > at {
			s.body = append(s.body, [2]int{at, hr[0]})
		}
		at = max(at, hr[1])
	}
	if at < len(params) {
		s.body = append(s.body, [2]int{at, len(params)})
	}
	s.lp = make([]float32, n)
	s.lg = make([]float32, n)
	s.loraOpt = nn.NewSGD(cfg, n)
	s.scale = float32(s.cfg.LoRAAlpha / float64(r))
	return nil
}

// BeforeExperience implements strategies.Strategy.
func (s *SGM) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.BeforeExperience(ctx, exp); err != nil {
		return err
	}
	s.active = exp.ID >= s.cfg.Start
	// Old classes: those of the experiences before this one.
	clear(s.old)
	for _, e := range ctx.Stream.Experiences[:exp.ID-1] {
		for _, c := range e.Classes {
			s.old[c] = true
		}
	}
	s.oldList = s.oldList[:0]
	for c, o := range s.old {
		if o {
			s.oldList = append(s.oldList, c)
		}
	}
	if !s.active {
		return nil
	}
	if s.soft {
		clear(s.cur)
		clear(s.cnt)
		for i := range s.final {
			s.final[i] = 1 / float64(s.C)
		}
	}
	if s.init {
		s.dataInit(ctx, exp)
	}
	if s.lr && !s.loraInit {
		s.resetLoRA(ctx)
	}
	return nil
}

// AfterExperience implements strategies.Strategy: the adapters are merged.
func (s *SGM) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if s.active && s.lr {
		s.resetLoRA(ctx)
	}
	return s.Wrapper.AfterExperience(ctx, exp)
}

// resetLoRA merges the adapters into the weights (W0 ← W, which the
// forward pass uses: W0 + s·P·Q), records every other parameter outside
// the head (frozen while the adapters train), draws new adapters (the
// factor on the layer's input side as loralib's A, U(±1/√fan-in), the
// other 0) and resets their optimizer.
func (s *SGM) resetLoRA(ctx *strategies.Context) {
	params := ctx.Model.Params()
	r := s.cfg.Rank
	copy(s.frozen, params)
	for _, a := range s.layers {
		P, Q := s.lp[a.p:a.p+a.M.Rows*r], s.lp[a.q:a.q+r*a.M.Cols]
		random, zero := Q, P
		if a.M.InputRows {
			random, zero = P, Q
		}
		bound := 1 / math.Sqrt(float64(a.M.In()))
		for i := range random {
			random[i] = float32((2*ctx.Rand.Float64() - 1) * bound)
		}
		clear(zero)
	}
	s.loraOpt.Reset()
	s.loraInit = true
}

// dataInit sets the head column of every class of exp to the mean of its
// training samples' unit-length features.
func (s *SGM) dataInit(ctx *strategies.Context, exp *streams.Experience) {
	m := ctx.Model
	F, d := m.FeatureDim(), m.InputDim()
	clear(s.sums)
	clear(s.cnts)
	n := exp.Train.Len()
	for at := 0; at < n; at += initRows {
		rows := min(initRows, n-at)
		for i := range rows {
			s.pos[i] = int32(at + i)
		}
		s.scr = exp.Train.Gather(s.x[:rows*d], s.y[:rows], s.pos[:rows], s.scr)
		m.Infer(m.Params(), m.State(), s.ws, s.x[:rows*d], rows)
		feats := m.Features(s.ws)
		for i := range rows {
			z := feats[i*F : (i+1)*F]
			norm := 0.0
			for _, v := range z {
				norm += float64(v) * float64(v)
			}
			norm = max(math.Sqrt(norm), 1e-12)
			c := int(s.y[i])
			sum := s.sums[c*F : (c+1)*F]
			for j, v := range z {
				sum[j] += float64(v) / norm
			}
			s.cnts[c]++
		}
	}
	p := m.Params()
	h := s.head
	for _, c := range exp.Classes {
		if s.cnts[c] == 0 {
			continue
		}
		sum := s.sums[int(c)*F : (int(c)+1)*F]
		for i := range h.In {
			p[h.W+i*h.Out+int(c)] = float32(sum[i] / float64(s.cnts[c]))
		}
		if s.cfg.InitBias == InitBiasZero {
			p[h.B+int(c)] = 0
		}
	}
}

// Step implements strategies.Strategy: the wrapped strategy's update, with
// the soft targets and the adapters' gradients in its hooks; then the old
// classes' output units are restored, the adapters updated and the hidden
// weights recomputed, and the soft targets renewed.
func (s *SGM) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	if !s.active {
		return s.Wrapper.Step(ctx, b)
	}
	p := ctx.Model.Params()
	h := s.head
	if s.oocf {
		for j, c := range s.oldList {
			for i := range h.In {
				s.snapW[j*h.In+i] = p[h.W+i*h.Out+c]
			}
			s.snapB[j] = p[h.B+c]
		}
	}
	res, err := s.Wrapper.Step(ctx, b)
	if err != nil {
		return res, err
	}
	if s.oocf {
		for j, c := range s.oldList {
			for i := range h.In {
				p[h.W+i*h.Out+c] = s.snapW[j*h.In+i]
			}
			p[h.B+c] = s.snapB[j]
		}
	}
	if s.lr {
		if s.pending && strategies.Finite(res.Loss) {
			s.loraOpt.Step(s.lp, s.lg)
		}
		s.pending = false
		s.materialise(ctx)
	}
	if s.soft {
		for c := range s.C {
			row := s.final[c*s.C : (c+1)*s.C]
			if s.cnt[c] < 0.5 {
				for j := range row {
					row[j] = 1 / float64(s.C)
				}
				continue
			}
			for j := range row {
				row[j] = s.cur[c*s.C+j] / s.cnt[c]
			}
		}
	}
	return res, nil
}

// materialise restores every parameter outside the head to its frozen
// value and sets every adapted matrix to W0 + s·P·Q.
func (s *SGM) materialise(ctx *strategies.Context) {
	p := ctx.Model.Params()
	c := ctx.Model.Compute()
	r := s.cfg.Rank
	for _, b := range s.body {
		copy(p[b[0]:b[1]], s.frozen[b[0]:b[1]])
	}
	for _, a := range s.layers {
		R, C := a.M.Rows, a.M.Cols
		c.Sgemm(false, false, R, C, r, s.scale, s.lp[a.p:a.p+R*r], r, s.lp[a.q:a.q+r*C], C, 1, p[a.M.W:a.M.W+R*C], C)
	}
}

// HookGradient implements strategies.GradientHook: with LoRA active, the
// gradient G of every adapted matrix becomes the adapters' gradients
// (dP = s·G·Qᵀ, dQ = s·Pᵀ·G, applied by Step after the update) and the
// gradients of every parameter outside the head are cleared.
func (s *SGM) HookGradient(ctx *strategies.Context, _ *strategies.Update) float64 {
	if !s.active || !s.lr {
		return 0
	}
	g := ctx.Model.Grads()
	c := ctx.Model.Compute()
	r := s.cfg.Rank
	for _, a := range s.layers {
		R, C := a.M.Rows, a.M.Cols
		G := g[a.M.W : a.M.W+R*C]
		c.Sgemm(false, true, R, r, C, s.scale, G, C, s.lp[a.q:a.q+r*C], C, 0, s.lg[a.p:a.p+R*r], r)
		c.Sgemm(true, false, r, C, R, s.scale, s.lp[a.p:a.p+R*r], r, G, C, 0, s.lg[a.q:a.q+r*C], C)
	}
	for _, b := range s.body {
		clear(g[b[0]:b[1]])
	}
	s.pending = true
	return 0
}

// HookLogits implements strategies.LogitHook: with soft targets active,
// the cross-entropy of each row of segment i becomes the soft-target
// cross-entropy (see the package documentation); the softmax of correctly
// classified rows is accumulated for the soft targets.
func (s *SGM) HookLogits(_ *strategies.Context, u *strategies.Update, i int, logits, dlogits []float32) float64 {
	seg := u.Segs[i]
	if !s.active || !s.soft || seg.N == 0 || seg.Mask != nil || seg.Masks != nil || seg.Keep != nil {
		return 0
	}
	C := s.C
	k := seg.Weight / float64(seg.N)
	y := u.Y[u.Offset(i):]
	var add float64
	for r := range seg.N {
		z := logits[r*C : (r+1)*C]
		label := int(y[r])
		pred := softmax(z, s.p)
		if pred == label {
			acc := s.cur[label*C : (label+1)*C]
			for c, v := range s.p {
				acc[c] += v
			}
			s.cnt[label]++
		}
		if s.old[label] {
			copy(s.q, s.final[label*C:(label+1)*C])
		} else {
			copy(s.q, s.p)
		}
		SoftTarget(s.q, label, pred)
		dz := dlogits[r*C : (r+1)*C]
		var soft float64
		for c, qc := range s.q {
			if qc > 0 {
				soft -= qc * math.Log(s.p[c])
			}
			oh := 0.0
			if c == label {
				oh = 1
			}
			dz[c] += float32(k * (oh - qc))
		}
		add += soft + math.Log(s.p[label])
	}
	return k * add
}

// SoftTarget turns q (the old class's soft target or the row's own
// probabilities) into the row's target: q[pred] = 1/C, q[label] = 1, then
// normalised to sum 1.
func SoftTarget(q []float64, label, pred int) {
	q[pred] = 1 / float64(len(q))
	q[label] = 1
	sum := 0.0
	for _, v := range q {
		sum += v
	}
	for c := range q {
		q[c] /= sum
	}
}

// softmax writes softmax(z) into p and returns argmax z (the first
// maximum).
func softmax(z []float32, p []float64) int {
	best, arg := math.Inf(-1), 0
	for c, v := range z {
		if float64(v) > best {
			best, arg = float64(v), c
		}
	}
	sum := 0.0
	for c, v := range z {
		p[c] = math.Exp(float64(v) - best)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
	return arg
}
