package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lossOf runs a forward pass and returns the mean cross-entropy (float64).
func lossOf(m *MLP, ws *Workspace, x []float32, y []int32, n int, mask []bool) float64 {
	logits := m.Forward(ws, x, n)
	l, _ := SoftmaxCE(logits, n, m.OutputDim(), y, SoftmaxMask{Mask: mask}, 0, nil)
	return l / float64(n)
}

func TestMLPGradientMatchesFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		n     int
		mask  bool
	}{
		{"one layer", []int{5, 3}, 4, false},
		{"two hidden", []int{6, 7, 5, 4}, 5, false},
		{"masked softmax", []int{6, 8, 5}, 3, true},
		{"sparse input", []int{40, 24, 5}, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := NewMLP(tc.sizes, nil)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(rng)
			// Larger weights so that ReLUs are both on and off and the loss is not flat.
			for i := range m.params {
				m.params[i] *= 3
			}
			C := m.OutputDim()
			x := make([]float32, tc.n*m.InputDim())
			for i := range x {
				x[i] = float32(rng.NormFloat64())
				if tc.name == "sparse input" && rng.IntN(5) > 0 {
					x[i] = 0 // 80 % zeros: the sparse first layer
				}
			}
			var mask []bool
			if tc.mask {
				mask = make([]bool, C)
				mask[1], mask[3] = true, true
			}
			y := make([]int32, tc.n)
			for i := range y {
				if mask != nil {
					y[i] = []int32{1, 3}[rng.IntN(2)]
				} else {
					y[i] = int32(rng.IntN(C))
				}
			}
			ws := m.NewWorkspace(tc.n)
			m.ZeroGrad()
			logits := m.Forward(ws, x, tc.n)
			if ws.mlp.sparse0 != (tc.name == "sparse input") {
				t.Fatalf("sparse first layer used: %v", ws.mlp.sparse0)
			}
			SoftmaxCE(logits, tc.n, C, y, SoftmaxMask{Mask: mask}, 1/float32(tc.n), ws.LogitGrad())
			m.Backward(ws)
			grad := append([]float32(nil), m.Grads()...)

			// A finite difference across a ReLU kink is meaningless: such
			// parameters are skipped (and counted).
			pattern := func() []bool {
				var p []bool
				for l := 0; l+1 < len(ws.mlp.acts); l++ {
					for _, a := range ws.mlp.acts[l][:tc.n*m.layers[l].out] {
						p = append(p, a > 0)
					}
				}
				return p
			}
			base := pattern()
			same := func(p []bool) bool {
				for i := range p {
					if p[i] != base[i] {
						return false
					}
				}
				return true
			}
			const eps = 1e-2
			worst, skipped := 0.0, 0
			for i := range m.params {
				orig := m.params[i]
				m.params[i] = orig + eps
				lp := lossOf(m, ws, x, y, tc.n, mask)
				okp := same(pattern())
				m.params[i] = orig - eps
				lm := lossOf(m, ws, x, y, tc.n, mask)
				okm := same(pattern())
				m.params[i] = orig
				if !okp || !okm {
					skipped++
					continue
				}
				fd := (lp - lm) / (2 * eps)
				diff := math.Abs(fd - float64(grad[i]))
				tol := 2e-3 + 2e-2*math.Abs(fd)
				if diff > tol {
					t.Errorf("param %d: analytic %.6g, finite difference %.6g", i, grad[i], fd)
				}
				worst = max(worst, diff)
			}
			if skipped > len(m.params)/10 {
				t.Errorf("%d of %d parameters sit at a ReLU kink: the check covers too little", skipped, len(m.params))
			}
			t.Logf("%d parameters (%d at a kink, skipped), worst absolute difference %.3g", len(m.params), skipped, worst)
		})
	}
}

func TestBackwardAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, _ := NewMLP([]int{4, 6, 3}, nil)
	m.Init(rng)
	x := make([]float32, 2*4)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := []int32{0, 2}
	ws := m.NewWorkspace(2)
	step := func() {
		SoftmaxCE(m.Forward(ws, x, 2), 2, 3, y, SoftmaxMask{}, 0.5, ws.LogitGrad())
		m.Backward(ws)
	}
	m.ZeroGrad()
	step()
	once := append([]float32(nil), m.Grads()...)
	step()
	for i, g := range m.Grads() {
		if math.Abs(float64(g-2*once[i])) > 1e-6*(1+math.Abs(float64(g))) {
			t.Fatalf("grad %d after two backward passes = %v, want 2×%v", i, g, once[i])
		}
	}
}

