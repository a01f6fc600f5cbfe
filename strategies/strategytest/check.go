package strategytest

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Check runs the properties every strategy must have on the registered
// strategy name with params (a JSON object), on the stream of o (zero
// values: a small class-incremental Gaussian stream), each as a subtest:
//
//   - deterministic: two runs from the same seed give bit-identical losses,
//     parameters, state and variants;
//   - trains: every loss is finite and the parameters move;
//   - allocation-free: a warmed-up Step allocates nothing;
//   - variants well formed: names unique and not "live", arenas of the
//     model's layouts;
//   - composes: wrapped in a wrapper with a gradient hook, every update
//     it makes runs the hook (so wrappers such as agem act on it).
//
// Check measures allocations, so it must not run in a parallel test.
func Check(t *testing.T, name, params string, o Options) {
	t.Helper()
	t.Run("deterministic", func(t *testing.T) {
		a, b := trace(t, name, params, o), trace(t, name, params, o)
		if !slices.Equal(bitsOf64(a.losses), bitsOf64(b.losses)) {
			t.Errorf("%s: losses differ between two runs from the same seed", name)
		}
		for i := range a.arenas {
			if !slices.Equal(bitsOf(a.arenas[i]), bitsOf(b.arenas[i])) {
				t.Errorf("%s: arena %d (%s) differs between two runs from the same seed", name, i, a.names[i])
			}
		}
	})
	t.Run("trains", func(t *testing.T) {
		tr := trace(t, name, params, o)
		for i, l := range tr.losses {
			if math.IsNaN(l) || math.IsInf(l, 0) {
				t.Fatalf("%s: step %d: loss %v", name, i+1, l)
			}
		}
		if slices.Equal(bitsOf(tr.start), bitsOf(tr.arenas[0])) {
			t.Errorf("%s: %d steps left the parameters unchanged", name, len(tr.losses))
		}
	})
	t.Run("allocation-free", func(t *testing.T) {
		if a := AllocsPerStep(t, name, params, o); a != 0 {
			t.Errorf("%s: %v allocations per warmed-up step", name, a)
		}
	})
	t.Run("variants", func(t *testing.T) {
		s := Stream(o)
		ctx := Context(s, o)
		d := NewDriver(t, ctx, New(t, name, params))
		d.Experience(t, 1, 1)
		vp, ok := d.Strat.(strategies.VariantProvider)
		if !ok {
			return
		}
		seen := map[string]bool{metrics.VariantLive: true}
		for _, v := range vp.Variants() {
			if seen[v.Name] || v.Name == "" {
				t.Errorf("%s: variant name %q empty, reserved or repeated", name, v.Name)
			}
			seen[v.Name] = true
			// A variant of another architecture has that model's layouts.
			ref := ctx.Model
			if v.Spec != nil {
				m, err := nn.New(*v.Spec, nil)
				if err != nil {
					t.Errorf("%s: variant %s: its Spec does not build: %v", name, v.Name, err)
					continue
				}
				ref = m
			}
			if len(v.Params) != len(ref.Params()) || len(v.State) != len(ref.State()) {
				t.Errorf("%s: variant %s has arenas of %d and %d values, want %d and %d", name, v.Name,
					len(v.Params), len(v.State), len(ref.Params()), len(ref.State()))
			}
		}
	})
	t.Run("composes", func(t *testing.T) {
		s := Stream(o)
		ctx := Context(s, o)
		p := &probe{}
		p.Wrapper = strategies.Wrap("strategytest-probe", name, New(t, name, params))
		counter := &countingOptimizer{Optimizer: ctx.Optimizer}
		ctx.Optimizer = counter
		d := NewDriver(t, ctx, p)
		for k := 1; k <= min(2, len(s.Experiences)); k++ {
			exp := s.Experiences[k-1]
			ctx.Current = exp
			if err := p.BeforeExperience(ctx, exp); err != nil {
				t.Fatal(err)
			}
			l := streams.NewLoader(exp.Train, ctx.BatchSize, d.rng)
			for range l.BatchesPerEpoch() {
				l.Next(d.batch)
				d.batch.Experience, d.batch.Mask = exp.ID, s.Mask(exp.Task)
				before := counter.steps
				if _, err := p.Step(ctx, d.batch); err != nil {
					t.Fatalf("%s wrapped: %v", name, err)
				}
				if counter.steps > before && p.runs == 0 {
					t.Fatalf("%s updated the model without running the wrapper's gradient hook", name)
				}
				p.runs = 0
				ctx.Iteration++
			}
			if err := p.AfterExperience(ctx, exp); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// CheckRejects checks that each of the bad parameter objects is refused
// with an error that names the strategy.
func CheckRejects(t *testing.T, name string, bad ...string) {
	t.Helper()
	for _, params := range bad {
		_, err := strategies.Resolve(name, json.RawMessage(params))
		if err == nil {
			t.Errorf("%s: parameters %s accepted", name, params)
			continue
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: parameters %s: error %q does not name the strategy", name, params, err)
		}
	}
}

// runTrace is what a short run of a strategy produced.
type runTrace struct {
	losses []float64
	start  []float32
	arenas [][]float32 // parameters, state, then every variant's arenas
	names  []string
}

// trace trains two experiences (one epoch each) from a fixed seed.
func trace(t *testing.T, name, params string, o Options) runTrace {
	t.Helper()
	s := Stream(o)
	ctx := Context(s, o)
	tr := runTrace{start: slices.Clone(ctx.Model.Params())}
	d := NewDriver(t, ctx, New(t, name, params))
	for k := 1; k <= min(2, len(s.Experiences)); k++ {
		d.Experience(t, k, 1)
	}
	tr.losses = d.Losses
	tr.arenas = append(tr.arenas, slices.Clone(ctx.Model.Params()), slices.Clone(ctx.Model.State()))
	tr.names = append(tr.names, "parameters", "state")
	if vp, ok := d.Strat.(strategies.VariantProvider); ok {
		for _, v := range vp.Variants() {
			tr.arenas = append(tr.arenas, slices.Clone(v.Params), slices.Clone(v.State))
			tr.names = append(tr.names, v.Name+" parameters", v.Name+" state")
		}
	}
	return tr
}

// probe is a wrapper with a gradient hook that counts its runs.
type probe struct {
	strategies.Wrapper
	runs int
}

func (p *probe) Setup(ctx *strategies.Context) error { return p.Init(ctx, p) }

func (p *probe) HookGradient(*strategies.Context, *strategies.Update) float64 {
	p.runs++
	return 0
}

type countingOptimizer struct {
	nn.Optimizer
	steps int
}

func (o *countingOptimizer) Step(params, grads []float32) {
	o.steps++
	o.Optimizer.Step(params, grads)
}

func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func bitsOf64(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = math.Float64bits(x)
	}
	return out
}
