package project

import (
	"fmt"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/internal/flat"
	"github.com/cleval/cleval/streams"
)

// GEMConfig holds the parameters of gem.
type GEMConfig struct {
	strategies.BaseConfig
	// MemoryPerExp is the number of samples stored per experience, >= 1.
	// Default 256.
	MemoryPerExp int `json:"memory_per_exp" doc:"samples stored per experience, >= 1"`
	// Selection is "first" (default: the first samples of the experience
	// in loader order, as GEM's and Avalanche's code) or "random".
	Selection string `json:"selection" doc:"first (first samples in loader order, as GEM's code) | random"`
	// RefBatchSize is the number of stored samples of each earlier
	// experience its reference gradient is computed on at each update,
	// >= 0; 0 (default) means all of them.
	RefBatchSize int `json:"ref_batch_size" doc:"stored samples per experience per reference gradient; 0 = all"`
	// Gamma is the margin γ (memory strength), >= 0. Default 0.5.
	Gamma float64 `json:"gamma" doc:"margin γ (memory strength), >= 0"`
	// Eps is the ridge added to the diagonal of G·Gᵀ, >= 0. Default 1e-3
	// (GEM's code).
	Eps float64 `json:"eps" doc:"ridge on the diagonal of G·Gᵀ, >= 0"`
}

// Validate implements strategies.Validator.
func (c *GEMConfig) Validate() error {
	if c.MemoryPerExp < 1 {
		return fmt.Errorf("memory_per_exp %d: must be >= 1", c.MemoryPerExp)
	}
	if err := validSelection(c.Selection); err != nil {
		return err
	}
	if c.RefBatchSize < 0 {
		return fmt.Errorf("ref_batch_size %d: must be >= 0 (0 = all stored samples)", c.RefBatchSize)
	}
	if !(c.Gamma >= 0) {
		return fmt.Errorf("gamma %v: must be >= 0", c.Gamma)
	}
	if !(c.Eps >= 0) {
		return fmt.Errorf("eps %v: must be >= 0", c.Eps)
	}
	return nil
}

// GEM is gradient episodic memory (Lopez-Paz & Ranzato 2017) as a wrapper.
type GEM struct {
	strategies.Wrapper
	cfg  GEMConfig
	mem  *episodic
	g    []float32
	refs [][]float32 // reference gradient of each earlier experience
	qp   NNQP
	h, c []float64
	u, v []float64
	segs [1]strategies.Segment
	// Projections counts the updates whose gradient was projected.
	Projections int
}

var (
	_ strategies.Strategy     = (*GEM)(nil)
	_ strategies.GradientHook = (*GEM)(nil)
)

func init() {
	strategies.Register(strategies.Def[GEMConfig]{
		Name:     "gem",
		Summary:  "GEM (Lopez-Paz & Ranzato 2017): project the update onto the cone of per-experience memory gradients by solving the dual QP exactly; wraps any strategy",
		Defaults: GEMConfig{BaseConfig: strategies.WrapDefaults(), MemoryPerExp: 256, Selection: SelectFirst, Gamma: 0.5, Eps: 1e-3},
		New: func(cfg *GEMConfig) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("gem", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &GEM{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// Setup implements strategies.Strategy.
func (s *GEM) Setup(ctx *strategies.Context) error {
	n := len(ctx.Model.Params())
	s.g = make([]float32, n)
	T := len(ctx.Stream.Experiences)
	s.refs = make([][]float32, 0, T)
	rows := s.cfg.MemoryPerExp
	if s.cfg.RefBatchSize > 0 {
		rows = min(rows, s.cfg.RefBatchSize)
	}
	s.mem = newEpisodic(ctx, s.cfg.MemoryPerExp, s.cfg.Selection, rows)
	s.h = make([]float64, T*T)
	s.c = make([]float64, T)
	s.u = make([]float64, T)
	s.v = make([]float64, T)
	return s.Init(ctx, s)
}

// AfterExperience implements strategies.Strategy: the experience's samples
// enter the memory.
func (s *GEM) AfterExperience(ctx *strategies.Context, exp *streams.Experience) error {
	if err := s.Wrapper.AfterExperience(ctx, exp); err != nil {
		return err
	}
	s.mem.add(ctx.Rand, exp)
	s.refs = append(s.refs, make([]float32, len(s.g)))
	return nil
}

// HookGradient implements strategies.GradientHook: it computes the
// reference gradient g_k of every earlier experience on its memory and,
// when the update's gradient g has g·g_k < 0 for some k, replaces it by
// the solution of GEM's QP (see Solve).
func (s *GEM) HookGradient(ctx *strategies.Context, u *strategies.Update) float64 {
	t := len(s.refs)
	if t == 0 {
		return 0
	}
	m := ctx.Model
	copy(s.g, m.Grads())
	for k := range t {
		n := s.mem.gatherExp(ctx, ctx.Rand, k, s.cfg.RefBatchSize)
		s.segs[0] = strategies.Segment{N: n, Weight: 1, Mask: ctx.Stream.Mask(s.mem.exps[k].Task)}
		strategies.WeightedGrad(m, s.mem.ws, s.mem.x, s.mem.y, s.segs[:]...)
		copy(s.refs[k], m.Grads())
	}
	grads := m.Grads()
	copy(grads, s.g)
	if s.Solve(grads, s.refs) {
		s.Projections++
	}
	return 0
}

// Solve applies GEM's projection to g in place, with the reference
// gradients G (one per row), exactly as GEM's code (project2cone2) and
// Avalanche's GEMPlugin: when some g·g_k < 0, it solves the dual QP
//
//	minimise ½·vᵀ(G·Gᵀ + eps·I)·v + (G·g)ᵀ·v  subject to v ≥ γ
//
// (substituting v = γ + u, an NNQP in u) and sets g ← g + Gᵀ·v. With eps =
// 0 the result satisfies every constraint g·g_k ≥ 0 (G·g̃ equals the QP's
// multipliers); eps > 0 relaxes them by eps·v_k. It reports whether it
// projected. Dot products accumulate in float64.
func (s *GEM) Solve(g []float32, G [][]float32) bool {
	t := len(G)
	if len(s.h) < t*t || len(s.c) < t {
		s.h, s.c, s.u, s.v = make([]float64, t*t), make([]float64, t), make([]float64, t), make([]float64, t)
	}
	conflict := false
	for k := range t {
		s.c[k] = flat.Dot(G[k], g)
		conflict = conflict || s.c[k] < 0
	}
	if !conflict {
		return false
	}
	h := s.h[:t*t]
	for i := range t {
		for j := i; j < t; j++ {
			d := flat.Dot(G[i], G[j])
			h[i*t+j], h[j*t+i] = d, d
		}
		h[i*t+i] += s.cfg.Eps
	}
	// c = G·g + γ·H·1 for the substitution v = γ + u.
	for i := range t {
		row := 0.0
		for j := range t {
			row += h[i*t+j]
		}
		s.c[i] += s.cfg.Gamma * row
	}
	s.qp.Solve(h, s.c[:t], t, s.u[:t])
	for k := range t {
		s.v[k] = s.cfg.Gamma + s.u[k]
		flat.Axpy(g, float32(s.v[k]), G[k])
	}
	return true
}
