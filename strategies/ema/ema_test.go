package ema

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/finetune"
	_ "github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// setter is a base strategy that sets every parameter to a known value
// at each step: θ_t = value(t).
type setter struct{ t int }

func value(t, i int) float32 { return float32(math.Sin(float64(t)+float64(i)) * 3) }

func (s *setter) Name() string                                                    { return "test-setter" }
func (s *setter) Params() any                                                     { return struct{}{} }
func (s *setter) Setup(*strategies.Context) error                                 { return nil }
func (s *setter) BeforeExperience(*strategies.Context, *streams.Experience) error { return nil }
func (s *setter) AfterExperience(*strategies.Context, *streams.Experience) error  { return nil }
func (s *setter) Step(ctx *strategies.Context, _ *streams.Batch) (strategies.StepResult, error) {
	s.t++
	for i := range ctx.Model.Params() {
		ctx.Model.Params()[i] = value(s.t, i)
	}
	return strategies.StepResult{}, nil
}

func init() {
	strategies.Register(strategies.Def[struct{}]{Name: "test-setter", New: func(*struct{}) (strategies.Strategy, error) { return &setter{}, nil }})
}

// TestEMAClosedForm: over a known sequence θ_0, θ_1, ..., the EMA after t
// updates is λ^t·θ_0 + Σ_{s=1..t} (1−λ)·λ^{t−s}·θ_s, with the warm-up
// decay during the first experience.
func TestEMAClosedForm(t *testing.T) {
	o := strategytest.Options{Classes: 4, Experiences: 2, PerClass: 16, BatchSize: 8} // 4 steps per experience
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	e := strategytest.New(t, "ema", `{"base":"test-setter","decays":[0.9,0.5],"warmup_decay":0.7}`).(*EMA)
	theta0 := slices.Clone(ctx.Model.Params())
	d := strategytest.NewDriver(t, ctx, e)
	vs := e.Variants()
	if len(vs) != 2 || vs[0].Name != "ema0.9" || vs[1].Name != "ema0.5" {
		t.Fatalf("variants %v", vs)
	}
	d.Experience(t, 1, 1)
	d.Experience(t, 2, 1)
	steps1, steps := 4, 8
	for k, lambda := range []float64{0.9, 0.5} {
		for i := range theta0 {
			// Closed form, in float64.
			want := float64(theta0[i])
			for step := 1; step <= steps; step++ {
				l := lambda
				if step <= steps1 {
					l = min(lambda, 0.7)
				}
				want = l*want + (1-l)*float64(value(step, i))
			}
			got := float64(vs[k].Params[i])
			if math.Abs(got-want) > 1e-5 {
				t.Fatalf("λ=%v param %d: EMA %v, closed form %v", lambda, i, got, want)
			}
		}
	}
	// Unrolled closed form for a constant λ (no warm-up): the weights sum
	// to 1.
	lambda := 0.9
	ema := []float32{float32(theta0[0])}
	for step := 1; step <= 6; step++ {
		Update(ema, []float32{value(step, 0)}, lambda)
	}
	want := math.Pow(lambda, 6) * float64(theta0[0])
	for step := 1; step <= 6; step++ {
		want += (1 - lambda) * math.Pow(lambda, float64(6-step)) * float64(value(step, 0))
	}
	if math.Abs(float64(ema[0])-want) > 1e-5 {
		t.Errorf("unrolled: %v, closed form %v", ema[0], want)
	}
}

func TestEMAVariantsDoNotAllocateAndNest(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	e := strategytest.New(t, "ema", `{"base":"ema","base_params":{"decays":[0.9]},"decays":[0.99,0.999]}`).(*EMA)
	strategytest.NewDriver(t, ctx, e)
	var names []string
	for _, v := range e.Variants() {
		names = append(names, v.Name)
	}
	if !slices.Equal(names, []string{"ema0.9", "ema0.99", "ema0.999"}) {
		t.Errorf("nested variants %v", names)
	}
	if a := testing.AllocsPerRun(10, func() { e.Variants() }); a != 0 {
		t.Errorf("Variants allocates %v", a)
	}
	// The same decay twice across the nesting is refused with the
	// parameters, before any run.
	if _, err := strategies.Resolve("ema", json.RawMessage(`{"base":"ema","base_params":{"decays":[0.99]},"decays":[0.99]}`)); err == nil || !strings.Contains(err.Error(), `both would store variant "ema0.99"`) {
		t.Errorf("duplicate variant name: %v", err)
	}
}

func TestEMAConfigValidate(t *testing.T) {
	for _, raw := range []string{`{"decays":[]}`, `{"decays":[1.5]}`, `{"decays":[-0.1]}`, `{"decays":[0.9,0.9]}`, `{"warmup_decay":2}`, `{"decay":0.9}`} {
		if _, err := strategies.Resolve("ema", json.RawMessage(raw)); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
	r, err := strategies.Resolve("ema", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Params; string(b) != `{"base":"naive","base_params":{},"decays":[0.99],"warmup_decay":0.9}` {
		t.Errorf("resolved parameters %s", b)
	}
}

func BenchmarkStepEMA(b *testing.B) {
	strategytest.BenchSteps(b, "ema", `{"base":"er","base_params":{"mem_size":100},"decays":[0.99,0.999]}`, strategytest.Options{})
}

// TestEMAModelState: on a model with batch normalisation, an EMA model's
// statistics are the EMA of the live model's running statistics with the
// same decay (state average), or the live statistics themselves (live).
func TestEMAModelState(t *testing.T) {
	o := strategytest.Options{Classes: 4, Experiences: 2, PerClass: 16, BatchSize: 8, Dim: 36, Arch: "cnn"}
	s := strategytest.Stream(o)
	for _, mode := range []string{"average", "live"} {
		ctx := strategytest.Context(s, o)
		if len(ctx.Model.State()) == 0 {
			t.Fatal("cnn has no state")
		}
		e := strategytest.New(t, "ema", `{"decays":[0.8],"warmup_decay":1,"state":"`+mode+`"}`)
		d := strategytest.NewDriver(t, ctx, e)
		want := slices.Clone(ctx.Model.State())
		l := d.Start(t, 1)
		for range 4 {
			d.Step(t, l)
			for i, v := range ctx.Model.State() {
				want[i] = float32(0.8)*want[i] + float32(1-0.8)*v
			}
		}
		got := e.(strategies.VariantProvider).Variants()[0].State
		for i := range got {
			w := want[i]
			if mode == "live" {
				w = ctx.Model.State()[i]
			}
			if got[i] != w {
				t.Fatalf("%s: state %d: %v, want %v", mode, i, got[i], w)
			}
		}
	}
}
