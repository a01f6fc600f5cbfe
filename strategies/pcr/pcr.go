package pcr

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/streams"
)

// Config holds the parameters of pcr.
type Config struct {
	// MemSize is the reservoir memory's capacity, >= 1. Default 1000.
	MemSize int `json:"mem_size" doc:"samples stored (reservoir), >= 1"`
	// ReplayBatchSize is the number of samples retrieved per update,
	// >= 0; 0 means the batch size. Resolved at Setup.
	ReplayBatchSize int `json:"replay_batch_size" doc:"samples retrieved from the memory per update; 0 = the batch size"`
	// Tau is the temperature τ > 0 of the loss and the classifier.
	// Default 0.09.
	Tau float64 `json:"tau" doc:"temperature τ > 0 of the proxy-contrastive loss and of the cosine classifier"`
	// CEWeight weighs the cross-entropy of the cosine logits, >= 0.
	// Default 0 (as the authors' code).
	CEWeight float64 `json:"ce_weight" doc:"weight >= 0 of the cross-entropy of the cosine logits s/τ added to the loss"`
	// Augment lists the augmentation components: crop, flip, jitter.
	// Default all three; [] means no augmented views.
	Augment []string `json:"augment" doc:"augmentation components: any of crop (random resized crop), flip (horizontal), jitter (brightness and contrast); [] = no augmented views"`
	// CropScaleMin is the smallest crop area fraction, in (0, 1]. Default
	// 0.2.
	CropScaleMin float64 `json:"crop_scale_min" doc:"smallest area fraction of the random resized crop, in (0, 1]"`
	// MaskUnseen restricts the evaluated prediction to the classes seen in
	// training so far. Default true.
	MaskUnseen bool `json:"mask_unseen" doc:"predict among the classes trained on so far only (their bias 0, the others −1e9)"`
}

// DefaultConfig returns PCR's defaults.
func DefaultConfig() Config {
	return Config{MemSize: 1000, Tau: 0.09, Augment: slices.Clone(AugComponents), CropScaleMin: 0.2, MaskUnseen: true}
}

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	if c.MemSize < 1 {
		return fmt.Errorf("mem_size %d: must be >= 1", c.MemSize)
	}
	if c.ReplayBatchSize < 0 {
		return fmt.Errorf("replay_batch_size %d: must be >= 0 (0 = the batch size)", c.ReplayBatchSize)
	}
	if !(c.Tau > 0) || math.IsInf(c.Tau, 0) {
		return fmt.Errorf("tau %v: must be > 0 and finite", c.Tau)
	}
	if !(c.CEWeight >= 0) || math.IsInf(c.CEWeight, 0) {
		return fmt.Errorf("ce_weight %v: must be >= 0 and finite", c.CEWeight)
	}
	for i, a := range c.Augment {
		if !slices.Contains(AugComponents, a) {
			return fmt.Errorf("augment: unknown component %q (known: %s)", a, strings.Join(AugComponents, ", "))
		}
		if slices.Contains(c.Augment[:i], a) {
			return fmt.Errorf("augment: %q listed twice", a)
		}
	}
	if !(c.CropScaleMin > 0 && c.CropScaleMin <= 1) {
		return fmt.Errorf("crop_scale_min %v: must be in (0, 1]", c.CropScaleMin)
	}
	return nil
}

func init() {
	strategies.Register(strategies.Def[Config]{
		Name:     "pcr",
		Summary:  "PCR proxy-based contrastive replay (Lin et al. 2023): contrastive loss of normalised features against the class proxies, cosine classifier, reservoir memory",
		Defaults: DefaultConfig(),
		New: func(cfg *Config) (strategies.Strategy, error) {
			if cfg.Augment == nil {
				cfg.Augment = []string{}
			}
			return &PCR{cfg: *cfg}, nil
		},
	})
}

// unseenBias is the evaluated bias of the classes not seen yet (the code's
// masked_fill value).
const unseenBias = -1e9

// PCR is proxy-based contrastive replay.
type PCR struct {
	cfg  Config
	own  strategies.OwnHooks
	fg   nn.FeatureGradients
	mem  *replay.Memory
	aug  Augmenter
	augs bool // augmented views in the batch
	head nn.Linear
	seen []bool

	ws  *nn.Workspace
	x   []float32
	y   []int32
	sel []int
	one []int32
	scr []int32

	// proxies holds the raw head weights w (In×C, the head's layout),
	// which the model's head carries only during an update.
	proxies []float32
	// The loss's buffers: features and proxies normalised, their norms,
	// the similarities S (N×C), its gradient G, the proxies' gradient.
	zh, wh     []float64
	zn, wn     []float64
	s, g       []float64
	dw         []float32
	tmp        []float64
	counts     []float64
	haveDW     bool
	lastLosses [2]float64 // contrastive and cross-entropy parts of the last update
}

