package project

import (
	"fmt"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/internal/flat"
	"github.com/cleval/cleval/streams"
)

// A-GEM reference sources.
const (
	RefMemory = "memory"
	RefReplay = "replay"
)

// AGEMConfig holds the parameters of agem.
type AGEMConfig struct {
	strategies.BaseConfig
	// Reference is where the reference gradient comes from: "memory"
	// (default: A-GEM's own episodic memory) or "replay" (the replayed,
	// non-new rows of the wrapped strategy's own update, as Hess et al.'s
	// ER + A-GEM).
	Reference string `json:"reference" doc:"memory (A-GEM's own memory) | replay (the wrapped strategy's replayed rows, Hess et al.)"`
	// MemoryPerExp is the number of samples stored per experience
	// ("memory"), >= 1. Default 256.
	MemoryPerExp int `json:"memory_per_exp" doc:"samples stored per experience (reference memory), >= 1"`
	// Selection is how they are chosen: "random" (default) or "first".
	Selection string `json:"selection" doc:"random (uniform subset) | first (first samples in loader order)"`
	// SampleSize is the number of memory samples the reference gradient is
	// computed on at each update, >= 0; 0 means the batch size.
	SampleSize int `json:"sample_size" doc:"memory samples per reference gradient; 0 = the batch size"`
	// Eps is added to g_ref·g_ref in the projection's denominator, >= 0.
	// Default 0 (Hess et al.'s code uses 1e-7).
	Eps float64 `json:"eps" doc:"added to g_ref·g_ref in the projection, >= 0"`
}

// Validate implements strategies.Validator.
func (c *AGEMConfig) Validate() error {
	switch c.Reference {
	case RefMemory, RefReplay:
	default:
		return fmt.Errorf("reference %q: must be %q or %q", c.Reference, RefMemory, RefReplay)
	}
	if c.MemoryPerExp < 1 {
		return fmt.Errorf("memory_per_exp %d: must be >= 1", c.MemoryPerExp)
	}
	if err := validSelection(c.Selection); err != nil {
		return err
	}
	if c.SampleSize < 0 {
		return fmt.Errorf("sample_size %d: must be >= 0 (0 = the batch size)", c.SampleSize)
	}
	if !(c.Eps >= 0) {
		return fmt.Errorf("eps %v: must be >= 0", c.Eps)
	}
	return nil
}

// AGEM is averaged gradient episodic memory (Chaudhry et al. 2019) as a
// wrapper.
type AGEM struct {
	strategies.Wrapper
	cfg  AGEMConfig
	mem  *episodic
	g    []float32 // the update's gradient, saved while the reference is computed
	ref  []float32 // the reference gradient
	segs [1]strategies.Segment
	// Projections counts the updates whose gradient was projected.
	Projections int
}

var (
	_ strategies.Strategy     = (*AGEM)(nil)
	_ strategies.GradientHook = (*AGEM)(nil)
)

func init() {
	strategies.Register(strategies.Def[AGEMConfig]{
		Name:     "agem",
		Summary:  "A-GEM (Chaudhry et al. 2019): project the update when it conflicts with a reference gradient on memory (or on the replayed samples); wraps any strategy",
		Defaults: AGEMConfig{BaseConfig: strategies.WrapDefaults(), Reference: RefMemory, MemoryPerExp: 256, Selection: SelectRandom},
		New: func(cfg *AGEMConfig) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("agem", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &AGEM{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// Setup implements strategies.Strategy.
func (s *AGEM) Setup(ctx *strategies.Context) error {
	if s.cfg.SampleSize == 0 {
		s.cfg.SampleSize = ctx.BatchSize
	}
	n := len(ctx.Model.Params())
	s.g = make([]float32, n)
	s.ref = make([]float32, n)
	rows := s.cfg.SampleSize
	if s.cfg.Reference == RefReplay {
		// The replayed rows of the wrapped strategy's batch; resized when
		// a larger batch comes.
		rows = 2 * ctx.BatchSize
	}
	s.mem = newEpisodic(ctx, s.cfg.MemoryPerExp, s.cfg.Selection, rows)
	return s.Init(ctx, s)
}

// AfterExperience implements strategies.Strategy: the experience's samples
// enter the memory.
func (s *AGEM) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.AfterExperience(ctx, exp); err != nil {
		return err
	}
	if s.cfg.Reference == RefMemory {
		s.mem.add(ctx.Rand, exp)
	}
	return nil
}

// HookGradient implements strategies.GradientHook: it computes the
// reference gradient and projects the update's gradient g when g·g_ref <
// 0: g̃ = g − (g·g_ref)/(g_ref·g_ref + eps)·g_ref.
func (s *AGEM) HookGradient(ctx *strategies.Context, u *strategies.Update) float64 {
	m := ctx.Model
	n := 0
	if s.cfg.Reference == RefMemory {
		if s.mem.stored() == 0 {
			return 0
		}
		n = s.mem.sampleUnion(ctx, ctx.Rand, s.cfg.SampleSize)
	} else {
		n = s.replayRows(ctx, u)
		if n == 0 {
			return 0
		}
	}
	copy(s.g, m.Grads())
	var masks [][]bool
	if ctx.Stream.Scenario == streams.TaskIncremental {
		masks = s.mem.masks[:n]
	}
	s.segs[0] = strategies.Segment{N: n, Weight: 1, Masks: masks}
	strategies.WeightedGrad(m, s.mem.ws, s.mem.x, s.mem.y, s.segs[:]...)
	copy(s.ref, m.Grads())
	grads := m.Grads()
	copy(grads, s.g)
	if Project(grads, s.ref, s.cfg.Eps) {
		s.Projections++
	}
	return 0
}

// replayRows copies the non-new rows of u (with their task masks) into the
// memory's buffers and returns their number.
func (s *AGEM) replayRows(ctx *strategies.Context, u *strategies.Update) int {
	total := 0
	for _, seg := range u.Segs {
		if !seg.New {
			total += seg.N
		}
	}
	if total == 0 {
		return 0
	}
	if len(s.mem.y) < total {
		s.mem = newEpisodic(ctx, s.cfg.MemoryPerExp, s.cfg.Selection, total)
	}
	d := s.mem.dim
	n := 0
	at := 0
	for _, seg := range u.Segs {
		if !seg.New {
			copy(s.mem.x[n*d:(n+seg.N)*d], u.X[at*d:(at+seg.N)*d])
			copy(s.mem.y[n:n+seg.N], u.Y[at:at+seg.N])
			for r := range seg.N {
				if seg.Masks != nil {
					s.mem.masks[n+r] = seg.Masks[r]
				} else {
					s.mem.masks[n+r] = seg.Mask
				}
			}
			n += seg.N
		}
		at += seg.N
	}
	return n
}

// Project applies A-GEM's projection to g in place when g·ref < 0:
// g ← g − (g·ref)/(ref·ref + eps)·ref. It reports whether it projected.
// Afterwards g·ref = 0 (up to rounding) when eps is 0, and g·ref ≥ 0 in
// every case.
func Project(g, ref []float32, eps float64) bool {
	dot := flat.Dot(g, ref)
	if !(dot < 0) {
		return false
	}
	rr := flat.Dot(ref, ref) + eps
	if rr == 0 {
		return false
	}
	flat.Axpy(g, float32(-dot/rr), ref)
	return true
}
