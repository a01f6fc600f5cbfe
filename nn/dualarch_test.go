package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestDualArchParameterCounts: the Sta-Net and Pla-Net of the reduced
// ResNet-18 have the parameter counts of their layers (checked by hand
// for the Sta-Net, against the well-known 11 220 132 of the CIFAR
// ResNet-18 with 100 classes for the layout at width 64), the counts do
// not depend on the input's size, the Pla-Net's width is the largest
// whose count does not exceed the Sta-Net's, and the features are 4·8nf
// and 8w.
func TestDualArchParameterCounts(t *testing.T) {
	t.Parallel()
	// The full-width CIFAR ResNet-18 (width 64, 100 classes), the
	// authors' Sta-Net of it (depth 10, final size 2) and their Pla-Net
	// (width 42).
	cifar := Spec{Input: Shape{C: 3, H: 32, W: 32}, Classes: 100}
	if got := resnetSpec(cifar, 64, 2, 0, 1).params(); got != 11220132 {
		t.Errorf("ResNet-18 (CIFAR, 100 classes): %d parameters, want 11220132", got)
	}
	// Sta-Net 64: stem 1 728 + 128; stage 1: 2·36 864 + 256; stage 2:
	// 73 728 + 147 456 + 8 192 + 768; stage 3: 294 912 + 589 824 +
	// 32 768 + 1 536; stage 4: 1 179 648 + 2 359 296 + 131 072 + 3 072;
	// head 2 048·100 + 100.
	if got := staSpec(cifar, 64).params(); got != 5103012 {
		t.Errorf("Sta-Net 64: %d parameters, want 5103012", got)
	}
	if w, err := PlaNetWidth(64, 3, 100); err != nil || w != 43 {
		t.Errorf("Pla-Net paired with Sta-Net 64: width %d (%v), want 43", w, err)
	}
	if got := plaSpec(cifar, 43).params(); got != 5078787 {
		t.Errorf("Pla-Net 43: %d parameters, want 5078787", got)
	}
	if got := plaSpec(cifar, 44).params(); got <= 5103012 {
		t.Errorf("Pla-Net 44 has %d parameters, not more than the Sta-Net's: 43 is not the largest width", got)
	}
	for _, tc := range []struct {
		arch        string
		in          Shape
		classes, nf int
		params      int
		feat, width int
	}{
		{"resnet18r-sta", Shape{C: 1, H: 28, W: 28}, 10, 0, 485990, 640, 20},
		{"resnet18r-sta", Shape{C: 1, H: 28, W: 28}, 10, 20, 485990, 640, 20},
		{"resnet18r-sta", Shape{C: 1, H: 9, W: 13}, 10, 20, 485990, 640, 20},
		{"resnet18r-sta", Shape{C: 3, H: 32, W: 32}, 10, 20, 486350, 640, 20},
		{"resnet18r-pla", Shape{C: 1, H: 28, W: 28}, 10, 20, 463473, 104, 13},
		{"resnet18r-pla", Shape{C: 1, H: 5, W: 40}, 10, 0, 463473, 104, 13},
		{"resnet18r-pla", Shape{C: 3, H: 32, W: 32}, 10, 20, 463707, 104, 13},
	} {
		m, err := New(Spec{Arch: tc.arch, Input: tc.in, Classes: tc.classes, NF: tc.nf}, nil)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.arch, tc.in, err)
		}
		cn := m.(*ConvNet)
		if got := len(m.Params()); got != tc.params {
			t.Errorf("%s %v nf %d: %d parameters, want %d", tc.arch, tc.in, tc.nf, got, tc.params)
		}
		if cn.FeatureDim() != tc.feat || m.Spec().NF != 20 || cn.convs[0].l.Cout != tc.width {
			t.Errorf("%s %v: feature dim %d, nf %d, width %d; want %d, 20, %d", tc.arch, tc.in, cn.FeatureDim(), m.Spec().NF, cn.convs[0].l.Cout, tc.feat, tc.width)
		}
	}
	// The Sta-Net has half resnet18r's blocks: 1 + 4 units, 1 + 4·2 + 3
	// convolutions; the Pla-Net resnet18r's 1 + 8 units.
	sta, _ := New(Spec{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10}, nil)
	pla, _ := New(Spec{Arch: "resnet18r-pla", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10}, nil)
	if u, c := len(sta.(*ConvNet).units), len(sta.(*ConvNet).convs); u != 5 || c != 12 {
		t.Errorf("Sta-Net: %d units, %d convolutions; want 5, 12", u, c)
	}
	if u, c := len(pla.(*ConvNet).units), len(pla.(*ConvNet).convs); u != 9 || c != 20 {
		t.Errorf("Pla-Net: %d units, %d convolutions; want 9, 20", u, c)
	}
}