var (
	_ strategies.Strategy     = (*PCR)(nil)
	_ strategies.ModelChecker = (*PCR)(nil)
	_ strategies.LogitHook    = (*PCR)(nil)
	_ strategies.GradientHook = (*PCR)(nil)
)

// CheckModel implements strategies.ModelChecker: called with the whole
// spec, it refuses augmentation of samples that are not 1-channel images
// and a model that does not back-propagate a loss on its features
// (nn.FeatureGradients, which it builds the model to ask).
func (s *PCR) CheckModel(spec nn.Spec) error {
	if spec.Input.Dim() == 0 {
		return nil
	}
	if len(s.cfg.Augment) > 0 {
		if _, _, err := augShape([]int{spec.Input.C, spec.Input.H, spec.Input.W}); err != nil {
			return err
		}
	}
	if m, err := nn.New(spec, nil); err == nil {
		if _, err := featureGradients(m); err != nil {
			return err
		}
	}
	return nil
}

// featureGradients returns m's feature gradients, or why it has none.
func featureGradients(m nn.Model) (nn.FeatureGradients, error) {
	fg, ok := m.(nn.FeatureGradients)
	if !ok {
		return nil, fmt.Errorf("pcr: the model (%s) does not back-propagate a loss on its features (nn.FeatureGradients)", m.Spec().Arch)
	}
	return fg, nil
}

// Setup implements strategies.Strategy.
func (s *PCR) Setup(ctx *strategies.Context) error {
	fg, err := featureGradients(ctx.Model)
	if err != nil {
		return err
	}
	s.fg = fg
	if s.cfg.ReplayBatchSize == 0 {
		s.cfg.ReplayBatchSize = ctx.BatchSize
	}
	if len(s.cfg.Augment) > 0 {
		h, w, err := imageShape(ctx)
		if err != nil {
			return err
		}
		has := func(a string) bool { return slices.Contains(s.cfg.Augment, a) }
		s.aug = Augmenter{H: h, W: w, Crop: has(AugCrop), Flip: has(AugFlip), Jitter: has(AugJitter),
			ScaleMin: s.cfg.CropScaleMin, FlipP: 0.5, JitterP: 0.8, Brightness: 0.4, Contrast: 0.4}
		s.augs = true
	}
	m := ctx.Model
	C := m.OutputDim()
	s.head = m.Head()
	s.mem = replay.NewMemory(replay.Reservoir, s.cfg.MemSize, C)
	rows := ctx.BatchSize + s.cfg.ReplayBatchSize
	if s.augs {
		rows *= 2
	}
	s.ws = m.NewWorkspace(rows)
	s.x = make([]float32, rows*m.InputDim())
	s.y = make([]int32, rows)
	s.sel = make([]int, 0, s.cfg.ReplayBatchSize)
	s.one = make([]int32, 1)
	s.scr = make([]int32, 1)
	F := m.FeatureDim()
	s.zh = make([]float64, rows*F)
	s.zn = make([]float64, rows)
	s.wh = make([]float64, C*F)
	s.wn = make([]float64, C)
	s.s = make([]float64, rows*C)
	s.g = make([]float64, rows*C)
	s.dw = make([]float32, F*C)
	s.counts = make([]float64, C)
	s.tmp = make([]float64, F)
	s.seen = make([]bool, C)
	h := s.head
	s.proxies = slices.Clone(m.Params()[h.W : h.W+h.In*h.Out])
	s.evalHead(m.Params())
	return nil
}

// imageShape returns the height and width of the stream's 1-channel
// images.
func imageShape(ctx *strategies.Context) (h, w int, err error) {
	var shape []int
	if in := ctx.Model.Spec().Input; in.H > 1 {
		shape = []int{in.C, in.H, in.W}
	} else if len(ctx.Stream.Experiences) > 0 && ctx.Stream.Experiences[0].Train.Data != nil {
		shape = ctx.Stream.Experiences[0].Train.Data.Shape
	}
	return augShape(shape)
}

// augShape returns the height and width of samples of the given shape
// (H×W or C×H×W), or why the augmentation cannot transform them: they are
// not images of at least 2×2 pixels, or have more than one channel.
func augShape(shape []int) (h, w int, err error) {
	if len(shape) == 2 {
		shape = []int{1, shape[0], shape[1]}
	}
	switch {
	case len(shape) == 3 && shape[0] == 1 && shape[1] > 1 && shape[2] > 1:
		return shape[1], shape[2], nil
	case len(shape) == 3 && shape[0] > 1 && shape[1] > 1 && shape[2] > 1:
		return 0, 0, fmt.Errorf("pcr: augmentation is implemented for 1-channel images, the samples have shape %v; set augment to []", shape)
	}
	return 0, 0, fmt.Errorf("pcr: augmentation needs image samples, the samples have shape %v; set augment to []", shape)
}

