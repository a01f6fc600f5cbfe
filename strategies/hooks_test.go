package strategies_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/finetune"
	"github.com/cleval/cleval/strategies/internal/strattest"
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

func (r *recorder) Name() string                        { return r.name }
func (r *recorder) Params() any                         { return struct{}{} }
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
	o := strattest.Options{}
	s := strattest.Stream(o)
	ctx := strattest.Context(s, o)
	var log []string
	naive := strattest.New(t, "naive", `{}`)
	inner := &recorder{Wrapper: strategies.Wrapper{Inner: naive}, name: "inner", log: &log, add: 1}
	outer := &recorder{Wrapper: strategies.Wrapper{Inner: inner}, name: "outer", log: &log, add: 2}
	d := strattest.NewDriver(t, ctx, outer)
	l := d.Start(t, 1)

	// The same step without wrappers, from the same state, for reference.
	ref := strattest.Context(s, o)
	refStrat := strattest.New(t, "naive", `{}`)
	rd := strattest.NewDriver(t, ref, refStrat)
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
	lr := float32(ctx.Optimizer.Config().LR)
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
	inner, err := strategies.NewBase("test", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Base != "naive" || inner.Name() != "naive" || string(cfg.BaseParams) != "{}" {
		t.Errorf("defaults: %+v %s", cfg, cfg.BaseParams)
	}
	cfg = strategies.BaseConfig{Base: "nope"}
	if _, err := strategies.NewBase("test", &cfg); err == nil {
		t.Error("unknown base accepted")
	}
	cfg = strategies.BaseConfig{Base: "naive", BaseParams: json.RawMessage(`{"x":1}`)}
	if _, err := strategies.NewBase("test", &cfg); err == nil {
		t.Error("unknown base parameter accepted")
	}
}

func TestCyclerEpochs(t *testing.T) {
	o := strattest.Options{Classes: 4, Experiences: 2, PerClass: 10} // 20 samples per experience
	s := strattest.Stream(o)
	ctx := strattest.Context(s, o)
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
