package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/internal/conv"
)

func TestResNet18rParameterCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   Shape
		nf   int
		want int
		feat int
	}{
		{Shape{C: 3, H: 32, W: 32}, 0, 1094750, 160},
		{Shape{C: 3, H: 32, W: 32}, 20, 1094750, 160},
		{Shape{C: 1, H: 28, W: 28}, 20, 1094750 - 2*20*9, 160},
	} {
		m, err := New(Spec{Arch: "resnet18r", Input: tc.in, Classes: 10, NF: tc.nf}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(m.Params()); got != tc.want {
			t.Errorf("%v nf %d: %d parameters, want %d", tc.in, tc.nf, got, tc.want)
		}
		if m.FeatureDim() != tc.feat || m.Spec().NF != 20 {
			t.Errorf("%v: feature dim %d, nf %d; want %d, 20", tc.in, m.FeatureDim(), m.Spec().NF, tc.feat)
		}
		// 20 batch normalisations: 2 running values per channel.
		if got, want := len(m.State()), 2*(20+4*20+5*40+5*80+5*160); got != want {
			t.Errorf("state of %d values, want %d", got, want)
		}
	}
}

func TestConvNetRefusesInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 4, W: 4}, Classes: 10}, "does not fit input 1×4×4"},
		{Spec{Arch: "resnet18r", Input: Shape{C: 3, H: 24, W: 32}, Classes: 10}, "does not fit input 3×24×32"},
		{Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: -1}, "nf -1"},
		{Spec{Arch: "cnn", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: 3}, "no nf"},
		{Spec{Arch: "mlp", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: 3}, "no nf"},
		{Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, Hidden: []int{5}}, "no hidden"},
	} {
		_, err := New(tc.spec, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
	if _, err := New(Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 25, W: 25}, Classes: 2}, nil); err != nil {
		t.Errorf("25×25 refused: %v", err)
	}
	if _, err := New(Spec{Arch: "cnn", Input: Shape{C: 1, H: 1, W: 1}, Classes: 2}, nil); err != nil {
		t.Errorf("cnn on 1×1 refused: %v", err)
	}
}

