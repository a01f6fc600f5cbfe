package regularize

import (
	"fmt"
	"math"

	"github.com/cleval/cleval/strategies/internal/distill"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// LwF weightings.
const (
	WeightingAdd     = "add"
	WeightingInverse = "inverse"
)

// LwFConfig holds the parameters of lwf.
type LwFConfig struct {
	strategies.BaseConfig
	// Alpha is the weight of the distillation term under "add", >= 0.
	// Default 1.
	Alpha float64 `json:"alpha" doc:"weight of the distillation term under add, >= 0"`
	// Temperature T > 0 of the distillation. Default 2.
	Temperature float64 `json:"temperature" doc:"distillation temperature T > 0"`
	// T2 multiplies the distillation term by T² (Hinton et al.; van de
	// Ven's code), so that its gradient does not shrink with T. Default
	// true.
	T2 bool `json:"t2" doc:"multiply the distillation term by T²"`
	// Weighting is "add" (default: loss + alpha·KD, Li & Hoiem, Avalanche)
	// or "inverse" (van de Ven's code: the new data's loss weighted by
	// 1/(t+1) and the distillation by 1 − 1/(t+1) in the experience with
	// 0-based index t).
	Weighting string `json:"weighting" doc:"add (CE + alpha·KD) | inverse (1/(t+1)·CE + (1−1/(t+1))·KD, van de Ven)"`
}

// Validate implements strategies.Validator.
func (c *LwFConfig) Validate() error {
	if !(c.Alpha >= 0) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("alpha %v: must be >= 0 and finite", c.Alpha)
	}
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		return fmt.Errorf("temperature %v: must be > 0 and finite", c.Temperature)
	}
	switch c.Weighting {
	case WeightingAdd, WeightingInverse:
	default:
		return fmt.Errorf("weighting %q: must be %q or %q", c.Weighting, WeightingAdd, WeightingInverse)
	}
	return nil
}

// LwF is learning without forgetting (Li & Hoiem 2017) as a wrapper: on
// the new data (New segments), the model's softened outputs are distilled
// towards those of the model as it was at the end of the previous
// experience.
//
// The distillation term of a row is KL(q‖p) over the distilled classes,
// with q = softmax(z_old/T) and p = softmax(z/T), times T² when t2 is set,
// averaged over the rows. The distilled classes are those of the earlier
// experiences (in class- and domain-incremental streams), and in
// task-incremental streams each earlier task's classes separately (one
// term per earlier task, summed: the multi-head form). The term's gradient
// with respect to z is (T² or 1)·(p − q)/T per row.
type LwF struct {
	strategies.Wrapper
	cfg   LwFConfig
	old   []float32 // parameters at the end of the previous experience
	oldSt []float32 // and the model state (batch-norm statistics)
	have  bool
	ws    *nn.Workspace
	sets  [][]bool // distilled class sets
	p, q  []float64
	curID int
}

var (
	_ strategies.Strategy    = (*LwF)(nil)
	_ strategies.LogitHook   = (*LwF)(nil)
	_ strategies.SegmentHook = (*LwF)(nil)
)

func init() {
	strategies.Register(strategies.Def[LwFConfig]{
		Name:     "lwf",
		Summary:  "LwF (Li & Hoiem 2017): distil the previous model's softened outputs on new data; wraps any strategy",
		Defaults: LwFConfig{BaseConfig: strategies.WrapDefaults(), Alpha: 1, Temperature: 2, T2: true, Weighting: WeightingAdd},
		New: func(cfg *LwFConfig) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("lwf", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &LwF{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// Setup implements strategies.Strategy.
func (s *LwF) Setup(ctx *strategies.Context) error {
	s.old = make([]float32, len(ctx.Model.Params()))
	s.oldSt = make([]float32, len(ctx.Model.State()))
	s.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	C := ctx.Stream.NumClasses
	s.p = make([]float64, C)
	s.q = make([]float64, C)
	return s.Init(ctx, s)
}

// BeforeExperience implements strategies.Strategy.
func (s *LwF) BeforeExperience(ctx *strategies.Context, exp *streams.Experience) error {
	s.curID = exp.ID
	return s.Wrapper.BeforeExperience(ctx, exp)
}

// AfterExperience implements strategies.Strategy: the model is kept as the
// teacher and the experience's classes join the distilled ones.
func (s *LwF) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.AfterExperience(ctx, exp); err != nil {
		return err
	}
	copy(s.old, ctx.Model.Params())
	copy(s.oldSt, ctx.Model.State())
	s.have = true
	C := ctx.Stream.NumClasses
	if ctx.Stream.Scenario == streams.TaskIncremental {
		// One set per earlier task.
		for len(s.sets) <= exp.Task {
			s.sets = append(s.sets, make([]bool, C))
		}
		for _, c := range exp.Classes {
			s.sets[exp.Task][c] = true
		}
		return nil
	}
	if len(s.sets) == 0 {
		s.sets = append(s.sets, make([]bool, C))
	}
	for _, c := range exp.Classes {
		s.sets[0][c] = true
	}
	return nil
}

// rnt returns the new data's weight under "inverse": 1/(t+1) in the
// experience with 0-based index t.
func (s *LwF) rnt() float64 { return 1 / float64(max(1, s.curID)) }

// HookSegment implements strategies.SegmentHook: under "inverse" the new
// data's loss is weighted by 1/(t+1).
func (s *LwF) HookSegment(_ *strategies.Context, seg *strategies.Segment) {
	if seg.New && s.cfg.Weighting == WeightingInverse && s.have {
		seg.Weight *= s.rnt()
	}
}

// HookLogits implements strategies.LogitHook: the distillation term of the
// New segments.
func (s *LwF) HookLogits(ctx *strategies.Context, u *strategies.Update, i int, logits, dlogits []float32) float64 {
	seg := u.Segs[i]
	if !seg.New || !s.have || seg.N == 0 {
		return 0
	}
	w := s.cfg.Alpha
	if s.cfg.Weighting == WeightingInverse {
		w = 1 - s.rnt()
	}
	if w == 0 {
		return 0
	}
	m := ctx.Model
	d, C := m.InputDim(), m.OutputDim()
	if seg.N > s.ws.Cap() {
		s.ws = m.NewWorkspace(seg.N)
	}
	at := u.Offset(i)
	old := m.Infer(s.old, s.oldSt, s.ws, u.X[at*d:(at+seg.N)*d], seg.N)
	T := s.cfg.Temperature
	scale := 1.0
	if s.cfg.T2 {
		scale = T * T
	}
	k := w * scale / float64(seg.N)
	var kl float64
	for r := range seg.N {
		z, zo := logits[r*C:(r+1)*C], old[r*C:(r+1)*C]
		dz := dlogits[r*C : (r+1)*C]
		for _, set := range s.sets {
			distill.Tempered(z, set, T, s.p)
			distill.Tempered(zo, set, T, s.q)
			for c, inSet := range set {
				if !inSet {
					continue
				}
				if q := s.q[c]; q > 0 {
					kl += q * (math.Log(q) - math.Log(s.p[c]))
				}
				dz[c] += float32(k * (s.p[c] - s.q[c]) / T)
			}
		}
	}
	return k * kl
}