// TestNetSpecParams: the analytic count agrees with the arenas newConvNet
// lays out, for every architecture and pooling.
func TestNetSpecParams(t *testing.T) {
	t.Parallel()
	spec := Spec{Input: Shape{C: 2, H: 29, W: 27}, Classes: 7}
	for _, ns := range []netSpec{
		resnetSpec(spec, 3, 2, 4, 0), staSpec(spec, 3), plaSpec(spec, 3), resnetSpec(spec, 2, 3, 0, 3),
		{spec: spec, units: []layerSpec{{kind: unitConv, cout: 4, k: 3, stride: 2, pad: 0, bias: true}, {kind: unitConv, cout: 5, k: 1, stride: 1, bn: true}}, pool: 2},
	} {
		m, err := newConvNet(ns, reference)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ns.params(), len(m.Params()); got != want {
			t.Errorf("%+v: counted %d parameters, the model has %d", ns.units, got, want)
		}
	}
}

func TestDualArchNetsRefuse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Arch: "resnet18r-pla", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: 1}, "no width fits the 1623 parameters of resnet18r-sta with nf 1"},
		{Spec{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: -2}, "nf -2"},
		{Spec{Arch: "resnet18r-pla", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, Hidden: []int{4}}, "no hidden"},
	} {
		_, err := New(tc.spec, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
	for _, a := range []string{"resnet18r", "resnet18r-sta", "resnet18r-pla"} {
		if !HasWidth(a) {
			t.Errorf("%s: no width", a)
		}
	}
	for _, a := range []string{"mlp", "cnn", "nope"} {
		if HasWidth(a) {
			t.Errorf("%s: a width", a)
		}
	}
}

// TestAdaptiveWindows checks PyTorch's adaptive pooling windows on sizes
// that divide, overlap and repeat.
func TestAdaptiveWindows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n, out int
		want   [][2]int
	}{
		{4, 2, [][2]int{{0, 2}, {2, 4}}},
		{3, 2, [][2]int{{0, 2}, {1, 3}}},
		{1, 2, [][2]int{{0, 1}, {0, 1}}},
		{5, 1, [][2]int{{0, 5}}},
		{7, 3, [][2]int{{0, 3}, {2, 5}, {4, 7}}},
	} {
		if got := adaptiveWindows(tc.n, tc.out); !slices.Equal(got, tc.want) {
			t.Errorf("%d to %d: %v, want %v", tc.n, tc.out, got, tc.want)
		}
	}
	if got := poolWindows(5, 2); !slices.Equal(got, [][2]int{{0, 2}, {2, 4}}) {
		t.Errorf("kernel 2 on 5: %v", got)
	}
}