// randInput returns n rows of dim values.
func randInput(rng *rand.Rand, n, dim int) []float32 {
	x := make([]float32, n*dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// reluPattern appends to p the sign pattern of every rectified
// activation of the last training pass (borders and lanes beyond the
// batch are zero), 64 signs a word.
func reluPattern(p []uint64, m *ConvNet, ws *Workspace) []uint64 {
	tb := ws.cnn.tr
	p = p[:0]
	var w uint64
	k := 0
	add := func(buf []float32) {
		for _, v := range buf {
			if v > 0 {
				w |= 1 << (k & 63)
			}
			if k++; k&63 == 0 {
				p = append(p, w)
				w = 0
			}
		}
	}
	for i, u := range m.units {
		ub := tb.u[i]
		if u.relu || u.kind == unitBlock {
			add(ub.out[:u.out.Len(tb.nb)])
		}
		if u.kind == unitBlock {
			a1 := tb.act1[:u.mid.Len(tb.nb)]
			conv.ClearBorder(u.mid, a1, tb.nb)
			m.bnApply(tb, u.b1, u.mid, a1, ub.h1, nil, nil, true)
			add(a1)
		}
	}
	return append(p, w)
}

// gradCheck compares Backward's gradient of L = Σ w·logits with central
// finite differences on the parameters idx (all when nil), skipping
// those whose perturbation flips a ReLU.
func gradCheck(t *testing.T, m *ConvNet, x []float32, n int, groups []int, idx []int, maxSkip float64) {
	t.Helper()
	gradCheckLoss(t, m, x, n, groups, idx, maxSkip, false)
}

// gradCheckLoss is gradCheck of L = Σ w·logits, plus ½·Σ features² when
// feat is set (its gradient, the features, given through FeatureGrad).
func gradCheckLoss(t *testing.T, m *ConvNet, x []float32, n int, groups []int, idx []int, maxSkip float64, feat bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	C := m.OutputDim()
	wl := randInput(rng, n, C)
	ws := m.NewWorkspace(n)
	ws.SetGroups(groups...)
	loss := func() float64 {
		lg := m.Forward(ws, x, n)
		s := 0.0
		for i, v := range lg {
			s += float64(v) * float64(wl[i])
		}
		if feat {
			for _, v := range m.Features(ws) {
				s += 0.5 * float64(v) * float64(v)
			}
		}
		return s
	}
	m.ZeroGrad()
	loss()
	copy(ws.LogitGrad(), wl)
	if feat {
		copy(m.FeatureGrad(ws), m.Features(ws))
	}
	m.Backward(ws)
	grad := append([]float32(nil), m.Grads()...)
	base := reluPattern(nil, m, ws)
	var cur []uint64
	same := func() bool {
		cur = reluPattern(cur, m, ws)
		return slices.Equal(cur, base)
	}
	if idx == nil {
		for i := range m.params {
			idx = append(idx, i)
		}
	}
	// A finite difference across a ReLU kink is meaningless: a parameter
	// whose perturbation flips a rectified activation is tried again with
	// a smaller step, then skipped (and counted).
	worst, skipped, bad := 0.0, 0, 0
	for _, i := range idx {
		orig := m.params[i]
		fd, ok := 0.0, false
		for _, eps := range []float32{1e-3, 2e-4} {
			m.params[i] = orig + eps
			lp := loss()
			okp := same()
			m.params[i] = orig - eps
			lm := loss()
			okm := same()
			m.params[i] = orig
			if okp && okm {
				fd, ok = (lp-lm)/(2*float64(eps)), true
				break
			}
		}
		if !ok {
			skipped++
			continue
		}
		diff := math.Abs(fd - float64(grad[i]))
		if diff > 5e-3+2e-2*math.Abs(fd) {
			if bad < 10 {
				t.Errorf("param %d: analytic %.6g, finite difference %.6g", i, grad[i], fd)
			}
			bad++
		}
		worst = max(worst, diff)
	}
	if float64(skipped) > maxSkip*float64(len(idx)) {
		t.Errorf("%d of %d parameters sit at a ReLU kink: the check covers too little", skipped, len(idx))
	}
	t.Logf("%d parameters checked (%d at a kink, skipped), worst absolute difference %.3g", len(idx), skipped, worst)
}

func testNet(t *testing.T, in Shape, classes int, units []layerSpec, pool int) *ConvNet {
	t.Helper()
	m, err := newConvNet(netSpec{spec: Spec{Arch: "test", Input: in, Classes: classes}, units: units, pool: pool}, reference)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(3, 1)))
	// Non-trivial batch-normalisation parameters.
	rng := rand.New(rand.NewPCG(4, 1))
	for _, b := range m.bns {
		for c := range b.c {
			m.params[b.gamma+c] = float32(0.5 + rng.Float64())
			m.params[b.beta+c] = float32(rng.Float64() - 0.5)
		}
	}
	return m
}

func TestConvNetGradients(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		in     Shape
		units  []layerSpec
		pool   int
		n      int
		groups []int
	}{
		{"conv3x3 s1 bias", Shape{C: 2, H: 5, W: 4}, []layerSpec{{kind: unitConv, cout: 3, k: 3, stride: 1, pad: 1, bias: true}}, 0, 3, nil},
		{"conv3x3 s2 no bias, relu", Shape{C: 3, H: 7, W: 6}, []layerSpec{{kind: unitConv, cout: 4, k: 3, stride: 2, pad: 1, relu: true}}, 0, 4, nil},
		{"conv1x1 s2 bias", Shape{C: 3, H: 5, W: 5}, []layerSpec{{kind: unitConv, cout: 2, k: 1, stride: 2, pad: 0, bias: true}}, 0, 2, nil},
		{"conv3x3 s1 no padding, 1x1 s1", Shape{C: 1, H: 6, W: 6}, []layerSpec{
			{kind: unitConv, cout: 3, k: 3, stride: 1, pad: 0, bias: true},
			{kind: unitConv, cout: 2, k: 1, stride: 1, pad: 0, bias: false}}, 0, 2, nil},
		{"batch norm groups", Shape{C: 2, H: 4, W: 4}, []layerSpec{{kind: unitConv, cout: 3, k: 3, stride: 1, pad: 1, bn: true}}, 0, 12, []int{5, 7}},
		{"batch norm relu groups across blocks", Shape{C: 1, H: 3, W: 3}, []layerSpec{{kind: unitConv, cout: 2, k: 3, stride: 1, pad: 1, bn: true, relu: true}}, 0, 37, []int{20, 17}},
		{"avg pool 2 floor", Shape{C: 1, H: 5, W: 7}, []layerSpec{{kind: unitConv, cout: 2, k: 3, stride: 1, pad: 1, bias: true}}, 2, 3, nil},
		{"residual blocks", Shape{C: 2, H: 6, W: 6}, []layerSpec{
			{kind: unitBlock, cout: 3, stride: 2},
			{kind: unitBlock, cout: 3, stride: 1}}, 0, 5, []int{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := testNet(t, tc.in, 3, tc.units, tc.pool)
			x := randInput(rand.New(rand.NewPCG(5, 5)), tc.n, m.InputDim())
			gradCheck(t, m, x, tc.n, tc.groups, nil, 0.2)
		})
	}
}

