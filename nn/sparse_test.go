package nn

import (
	"math"
	"math/rand/v2"
	"testing"
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
	m, _ := NewMLP([]int{784, 400, 400, 10}, nil)
	m.Init(rng)
	x := mnistLike(rng, 33)
	ws := m.NewWorkspace(33)
	sp := append([]float32(nil), m.Forward(ws, x, 33)...)
	if !ws.mlp.sparse0 {
		t.Fatal("the sparse path was not taken")
	}
	// The dense path: the same computation through layer 0 as a GEMM.
	wsd := m.NewWorkspace(33)
	wsd.n, wsd.mlp.x = 33, x
	m.denseLayer(m.params, wsd.mlp, 0, x, 33)
	de := m.rest(m.params, wsd.mlp, 33)
	for i := range sp {
		if d := math.Abs(float64(sp[i] - de[i])); d > 1e-4*(1+math.Abs(float64(de[i]))) {
			t.Fatalf("logit %d: sparse %v, dense %v", i, sp[i], de[i])
		}
	}
	// InferInputs on a sparse input set holding the same rows gives the
	// same bits as Forward.
	in := m.NewInputs()
	pad := mnistLike(rng, 40)
	copy(pad[7*784:], x) // rows 7..39 are x
	in.Append(pad, 40)
	if !in.Sparse() {
		t.Fatal("MNIST-like rows not stored sparse")
	}
	got := m.InferInputs(m.params, nil, ws, in, 7, 33)
	for i := range sp {
		if math.Float32bits(got[i]) != math.Float32bits(sp[i]) {
			t.Fatalf("logit %d: InferInputs %v, Forward %v", i, got[i], sp[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Backward after an evaluation pass did not panic")
		}
	}()
	m.Backward(ws)
}

// TestThreadCountDoesNotChangeBits runs a training step and an evaluation
// forward pass with pools of 1, 2 and 3 threads.
func TestThreadCountDoesNotChangeBits(t *testing.T) {
	run := func(threads int) (logits, grads []float32) {
		c := NewCompute(threads)
		defer c.Close()
		rng := rand.New(rand.NewPCG(2, 2))
		m, _ := NewMLP([]int{784, 48, 40, 10}, c)
		m.Init(rng)
		x := mnistLike(rng, 29)
		y := make([]int32, 29)
		for i := range y {
			y[i] = int32(rng.IntN(10))
		}
		ws := m.NewWorkspace(29)
		m.ZeroGrad()
		out := m.Forward(ws, x, 29)
		SoftmaxCE(out, 29, 10, y, SoftmaxMask{}, 1.0/29, ws.LogitGrad())
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

// TestInputsGrowReservesForTheChosenForm: room reserved before the first
// Append goes to dense rows only, once they turn out dense; rows kept
// sparse never get a dense buffer.
func TestInputsGrowReservesForTheChosenForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	m, _ := NewMLP([]int{784, 8, 10}, nil)
	sp := m.NewInputs()
	sp.Grow(1000)
	sp.Append(mnistLike(rng, 10), 10)
	if !sp.Sparse() || cap(sp.dense) != 0 {
		t.Fatalf("sparse rows: sparse %v, dense capacity %d; want sparse and 0", sp.Sparse(), cap(sp.dense))
	}
	dense := make([]float32, 10*784)
	for i := range dense {
		dense[i] = rng.Float32() + 0.5
	}
	de := m.NewInputs()
	de.Grow(1000)
	de.Append(dense, 10)
	if de.Sparse() || cap(de.dense) < 1000*784 {
		t.Fatalf("dense rows: sparse %v, capacity %d; want dense with room for 1000 rows (%d)", de.Sparse(), cap(de.dense), 1000*784)
	}
	first := &de.dense[0]
	for range 99 {
		de.Append(dense, 10)
	}
	if &de.dense[0] != first {
		t.Fatal("the dense rows were moved while filling the reserved room")
	}
}
