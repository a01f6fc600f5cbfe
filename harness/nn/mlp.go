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
	sizes  []int
	params []float32
	grads  []float32
	layers []layer
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
// and zero parameters; call Init to initialise them. eng nil means
// GonumEngine. pool runs the element-wise and sparse phases in parallel;
// nil means one thread. Results do not depend on the pool's size.
func NewMLP(sizes []int, eng Engine, pool *par.Pool) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("nn: an MLP needs at least input and output sizes, got %v", sizes)
	}
	for _, s := range sizes {
		if s <= 0 {
			return nil, fmt.Errorf("nn: layer sizes must be positive, got %v", sizes)
		}
	}
	if eng == nil {
		eng = GonumEngine{}
	}
	m := &MLP{sizes: append([]int(nil), sizes...), eng: eng, pool: pool}
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

// Engine returns the engine the model computes with.
func (m *MLP) Engine() Engine { return m.eng }

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

// Workspace holds the activations of up to Cap samples for one model. A
// workspace belongs to one goroutine at a time.
type Workspace struct {
	capacity int
	n        int
	x        []float32   // input of the last forward (not owned)
	acts     [][]float32 // acts[l]: output of layer l (post-ReLU for hidden layers, logits for the last)
	grads    [][]float32 // grads[l]: gradient of the loss with respect to acts[l]
	// in0 is the sparse form of the first layer's input when the last
	// forward pass used it; noBackward marks a forward pass that kept no
	// state for Backward (ForwardSparse).
	in0        sparse.CSR
	in0T       sparse.CSR // in0 transposed, for the weight gradient
	sparse0    bool
	reserved   bool
	noBackward bool
}

// NewWorkspace returns a workspace for batches of up to capacity samples.
//
// The gradient buffers are allocated on first use (LogitGrad), so that a
// workspace used only for evaluation holds activations alone.
func (m *MLP) NewWorkspace(capacity int) *Workspace {
	ws := &Workspace{capacity: capacity}
	for _, L := range m.layers {
		ws.acts = append(ws.acts, make([]float32, capacity*L.out))
	}
	return ws
}

// Cap returns the largest batch the workspace holds.
func (ws *Workspace) Cap() int { return ws.capacity }

// Logits returns the logits of the last forward pass (n rows).
func (ws *Workspace) Logits() []float32 { return ws.acts[len(ws.acts)-1] }

// LogitGrad returns the buffer a loss writes the gradient of the logits
// into before Backward.
func (ws *Workspace) LogitGrad() []float32 {
	if ws.grads == nil {
		for _, a := range ws.acts {
			ws.grads = append(ws.grads, make([]float32, len(a)))
		}
	}
	return ws.grads[len(ws.grads)-1]
}

// SparseThreshold is the fraction of zeros in a first-layer input above
// which Forward multiplies it as a sparse matrix (MNIST pixels are about
// 81 % zeros). The choice depends on the data only, so it is the same for
// any thread count.
const SparseThreshold = 0.5

// zeroSample is the number of input values Forward inspects to estimate
// the fraction of zeros.
const zeroSample = 4096

// Forward computes the logits of n samples (x holds n rows of InputDim
// values) with the model's parameters and returns them (n rows of OutputDim,
// owned by ws). The activations stay in ws for Backward.
func (m *MLP) Forward(ws *Workspace, x []float32, n int) []float32 {
	return m.ForwardWith(m.params, ws, x, n)
}

// ForwardWith is Forward with another parameter arena of the same layout
// (an EMA copy, say).
func (m *MLP) ForwardWith(params []float32, ws *Workspace, x []float32, n int) []float32 {
	m.check(params, ws, n)
	ws.n, ws.x, ws.noBackward = n, x, false
	L := m.layers[0]
	ws.sparse0 = sparse.ZeroFraction(x[:n*L.in], n, L.in, zeroSample) >= SparseThreshold
	if ws.sparse0 {
		if !ws.reserved {
			// Room for a full batch of nonzeros once, so that batches
			// denser than earlier ones allocate nothing.
			ws.in0.Reserve(ws.capacity, ws.capacity*L.in)
			ws.in0T.Reserve(L.in, ws.capacity*L.in)
			ws.reserved = true
		}
		ws.in0.FromDense(x, n, L.in)
		m.sparseLayer(params, ws, &ws.in0, 0, n)
	} else {
		m.denseLayer(params, ws, 0, x, n)
	}
	return m.rest(params, ws, n)
}