// TestWeightMatrices: the matrices of an MLP are its hidden layers'
// In×Out weights; those of a ConvNet its convolutions' Cout×(Cin·K·K)
// kernels; with the batch normalisations and the head they cover every
// parameter exactly once; and row o of a convolution's matrix is output
// channel o's weights (a change to it moves that channel only).
func TestWeightMatrices(t *testing.T) {
	t.Parallel()
	mlp, _ := NewMLP([]int{6, 5, 4, 3}, nil)
	got := mlp.Matrices()
	want := []Matrix{{Rows: 6, Cols: 5, W: 0, B: 30, InputRows: true}, {Rows: 5, Cols: 4, W: 35, B: 55, InputRows: true}}
	if !slices.Equal(got, want) {
		t.Errorf("MLP matrices %+v, want %+v", got, want)
	}
	if got[0].In() != 6 {
		t.Errorf("MLP layer 0: In %d, want 6", got[0].In())
	}
	for _, spec := range []Spec{
		{Arch: "resnet18r", Input: Shape{C: 3, H: 28, W: 28}, Classes: 5, NF: 2},
		{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 8, W: 8}, Classes: 5, NF: 2},
		{Arch: "cnn", Input: Shape{C: 2, H: 6, W: 6}, Classes: 5},
	} {
		m, err := New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		cn := m.(*ConvNet)
		mats := cn.Matrices()
		if len(mats) != len(cn.convs) {
			t.Fatalf("%s: %d matrices for %d convolutions", spec.Arch, len(mats), len(cn.convs))
		}
		covered := make([]int, len(m.Params()))
		mark := func(lo, n int) {
			for i := lo; i < lo+n; i++ {
				covered[i]++
			}
		}
		for i, mx := range mats {
			l := cn.convs[i].l
			if mx.Rows != l.Cout || mx.Cols != l.Cin*l.K*l.K || mx.InputRows || mx.In() != l.Cin*l.K*l.K || mx.B != -1 {
				t.Errorf("%s: matrix %d %+v for a %d→%d %dx%d convolution", spec.Arch, i, mx, l.Cin, l.Cout, l.K, l.K)
			}
			if i > 0 && mx.W <= mats[i-1].W {
				t.Errorf("%s: matrices out of the arenas' order", spec.Arch)
			}
			mark(mx.W, mx.Rows*mx.Cols)
		}
		for _, b := range cn.bns {
			mark(b.gamma, 2*b.c)
		}
		h := m.Head()
		mark(h.W, (h.In+1)*h.Out)
		for i, c := range covered {
			if c != 1 {
				t.Fatalf("%s: parameter %d covered %d times", spec.Arch, i, c)
			}
		}
	}
	// The stem's row 1 is output channel 1: on a one-convolution network
	// without batch normalisation, changing it changes channel 1 only.
	cn := testNet(t, Shape{C: 2, H: 4, W: 4}, 3, []layerSpec{{kind: unitConv, cout: 3, k: 3, stride: 1, pad: 1, bias: true}}, 1)
	x := randInput(rand.New(rand.NewPCG(1, 5)), 2, cn.InputDim())
	ws := cn.NewWorkspace(2)
	cn.Infer(cn.Params(), cn.State(), ws, x, 2)
	before := slices.Clone(cn.Features(ws))
	mx := cn.Matrices()[0]
	p := slices.Clone(cn.Params())
	for j := range mx.Cols {
		p[mx.W+1*mx.Cols+j] += 0.5
	}
	cn.Infer(p, cn.State(), ws, x, 2)
	after := cn.Features(ws)
	per := cn.FeatureDim() / 3 // features are channel-major
	for i := range after {
		ch := (i % cn.FeatureDim()) / per
		if changed := after[i] != before[i]; changed != (ch == 1) {
			t.Fatalf("feature %d (channel %d): changed %v", i, ch, changed)
		}
	}
}

