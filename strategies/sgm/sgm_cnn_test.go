package sgm

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies/strategytest"
)

// cnnOpts is a 6-class stream of 1×6×6 images and the cnn model.
var cnnOpts = strategytest.Options{Arch: "cnn", Dim: 36}

// TestPropertiesCNN runs the strategy kit on SGM over ER on
// convolutional models (batch normalisation, adapters on convolution
// kernels): every component on a narrow Sta-Net, the components but lora
// on cnn (whose larger kernels make the reference engine of the kit's
// models allocate in its products; TestLoRAAllocationFree covers them
// with cleval's own).
func TestPropertiesCNN(t *testing.T) {
	t.Run("resnet18r-sta", func(t *testing.T) {
		strategytest.Check(t, "sgm", `{`+erBase+`,"rank":3,"lora_alpha":6}`,
			strategytest.Options{Arch: "resnet18r-sta", NF: 2, Dim: 64})
	})
	t.Run("cnn", func(t *testing.T) {
		strategytest.Check(t, "sgm", `{`+erBase+`,"components":["init","soft","oocf"]}`, cnnOpts)
	})
}

// TestLoRAAllocationFree: a step of SGM with every component on cnn
// computing with cleval's kernels (1 and 2 threads) allocates nothing.
func TestLoRAAllocationFree(t *testing.T) {
	for _, threads := range []int{1, 2} {
		s := strategytest.Stream(cnnOpts)
		ctx := strategytest.Context(s, cnnOpts)
		c := nn.NewCompute(threads)
		m, err := nn.New(ctx.Model.Spec(), c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(rand.New(rand.NewPCG(1, 1)))
		ctx.Model = m
		ctx.Optimizer = nn.NewSGD(nn.SGDConfig{LR: 0.05, Momentum: 0.9}, len(m.Params()))
		d := strategytest.NewDriver(t, ctx, strategytest.New(t, "sgm", `{`+erBase+`,"rank":4,"lora_alpha":8}`))
		d.Experience(t, 1, 1)
		l := d.Start(t, 2)
		for range 3 {
			d.Step(t, l)
		}
		if a := testing.AllocsPerRun(10, func() { d.Step(t, l) }); a != 0 {
			t.Errorf("%d threads: %v allocations per step", threads, a)
		}
		c.Close()
	}
}

// TestLoRAOnConvNet: during an experience with LoRA on a ConvNet every
// convolution kernel (a Cout×(Cin·K·K) matrix) is W0 + s·P·Q, the
// unmerged layer (W0·v + s·P·(Q·v) on a patch v) equals the merged
// kernel's, the adapters start with the input-side factor Q drawn in
// ±1/√(Cin·K·K) and P = 0, every parameter outside the head (batch
// normalisations included) stays bit-identical to the experience start
// while the head learns, and the merge at the experience end leaves the
// model's function bit-identical.
func TestLoRAOnConvNet(t *testing.T) {
	s := strategytest.Stream(cnnOpts)
	ctx := strategytest.Context(s, cnnOpts)
	st := strategytest.New(t, "sgm", `{`+erBase+`,"components":["lora"],"rank":3,"lora_alpha":6}`)
	d := strategytest.NewDriver(t, ctx, st)
	sg := st.(*SGM)
	d.Experience(t, 1, 1)
	m := ctx.Model
	start := slices.Clone(m.Params())
	l := d.Start(t, 2)
	r := sg.cfg.Rank
	mats := m.(nn.WeightMatrices).Matrices()
	if len(sg.layers) != len(mats) || len(mats) != 3 {
		t.Fatalf("%d adapters for %d matrices, want one on each of cnn's 3 convolutions", len(sg.layers), len(mats))
	}
	for i, a := range sg.layers {
		if a.M != mats[i] {
			t.Fatalf("adapter %d on %+v, want %+v", i, a.M, mats[i])
		}
		P, Q := sg.lp[a.p:a.p+a.M.Rows*r], sg.lp[a.q:a.q+r*a.M.Cols]
		bound := 1 / math.Sqrt(float64(a.M.Cols))
		drawn := false
		for _, v := range Q {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("adapter %d: Q value %v outside ±%v", i, v, bound)
			}
			drawn = drawn || v != 0
		}
		if !drawn || slices.ContainsFunc(P, func(v float32) bool { return v != 0 }) {
			t.Fatalf("adapter %d: want Q drawn and P = 0 at the start", i)
		}
	}
	for range 10 {
		d.Step(t, l)
	}
	p := m.Params()
	h := m.Head()
	inHead := func(i int) bool { return (i >= h.W && i < h.W+h.In*h.Out) || (i >= h.B && i < h.B+h.Out) }
	inMatrix := func(i int) bool {
		for _, mx := range mats {
			if i >= mx.W && i < mx.W+mx.Rows*mx.Cols {
				return true
			}
		}
		return false
	}
	headMoved := false
	for i := range p {
		switch {
		case inHead(i):
			headMoved = headMoved || p[i] != start[i]
		case !inMatrix(i) && math.Float32bits(p[i]) != math.Float32bits(start[i]):
			t.Fatalf("parameter %d (outside the head and the kernels) moved: %v -> %v", i, start[i], p[i])
		}
	}
	if !headMoved {
		t.Error("the head did not learn")
	}
	sc := float64(sg.scale)
	rng := rand.New(rand.NewPCG(3, 4))
	trained := false
	for _, a := range sg.layers {
		R, C := a.M.Rows, a.M.Cols
		P, Q := sg.lp[a.p:a.p+R*r], sg.lp[a.q:a.q+r*C]
		trained = trained || slices.ContainsFunc(P, func(v float32) bool { return v != 0 })
		v := make([]float64, C) // a patch: the input channels × the kernel window
		for j := range v {
			v[j] = rng.NormFloat64()
		}
		for o := range R {
			unmerged, merged := 0.0, 0.0
			for j := range C {
				unmerged += float64(start[a.M.W+o*C+j]) * v[j]
				merged += float64(p[a.M.W+o*C+j]) * v[j]
			}
			for k := range r {
				qv := 0.0
				for j := range C {
					qv += float64(Q[k*C+j]) * v[j]
				}
				unmerged += sc * float64(P[o*r+k]) * qv
			}
			if math.Abs(unmerged-merged) > 1e-5*(1+math.Abs(unmerged)) {
				t.Fatalf("kernel at %d, output channel %d: unmerged %v, merged %v", a.M.W, o, unmerged, merged)
			}
		}
	}
	if !trained {
		t.Fatal("the adapters did not train")
	}
	x := make([]float32, 5*m.InputDim())
	for i := range x {
		x[i] = float32(math.Cos(float64(i)))
	}
	ws := m.NewWorkspace(5)
	before := slices.Clone(m.Infer(m.Params(), m.State(), ws, x, 5))
	if err := st.AfterExperience(ctx, s.Experiences[1]); err != nil {
		t.Fatal(err)
	}
	after := m.Infer(m.Params(), m.State(), ws, x, 5)
	for i := range after {
		if math.Float32bits(after[i]) != math.Float32bits(before[i]) {
			t.Fatalf("logit %d changed by the merge: %v -> %v", i, before[i], after[i])
		}
	}
	for _, a := range sg.layers {
		if slices.ContainsFunc(sg.lp[a.p:a.p+a.M.Rows*r], func(v float32) bool { return v != 0 }) {
			t.Fatal("P is not 0 after the merge")
		}
	}
}

