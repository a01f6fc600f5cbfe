package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cleval/cleval/internal/par"
	"github.com/cleval/cleval/internal/sparse"
)

// mnistLike returns n rows of 784 values, about 80 % zeros, like MNIST.
func mnistLike(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n*784)
	for i := range x {
		if rng.IntN(5) == 0 {
			x[i] = float32(rng.IntN(255)+1) / 255
		}
	}
	return x
}

// TestSparseAndDenseForwardAgree checks the sparse first layer against the
// dense product on the same data (within float32 rounding).
func TestSparseAndDenseForwardAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m, _ := NewMLP([]int{784, 400, 400, 10}, nil, nil)
	m.Init(rng)
	x := mnistLike(rng, 33)
	ws := m.NewWorkspace(33)
	sp := append([]float32(nil), m.Forward(ws, x, 33)...)
	if !ws.sparse0 {
		t.Fatal("the sparse path was not taken")
	}
	// The dense path: the same computation through layer 0 as a GEMM.
	wsd := m.NewWorkspace(33)
	wsd.n, wsd.x = 33, x
	m.denseLayer(m.params, wsd, 0, x, 33)
	de := m.rest(m.params, wsd, 33)
	for i := range sp {
		if d := math.Abs(float64(sp[i] - de[i])); d > 1e-4*(1+math.Abs(float64(de[i]))) {
			t.Fatalf("logit %d: sparse %v, dense %v", i, sp[i], de[i])
		}
	}
	// ForwardSparse on a CSR of the same rows gives the same bits as Forward.
	var s sparse.CSR
	pad := mnistLike(rng, 40)
	copy(pad[7*784:], x) // rows 7..39 are x
	s.FromDense(pad, 40, 784)
	got := m.ForwardSparse(m.params, ws, &s, 7, 33)
	for i := range sp {
		if math.Float32bits(got[i]) != math.Float32bits(sp[i]) {
			t.Fatalf("logit %d: ForwardSparse %v, Forward %v", i, got[i], sp[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Backward after ForwardSparse did not panic")
		}
	}()
	m.Backward(ws)
}

// TestThreadCountDoesNotChangeBits runs a training step and an evaluation
// forward pass with pools of 1, 2 and 3 threads.
func TestThreadCountDoesNotChangeBits(t *testing.T) {
	run := func(threads int) (logits, grads []float32) {
		pool := par.New(threads)
		defer pool.Close()
		rng := rand.New(rand.NewPCG(2, 2))
		m, _ := NewMLP([]int{784, 48, 40, 10}, nil, pool)
		m.Init(rng)
		x := mnistLike(rng, 29)
		y := make([]int32, 29)
		for i := range y {
			y[i] = int32(rng.IntN(10))
		}
		ws := m.NewWorkspace(29)
		m.ZeroGrad()
		out := m.Forward(ws, x, 29)
		SoftmaxCE(out, 29, 10, y, nil, 1.0/29, ws.LogitGrad())
		m.Backward(ws)
		return append([]float32(nil), out...), append([]float32(nil), m.Grads()...)
	}
	l1, g1 := run(1)
	for _, th := range []int{2, 3} {
		l, g := run(th)
		for i := range l1 {
			if math.Float32bits(l[i]) != math.Float32bits(l1[i]) {
				t.Fatalf("%d threads: logit %d differs", th, i)
			}
		}
		for i := range g1 {
			if math.Float32bits(g[i]) != math.Float32bits(g1[i]) {
				t.Fatalf("%d threads: gradient %d differs", th, i)
			}
		}
	}
}