// refGradCheck compares Backward's gradient of L = Σ w·logits (plus
// ½·Σ features² with feat, given through FeatureGrad) on rows forwarded
// in groups with central finite differences of the same loss computed by
// the float64 reference network (steps of 1e-5, so that no ReLU kink is
// crossed and the difference is accurate), on the parameters idx.
func refGradCheck(t *testing.T, m *ConvNet, x []float32, groups []int, idx []int, feat bool) {
	t.Helper()
	n := 0
	for _, g := range groups {
		n += g
	}
	C, d := m.OutputDim(), m.InputDim()
	wl := randInput(rand.New(rand.NewPCG(9, 9)), n, C)
	ws := m.NewWorkspace(n)
	ws.SetGroups(groups...)
	m.ZeroGrad()
	m.Forward(ws, x, n)
	copy(ws.LogitGrad(), wl)
	if feat {
		copy(m.FeatureGrad(ws), m.Features(ws))
	}
	m.Backward(ws)
	grad := slices.Clone(m.Grads())
	loss := func() float64 {
		ref := &refNet{m: m, params: m.params, train: true, state: make([]float64, len(m.state)), keep: feat}
		s, r0 := 0.0, 0
		for _, g := range groups {
			for i, v := range ref.forward(x[r0*d:(r0+g)*d], g) {
				s += v * float64(wl[r0*C+i])
			}
			r0 += g
		}
		for _, v := range ref.feats {
			s += 0.5 * v * v
		}
		return s
	}
	worst := 0.0
	for _, i := range idx {
		orig := m.params[i]
		m.params[i] = orig + 1e-5
		hi, lp := float64(m.params[i]), loss()
		m.params[i] = orig - 1e-5
		lo, lm := float64(m.params[i]), loss()
		m.params[i] = orig
		fd := (lp - lm) / (hi - lo)
		diff := math.Abs(fd - float64(grad[i]))
		if diff > 1e-4+1e-3*math.Abs(fd) {
			t.Errorf("param %d: analytic %.7g, finite difference %.7g", i, grad[i], fd)
		}
		worst = max(worst, diff)
	}
	t.Logf("%d parameters checked, worst absolute difference %.3g", len(idx), worst)
}

// sampleParams returns the head's biases, 20 random parameters of its
// weight, 20 of the batch normalisations' and k of each convolution's.
func sampleParams(m *ConvNet, rng *rand.Rand, k int) []int {
	h := m.head
	var idx []int
	for o := range h.Out {
		idx = append(idx, h.B+o)
	}
	for range 20 {
		idx = append(idx, h.W+rng.IntN(h.In*h.Out))
		b := m.bns[rng.IntN(len(m.bns))]
		idx = append(idx, b.gamma+rng.IntN(2*b.c))
	}
	for _, cr := range m.convs {
		for range k {
			idx = append(idx, cr.w+rng.IntN(cr.l.WeightLen()))
		}
	}
	return idx
}

// randomBN gives the batch normalisations non-trivial parameters.
func randomBN(m *ConvNet, rng *rand.Rand) {
	for _, b := range m.bns {
		for c := range b.c {
			m.params[b.gamma+c] = float32(0.5 + rng.Float64())
			m.params[b.beta+c] = float32(rng.Float64() - 0.5)
		}
	}
}

// TestDualArchNetGradients checks the gradients of the Sta-Net (its last
// map 3×3, pooled to 2×2 by overlapping windows) and the Pla-Net (width
// 2, global pooling) against the float64 reference, with groups.
func TestDualArchNetGradients(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec   Spec
		groups []int
	}{
		{Spec{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 17, W: 17}, Classes: 3, NF: 2}, []int{3, 2}},
		{Spec{Arch: "resnet18r-pla", Input: Shape{C: 2, H: 11, W: 9}, Classes: 3, NF: 3}, []int{2, 3}},
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
			randomBN(m, rng)
			x := randInput(rng, 5, m.InputDim())
			refGradCheck(t, m, x, tc.groups, sampleParams(m, rng, 2), false)
		})
	}
}