func TestSoftmaxCE(t *testing.T) {
	// Row 0: logits (1, 2, 3), label 2. lse = 3 + log(e^-2 + e^-1 + 1) = 3.40760596...
	// Row 1: logits (0, 0, 0), label 0: tie, argmax is the first (0) → correct; loss log 3.
	logits := []float32{1, 2, 3, 0, 0, 0}
	y := []int32{2, 0}
	d := make([]float32, 6)
	loss, correct := SoftmaxCE(logits, 2, 3, y, SoftmaxMask{}, 0.5, d)
	lse := 3 + math.Log(math.Exp(-2)+math.Exp(-1)+1)
	want := (lse - 3) + math.Log(3)
	if math.Abs(loss-want) > 1e-6 {
		t.Errorf("loss %v, want %v", loss, want)
	}
	if correct != 2 {
		t.Errorf("correct %d, want 2", correct)
	}
	// gradient row 1: 0.5*(1/3 - 1, 1/3, 1/3)
	for c, w := range []float64{0.5 * (1.0/3 - 1), 0.5 / 3, 0.5 / 3} {
		if math.Abs(float64(d[3+c])-w) > 1e-6 {
			t.Errorf("dlogits[1][%d] = %v, want %v", c, d[3+c], w)
		}
	}

	// Masked: classes {0, 1} only. Row 0 label 1: lse = log(e^1+e^2); argmax 1 → correct.
	mask := []bool{true, true, false}
	d2 := []float32{9, 9, 9, 9, 9, 9}
	loss, correct = SoftmaxCE(logits[:3], 1, 3, []int32{1}, SoftmaxMask{Mask: mask}, 1, d2)
	want = math.Log(math.Exp(1)+math.Exp(2)) - 2
	if math.Abs(loss-want) > 1e-6 || correct != 1 {
		t.Errorf("masked: loss %v correct %d, want %v 1", loss, correct, want)
	}
	if d2[2] != 0 {
		t.Errorf("masked class gradient %v, want exactly 0", d2[2])
	}
	if s := d2[0] + d2[1]; math.Abs(float64(s)) > 1e-7 {
		t.Errorf("masked gradient row sums to %v, want 0", s)
	}
}

func TestSGDMatchesHandComputedSteps(t *testing.T) {
	cases := []struct {
		name string
		cfg  SGDConfig
		// two steps with gradients g1, g2 from p0
		want float64
	}{
		// plain: p = 1 - 0.1*0.5 - 0.1*0.25 = 0.925
		{"plain", SGDConfig{LR: 0.1}, 0.925},
		// momentum 0.9: v1 = 0.5, p1 = 0.95; v2 = 0.45+0.25 = 0.7, p2 = 0.95-0.07 = 0.88
		{"momentum", SGDConfig{LR: 0.1, Momentum: 0.9}, 0.88},
		// weight decay 0.1: g1' = 0.5+0.1 = 0.6, p1 = 0.94; g2' = 0.25+0.094 = 0.344, p2 = 0.94-0.0344 = 0.9056
		{"weight decay", SGDConfig{LR: 0.1, WeightDecay: 0.1}, 0.9056},
		// nesterov 0.9: v1 = 0.5, g = 0.5+0.45 = 0.95, p1 = 0.905; v2 = 0.7, g = 0.25+0.63 = 0.88, p2 = 0.817
		{"nesterov", SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}, 0.817},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			p := []float32{1}
			o := NewSGD(tc.cfg, 1)
			o.Step(p, []float32{0.5})
			o.Step(p, []float32{0.25})
			if math.Abs(float64(p[0])-tc.want) > 1e-6 {
				t.Errorf("after two steps p = %v, want %v", p[0], tc.want)
			}
		})
	}
}

func TestSGDConfigValidate(t *testing.T) {
	for _, c := range []SGDConfig{{LR: 0}, {LR: -1}, {LR: math.NaN()}, {LR: 0.1, Momentum: 1}, {LR: 0.1, Momentum: -0.1}, {LR: 0.1, WeightDecay: -1}, {LR: 0.1, Nesterov: true}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestInitBounds(t *testing.T) {
	m, _ := NewMLP([]int{784, 400, 10}, nil)
	m.Init(rand.New(rand.NewPCG(0, 0)))
	for _, L := range m.layers {
		bound := 1 / math.Sqrt(float64(L.in))
		var sum, sq float64
		cnt := L.in * L.out
		for _, v := range m.params[L.w : L.w+cnt] {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("weight %v outside ±%v", v, bound)
			}
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		// U(-b, b): mean 0, variance b²/3.
		mean, variance := sum/float64(cnt), sq/float64(cnt)
		if math.Abs(mean) > 0.02*bound || math.Abs(variance-bound*bound/3) > 0.03*bound*bound/3 {
			t.Errorf("layer %dx%d: mean %v variance %v, want 0 and %v", L.in, L.out, mean, variance, bound*bound/3)
		}
		for _, v := range m.params[L.b : L.b+L.out] {
			if math.Abs(float64(v)) > bound || v == 0 {
				t.Fatalf("bias %v outside ±%v or zero", v, bound)
			}
		}
	}
}

func TestInferWithOtherArena(t *testing.T) {
	m, _ := NewMLP([]int{3, 4, 2}, nil)
	m.Init(rand.New(rand.NewPCG(5, 5)))
	other := make([]float32, len(m.Params()))
	// All weights zero, biases of the head (last 2 entries) 1 and 2: logits = (1, 2).
	other[len(other)-2], other[len(other)-1] = 1, 2
	ws := m.NewWorkspace(1)
	out := m.Infer(other, nil, ws, []float32{1, 2, 3}, 1)
	if out[0] != 1 || out[1] != 2 {
		t.Errorf("logits %v, want [1 2]", out)
	}
}
