package regularize

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/finetune"
	_ "github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// perSampleFisher computes the diagonal Fisher of exp the slow way: one
// backward pass per sample (and per class for the expected Fisher).
func perSampleFisher(ctx *strategies.Context, exp *streams.Experience, kind string) []float64 {
	m := ctx.Model.(*nn.MLP)
	C, d := m.OutputDim(), m.InputDim()
	out := make([]float64, len(m.Params()))
	ws := m.NewWorkspace(1)
	x := make([]float32, d)
	y := make([]int32, 1)
	mask := ctx.Stream.Mask(exp.Task)
	n := exp.Train.Len()
	prob := make([]float64, C)
	for p := range n {
		exp.Train.Gather(x, y, []int32{int32(p)}, nil)
		logits := m.Forward(ws, x, 1)
		add := func(label int32, w float64) {
			m.ZeroGrad()
			nn.SoftmaxCE(logits, 1, C, []int32{label}, nn.SoftmaxMask{Mask: mask}, 1, ws.LogitGrad())
			m.Backward(ws)
			for i, g := range m.Grads() {
				out[i] += w * float64(g) * float64(g)
			}
		}
		if kind == FisherEmpirical {
			add(y[0], 1)
			continue
		}
		softmax(logits, mask, prob)
		for c, pc := range prob {
			if pc > 0 {
				add(int32(c), pc)
			}
		}
	}
	for i := range out {
		out[i] /= float64(n)
	}
	m.ZeroGrad()
	return out
}

func TestFisherMatchesPerSampleGradients(t *testing.T) {
	for _, scen := range []streams.Scenario{streams.ClassIncremental, streams.TaskIncremental} {
		for _, kind := range []string{FisherEmpirical, FisherExpected} {
			o := strategytest.Options{Scenario: scen, PerClass: 15}
			s := strategytest.Stream(o)
			ctx := strategytest.Context(s, o)
			exp := s.Experiences[1]
			got := make([]float32, len(ctx.Model.Params()))
			EstimateFisher(ctx, exp, kind, 0, got)
			want := perSampleFisher(ctx, exp, kind)
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+want[i]) {
					t.Fatalf("%s %s: F[%d] = %v, per-sample %v", scen, kind, i, got[i], want[i])
				}
			}
			for _, g := range ctx.Model.Grads() {
				if g != 0 {
					t.Fatal("gradient arena not zeroed")
				}
			}
		}
	}
}

func TestEWCPenaltyGradient(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	e := strategytest.New(t, "ewc", `{"lambda":3,"gamma":0.5}`).(*EWC)
	d := strategytest.NewDriver(t, ctx, e)
	d.Experience(t, 1, 1)
	f1 := slices.Clone(e.Fisher())
	d.Experience(t, 2, 1)
	// Online: F̃ = γ·F_1 + F_2.
	f2 := make([]float32, len(f1))
	EstimateFisher(ctx, s.Experiences[1], FisherExpected, 0, f2)
	for i := range f1 {
		if want := 0.5*f1[i] + f2[i]; math.Abs(float64(e.Fisher()[i]-want)) > 1e-6*(1+math.Abs(float64(want))) {
			t.Fatalf("F̃[%d] = %v, want %v", i, e.Fisher()[i], want)
		}
	}
	// The hook adds λ·F̃⊙(θ−θ*) and returns λ/2·Σ F̃(θ−θ*)².
	p := ctx.Model.Params()
	for i := range p {
		p[i] += 0.01 * float32(i%7-3)
	}
	clear(ctx.Model.Grads())
	pen := e.HookGradient(ctx, nil)
	want := 0.0
	for i, f := range e.Fisher() {
		dv := float64(p[i] - e.star[i])
		want += float64(f) * dv * dv
		if g := float64(ctx.Model.Grads()[i]); math.Abs(g-3*float64(f)*dv) > 1e-6 {
			t.Fatalf("gradient %d: %v, want %v", i, g, 3*float64(f)*dv)
		}
	}
	if math.Abs(pen-1.5*want) > 1e-9*(1+want) {
		t.Errorf("penalty %v, want %v", pen, 1.5*want)
	}
}

// TestLwFGradient: the distillation term's gradient with respect to the
// logits matches finite differences of its value.
func TestLwFGradient(t *testing.T) {
	for _, scen := range []streams.Scenario{streams.ClassIncremental, streams.TaskIncremental} {
		o := strategytest.Options{Scenario: scen, Experiences: 3}
		s := strategytest.Stream(o)
		ctx := strategytest.Context(s, o)
		l := strategytest.New(t, "lwf", `{"alpha":0.7,"temperature":2.5}`).(*LwF)
		d := strategytest.NewDriver(t, ctx, l)
		d.Experience(t, 1, 1)
		d.Experience(t, 2, 1)
		ld := d.Start(t, 3)
		d.Step(t, ld)
		b := d.Batch()
		C := ctx.Model.OutputDim()
		ws := ctx.Model.NewWorkspace(b.N)
		logits := slices.Clone(ctx.Model.Forward(ws, b.X, b.N))
		u := &strategies.Update{X: b.X[:b.N*b.Dim], Y: b.Y[:b.N], N: b.N, Segs: []strategies.Segment{{N: b.N, Weight: 1, New: true}}}
		value := func() float64 {
			return l.HookLogits(ctx, u, 0, logits, make([]float32, b.N*C))
		}
		dl := make([]float32, b.N*C)
		l.HookLogits(ctx, u, 0, logits, dl)
		v0 := value()
		if !(v0 > 0) {
			t.Fatalf("%s: distillation term %v", scen, v0)
		}
		const eps = 1e-2
		for i := range logits {
			orig := logits[i]
			logits[i] = orig + eps
			vp := value()
			logits[i] = orig - eps
			vm := value()
			logits[i] = orig
			fd := (vp - vm) / (2 * eps)
			if math.Abs(fd-float64(dl[i])) > 1e-3*(1+math.Abs(fd)) {
				t.Fatalf("%s: logit %d: gradient %v, finite difference %v", scen, i, dl[i], fd)
			}
			// Classes of the current experience are not distilled.
			if c := i % C; slices.Contains(ctx.Current.Classes, int32(c)) && dl[i] != 0 {
				t.Fatalf("%s: current class %d distilled", scen, c)
			}
		}
	}
}

