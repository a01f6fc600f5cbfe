package dualarch

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cleval/cleval/strategies/internal/distill"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/internal/runopt"
	"github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/streams"
)

// Distilled class sets and plastic schedules.
const (
	KDSeen = "seen"
	KDAll  = "all"

	ScheduleBefore      = "before"
	ScheduleInterleaved = "interleaved"
)

// VariantName is the name of the plastic learner's model variant.
const VariantName = "plastic"

// Config holds the parameters of dualarch.
type Config struct {
	strategies.BaseConfig
	// PlasticHidden are the plastic learner's hidden sizes, each >= 1;
	// empty means PlasticDepth layers of the derived width.
	PlasticHidden []int `json:"plastic_hidden" doc:"hidden sizes of the plastic learner (an MLP), each >= 1; [] = plastic_depth equal layers with about the stable learner's parameter count"`
	// PlasticDepth is the number of hidden layers of the derived plastic
	// learner, >= 1. Default 4.
	PlasticDepth int `json:"plastic_depth" doc:"hidden layers of the derived plastic learner (when plastic_hidden is []), >= 1"`
	// Temperature T of the distillation, > 0. Default 3.
	Temperature float64 `json:"temperature" doc:"distillation temperature T > 0"`
	// Weight of the distillation term, in [0, 1); the wrapped strategy's
	// loss gets 1 − Weight. Default 0.5.
	Weight float64 `json:"weight" doc:"weight of the distillation term in [0, 1); the wrapped strategy's loss is weighted by 1 − weight"`
	// KDClasses is "seen" (default) or "all".
	KDClasses string `json:"kd_classes" doc:"distilled classes: seen (those of the experiences so far) | all"`
	// PlasticSchedule is "before" (default) or "interleaved".
	PlasticSchedule string `json:"plastic_schedule" doc:"before (the plastic learner trains on the whole experience at its start, then teaches with fixed weights) | interleaved (one plastic update per incoming mini-batch, before the stable one)"`
	// PlasticLRScale multiplies the run's learning rate for the plastic
	// learner, > 0. Default 1.
	PlasticLRScale float64 `json:"plastic_lr_scale" doc:"the plastic learner's learning rate as a multiple of the run's, > 0"`
	// PlasticMemory is the size of the plastic learner's own
	// class-balanced memory, >= 0; 0 (default) trains it on the current
	// experience only.
	PlasticMemory int `json:"plastic_memory" doc:"samples of the plastic learner's own class-balanced memory (filled at each experience end), trained on together with the current experience as the authors' code trains it on the task's data and the exemplars; 0 = the current experience only"`
}

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	for i, h := range c.PlasticHidden {
		if h < 1 {
			return fmt.Errorf("plastic_hidden[%d] = %d: layer sizes must be >= 1", i, h)
		}
	}
	if c.PlasticDepth < 1 {
		return fmt.Errorf("plastic_depth %d: must be >= 1", c.PlasticDepth)
	}
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		return fmt.Errorf("temperature %v: must be > 0 and finite", c.Temperature)
	}
	if !(c.Weight >= 0 && c.Weight < 1) {
		return fmt.Errorf("weight %v: must be in [0, 1)", c.Weight)
	}
	switch c.KDClasses {
	case KDSeen, KDAll:
	default:
		return fmt.Errorf("kd_classes %q: must be %q or %q", c.KDClasses, KDSeen, KDAll)
	}
	switch c.PlasticSchedule {
	case ScheduleBefore, ScheduleInterleaved:
	default:
		return fmt.Errorf("plastic_schedule %q: must be %q or %q", c.PlasticSchedule, ScheduleBefore, ScheduleInterleaved)
	}
	if !(c.PlasticLRScale > 0) || math.IsInf(c.PlasticLRScale, 0) {
		return fmt.Errorf("plastic_lr_scale %v: must be > 0 and finite", c.PlasticLRScale)
	}
	if c.PlasticMemory < 0 {
		return fmt.Errorf("plastic_memory %d: must be >= 0", c.PlasticMemory)
	}
	return nil
}

