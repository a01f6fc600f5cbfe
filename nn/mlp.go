package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cleval/cleval/internal/par"
	"github.com/cleval/cleval/internal/sparse"
	"github.com/cleval/cleval/internal/vec"
)

// MLP is a multilayer perceptron: Linear layers with ReLU between them and a
// linear head. Layer l maps Sizes[l] inputs to Sizes[l+1] outputs; its weight
// is stored as a Sizes[l]×Sizes[l+1] row-major block of the parameter arena
// (so the forward pass is Y = X·W + b), followed by its bias.
type MLP struct {
	spec   Spec
	sizes  []int
	params []float32
	grads  []float32
	layers []layer
	c      *Compute
	eng    Engine
	pool   *par.Pool

	// job describes the parallel phase in progress; the run* method values
	// are created once so that running a phase allocates nothing.
	job                                      job
	runMul, runOuter, runEpilog, runReLUBack func(tid int)
}

// job is the description of one parallel element-wise or sparse phase.
type job struct {
	out      []float32
	ldo      int
	csr      *sparse.CSR
	r0, rows int
	w        []float32
	ldw, n   int
	bias     []float32
	relu     bool
	d        []float32
	ldd      int
}

type layer struct {
	in, out int
	w, b    int // offsets of the weight and the bias in the arenas
}

// NewMLP returns an MLP with the given layer sizes (input, hidden..., output)
// and zero parameters; call Init to initialise them. It computes with c
// (nil: the single-threaded reference engine); results do not depend on
// c's thread count.
func NewMLP(sizes []int, c *Compute) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("nn: an MLP needs at least input and output sizes, got %v", sizes)
	}
	for _, s := range sizes {
		if s <= 0 {
			return nil, fmt.Errorf("nn: layer sizes must be positive, got %v", sizes)
		}
	}
	if c == nil {
		c = reference
	}
	m := &MLP{sizes: append([]int(nil), sizes...), c: c, eng: c.eng, pool: c.pool}
	m.spec = Spec{Arch: "mlp", Input: Flat(sizes[0]), Classes: sizes[len(sizes)-1], Hidden: append([]int(nil), sizes[1:len(sizes)-1]...)}
	m.runMul, m.runOuter, m.runEpilog, m.runReLUBack = m.mulPhase, m.outerPhase, m.epilogPhase, m.reluBackPhase
	off := 0
	for l := 0; l+1 < len(sizes); l++ {
		in, out := sizes[l], sizes[l+1]
		m.layers = append(m.layers, layer{in: in, out: out, w: off, b: off + in*out})
		off += in*out + out
	}
	m.params = make([]float32, off)
	m.grads = make([]float32, off)
	return m, nil
}

// Sizes returns the layer sizes.
func (m *MLP) Sizes() []int { return m.sizes }

// InputDim returns the number of input values per sample.
func (m *MLP) InputDim() int { return m.sizes[0] }

// OutputDim returns the number of outputs (classes).
func (m *MLP) OutputDim() int { return m.sizes[len(m.sizes)-1] }

// Params returns the parameter arena (owned by the model).
func (m *MLP) Params() []float32 { return m.params }

// Grads returns the gradient arena, same layout as Params.
func (m *MLP) Grads() []float32 { return m.grads }

// Spec implements Model.
func (m *MLP) Spec() Spec { return m.spec }

// Compute implements Model.
func (m *MLP) Compute() *Compute { return m.c }

// State implements Model: an MLP has no state besides its parameters.
func (m *MLP) State() []float32 { return nil }

// FeatureDim implements Model: the width of the last hidden layer (the
// input size when there is none).
func (m *MLP) FeatureDim() int { return m.sizes[len(m.sizes)-2] }

// Head implements Model: the last layer.
func (m *MLP) Head() Linear {
	L := m.layers[len(m.layers)-1]
	return Linear{In: L.in, Out: L.out, W: L.w, B: L.b}
}