// TestSIImportance: on a hand-checked sequence Ω = Σ_k ω_k/(Δ_k² + ξ).
func TestSIImportance(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	si := strategytest.New(t, "si", `{"c":0.5,"xi":0.1}`).(*SI)
	d := strategytest.NewDriver(t, ctx, si)
	start := slices.Clone(ctx.Model.Params())
	// Track ω by hand: −g·Δθ per step with the unregularised gradient,
	// which in experience 1 is the whole gradient (Ω = 0).
	w := make([]float64, len(start))
	l := d.Start(t, 1)
	for range 5 {
		prev := slices.Clone(ctx.Model.Params())
		d.Step(t, l)
		for i, p := range ctx.Model.Params() {
			w[i] -= float64(ctx.Model.Grads()[i]) * float64(p-prev[i])
		}
	}
	if err := si.AfterExperience(ctx, ctx.Current); err != nil {
		t.Fatal(err)
	}
	for i, p := range ctx.Model.Params() {
		delta := float64(p - start[i])
		want := w[i] / (delta*delta + 0.1)
		if math.Abs(float64(si.Omega()[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("Ω[%d] = %v, want %v", i, si.Omega()[i], want)
		}
	}
}

func TestRegularizeConfigs(t *testing.T) {
	for _, c := range []struct{ name, raw string }{
		{"ewc", `{"lambda":-1}`}, {"ewc", `{"gamma":1.5}`}, {"ewc", `{"fisher":"true"}`}, {"ewc", `{"fisher_samples":-1}`},
		{"lwf", `{"temperature":0}`}, {"lwf", `{"alpha":-1}`}, {"lwf", `{"weighting":"mul"}`},
		{"si", `{"xi":0}`}, {"si", `{"c":-1}`},
	} {
		if _, err := strategies.Resolve(c.name, []byte(c.raw)); err == nil {
			t.Errorf("%s %s accepted", c.name, c.raw)
		}
	}
}

func BenchmarkStepEWC(b *testing.B) {
	strategytest.BenchSteps(b, "ewc", `{"base":"er","base_params":{"mem_size":100}}`, strategytest.Options{})
}

func BenchmarkStepLwF(b *testing.B) {
	strategytest.BenchSteps(b, "lwf", `{}`, strategytest.Options{})
}

func BenchmarkStepSI(b *testing.B) {
	strategytest.BenchSteps(b, "si", `{}`, strategytest.Options{})
}

// TestMinibatchFisher: granularity minibatch is the mean over the
// experience's mini-batches of the squared gradient of each mini-batch's
// mean cross-entropy; expected is refused with it, and on models without
// per-sample gradients the defaults are refused at validation.
func TestMinibatchFisher(t *testing.T) {
	o := strategytest.Options{BatchSize: 16}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	exp := s.Experiences[0]
	got := make([]float32, len(ctx.Model.Params()))
	estimateFisherMinibatch(ctx, exp, FisherEmpirical, 0, got)

	m := ctx.Model
	want := make([]float32, len(got))
	n, d := exp.Train.Len(), m.InputDim()
	x := make([]float32, 16*d)
	y := make([]int32, 16)
	ws := m.NewWorkspace(16)
	batches := 0
	for at := 0; at < n; at += 16 {
		rows := min(16, n-at)
		pos := make([]int32, rows)
		for i := range pos {
			pos[i] = int32(at + i)
		}
		exp.Train.Gather(x[:rows*d], y[:rows], pos, nil)
		strategies.WeightedGrad(m, ws, x[:rows*d], y[:rows], strategies.Segment{N: rows, Weight: 1})
		for i, g := range m.Grads() {
			want[i] += g * g
		}
		batches++
	}
	for i := range want {
		want[i] *= float32(1 / float64(batches))
		if got[i] != want[i] {
			t.Fatalf("param %d: %v, want %v", i, got[i], want[i])
		}
	}
	strategytest.CheckRejects(t, "ewc", `{"granularity":"minibatch"}`, `{"granularity":"batch"}`)
	r, err := strategies.Resolve("ewc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Strategy.(strategies.ModelChecker).CheckModel(nn.Spec{Arch: "resnet18r"}); err == nil {
		t.Error("ewc with fisher expected accepted a model without per-sample gradients")
	}
	r, _ = strategies.Resolve("ewc", json.RawMessage(`{"fisher":"empirical"}`))
	if err := r.Strategy.(strategies.ModelChecker).CheckModel(nn.Spec{Arch: "resnet18r"}); err != nil {
		t.Errorf("ewc with fisher empirical refused resnet18r: %v", err)
	}
}