// ForwardSparse computes the logits of rows r0..r0+n-1 of the sparse
// matrix s (rows of InputDim values), like ForwardWith on their dense form
// would, except that the first layer is always sparse: the harness keeps
// its fixed evaluation sets in this form. The pass keeps no state for
// Backward.
func (m *MLP) ForwardSparse(params []float32, ws *Workspace, s *sparse.CSR, r0, n int) []float32 {
	m.check(params, ws, n)
	if s.Cols != m.InputDim() || r0+n > s.Rows {
		panic(fmt.Sprintf("nn: sparse input of %d×%d for rows %d..%d of an MLP with %d inputs", s.Rows, s.Cols, r0, r0+n, m.InputDim()))
	}
	ws.n, ws.x, ws.noBackward, ws.sparse0 = n, nil, true, false
	m.sparseLayer(params, ws, s, r0, n)
	return m.rest(params, ws, n)
}

func (m *MLP) check(params []float32, ws *Workspace, n int) {
	if n > ws.capacity {
		panic(fmt.Sprintf("nn: batch of %d exceeds workspace capacity %d", n, ws.capacity))
	}
	if len(params) != len(m.params) {
		panic("nn: parameter arena of the wrong size")
	}
}

// rest runs layers 1.. on the output of layer 0.
func (m *MLP) rest(params []float32, ws *Workspace, n int) []float32 {
	for l := 1; l < len(m.layers); l++ {
		m.denseLayer(params, ws, l, ws.acts[l-1][:n*m.layers[l].in], n)
	}
	return ws.acts[len(m.layers)-1][:n*m.OutputDim()]
}

// denseLayer computes layer l: out = X·W, then out += bias and the ReLU of
// hidden layers in one parallel pass.
func (m *MLP) denseLayer(params []float32, ws *Workspace, l int, in []float32, n int) {
	L := m.layers[l]
	out := ws.acts[l][:n*L.out]
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
func (m *MLP) sparseLayer(params []float32, ws *Workspace, s *sparse.CSR, r0, n int) {
	L := m.layers[0]
	m.job = job{out: ws.acts[0], ldo: L.out, csr: s, r0: r0, rows: n, w: params[L.w : L.w+L.in*L.out], ldw: L.out, n: L.out,
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

// Backward accumulates into Grads the gradient of the loss whose gradient
// with respect to the logits of the last Forward is in ws.LogitGrad().
func (m *MLP) Backward(ws *Workspace) {
	if ws.noBackward {
		panic("nn: Backward after ForwardSparse")
	}
	if ws.grads == nil {
		panic("nn: Backward without a loss gradient in LogitGrad")
	}
	n := ws.n
	for l := len(m.layers) - 1; l >= 0; l-- {
		L := m.layers[l]
		d := ws.grads[l][:n*L.out]
		in := ws.x
		if l > 0 {
			in = ws.acts[l-1][:n*L.in]
		}
		// dW += inᵀ·d ; db += column sums of d
		if l == 0 && ws.sparse0 {
			// dW = Xᵀ·d with X sparse: each row of dW (one input) is
			// accumulated in registers over the samples where that input
			// is nonzero; rows are split over the pool.
			ws.in0.Transpose(&ws.in0T)
			m.job = job{w: m.grads[L.w : L.w+L.in*L.out], ldw: L.out, csr: &ws.in0T, rows: L.in, d: d, ldd: L.out, n: L.out}
			m.pool.Run(m.runOuter)
		} else {
			m.eng.Sgemm(true, false, L.in, L.out, n, 1, in, L.in, d, L.out, 1, m.grads[L.w:L.w+L.in*L.out], L.out)
		}
		vec.AddColSums(m.grads[L.b:L.b+L.out], d, L.out, n)
		if l == 0 {
			break
		}
		// d_in = d·Wᵀ, then through the ReLU of layer l-1.
		dprev := ws.grads[l-1][:n*L.in]
		m.eng.Sgemm(false, true, n, L.in, L.out, 1, d, L.out, m.params[L.w:L.w+L.in*L.out], L.out, 0, dprev, L.in)
		m.job = job{d: dprev, out: ws.acts[l-1][:n*L.in], rows: n, ldd: L.in}
		m.pool.Run(m.runReLUBack)
	}
}