func TestModelGradients(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec    Spec
		n       int
		groups  []int
		maxSkip float64 // resnet18r has thousands of ReLUs: many cross
	}{
		{Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 25, W: 25}, Classes: 3, NF: 2}, 2, []int{1, 1}, 0.5},
		{Spec{Arch: "cnn", Input: Shape{C: 3, H: 8, W: 7}, Classes: 4}, 5, []int{2, 3}, 0.2},
	} {
		t.Run(tc.spec.Arch, func(t *testing.T) {
			t.Parallel()
			mm, err := New(tc.spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := mm.(*ConvNet)
			m.Init(rand.New(rand.NewPCG(1, 7)))
			rng := rand.New(rand.NewPCG(2, 7))
			for _, b := range m.bns {
				for c := range b.c {
					m.params[b.gamma+c] = float32(0.5 + rng.Float64())
					m.params[b.beta+c] = float32(rng.Float64() - 0.5)
				}
			}
			// Every parameter of the head and of the batch
			// normalisations, and a random sample of the convolutions'.
			var idx []int
			for i := m.head.W; i < len(m.params); i++ {
				idx = append(idx, i)
			}
			for _, b := range m.bns {
				for c := range 2 * b.c {
					idx = append(idx, b.gamma+c)
				}
			}
			for _, cr := range m.convs {
				for range 6 {
					idx = append(idx, cr.w+rng.IntN(cr.l.WeightLen()))
				}
			}
			x := randInput(rng, tc.n, m.InputDim())
			gradCheck(t, m, x, tc.n, tc.groups, idx, tc.maxSkip)
		})
	}
}

// TestConvNetMatchesReference compares training passes (batch statistics
// per group, running statistics updated group after group) and
// evaluation passes (folded batch normalisation) with the float64
// reference.
func TestConvNetMatchesReference(t *testing.T) {
	t.Parallel()
	for _, spec := range []Spec{
		{Arch: "cnn", Input: Shape{C: 3, H: 9, W: 8}, Classes: 5},
		{Arch: "resnet18r", Input: Shape{C: 1, H: 28, W: 28}, Classes: 4, NF: 3},
		{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 20, W: 20}, Classes: 4, NF: 3},
		{Arch: "resnet18r-pla", Input: Shape{C: 2, H: 13, W: 10}, Classes: 4, NF: 4},
	} {
		t.Run(spec.Arch, func(t *testing.T) {
			t.Parallel()
			mm, err := New(spec, NewCompute(2))
			if err != nil {
				t.Fatal(err)
			}
			defer mm.Compute().Close()
			m := mm.(*ConvNet)
			m.Init(rand.New(rand.NewPCG(11, 2)))
			rng := rand.New(rand.NewPCG(12, 2))
			for _, b := range m.bns {
				for c := range b.c {
					m.params[b.gamma+c] = float32(0.5 + rng.Float64())
					m.params[b.beta+c] = float32(rng.Float64() - 0.5)
				}
			}
			groups := []int{7, 19}
			n := 26
			d := m.InputDim()
			x := randInput(rng, n, d)
			ws := m.NewWorkspace(n)
			ws.SetGroups(groups...)
			st0 := append([]float32(nil), m.State()...)
			got := m.Forward(ws, x, n)

			ref := &refNet{m: m, params: m.params, train: true, state: make([]float64, len(st0))}
			for i, v := range st0 {
				ref.state[i] = float64(v)
			}
			var want []float64
			r0 := 0
			for _, g := range groups {
				want = append(want, ref.forward(x[r0*d:(r0+g)*d], g)...)
				r0 += g
			}
			closeTo(t, "training logits", got, want, 2e-4)
			closeTo(t, "running statistics", m.State(), ref.state, 1e-5)

			// Evaluation with the updated statistics, in a fresh
			// workspace and one that trained, with a row count that
			// leaves a partial block.
			ref.train = false
			for _, w := range []*Workspace{m.NewWorkspace(n), ws} {
				got = m.Infer(m.Params(), m.State(), w, x, 21)
				closeTo(t, "evaluation logits", got, ref.forward(x, 21), 2e-4)
			}
			// Features are the head's input.
			f := m.Features(ws)
			h := m.head
			for r := range 21 {
				for o := range h.Out {
					v := float64(m.params[h.B+o])
					for i := range h.In {
						v += float64(f[r*h.In+i]) * float64(m.params[h.W+i*h.Out+o])
					}
					if math.Abs(v-float64(got[r*h.Out+o])) > 1e-4*(1+math.Abs(v)) {
						t.Fatalf("row %d class %d: features·W+b = %v, logit %v", r, o, v, got[r*h.Out+o])
					}
				}
			}
		})
	}
}