// opaque is a model that hides every optional capability of the model it
// wraps.
type opaque struct {
	nn.Model
	spec nn.Spec
}

func (o opaque) Spec() nn.Spec { return o.spec }

func init() {
	nn.RegisterArch(nn.Arch{Name: "sgm-test-opaque", Summary: "an mlp without its capabilities",
		New: func(spec nn.Spec, c *nn.Compute) (nn.Model, error) {
			m, err := nn.New(nn.Spec{Arch: "mlp", Input: spec.Input, Classes: spec.Classes, Hidden: []int{8}}, c)
			return opaque{m, spec}, err
		},
		Check: func(spec nn.Spec) (nn.Footprint, error) {
			return nn.Check(nn.Spec{Arch: "mlp", Input: spec.Input, Classes: spec.Classes, Hidden: []int{8}})
		}})
}

// TestCheckModel: lora is refused on a model without weight matrices
// once the whole spec is known; without lora, with only the architecture
// fields, and on the mlp and cnn, SGM is accepted.
func TestCheckModel(t *testing.T) {
	full := func(arch string) nn.Spec {
		return nn.Spec{Arch: arch, Input: nn.Shape{C: 1, H: 6, W: 6}, Classes: 4, Hidden: map[string][]int{"mlp": {5}}[arch]}
	}
	check := func(params string, spec nn.Spec) error {
		return strategytest.New(t, "sgm", params).(*SGM).CheckModel(spec)
	}
	err := check(`{}`, full("sgm-test-opaque"))
	if err == nil || !strings.Contains(err.Error(), "sgm: component lora adapts the weight matrices") || !strings.Contains(err.Error(), "sgm-test-opaque") {
		t.Errorf("lora on a model without weight matrices: %v", err)
	}
	for _, tc := range []struct {
		params string
		spec   nn.Spec
	}{
		{`{"components":["init","soft","oocf"]}`, full("sgm-test-opaque")},
		{`{}`, nn.Spec{Arch: "sgm-test-opaque"}},
		{`{}`, full("mlp")},
		{`{}`, full("cnn")},
		{`{}`, full("resnet18r-sta")},
	} {
		if err := check(tc.params, tc.spec); err != nil {
			t.Errorf("%s on %s: %v", tc.params, tc.spec.Arch, err)
		}
	}
	// The wrapped strategy's checks are forwarded.
	if err := check(`{"base":"ewc","base_params":{"fisher":"expected"}}`, full("cnn")); err == nil {
		t.Error("the wrapped strategy's refusal was not forwarded")
	}
}
