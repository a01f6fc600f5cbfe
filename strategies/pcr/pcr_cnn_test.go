package pcr

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies/strategytest"
)

// TestPropertiesCNN runs the strategy kit on PCR with a convolutional
// model (batch normalisation; the loss's gradient reaches the
// convolutions through the feature gradient), with and without the
// augmented views.
func TestPropertiesCNN(t *testing.T) {
	for _, c := range []struct{ name, params string }{
		{"augment", `{"mem_size":50}`},
		{"no-augment-ce", `{"mem_size":50,"augment":[],"ce_weight":0.5}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			strategytest.Check(t, "pcr", c.params, strategytest.Options{Arch: "cnn", Dim: 36})
		})
	}
}

// TestConvNetGradient: the gradient PCR's update leaves in a ConvNet's
// gradient arena (its loss on the features back-propagated through the
// network, the proxies' part added to the head) agrees with central
// finite differences of the loss on parameters of every layer.
func TestConvNetGradient(t *testing.T) {
	o := strategytest.Options{Arch: "cnn", Dim: 36}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	st := strategytest.New(t, "pcr", `{"mem_size":50,"augment":[],"tau":0.5}`).(*PCR)
	d := strategytest.NewDriver(t, ctx, st)
	l := d.Start(t, 1)
	d.Step(t, l) // fills the memory
	m := ctx.Model
	h := m.Head()
	// The batch of the next update: memory then new rows, the head
	// holding the raw proxies, as Step arranges them.
	b := d.Batch()
	n, dim := 2*b.N, m.InputDim()
	x := make([]float32, n*dim)
	y := make([]int32, n)
	sel := st.mem.Sample(rand.New(rand.NewPCG(1, 1)), b.N, nil)
	for i, j := range sel {
		it := st.mem.Item(j)
		it.Exp.Train.Gather(x[i*dim:(i+1)*dim], y[i:i+1], []int32{it.Pos}, nil)
	}
	n = len(sel) + b.N
	copy(x[len(sel)*dim:], b.X[:b.N*dim])
	copy(y[len(sel):], b.Y[:b.N])
	p := m.Params()
	copy(p[h.W:h.W+h.In*h.Out], st.proxies)
	clear(p[h.B : h.B+h.Out])
	ws := m.NewWorkspace(n)
	F, C := m.FeatureDim(), m.OutputDim()
	loss := func() float64 {
		m.Forward(ws, x, n)
		return st.Loss(m.Features(ws), p[h.W:h.W+h.In*h.Out], y, n, F, C, make([]float32, n*F), make([]float32, F*C))
	}
	// The analytic gradient, as the update computes it: the loss's
	// feature gradient through the network, the proxies' gradient into
	// the head's weight gradient.
	state := slices.Clone(m.State())
	m.Forward(ws, x, n)
	dw := make([]float32, F*C)
	st.Loss(m.Features(ws), p[h.W:h.W+h.In*h.Out], y, n, F, C, m.(nn.FeatureGradients).FeatureGrad(ws), dw)
	clear(ws.LogitGrad())
	m.ZeroGrad()
	m.Backward(ws)
	g := slices.Clone(m.Grads())
	for i, v := range dw {
		g[h.W+i] += v
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var idx []int
	for _, mx := range m.(nn.WeightMatrices).Matrices() {
		for range 6 {
			idx = append(idx, mx.W+rng.IntN(mx.Rows*mx.Cols))
		}
	}
	for range 6 {
		idx = append(idx, h.W+rng.IntN(h.In*h.Out))
	}
	if !slices.ContainsFunc(idx[:18], func(i int) bool { return math.Abs(float64(g[i])) > 1e-3 }) {
		t.Fatal("no gradient reaches the convolutions")
	}
	bad := 0
	for _, i := range idx {
		orig := p[i]
		p[i] = orig + 1e-3
		up := loss()
		p[i] = orig - 1e-3
		dn := loss()
		p[i] = orig
		fd := (up - dn) / 2e-3
		if math.Abs(fd-float64(g[i])) > 2e-3+5e-2*math.Abs(fd) {
			bad++
			t.Logf("parameter %d: gradient %v, finite difference %v", i, g[i], fd)
		}
	}
	// A few may sit at a ReLU kink, where a finite difference means
	// nothing.
	if bad > 2 {
		t.Errorf("%d of %d parameters disagree with finite differences", bad, len(idx))
	}
	copy(m.State(), state)
}

// opaque hides the model's capabilities (FeatureGradients among them).
type opaque struct {
	nn.Model
	spec nn.Spec
}

func (o opaque) Spec() nn.Spec { return o.spec }

func init() {
	nn.RegisterArch(nn.Arch{Name: "pcr-test-opaque", Summary: "a cnn without its capabilities",
		New: func(spec nn.Spec, c *nn.Compute) (nn.Model, error) {
			m, err := nn.New(nn.Spec{Arch: "cnn", Input: spec.Input, Classes: spec.Classes}, c)
			return opaque{m, spec}, err
		},
		Check: func(spec nn.Spec) (nn.Footprint, error) {
			return nn.Check(nn.Spec{Arch: "cnn", Input: spec.Input, Classes: spec.Classes})
		}})
}

// TestCheckModel: once the whole spec is known, augmentation of samples
// that are not 1-channel images and a model without feature gradients are
// refused; with only the architecture's fields nothing is.
func TestCheckModel(t *testing.T) {
	spec := func(arch string, c, h, w int) nn.Spec {
		s := nn.Spec{Arch: arch, Input: nn.Shape{C: c, H: h, W: w}, Classes: 4}
		if arch == "mlp" {
			s.Hidden = []int{5}
		}
		return s
	}
	for _, tc := range []struct {
		params string
		spec   nn.Spec
		want   string
	}{
		{`{}`, spec("mlp", 1, 1, 20), "augmentation needs image samples"},
		{`{"augment":["flip"]}`, spec("cnn", 3, 8, 8), "implemented for 1-channel images"},
		{`{"augment":[]}`, spec("pcr-test-opaque", 1, 8, 8), "pcr: the model (pcr-test-opaque) does not back-propagate a loss on its features"},
		{`{}`, spec("mlp", 1, 28, 28), ""},
		{`{}`, spec("cnn", 1, 8, 8), ""},
		{`{}`, spec("resnet18r", 1, 28, 28), ""},
		{`{"augment":[]}`, spec("mlp", 1, 1, 20), ""},
		{`{"augment":[]}`, spec("cnn", 3, 8, 8), ""},
		{`{}`, nn.Spec{Arch: "pcr-test-opaque"}, ""},
	} {
		err := strategytest.New(t, "pcr", tc.params).(*PCR).CheckModel(tc.spec)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s on %s %v: %v", tc.params, tc.spec.Arch, tc.spec.Input, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s on %s %v: error %v, want one containing %q", tc.params, tc.spec.Arch, tc.spec.Input, err, tc.want)
		}
	}
}