// BeforeExperience implements strategies.Strategy.
func (s *PCR) BeforeExperience(*strategies.Context, *streams.Experience) error { return nil }

// AfterExperience implements strategies.Strategy.
func (s *PCR) AfterExperience(*strategies.Context, *streams.Experience) error { return nil }

// Step implements strategies.Strategy.
func (s *PCR) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	m := ctx.Model
	d := b.Dim
	s.sel = s.mem.Sample(ctx.Rand, s.cfg.ReplayBatchSize, s.sel[:0])
	nm, nb := len(s.sel), b.N
	var loss float64
	if nm > 0 {
		mult := 1
		if s.augs {
			mult = 2
		}
		// Rows: memory, aug(memory), new, aug(new).
		for i, j := range s.sel {
			it := s.mem.Item(j)
			s.one[0] = it.Pos
			s.scr = it.Exp.Train.Gather(s.x[i*d:(i+1)*d], s.y[i:i+1], s.one, s.scr)
		}
		newAt := mult * nm
		copy(s.x[newAt*d:], b.X[:nb*d])
		copy(s.y[newAt:], b.Y[:nb])
		if s.augs {
			for i := range nm {
				s.aug.Apply(ctx.Rand, s.x[(nm+i)*d:(nm+i+1)*d], s.x[i*d:(i+1)*d])
				s.y[nm+i] = s.y[i]
			}
			for i := range nb {
				r := newAt + nb + i
				s.aug.Apply(ctx.Rand, s.x[r*d:(r+1)*d], s.x[(newAt+i)*d:(newAt+i+1)*d])
				s.y[r] = s.y[newAt+i]
			}
		}
		// The head carries the raw proxies and no bias during the update.
		p := m.Params()
		h := s.head
		copy(p[h.W:h.W+h.In*h.Out], s.proxies)
		clear(p[h.B : h.B+h.Out])
		s.haveDW = false
		loss = strategies.WeightedStep(s.own.Context(ctx, s), s.ws, s.x, s.y,
			strategies.Segment{N: mult * nm, Weight: 0},
			strategies.Segment{N: mult * nb, Weight: 0, New: true})
		copy(s.proxies, p[h.W:h.W+h.In*h.Out])
	}
	if b.Repeat == 0 {
		for i := range nb {
			exp := ctx.Current
			if b.Sources != nil {
				exp = ctx.Stream.Experiences[b.Sources[i]-1]
			}
			s.mem.Offer(ctx.Rand, replay.Item{Exp: exp, Pos: b.Pos[i], Label: b.Y[i]})
		}
	}
	for _, y := range b.Y[:nb] {
		s.seen[y] = true
	}
	s.evalHead(m.Params())
	return strategies.StepResult{Loss: loss}, nil
}

// evalHead writes the evaluated classifier into the head: ŵ_c/τ, bias 0
// for the seen classes and −1e9 for the others (0 for all without
// mask_unseen).
func (s *PCR) evalHead(p []float32) {
	h := s.head
	C, F := h.Out, h.In
	tau := s.cfg.Tau
	for c := range C {
		norm := 0.0
		for i := range F {
			v := float64(s.proxies[i*C+c])
			norm += v * v
		}
		k := 1 / ((math.Sqrt(norm) + 1e-6) * tau)
		for i := range F {
			p[h.W+i*C+c] = float32(float64(s.proxies[i*C+c]) * k)
		}
		p[h.B+c] = 0
		if s.cfg.MaskUnseen && !s.seen[c] {
			p[h.B+c] = unseenBias
		}
	}
}

// HookLogits implements strategies.LogitHook: on the first segment it
// computes the loss of the whole batch, writes its gradient with respect
// to the features into the model's feature gradient and keeps that of the
// proxies for HookGradient.
func (s *PCR) HookLogits(ctx *strategies.Context, u *strategies.Update, i int, _, _ []float32) float64 {
	if i != 0 {
		return 0
	}
	m := ctx.Model
	h := s.head
	feats := m.Features(u.WS)
	p := m.Params()
	loss := s.Loss(feats, p[h.W:h.W+h.In*h.Out], u.Y, u.N, h.In, h.Out, s.fg.FeatureGrad(u.WS), s.dw)
	s.haveDW = true
	return loss
}

// HookGradient implements strategies.GradientHook: the proxies' gradient
// is added to the head's weight gradient.
func (s *PCR) HookGradient(ctx *strategies.Context, _ *strategies.Update) float64 {
	if !s.haveDW {
		return 0
	}
	h := s.head
	g := ctx.Model.Grads()[h.W : h.W+h.In*h.Out]
	for i, v := range s.dw {
		g[i] += v
	}
	return 0
}

