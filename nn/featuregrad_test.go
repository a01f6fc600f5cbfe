package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFeatureGradMatchesFiniteDifferences: with a loss on both the logits
// and the features, L = Σ g·logits + ½·Σ features², Backward after
// FeatureGrad gives the gradient of L (checked against central finite
// differences, parameters at a ReLU kink skipped), on MLPs with one and two
// hidden layers, dense and sparse inputs; without FeatureGrad it gives the
// logits' part alone; and the flag does not outlive the backward pass.
func TestFeatureGradMatchesFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sizes  []int
		sparse bool
	}{
		{"one-hidden", []int{5, 7, 3}, false},
		{"two-hidden", []int{6, 8, 5, 4}, false},
		{"two-hidden-sparse", []int{12, 8, 5, 4}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			m, err := NewMLP(tc.sizes, nil)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(rng)
			const n = 3
			in, C := m.InputDim(), m.OutputDim()
			x := make([]float32, n*in)
			for i := range x {
				if !tc.sparse || rng.IntN(4) == 0 {
					x[i] = float32(rng.NormFloat64())
				}
			}
			g := make([]float32, n*C)
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			ws := m.NewWorkspace(n)
			loss := func(withFeat bool) float64 {
				logits := m.Forward(ws, x, n)
				L := 0.0
				for i, v := range logits {
					L += float64(g[i]) * float64(v)
				}
				if withFeat {
					for _, v := range m.Features(ws) {
						L += 0.5 * float64(v) * float64(v)
					}
				}
				return L
			}
			grad := func(withFeat bool) []float32 {
				loss(withFeat)
				copy(ws.LogitGrad(), g)
				if withFeat {
					fg := m.FeatureGrad(ws)
					copy(fg, m.Features(ws))
				}
				m.ZeroGrad()
				m.Backward(ws)
				return append([]float32(nil), m.Grads()...)
			}
			pattern := func() []bool {
				var p []bool
				for l := 0; l+1 < len(ws.mlp.acts); l++ {
					for _, a := range ws.mlp.acts[l][:n*m.layers[l].out] {
						p = append(p, a > 0)
					}
				}
				return p
			}
			for _, withFeat := range []bool{true, false} {
				an := grad(withFeat)
				loss(withFeat)
				base := pattern()
				same := func() bool {
					for i, v := range pattern() {
						if v != base[i] {
							return false
						}
					}
					return true
				}
				const eps = 1e-2
				skipped := 0
				for i := range m.params {
					orig := m.params[i]
					m.params[i] = orig + eps
					lp := loss(withFeat)
					okp := same()
					m.params[i] = orig - eps
					lm := loss(withFeat)
					okm := same()
					m.params[i] = orig
					if !okp || !okm {
						skipped++
						continue
					}
					fd := (lp - lm) / (2 * eps)
					if d := math.Abs(fd - float64(an[i])); d > 2e-3+2e-2*math.Abs(fd) {
						t.Fatalf("features %v: param %d: analytic %.6g, finite difference %.6g", withFeat, i, an[i], fd)
					}
				}
				if skipped > len(m.params)/10 {
					t.Errorf("%d of %d parameters at a ReLU kink", skipped, len(m.params))
				}
			}
			// The flag is spent by Backward: a second Backward after one
			// FeatureGrad uses the logits alone.
			loss(true)
			copy(ws.LogitGrad(), g)
			copy(m.FeatureGrad(ws), m.Features(ws))
			m.ZeroGrad()
			m.Backward(ws)
			m.ZeroGrad()
			copy(ws.LogitGrad(), g)
			m.Backward(ws)
			second := append([]float32(nil), m.Grads()...)
			want := grad(false)
			for i := range want {
				if math.Abs(float64(second[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("second backward pass: grad %d = %v, want the logits' part %v", i, second[i], want[i])
				}
			}
		})
	}
}

// TestFeatureGradNoHidden: with no hidden layer the features are the
// input; their gradient reaches no parameter.
func TestFeatureGradNoHidden(t *testing.T) {
	m, _ := NewMLP([]int{3, 2}, nil)
	m.Init(rand.New(rand.NewPCG(1, 1)))
	ws := m.NewWorkspace(2)
	x := []float32{1, 2, 3, 4, 5, 6}
	m.Forward(ws, x, 2)
	clear(ws.LogitGrad())
	fg := m.FeatureGrad(ws)
	if len(fg) != 6 {
		t.Fatalf("feature gradient of %d values, want 6", len(fg))
	}
	for i := range fg {
		fg[i] = 1
	}
	m.ZeroGrad()
	m.Backward(ws)
	for i, g := range m.Grads() {
		if g != 0 {
			t.Fatalf("grad %d = %v, want 0", i, g)
		}
	}
}