func init() {
	strategies.Register(strategies.Def[Config]{
		Name: "dualarch",
		Summary: "Dual-Arch (Lu et al. 2025): a deep, thin plastic learner trained on the current experience distils into the run's wide, shallow model (the stable learner), " +
			"which the wrapped strategy trains; the plastic learner is the variant plastic",
		Defaults: Config{BaseConfig: strategies.WrapDefaults(), PlasticHidden: []int{}, PlasticDepth: 4, Temperature: 3, Weight: 0.5,
			KDClasses: KDSeen, PlasticSchedule: ScheduleBefore, PlasticLRScale: 1},
		New: func(cfg *Config) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("dualarch", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			if cfg.PlasticHidden == nil {
				cfg.PlasticHidden = []int{}
			}
			return &DualArch{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// DualArch is the Dual-Arch wrapper.
type DualArch struct {
	strategies.Wrapper
	cfg     Config
	plastic nn.Model
	spec    nn.Spec
	opt     *nn.SGD
	ws      *nn.Workspace // the plastic learner's training batches
	tws     *nn.Workspace // its teacher passes
	x       []float32
	y       []int32
	masks   [][]bool // the rows' task masks (task-incremental streams)
	mem     *replay.Memory
	perm    []int32 // the plastic learner's epoch order: current experience, then memory
	at      int
	sel     []int
	onePos  []int32
	scr     []int32
	kd      []bool // distilled classes
	rowSet  []bool
	p, q    []float64
	out     []strategies.Variant
	one     [1]strategies.Variant
	// pending marks the plastic learner's training of the "before"
	// schedule, due at the experience's first update.
	pending bool
}

var (
	_ strategies.Strategy        = (*DualArch)(nil)
	_ strategies.ModelChecker    = (*DualArch)(nil)
	_ strategies.SegmentHook     = (*DualArch)(nil)
	_ strategies.LogitHook       = (*DualArch)(nil)
	_ strategies.VariantProvider = (*DualArch)(nil)
)

// MLPParams returns the number of parameters of an MLP with the given layer
// sizes (input, hidden..., output).
func MLPParams(sizes []int) int {
	n := 0
	for l := 0; l+1 < len(sizes); l++ {
		n += sizes[l]*sizes[l+1] + sizes[l+1]
	}
	return n
}

// PlasticWidth returns the largest width w >= 1 such that an MLP of depth
// hidden layers of width w between in inputs and out outputs has at most
// budget parameters, and false when even w = 1 exceeds it.
func PlasticWidth(in, out, depth, budget int) (int, bool) {
	count := func(w int) int {
		sizes := []int{in}
		for range depth {
			sizes = append(sizes, w)
		}
		return MLPParams(append(sizes, out))
	}
	return nn.LargestWidth(count, budget)
}

// StaNet and PlaNet are the architectures of Dual-Arch's pair on the
// reduced ResNet-18: a run whose model is StaNet gets a PlaNet plastic
// learner of the same width (nn.Spec.NF).
const (
	StaNet = "resnet18r-sta"
	PlaNet = "resnet18r-pla"
)

// CheckModel implements strategies.ModelChecker: the run's model is the
// stable learner, an mlp or the Sta-Net; called with the whole spec
// (input shape and classes), it also checks that the plastic learner
// exists (a derived width for its depth within the stable learner's
// parameter count, a Pla-Net that fits the input).
func (s *DualArch) CheckModel(spec nn.Spec) error {
	switch spec.Arch {
	case "mlp":
	case StaNet:
		if len(s.cfg.PlasticHidden) > 0 {
			return fmt.Errorf("dualarch: plastic_hidden %v sizes an MLP plastic learner; with the stable learner %s the plastic learner is %s: set plastic_hidden to []", s.cfg.PlasticHidden, StaNet, PlaNet)
		}
	default:
		return fmt.Errorf("dualarch: the stable learner (the run's model) is an mlp or Dual-Arch's Sta-Net %s, paired with a plastic learner of about its parameter count; model %s has no such pair here: use model %s", StaNet, spec.Arch, StaNet)
	}
	if spec.Input.Dim() > 0 {
		pl, err := s.plasticSpec(spec)
		if err != nil {
			return err
		}
		if _, err := nn.Check(pl); err != nil {
			return fmt.Errorf("dualarch: plastic learner: %s", strings.TrimPrefix(err.Error(), "nn: "))
		}
	}
	return s.Wrapper.CheckModel(spec)
}

// plasticSpec returns the plastic learner's spec for the stable learner's
// (whole) spec.
func (s *DualArch) plasticSpec(stable nn.Spec) (nn.Spec, error) {
	pl := stable
	switch stable.Arch {
	case "mlp":
		hidden := s.cfg.PlasticHidden
		if len(hidden) == 0 {
			in, C := stable.Input.Dim(), stable.Classes
			budget := MLPParams(slices.Concat([]int{in}, stable.Hidden, []int{C}))
			w, ok := PlasticWidth(in, C, s.cfg.PlasticDepth, budget)
			if !ok {
				return pl, fmt.Errorf("dualarch: no plastic learner of %d hidden layers fits the stable learner's %d parameters; lower plastic_depth or set plastic_hidden", s.cfg.PlasticDepth, budget)
			}
			hidden = make([]int, s.cfg.PlasticDepth)
			for i := range hidden {
				hidden[i] = w
			}
		}
		pl.Hidden = slices.Clone(hidden)
	case StaNet:
		pl.Arch = PlaNet
		if pl.NF == 0 {
			pl.NF = nn.DefaultNF
		}
	default:
		return pl, fmt.Errorf("dualarch: model %s has no plastic counterpart", stable.Arch)
	}
	return pl, nil
}

// Setup implements strategies.Strategy.
func (s *DualArch) Setup(ctx *strategies.Context) error {
	m := ctx.Model
	if err := s.CheckModel(nn.Spec{Arch: m.Spec().Arch}); err != nil {
		return err
	}
	var err error
	if s.spec, err = s.plasticSpec(m.Spec()); err != nil {
		return err
	}
	pl, err := nn.New(s.spec, m.Compute())
	if err != nil {
		return fmt.Errorf("dualarch: plastic learner: %v", err)
	}
	pl.Init(ctx.Rand)
	s.plastic = pl
	cfg, ok := runopt.SGDConfig(ctx.Optimizer)
	if !ok {
		return fmt.Errorf("dualarch: the plastic learner trains with the run's SGD, whose configuration the optimizer in the context does not expose")
	}
	cfg.LR *= s.cfg.PlasticLRScale
	s.opt = nn.NewSGD(cfg, len(pl.Params()))
	rows := ctx.BatchSize
	if s.cfg.PlasticMemory > 0 {
		s.mem = replay.NewMemory(replay.ClassBalanced, s.cfg.PlasticMemory, m.OutputDim())
		rows *= 2 // interleaved: the incoming batch and as many remembered samples
	}
	s.ws = pl.NewWorkspace(rows)
	s.tws = pl.NewWorkspace(ctx.BatchSize)
	s.x = make([]float32, rows*m.InputDim())
	s.y = make([]int32, rows)
	s.masks = make([][]bool, rows)
	s.sel = make([]int, 0, ctx.BatchSize)
	s.onePos = make([]int32, 1)
	s.scr = make([]int32, 1)
	C := m.OutputDim()
	s.kd = make([]bool, C)
	s.rowSet = make([]bool, C)
	s.p = make([]float64, C)
	s.q = make([]float64, C)
	s.out = make([]strategies.Variant, 0, 4)
	return s.Init(ctx, s)
}

// Plastic returns the plastic learner.
func (s *DualArch) Plastic() nn.Model { return s.plastic }

// BeforeExperience implements strategies.Strategy: the distilled classes
// grow, and with the "before" schedule the plastic learner trains on the
// experience.
func (s *DualArch) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	for c := range s.kd {
		s.kd[c] = s.cfg.KDClasses == KDAll
	}
	for _, e := range ctx.Stream.Experiences[:exp.ID] {
		for _, c := range e.Classes {
			s.kd[c] = true
		}
	}
	s.pending = s.cfg.PlasticSchedule == ScheduleBefore
	return s.Wrapper.BeforeExperience(ctx, exp)
}

// trainPlastic trains the plastic learner on the current experience (and
// its memory) for as many updates as the driver gives the experience (one
// epoch of the experience when it does not say), in batches of the run's
// batch size drawn in epochs of fresh permutations. It runs at the
// experience's first update, when the driver's count is known.
func (s *DualArch) trainPlastic(ctx *strategies.Context) error {
	exp := ctx.Current
	updates := ctx.ExperienceIterations
	if updates <= 0 {
		updates = (exp.Train.Len() + ctx.BatchSize - 1) / ctx.BatchSize
	}
	n := exp.Train.Len()
	total := n
	if s.mem != nil {
		total += s.mem.Len()
	}
	if cap(s.perm) < total {
		s.perm = make([]int32, total)
	}
	s.perm = s.perm[:total]
	for i := range s.perm {
		s.perm[i] = int32(i)
	}
	s.at = total
	for range updates {
		if s.at >= total {
			streams.Shuffle(ctx.Rand, s.perm)
			s.at = 0
		}
		end := min(s.at+ctx.BatchSize, total)
		for r, idx := range s.perm[s.at:end] {
			if int(idx) < n {
				s.gather(ctx, r, exp, idx)
			} else {
				it := s.mem.Item(int(idx) - n)
				s.gather(ctx, r, it.Exp, it.Pos)
			}
		}
		rows := end - s.at
		s.at = end
		if !s.plasticStep(rows, s.x, s.y, s.rowMasks(ctx, rows)) {
			return fmt.Errorf("dualarch: the plastic learner's loss is not finite")
		}
	}
	return nil
}

// gather writes sample pos of exp's training data into row r of the
// plastic learner's batch, with its task mask.
func (s *DualArch) gather(ctx *strategies.Context, r int, exp *streams.Experience, pos int32) {
	d := ctx.Stream.InputDim
	s.onePos[0] = pos
	s.scr = exp.Train.Gather(s.x[r*d:(r+1)*d], s.y[r:r+1], s.onePos, s.scr)
	s.masks[r] = ctx.Stream.Mask(exp.Task)
}

// rowMasks returns the task masks of the first rows of the plastic
// learner's batch (nil outside task-incremental streams).
func (s *DualArch) rowMasks(ctx *strategies.Context, rows int) [][]bool {
	if ctx.Stream.Scenario != streams.TaskIncremental {
		return nil
	}
	return s.masks[:rows]
}

// plasticStep makes one cross-entropy update of the plastic learner on n
// rows (with their task masks, nil outside task-incremental streams); it
// reports whether the loss was finite.
func (s *DualArch) plasticStep(n int, x []float32, y []int32, masks [][]bool) bool {
	pl := s.plastic
	logits := pl.Forward(s.ws, x, n)
	loss, _ := nn.SoftmaxCE(logits, n, pl.OutputDim(), y[:n], nn.SoftmaxMask{Masks: masks}, float32(1/float64(n)), s.ws.LogitGrad())
	if !strategies.Finite(loss) {
		return false
	}
	pl.ZeroGrad()
	pl.Backward(s.ws)
	s.opt.Step(pl.Params(), pl.Grads())
	return true
}

// Step implements strategies.Strategy: with the "interleaved" schedule the
// plastic learner first trains on the incoming batch; then the wrapped
// strategy's update, with the distillation in its hooks.
func (s *DualArch) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	if s.pending {
		s.pending = false
		if err := s.trainPlastic(ctx); err != nil {
			return strategies.StepResult{}, err
		}
	}
	if s.cfg.PlasticSchedule == ScheduleInterleaved {
		// The incoming batch, and as many samples of the plastic
		// learner's memory.
		d := ctx.Stream.InputDim
		copy(s.x, b.X[:b.N*d])
		copy(s.y, b.Y[:b.N])
		for r := range b.N {
			s.masks[r] = b.Mask
		}
		rows := b.N
		if s.mem != nil {
			s.sel = s.mem.Sample(ctx.Rand, ctx.BatchSize, s.sel[:0])
			for _, j := range s.sel {
				it := s.mem.Item(j)
				s.gather(ctx, rows, it.Exp, it.Pos)
				rows++
			}
		}
		if !s.plasticStep(rows, s.x, s.y, s.rowMasks(ctx, rows)) {
			return strategies.StepResult{Loss: math.NaN()}, nil
		}
	}
	return s.Wrapper.Step(ctx, b)
}

// AfterExperience implements strategies.Strategy: the experience joins the
// plastic learner's memory.
func (s *DualArch) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.AfterExperience(ctx, exp); err != nil {
		return err
	}
	if s.mem != nil {
		s.mem.AddExperience(ctx.Rand, exp)
	}
	return nil
}

// HookSegment implements strategies.SegmentHook: the wrapped strategy's
// loss is weighted by 1 − weight.
func (s *DualArch) HookSegment(_ *strategies.Context, seg *strategies.Segment) {
	seg.Weight *= 1 - s.cfg.Weight
}

// HookLogits implements strategies.LogitHook: the distillation term of
// segment i.
func (s *DualArch) HookLogits(ctx *strategies.Context, u *strategies.Update, i int, logits, dlogits []float32) float64 {
	seg := u.Segs[i]
	if seg.N == 0 || s.cfg.Weight == 0 {
		return 0
	}
	pl := s.plastic
	d, C := pl.InputDim(), pl.OutputDim()
	if seg.N > s.tws.Cap() {
		s.tws = pl.NewWorkspace(seg.N)
	}
	at := u.Offset(i)
	teacher := pl.Infer(pl.Params(), pl.State(), s.tws, u.X[at*d:(at+seg.N)*d], seg.N)
	// The segment's weight before HookSegment scaled it by 1 − weight.
	k := s.cfg.Weight * seg.Weight / (1 - s.cfg.Weight) / float64(seg.N)
	return k * KD(logits, teacher, seg.N, C, s.cfg.Temperature, s.kd, seg.Mask, seg.Masks, s.rowSet, s.p, s.q, k, dlogits)
}

// KD returns Σ over n rows of the distillation cross-entropy
// −Σ_c softmax(t/T)_c·log softmax(z/T)_c over the classes of set (and of
// the row's task mask: masks[r], or mask for every row, when not nil), and
// adds k times its gradient, (softmax(z/T) − softmax(t/T))/T, to dz.
// rowSet, p and q are scratch of C values.
func KD(z, t []float32, n, C int, T float64, set, mask []bool, masks [][]bool, rowSet []bool, p, q []float64, k float64, dz []float32) float64 {
	sum := 0.0
	for r := range n {
		copy(rowSet, set)
		m := mask
		if masks != nil {
			m = masks[r]
		}
		if m != nil {
			for c := range rowSet {
				rowSet[c] = rowSet[c] && m[c]
			}
		}
		distill.Tempered(z[r*C:(r+1)*C], rowSet, T, p)
		distill.Tempered(t[r*C:(r+1)*C], rowSet, T, q)
		g := dz[r*C : (r+1)*C]
		for c, in := range rowSet {
			if !in {
				continue
			}
			if q[c] > 0 {
				sum -= q[c] * math.Log(p[c])
			}
			g[c] += float32(k * (p[c] - q[c]) / T)
		}
	}
	return sum
}

// Variants implements strategies.VariantProvider: the wrapped strategy's
// variants, then the plastic learner.
func (s *DualArch) Variants() []strategies.Variant {
	pl := s.plastic
	s.one[0] = strategies.Variant{Name: VariantName, Params: pl.Params(), State: pl.State(), Spec: &s.spec}
	s.out = append(append(s.out[:0], s.Wrapper.Variants()...), s.one[0])
	return s.out
}
