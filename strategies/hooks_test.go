package strategies_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/finetune"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// recorder is a wrapper that records the order its hooks run in.
type recorder struct {
	strategies.Wrapper
	name string
	log  *[]string
	// add is what its gradient hook adds to the loss and to every gradient.
	add float32
}

func (r *recorder) Setup(ctx *strategies.Context) error { return r.Init(ctx, r) }
func (r *recorder) HookSegment(_ *strategies.Context, seg *strategies.Segment) {
	*r.log = append(*r.log, r.name+":segment")
}
func (r *recorder) HookGradient(ctx *strategies.Context, u *strategies.Update) float64 {
	*r.log = append(*r.log, r.name+":gradient")
	for i := range ctx.Model.Grads() {
		ctx.Model.Grads()[i] += r.add
	}
	return float64(r.add)
}

func TestHooksRunInnerFirst(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	var log []string
	naive := strategytest.New(t, "naive", `{}`)
	inner := &recorder{Wrapper: strategies.Wrap("inner", "naive", naive), name: "inner", log: &log, add: 1}
	outer := &recorder{Wrapper: strategies.Wrap("outer", "inner", inner), name: "outer", log: &log, add: 2}
	d := strategytest.NewDriver(t, ctx, outer)
	l := d.Start(t, 1)

	// The same step without wrappers, from the same state, for reference.
	ref := strategytest.Context(s, o)
	refStrat := strategytest.New(t, "naive", `{}`)
	rd := strategytest.NewDriver(t, ref, refStrat)
	rl := rd.Start(t, 1)

	before := slices.Clone(ctx.Model.Params())
	loss := d.Step(t, l)
	refLoss := rd.Step(t, rl)
	want := []string{"inner:segment", "outer:segment", "inner:gradient", "outer:gradient"}
	if !slices.Equal(log, want) {
		t.Errorf("hook order %v, want %v", log, want)
	}
	if loss != refLoss+3 {
		t.Errorf("loss %v, want the wrapped loss %v + 3", loss, refLoss)
	}
	// SGD's first step with momentum: p -= lr·g; the hooks added 3 to g.
	lr := float32(ctx.Optimizer.(*nn.SGD).Config().LR)
	for i, p := range ctx.Model.Params() {
		refDelta := ref.Model.Params()[i] - before[i]
		if got, want := p-before[i], refDelta-lr*3; abs32(got-want) > 1e-6 {
			t.Fatalf("param %d moved by %v, want %v", i, got, want)
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func TestWrapperParamsResolveBase(t *testing.T) {
	var cfg strategies.BaseConfig
	w, err := strategies.NewWrapper("test", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Base != "naive" || w.Inner == nil || string(cfg.BaseParams) != "{}" {
		t.Errorf("defaults: %+v %s", cfg, cfg.BaseParams)
	}
	cfg = strategies.BaseConfig{Base: "nope"}
	if _, err := strategies.NewWrapper("test", &cfg); err == nil {
		t.Error("unknown base accepted")
	}
	cfg = strategies.BaseConfig{Base: "naive", BaseParams: json.RawMessage(`{"x":1}`)}
	if _, err := strategies.NewWrapper("test", &cfg); err == nil {
		t.Error("unknown base parameter accepted")
	}
}

// bypass updates the model without WeightedStep: its own gradient and a
// direct optimizer step, as plugins of the first strategy API did.
type bypass struct {
	strategies.Base
	ws *nn.Workspace
}

func (b *bypass) Setup(ctx *strategies.Context) error {
	b.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	return nil
}

func (b *bypass) Step(ctx *strategies.Context, batch *streams.Batch) (strategies.StepResult, error) {
	loss := strategies.WeightedGrad(ctx.Model, b.ws, batch.X, batch.Y, strategies.Segment{N: batch.N, Weight: 1, New: true})
	ctx.Optimizer.Step(ctx.Model.Params(), ctx.Model.Grads())
	return strategies.StepResult{Loss: loss}, nil
}

// TestWrapperCatchesABypass: a wrapper with hooks around a strategy that
// updates without running them fails the step with an error naming both,
// instead of silently training without the wrapper; a wrapper without
// hooks (EMA-like) does not mind.
func TestWrapperCatchesABypass(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	var log []string
	w := &recorder{Wrapper: strategies.Wrap("projector", "bypass", &bypass{}), name: "w", log: &log}
	d := strategytest.NewDriver(t, ctx, w)
	l := d.Start(t, 1)
	l.Next(d.Batch())
	_, err := w.Step(ctx, d.Batch())
	if err == nil || !strings.Contains(err.Error(), "bypass updated the model without running the hooks of projector") {
		t.Fatalf("error %v", err)
	}

	plain := strategies.Wrap("plain", "bypass", &bypass{})
	ctx2 := strategytest.Context(s, o)
	d2 := strategytest.NewDriver(t, ctx2, &plain)
	l2 := d2.Start(t, 1)
	d2.Step(t, l2)
}

// own adds a constant to every gradient through its own hook.
type own struct {
	strategies.Base
	hooks strategies.OwnHooks
	ws    *nn.Workspace
}

func (o *own) Setup(ctx *strategies.Context) error {
	o.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	return nil
}

func (o *own) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	loss := strategies.WeightedStep(o.hooks.Context(ctx, o), o.ws, b.X, b.Y, strategies.Segment{N: b.N, Weight: 1, New: true})
	return strategies.StepResult{Loss: loss}, nil
}

func (o *own) HookGradient(ctx *strategies.Context, _ *strategies.Update) float64 {
	for i := range ctx.Model.Grads() {
		ctx.Model.Grads()[i] += 5
	}
	return 5
}

// TestOwnHooksRunBeforeTheWrappers: a strategy's own hook runs first, then
// the wrappers', and the wrapper's check is satisfied.
func TestOwnHooksRunBeforeTheWrappers(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	var log []string
	inner := &own{}
	w := &recorder{Wrapper: strategies.Wrap("outer", "own", inner), name: "outer", log: &log, add: 1}
	d := strategytest.NewDriver(t, ctx, w)
	l := d.Start(t, 1)
	loss := d.Step(t, l)
	if !slices.Equal(log, []string{"outer:segment", "outer:gradient"}) {
		t.Errorf("hooks %v", log)
	}
	ref := strategytest.Context(s, o)
	rd := strategytest.NewDriver(t, ref, strategytest.New(t, "naive", `{}`))
	rl := rd.Start(t, 1)
	if refLoss := rd.Step(t, rl); loss != refLoss+5+1 {
		t.Errorf("loss %v, want %v + 5 + 1", loss, refLoss)
	}
}

// TestParamDocsFromDefaults: documented defaults are the Go defaults as
// fmt.Sprint prints them, for every registered strategy.
func TestParamDocsFromDefaults(t *testing.T) {
	type cfg struct {
		strategies.BaseConfig
		A float64   `json:"a" doc:"a number"`
		B []float64 `json:"b" doc:"a list"`
		C string    `json:"c" doc:"a word"`
		D bool      `json:"d,omitempty" doc:"a flag"`
	}
	strategies.Register(strategies.Def[cfg]{
		Name: "test-docs", Summary: "test only",
		Defaults: cfg{BaseConfig: strategies.WrapDefaults(), A: 0.25, B: []float64{0.9, 0.99}, C: "x", D: true},
		New:      func(*cfg) (strategies.Strategy, error) { return &bypass{}, nil },
	})
	info, err := strategies.Lookup("test-docs")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range info.Params {
		got = append(got, p.Name+"="+p.Default)
	}
	want := []string{"base=naive", "base_params={}", "a=0.25", "b=[0.9 0.99]", "c=x", "d=true"}
	if !slices.Equal(got, want) {
		t.Errorf("params %v, want %v", got, want)
	}
	// Decoding the user's values never changes the defaults.
	r, err := strategies.Resolve("test-docs", json.RawMessage(`{"b":[0.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Params) != `{"base":"naive","a":0.25,"b":[0.5],"c":"x","d":true}` {
		t.Errorf("resolved %s", r.Params)
	}
	if r, _ := strategies.Resolve("test-docs", nil); !strings.Contains(string(r.Params), `"b":[0.9,0.99]`) {
		t.Errorf("defaults changed by an earlier decode: %s", r.Params)
	}
}

func TestCyclerEpochs(t *testing.T) {
	o := strategytest.Options{Classes: 4, Experiences: 2, PerClass: 10} // 20 samples per experience
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	d := s.InputDim
	x := make([]float32, 16*d)
	y := make([]int32, 16)
	exps := make([]*streams.Experience, 16)
	pos := make([]int32, 16)
	var c strategies.Cycler
	c.DropLast = true
	c.Reset(s.Experiences)
	if c.Len() != 40 {
		t.Fatalf("Len %d, want 40", c.Len())
	}
	// Batches of 16 with drop_last: 2 per epoch of 40, each epoch a
	// permutation, so the two batches of an epoch are disjoint.
	for epoch := range 3 {
		seen := map[[2]int32]bool{}
		for range 2 {
			if n := c.Next(ctx.Rand, 16, d, x, y, exps, pos); n != 16 {
				t.Fatalf("batch of %d, want 16", n)
			}
			for r := range 16 {
				key := [2]int32{int32(exps[r].ID), pos[r]}
				if seen[key] {
					t.Fatalf("epoch %d: sample %v drawn twice", epoch, key)
				}
				seen[key] = true
				if y[r] != exps[r].Train.Label(pos[r]) {
					t.Fatalf("label %d, sample's %d", y[r], exps[r].Train.Label(pos[r]))
				}
			}
		}
	}
	// Without drop_last the last batch of an epoch holds the remainder.
	c.DropLast = false
	c.Reset(s.Experiences[:1])
	got := []int{c.Next(ctx.Rand, 16, d, x, y, nil, nil), c.Next(ctx.Rand, 16, d, x, y, nil, nil), c.Next(ctx.Rand, 16, d, x, y, nil, nil)}
	if !slices.Equal(got, []int{16, 4, 16}) {
		t.Errorf("batch sizes %v, want [16 4 16]", got)
	}
}
