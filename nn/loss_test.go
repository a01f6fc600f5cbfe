package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSoftmaxMaskForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n, C = 4, 6
	logits := make([]float32, n*C)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 2)
	}
	y := []int32{0, 2, 3, 5}
	keep := []bool{true, false, true, true, false, true}
	negInf := float32(math.Inf(-1))
	d1 := make([]float32, n*C)
	d2 := make([]float32, n*C)
	all := []bool{true, true, true, true, true, true}
	// A mask of every class, or every row's, is the plain softmax, bit for bit.
	l1, c1 := SoftmaxCE(logits, n, C, y, SoftmaxMask{}, 0.25, d1)
	for _, m := range []SoftmaxMask{{Mask: all}, {Masks: [][]bool{all, nil, all, nil}}, {Keep: all, Value: 3}} {
		l2, c2 := SoftmaxCE(logits, n, C, y, m, 0.25, d2)
		if l1 != l2 || c1 != c2 || !equal32(d1, d2) {
			t.Errorf("%+v: (%v %d) vs plain (%v %d)", m, l2, c2, l1, c1)
		}
	}
	// keep with −Inf: identical to keep as the mask.
	l1, c1 = SoftmaxCE(logits, n, C, y, SoftmaxMask{Mask: keep}, 0.25, d1)
	l2, c2 := SoftmaxCE(logits, n, C, y, SoftmaxMask{Keep: keep, Value: negInf}, 0.25, d2)
	if l1 != l2 || c1 != c2 || !equal32(d1, d2) {
		t.Errorf("keep −Inf: (%v %d) vs (%v %d)", l1, c1, l2, c2)
	}
	// Per-row masks (−Inf) combine with keep.
	masks := [][]bool{nil, {true, true, true, true, false, false}, nil, {true, true, true, false, true, true}}
	SoftmaxCE(logits, n, C, y, SoftmaxMask{Masks: masks, Keep: keep, Value: -1}, 1, d2)
	for r, m := range masks {
		for c := range C {
			removed := m != nil && !m[c]
			if (removed || !keep[c]) && d2[r*C+c] != 0 {
				t.Errorf("row %d class %d: gradient %v, want exactly 0", r, c, d2[r*C+c])
			}
		}
	}
}

// TestSoftmaxKeepGradient checks the masked softmax against finite
// differences of the loss in the kept logits, and that masked logits get
// exactly zero gradient for every mask value.
func TestSoftmaxKeepGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	const n, C = 3, 5
	keep := []bool{true, false, true, false, true}
	y := []int32{0, 2, 4}
	for _, m := range []float32{float32(math.Inf(-1)), -3, 0, 2.5} {
		logits := make([]float32, n*C)
		for i := range logits {
			logits[i] = float32(rng.NormFloat64())
		}
		d := make([]float32, n*C)
		for i := range d {
			d[i] = 7 // must be overwritten
		}
		SoftmaxCE(logits, n, C, y, SoftmaxMask{Keep: keep, Value: m}, 1, d)
		for r := range n {
			for c := range C {
				g := d[r*C+c]
				if !keep[c] {
					if g != 0 {
						t.Errorf("m=%v: masked logit (%d,%d) gradient %v, want exactly 0", m, r, c, g)
					}
					// Moving a masked logit does not change the loss.
					orig := logits[r*C+c]
					logits[r*C+c] = orig + 1
					lp, _ := SoftmaxCE(logits, n, C, y, SoftmaxMask{Keep: keep, Value: m}, 1, nil)
					logits[r*C+c] = orig
					l0, _ := SoftmaxCE(logits, n, C, y, SoftmaxMask{Keep: keep, Value: m}, 1, nil)
					if lp != l0 {
						t.Errorf("m=%v: loss depends on masked logit (%d,%d)", m, r, c)
					}
					continue
				}
				const eps = 1e-3
				orig := logits[r*C+c]
				logits[r*C+c] = orig + eps
				lp, _ := SoftmaxCE(logits, n, C, y, SoftmaxMask{Keep: keep, Value: m}, 1, nil)
				logits[r*C+c] = orig - eps
				lm, _ := SoftmaxCE(logits, n, C, y, SoftmaxMask{Keep: keep, Value: m}, 1, nil)
				logits[r*C+c] = orig
				fd := (lp - lm) / (2 * eps)
				if math.Abs(fd-float64(g)) > 2e-3 {
					t.Errorf("m=%v: (%d,%d) gradient %v, finite difference %v", m, r, c, g, fd)
				}
			}
		}
		// A finite mask value is part of the normaliser: with m = 0 and
		// all-zero logits the loss is log C.
		if m == 0 {
			z := make([]float32, C)
			l, _ := SoftmaxCE(z, 1, C, y[:1], SoftmaxMask{Keep: keep}, 1, nil)
			if math.Abs(l-math.Log(C)) > 1e-9 {
				t.Errorf("m=0, zero logits: loss %v, want log %d", l, C)
			}
		}
	}
}

func TestAddSquaredSampleGradsMatchesPerRowGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m, _ := NewMLP([]int{6, 5, 4, 3}, nil)
	m.Init(rng)
	const n = 5
	x := make([]float32, n*6)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := []int32{0, 1, 2, 1, 0}
	ws := m.NewWorkspace(n)
	got := make([]float32, len(m.Params()))
	SoftmaxCE(m.Forward(ws, x, n), n, 3, y, SoftmaxMask{}, 1, ws.LogitGrad())
	m.ZeroGrad()
	m.Backward(ws)
	m.AddSquaredSampleGrads(ws, got)
	want := make([]float64, len(got))
	ws1 := m.NewWorkspace(1)
	for r := range n {
		SoftmaxCE(m.Forward(ws1, x[r*6:(r+1)*6], 1), 1, 3, y[r:r+1], SoftmaxMask{}, 1, ws1.LogitGrad())
		m.ZeroGrad()
		m.Backward(ws1)
		for i, g := range m.Grads() {
			want[i] += float64(g) * float64(g)
		}
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+want[i]) {
			t.Fatalf("param %d: %v, want %v", i, got[i], want[i])
		}
	}
	// Layers describe the arena: [W; b] blocks tile it.
	at := 0
	for l, L := range m.Linears() {
		if L.W != at || L.B != L.W+L.In*L.Out {
			t.Errorf("layer %d: %+v at %d", l, L, at)
		}
		at = L.B + L.Out
		if got := len(m.LinearInput(ws, l)); got != n*L.In {
			t.Errorf("layer %d input has %d values, want %d", l, got, n*L.In)
		}
	}
	if at != len(m.Params()) {
		t.Errorf("layers cover %d of %d parameters", at, len(m.Params()))
	}
}

func equal32(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