// Loss computes PCR's loss (see the package documentation) of n rows of
// features (F values each) with labels y, against the proxies w (F×C, the
// head's layout: w[i·C + c]). It writes the gradient with respect to the
// features into dz (n×F) and that with respect to w into dw (F×C), both
// overwritten.
func (s *PCR) Loss(feats, w []float32, y []int32, n, F, C int, dz, dw []float32) float64 {
	tau := s.cfg.Tau
	const eps = 1e-6
	zh, zn, wh, wn := s.zh[:n*F], s.zn[:n], s.wh[:C*F], s.wn
	for r := range n {
		norm := 0.0
		for _, v := range feats[r*F : (r+1)*F] {
			norm += float64(v) * float64(v)
		}
		zn[r] = math.Sqrt(norm)
		for j, v := range feats[r*F : (r+1)*F] {
			zh[r*F+j] = float64(v) / (zn[r] + eps)
		}
	}
	for c := range C {
		norm := 0.0
		for j := range F {
			v := float64(w[j*C+c])
			norm += v * v
		}
		wn[c] = math.Sqrt(norm)
		for j := range F {
			wh[c*F+j] = float64(w[j*C+c]) / (wn[c] + eps)
		}
	}
	clear(s.counts)
	for _, c := range y[:n] {
		s.counts[c]++
	}
	S, G := s.s[:n*C], s.g[:n*C]
	for r := range n {
		for c := range C {
			dot := 0.0
			for j := range F {
				dot += zh[r*F+j] * wh[c*F+j]
			}
			S[r*C+c] = dot
		}
	}
	// dL/dS.
	var contrast, ce float64
	for r := range n {
		row, gr := S[r*C:(r+1)*C], G[r*C:(r+1)*C]
		yr := int(y[r])
		best := math.Inf(-1)
		for c, v := range row {
			if s.counts[c] > 0 {
				best = max(best, v/tau)
			}
		}
		sum := 0.0
		for c, v := range row {
			if s.counts[c] > 0 {
				sum += s.counts[c] * math.Exp(v/tau-best)
			}
		}
		lse := best + math.Log(sum)
		contrast += lse - row[yr]/tau
		for c, v := range row {
			gr[c] = 0
			if s.counts[c] > 0 {
				gr[c] = s.counts[c] * math.Exp(v/tau-lse)
			}
		}
		gr[yr]--
		if s.cfg.CEWeight > 0 {
			// Cross-entropy of the cosine logits over every class.
			best = math.Inf(-1)
			for _, v := range row {
				best = max(best, v/tau)
			}
			sum = 0
			for _, v := range row {
				sum += math.Exp(v/tau - best)
			}
			lse = best + math.Log(sum)
			ce += lse - row[yr]/tau
			for c, v := range row {
				pc := math.Exp(v/tau - lse)
				if c == yr {
					pc--
				}
				gr[c] += s.cfg.CEWeight * pc
			}
		}
		for c := range gr {
			gr[c] /= float64(n) * tau
		}
	}
	s.lastLosses = [2]float64{contrast / float64(n), ce / float64(n)}
	// Through the normalisations: x̂ = x/(‖x‖+ε) has the Jacobian
	// I/(‖x‖+ε) − x·xᵀ/(‖x‖(‖x‖+ε)²).
	t := s.tmp[:F]
	for c := range C {
		clear(t)
		for r := range n {
			if g := G[r*C+c]; g != 0 {
				for j := range F {
					t[j] += g * zh[r*F+j]
				}
			}
		}
		unnormalise(t, w, c, C, wn[c], eps, dw)
	}
	for r := range n {
		for j := range F {
			v := 0.0
			for c := range C {
				v += G[r*C+c] * wh[c*F+j]
			}
			t[j] = v
		}
		unnormalise(t, feats[r*F:(r+1)*F], 0, 1, zn[r], eps, dz[r*F:(r+1)*F])
	}
	return (contrast + s.cfg.CEWeight*ce) / float64(n)
}

// unnormalise writes into dx (strided: dx[j·stride+at]) the gradient with
// respect to x (the same stride in xs) of a loss whose gradient with
// respect to x̂ = x/(‖x‖+ε) is g, norm = ‖x‖.
func unnormalise(g []float64, xs []float32, at, stride int, norm, eps float64, dx []float32) {
	k := 1 / (norm + eps)
	var proj float64
	if norm > 0 {
		dot := 0.0
		for j, gj := range g {
			dot += gj * float64(xs[j*stride+at])
		}
		proj = dot / (norm * (norm + eps) * (norm + eps))
	}
	for j, gj := range g {
		dx[j*stride+at] = float32(k*gj - proj*float64(xs[j*stride+at]))
	}
}