// ZeroGrad sets every gradient to zero.
func (m *MLP) ZeroGrad() { clear(m.grads) }

// Init draws the parameters as PyTorch's nn.Linear does by default: weights
// Kaiming-uniform with a = sqrt(5), which is U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)), and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Layers are
// drawn in order, each weight then its bias, weights in row-major order.
func (m *MLP) Init(rng *rand.Rand) {
	for _, L := range m.layers {
		bound := 1 / math.Sqrt(float64(L.in))
		for i := range L.in * L.out {
			m.params[L.w+i] = float32((2*rng.Float64() - 1) * bound)
		}
		for i := range L.out {
			m.params[L.b+i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
}

// mlpBuffers are an MLP's buffers in a Workspace.
type mlpBuffers struct {
	x     []float32   // input of the last forward (not owned)
	acts  [][]float32 // acts[l]: output of layer l (post-ReLU for hidden layers, logits for the last)
	grads [][]float32 // grads[l]: gradient of the loss with respect to acts[l]
	// in0 is the sparse form of the first layer's input when the last
	// forward pass used it; noBackward marks a forward pass that kept no
	// state for Backward (an evaluation pass).
	in0        sparse.CSR
	in0T       sparse.CSR // in0 transposed, for the weight gradient
	sparse0    bool
	reserved   bool
	noBackward bool
	// featGrad marks a feature gradient (FeatureGrad) for the next
	// Backward; inGrad is its buffer when the features are the input (no
	// hidden layer), where it reaches no parameter.
	featGrad bool
	inGrad   []float32
}

// NewWorkspace returns a workspace for batches of up to capacity samples.
//
// The gradient buffers are allocated on first use (LogitGrad), so that a
// workspace used only for evaluation holds activations alone.
func (m *MLP) NewWorkspace(capacity int) *Workspace {
	b := &mlpBuffers{}
	for _, L := range m.layers {
		b.acts = append(b.acts, make([]float32, capacity*L.out))
	}
	return &Workspace{capacity: capacity, mlp: b}
}

func (b *mlpBuffers) logitGrad() []float32 {
	if b.grads == nil {
		for _, a := range b.acts {
			b.grads = append(b.grads, make([]float32, len(a)))
		}
	}
	return b.grads[len(b.grads)-1]
}

// SparseThreshold is the fraction of zeros in a first-layer input above
// which Forward multiplies it as a sparse matrix (MNIST pixels are about
// 81 % zeros). The choice depends on the data only, so it is the same for
// any thread count.
const SparseThreshold = 0.5

// zeroSample is the number of input values Forward inspects to estimate
// the fraction of zeros.
const zeroSample = 4096

// Forward implements Model. An MLP has no batch statistics: training and
// evaluation passes compute the same function.
func (m *MLP) Forward(ws *Workspace, x []float32, n int) []float32 {
	return m.forward(m.params, ws, x, n, false)
}

// Infer implements Model (state is unused: an MLP has none).
func (m *MLP) Infer(params, _ []float32, ws *Workspace, x []float32, n int) []float32 {
	return m.forward(params, ws, x, n, true)
}

// forward computes the logits of n rows of x with params; the first layer
// multiplies x as a sparse matrix when most of its values are zero.
func (m *MLP) forward(params []float32, ws *Workspace, x []float32, n int, eval bool) []float32 {
	b := m.check(params, ws, n)
	ws.n, b.x, b.noBackward, b.featGrad = n, x, eval, false
	L := m.layers[0]
	b.sparse0 = sparse.ZeroFraction(x[:n*L.in], n, L.in, zeroSample) >= SparseThreshold
	if b.sparse0 {
		if !b.reserved {
			// Room for a full batch of nonzeros once, so that batches
			// denser than earlier ones allocate nothing.
			b.in0.Reserve(ws.capacity, ws.capacity*L.in)
			b.in0T.Reserve(L.in, ws.capacity*L.in)
			b.reserved = true
		}
		b.in0.FromDense(x, n, L.in)
		m.sparseLayer(params, b, &b.in0, 0, n)
	} else {
		m.denseLayer(params, b, 0, x, n)
	}
	return m.rest(params, b, n)
}

// NewInputs implements Model: rows that are mostly zeros are kept sparse.
func (m *MLP) NewInputs() *Inputs { return &Inputs{dim: m.InputDim(), allowSparse: true} }

// InferInputs implements Model.
func (m *MLP) InferInputs(params, _ []float32, ws *Workspace, in *Inputs, r0, n int) []float32 {
	in.check(r0, n, m.InputDim())
	if in.csr == nil {
		return m.forward(params, ws, in.rowsDense(r0, n), n, true)
	}
	b := m.check(params, ws, n)
	ws.n, b.x, b.noBackward, b.sparse0, b.featGrad = n, nil, true, false, false
	m.sparseLayer(params, b, in.csr, r0, n)
	return m.rest(params, b, n)
}

// Features implements Model: the input of the last layer in the last
// forward pass.
func (m *MLP) Features(ws *Workspace) []float32 {
	return m.LinearInput(ws, len(m.layers)-1)
}

func (m *MLP) check(params []float32, ws *Workspace, n int) *mlpBuffers {
	if ws.mlp == nil {
		panic("nn: an MLP given a workspace of another model")
	}
	if n > ws.capacity {
		panic(fmt.Sprintf("nn: batch of %d exceeds workspace capacity %d", n, ws.capacity))
	}
	if len(params) != len(m.params) {
		panic("nn: parameter arena of the wrong size")
	}
	return ws.mlp
}

// rest runs layers 1.. on the output of layer 0.
func (m *MLP) rest(params []float32, b *mlpBuffers, n int) []float32 {
	for l := 1; l < len(m.layers); l++ {
		m.denseLayer(params, b, l, b.acts[l-1][:n*m.layers[l].in], n)
	}
	return b.acts[len(m.layers)-1][:n*m.OutputDim()]
}

// denseLayer computes layer l: out = X·W, then out += bias and the ReLU of
// hidden layers in one parallel pass.
func (m *MLP) denseLayer(params []float32, b *mlpBuffers, l int, in []float32, n int) {
	L := m.layers[l]
	out := b.acts[l][:n*L.out]
	m.eng.Sgemm(false, false, n, L.out, L.in, 1, in, L.in, params[L.w:L.w+L.in*L.out], L.out, 0, out, L.out)
	m.job = job{out: out, ldo: L.out, rows: n, n: L.out, bias: params[L.b : L.b+L.out], relu: l+1 < len(m.layers)}
	m.pool.Run(m.runEpilog)
}

func (m *MLP) epilogPhase(tid int) {
	j := &m.job
	lo, hi := par.Split(j.rows, m.pool.Threads(), tid, 1)
	if lo < hi {
		vec.AddBiasReLU(j.out[lo*j.ldo:], j.ldo, hi-lo, j.bias, j.relu)
	}
}

// sparseLayer computes layer 0 from rows r0..r0+n-1 of s: bias + s·W and
// the ReLU, fused, rows split over the pool.
func (m *MLP) sparseLayer(params []float32, b *mlpBuffers, s *sparse.CSR, r0, n int) {
	L := m.layers[0]
	m.job = job{out: b.acts[0], ldo: L.out, csr: s, r0: r0, rows: n, w: params[L.w : L.w+L.in*L.out], ldw: L.out, n: L.out,
		bias: params[L.b : L.b+L.out], relu: len(m.layers) > 1}
	m.pool.Run(m.runMul)
}

func (m *MLP) mulPhase(tid int) {
	j := &m.job
	lo, hi := par.Split(j.rows, m.pool.Threads(), tid, 1)
	if lo < hi {
		// Output row r holds input row r0+r.
		sparse.MulRows(j.out[lo*j.ldo:], j.ldo, j.csr, j.r0+lo, j.r0+hi, j.w, j.ldw, j.n, j.bias, j.relu)
	}
}

// reluBackPhase zeroes the gradient rows of job.d where the activations
// job.out are not positive.
func (m *MLP) reluBackPhase(tid int) {
	j := &m.job
	lo, hi := par.Split(j.rows, m.pool.Threads(), tid, 1)
	vec.ReLUBackward(j.d[lo*j.ldd:hi*j.ldd], j.out[lo*j.ldd:hi*j.ldd])
}

func (m *MLP) outerPhase(tid int) {
	j := &m.job
	lo, hi := par.Split(j.rows, m.pool.Threads(), tid, 1)
	sparse.AccumulateRows(j.w, j.ldw, j.csr, lo, hi, j.d, j.ldd, j.n)
}

// FeatureGrad implements FeatureGradients: the gradient buffer of the last
// hidden layer's output, which Backward then adds to.
func (m *MLP) FeatureGrad(ws *Workspace) []float32 {
	b := ws.mlp
	if b == nil {
		panic("nn: an MLP given a workspace of another model")
	}
	b.logitGrad() // allocates the gradient buffers
	F := m.FeatureDim()
	var g []float32
	if len(m.layers) == 1 {
		if b.inGrad == nil {
			b.inGrad = make([]float32, ws.capacity*F)
		}
		g = b.inGrad[:ws.n*F]
	} else {
		g = b.grads[len(m.layers)-2][:ws.n*F]
	}
	if !b.featGrad {
		clear(g)
		b.featGrad = true
	}
	return g
}

// Backward accumulates into Grads the gradient of the loss whose gradient
// with respect to the logits of the last Forward is in ws.LogitGrad(), plus
// the features' gradient when FeatureGrad was called since.
func (m *MLP) Backward(ws *Workspace) {
	b := ws.mlp
	if b == nil {
		panic("nn: an MLP given a workspace of another model")
	}
	if b.noBackward {
		panic("nn: Backward after an evaluation pass")
	}
	if b.grads == nil {
		panic("nn: Backward without a loss gradient in LogitGrad")
	}
	n := ws.n
	for l := len(m.layers) - 1; l >= 0; l-- {
		L := m.layers[l]
		d := b.grads[l][:n*L.out]
		in := b.x
		if l > 0 {
			in = b.acts[l-1][:n*L.in]
		}
		// dW += inᵀ·d ; db += column sums of d
		if l == 0 && b.sparse0 {
			// dW = Xᵀ·d with X sparse: each row of dW (one input) is
			// accumulated in registers over the samples where that input
			// is nonzero; rows are split over the pool.
			b.in0.Transpose(&b.in0T)
			m.job = job{w: m.grads[L.w : L.w+L.in*L.out], ldw: L.out, csr: &b.in0T, rows: L.in, d: d, ldd: L.out, n: L.out}
			m.pool.Run(m.runOuter)
		} else {
			m.eng.Sgemm(true, false, L.in, L.out, n, 1, in, L.in, d, L.out, 1, m.grads[L.w:L.w+L.in*L.out], L.out)
		}
		vec.AddColSums(m.grads[L.b:L.b+L.out], d, L.out, n)
		if l == 0 {
			break
		}
		// d_in = d·Wᵀ (plus the features' own gradient at the last
		// hidden layer), then through the ReLU of layer l-1.
		dprev := b.grads[l-1][:n*L.in]
		var beta float32
		if l == len(m.layers)-1 && b.featGrad {
			beta = 1
		}
		m.eng.Sgemm(false, true, n, L.in, L.out, 1, d, L.out, m.params[L.w:L.w+L.in*L.out], L.out, beta, dprev, L.in)
		m.job = job{d: dprev, out: b.acts[l-1][:n*L.in], rows: n, ldd: L.in}
		m.pool.Run(m.runReLUBack)
	}
	b.featGrad = false // the buffer now holds the backward pass's deltas
}