// TestConvNetFeatureGrad: Backward after FeatureGrad gives the gradient of
// a loss on the logits and the features, against finite differences: in
// float32 on cnn, with the float64 reference on the Sta-Net with
// overlapping pooling windows.
func TestConvNetFeatureGrad(t *testing.T) {
	t.Parallel()
	for _, spec := range []Spec{
		{Arch: "cnn", Input: Shape{C: 2, H: 7, W: 6}, Classes: 4},
		{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 17, W: 17}, Classes: 3, NF: 2},
	} {
		t.Run(spec.Arch, func(t *testing.T) {
			t.Parallel()
			mm, err := New(spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := mm.(*ConvNet)
			m.Init(rand.New(rand.NewPCG(1, 9)))
			rng := rand.New(rand.NewPCG(3, 9))
			randomBN(m, rng)
			if spec.Arch == "cnn" {
				x := randInput(rng, 3, m.InputDim())
				gradCheckLoss(t, m, x, 3, []int{1, 2}, sampleParams(m, rng, 6), 0.5, true)
				return
			}
			x := randInput(rng, 5, m.InputDim())
			refGradCheck(t, m, x, []int{2, 3}, sampleParams(m, rng, 2), true)
		})
	}
}

// TestConvNetFeatureGradPasses: without FeatureGrad, or after a Backward
// has spent it, Backward uses the logits alone; FeatureGrad zeroes its
// buffer once per pass; the gradients are bit-identical for 1, 2 and 3
// threads and a pass allocates nothing once warmed up.
func TestConvNetFeatureGradPasses(t *testing.T) {
	spec := Spec{Arch: "cnn", Input: Shape{C: 1, H: 6, W: 6}, Classes: 3}
	grads := func(threads int) [][]float32 {
		c := NewCompute(threads)
		defer c.Close()
		m, _ := New(spec, c)
		m.Init(rand.New(rand.NewPCG(2, 2)))
		fg := m.(FeatureGradients)
		n := 21
		x := randInput(rand.New(rand.NewPCG(4, 4)), n, m.InputDim())
		g := randInput(rand.New(rand.NewPCG(5, 4)), n, 3)
		ws := m.NewWorkspace(n)
		ws.SetGroups(9, 12)
		var out [][]float32
		run := func(feat, twice bool) {
			m.Forward(ws, x, n)
			copy(ws.LogitGrad(), g)
			if feat {
				f := fg.FeatureGrad(ws)
				for i := range f {
					f[i] = 1 // written before the second call: kept
				}
				f = fg.FeatureGrad(ws)
				if twice {
					for i, v := range m.Features(ws) {
						f[i] += v
					}
				}
			}
			m.ZeroGrad()
			m.Backward(ws)
		}
		keep := func() { out = append(out, slices.Clone(m.Grads())) }
		run(false, false) // logits alone
		keep()
		run(true, true) // logits, 1 + features
		keep()
		m.ZeroGrad() // again without FeatureGrad: spent
		copy(ws.LogitGrad(), g)
		m.Backward(ws)
		keep()
		run(true, false) // logits, 1
		keep()
		step := func() { run(true, true) }
		if a := testing.AllocsPerRun(5, step); a != 0 {
			t.Errorf("%d threads: %v allocations per pass with a feature gradient", threads, a)
		}
		return out
	}
	ref := grads(1)
	logits, both, spent, ones := ref[0], ref[1], ref[2], ref[3]
	if !slices.Equal(spent, logits) {
		t.Error("a Backward after one that used FeatureGrad does not use the logits alone")
	}
	if slices.Equal(both, logits) || slices.Equal(both, ones) || slices.Equal(ones, logits) {
		t.Error("the feature gradient changed nothing")
	}
	for _, th := range []int{2, 3} {
		got := grads(th)
		for i := range got {
			for j := range got[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(ref[i][j]) {
					t.Fatalf("%d threads: gradient %d differs at %d", th, i, j)
				}
			}
		}
	}
}

// TestLargestWidth: the largest width within the budget, by brute force
// over quadratic counts, and none when width 1 is already over it.
func TestLargestWidth(t *testing.T) {
	for _, budget := range []int{4, 5, 6, 17, 100, 101, 12345} {
		count := func(w int) int { return 3*w*w + 2*w }
		want := 0
		for w := 1; count(w) <= budget; w++ {
			want = w
		}
		got, ok := LargestWidth(count, budget)
		if ok != (want > 0) || got != want {
			t.Errorf("budget %d: %d, %v; want %d, %v", budget, got, ok, want, want > 0)
		}
	}
}