// closeTo compares float32 results with float64 references, within tol
// relative to the largest reference magnitude.
func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*(scale+1e-3)) {
			t.Fatalf("%s[%d] = %v, want %v (difference %.3g, scale %.3g)", what, i, got[i], want[i], d, scale)
		}
	}
}

// TestConvNetThreadsBitIdentical trains two steps and evaluates with 1,
// 2 and 3 threads: logits, gradients, parameters and running statistics
// must be bit-identical.
func TestConvNetThreadsBitIdentical(t *testing.T) {
	t.Parallel()
	spec := Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: 4}
	rng := rand.New(rand.NewPCG(21, 3))
	n := 40
	x := randInput(rng, n, spec.Input.Dim())
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	var ref [][]float32
	for _, th := range []int{1, 2, 3} {
		c := NewCompute(th)
		m, err := New(spec, c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(rand.New(rand.NewPCG(1, 1)))
		opt := NewSGD(SGDConfig{LR: 0.05, Momentum: 0.9}, len(m.Params()))
		ws := m.NewWorkspace(n)
		ws.SetGroups(17, 23)
		var got [][]float32
		for range 2 {
			m.ZeroGrad()
			logits := m.Forward(ws, x, n)
			got = append(got, append([]float32(nil), logits...))
			SoftmaxCE(logits[:17*10], 17, 10, y[:17], SoftmaxMask{}, 0.5/17, ws.LogitGrad())
			SoftmaxCE(logits[17*10:], 23, 10, y[17:], SoftmaxMask{}, 0.5/23, ws.LogitGrad()[17*10:])
			m.Backward(ws)
			got = append(got, append([]float32(nil), m.Grads()...))
			opt.Step(m.Params(), m.Grads())
		}
		got = append(got, append([]float32(nil), m.Params()...), append([]float32(nil), m.State()...))
		ev := m.NewWorkspace(n)
		got = append(got, append([]float32(nil), m.Infer(m.Params(), m.State(), ev, x, n)...))
		c.Close()
		if th == 1 {
			ref = got
			continue
		}
		for i := range got {
			for j := range got[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(ref[i][j]) {
					t.Fatalf("%d threads: result %d differs at %d: %v vs %v", th, i, j, got[i][j], ref[i][j])
				}
			}
		}
	}
}

// TestConvNetAllocationFree checks that training and evaluation passes
// allocate nothing once the workspace has seen its batch sizes.
func TestConvNetAllocationFree(t *testing.T) {
	for _, th := range []int{1, 2} {
		c := NewCompute(th)
		m, err := New(Spec{Arch: "cnn", Input: Shape{C: 1, H: 12, W: 12}, Classes: 10}, c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(rand.New(rand.NewPCG(1, 2)))
		n := 40
		x := randInput(rand.New(rand.NewPCG(2, 2)), n, m.InputDim())
		ws := m.NewWorkspace(n)
		ev := m.NewWorkspace(n)
		opt := NewSGD(SGDConfig{LR: 0.01, Momentum: 0.9}, len(m.Params()))
		step := func() {
			ws.SetGroups(20, 20)
			m.ZeroGrad()
			m.Forward(ws, x, n)
			clear(ws.LogitGrad())
			ws.LogitGrad()[3] = 1
			m.Backward(ws)
			opt.Step(m.Params(), m.Grads())
			m.Infer(m.Params(), m.State(), ev, x, n)
			m.Infer(m.Params(), m.State(), ev, x, 7)
		}
		step()
		if a := testing.AllocsPerRun(5, step); a != 0 {
			t.Errorf("%d threads: %v allocations per training step and evaluation", th, a)
		}
		c.Close()
	}
}

// TestConvNetEvaluationArenas checks that evaluation passes read the
// arenas they are given and change none of the model's, and that
// InferInputs agrees with Infer.
func TestConvNetEvaluationArenas(t *testing.T) {
	t.Parallel()
	m, err := New(Spec{Arch: "cnn", Input: Shape{C: 1, H: 6, W: 6}, Classes: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(8, 8)))
	rng := rand.New(rand.NewPCG(9, 8))
	n := 19
	x := randInput(rng, n, m.InputDim())
	ws := m.NewWorkspace(n)
	m.Forward(ws, x, n) // running statistics away from their initial values
	params := append([]float32(nil), m.Params()...)
	state := append([]float32(nil), m.State()...)
	grads := append([]float32(nil), m.Grads()...)

	// Another arena: all weights zero, the head's bias (1, 2, 3): every
	// row's logits are the bias whatever the statistics.
	other := make([]float32, len(params))
	h := m.Head()
	copy(other[h.B:], []float32{1, 2, 3})
	otherState := append([]float32(nil), state...)
	got := m.Infer(other, otherState, ws, x, n)
	for r := range n {
		if got[r*3] != 1 || got[r*3+1] != 2 || got[r*3+2] != 3 {
			t.Fatalf("row %d: logits %v with a zero network and bias (1, 2, 3)", r, got[r*3:r*3+3])
		}
	}
	want := append([]float32(nil), m.Infer(m.Params(), m.State(), ws, x, n)...)
	in := m.NewInputs()
	in.Append(x[:5*m.InputDim()], 5)
	in.Append(x[5*m.InputDim():], n-5)
	got = m.InferInputs(m.Params(), m.State(), ws, in, 3, 9)
	for i := range got {
		if got[i] != want[3*3+i] {
			t.Fatalf("InferInputs rows 3..11: value %d = %v, Infer %v", i, got[i], want[3*3+i])
		}
	}
	for _, a := range []struct {
		name      string
		got, want []float32
	}{{"params", m.Params(), params}, {"state", m.State(), state}, {"grads", m.Grads(), grads}, {"other state", otherState, state}} {
		if !slices.Equal(a.got, a.want) {
			t.Errorf("evaluation changed the %s", a.name)
		}
	}
	// An empty batch: empty logits, no statistics updated.
	st := append([]float32(nil), m.State()...)
	if got := m.Forward(ws, x, 0); len(got) != 0 || !slices.Equal(m.State(), st) {
		t.Errorf("empty training pass: %d logits, state changed: %v", len(got), !slices.Equal(m.State(), st))
	}
	if got := m.Infer(m.Params(), m.State(), ws, x, 0); len(got) != 0 {
		t.Errorf("empty evaluation: %d logits", len(got))
	}
	// Backward needs a training pass.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Backward after Infer did not panic")
			}
		}()
		ws.LogitGrad()
		m.Backward(ws)
	}()
	// Groups must cover the batch.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("groups of 3+4 rows for a batch of 19 accepted")
			}
		}()
		ws.SetGroups(3, 4)
		m.Forward(ws, x, n)
	}()
}

// TestConvNetFoldCache checks that a workspace folds again when the
// arenas it evaluates change in place.
func TestConvNetFoldCache(t *testing.T) {
	t.Parallel()
	m, err := New(Spec{Arch: "cnn", Input: Shape{C: 1, H: 8, W: 8}, Classes: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(3, 3)))
	x := randInput(rand.New(rand.NewPCG(4, 3)), 5, m.InputDim())
	ws := m.NewWorkspace(5)
	before := append([]float32(nil), m.Infer(m.Params(), m.State(), ws, x, 5)...)
	for _, change := range []func(){
		func() { m.Params()[7] += 0.5 },               // a convolution weight
		func() { m.State()[len(m.State())-1] *= 2 },   // a running variance
		func() { m.Params()[len(m.Params())-1] += 1 }, // the head's bias
	} {
		change()
		got := m.Infer(m.Params(), m.State(), ws, x, 5)
		want := m.Infer(m.Params(), m.State(), m.NewWorkspace(5), x, 5)
		if !slices.Equal(got, want) {
			t.Fatalf("after a change in place: logits %v, a fresh workspace gives %v", got, want)
		}
		if slices.Equal(got, before) {
			t.Fatal("a change of the arenas did not change the logits")
		}
		before = append(before[:0], got...)
	}
}
