package nn

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"unsafe"

	"github.com/cleval/cleval/internal/conv"
	"github.com/cleval/cleval/internal/par"
	"github.com/cleval/cleval/internal/vec"
)

// ConvNet is a convolutional network: a stem and blocks of 2-D
// convolutions with batch normalisation and ReLU, residual blocks,
// average pooling and a linear head. The architectures "resnet18r" and
// "cnn" are ConvNets (see New and Archs).
//
// # Arenas
//
// Params holds the layers in order, each as PyTorch registers its
// parameters: a convolution's weight (Cout×Cin×K×K, PyTorch's OIHW
// layout) then its bias if it has one; a batch normalisation's weight γ
// then bias β (C values each); the head's weight (In×Out, row-major: the
// weight from feature i to class o at Head().W + i·Out + o, the transpose
// of PyTorch's Linear.weight) then its bias. State holds, for every batch
// normalisation in order, its running mean then its running variance.
//
// # Computation
//
// Activations are kept in blocks of 16 samples with the samples side by
// side in the innermost dimension (see internal/conv), so every
// convolution runs the same vector kernels whatever its spatial size.
// Training passes compute batch statistics per group of rows
// (Workspace.SetGroups); each group starts a new block. Evaluation passes
// (Infer, InferInputs) fold every batch normalisation into the
// convolution before it (weights scaled by γ/√(var+ε), bias β − mean·γ/√(var+ε),
// in float64, rounded once) and run the whole network block by block, so
// a block's activations stay in cache; the result agrees with the
// unfolded computation within float32 rounding. A workspace keeps the
// folded weights of the arenas it last evaluated, and folds again only
// when their contents change.
type ConvNet struct {
	spec   Spec
	c      *Compute
	eng    Engine
	pool   *par.Pool
	runner *conv.Runner
	params []float32
	grads  []float32
	state  []float32
	input  conv.Tensor
	units  []*unit
	convs  []*convRef
	bns    []*bnRef
	// The average pooling's windows along each axis of the last map:
	// output row q averages rows winY[q][0] to winY[q][1]-1 (columns
	// likewise).
	winY, winX [][2]int
	last       conv.Tensor
	feat       int
	head       Linear
	packLen    int // floats of the packed forward weights of every convolution
	bwdLen     int // floats of the packed backward weights
	biasLen    int // floats of the folded biases

	job     cnnJob
	phaseFn func(tid int)
}

var (
	_ Model            = (*ConvNet)(nil)
	_ FeatureGradients = (*ConvNet)(nil)
	_ WeightMatrices   = (*ConvNet)(nil)
	_ WeightMatrices   = (*MLP)(nil)
)

const (
	unitConv  = iota // convolution, optional batch normalisation, optional ReLU
	unitBlock        // BasicBlock: conv BN ReLU conv BN (+ shortcut) add ReLU
)

// convRef is a convolution's place in the arenas and buffers.
type convRef struct {
	l     *conv.Layer
	w, b  int // offsets of the weight and the bias (-1: none) in the arenas
	pack  int // offset of the packed forward weights
	bpack int // offset of the packed backward weights
	bias  int // offset of the folded bias (evaluation)
}

// bnRef is a batch normalisation's place in the arenas.
type bnRef struct {
	c           int
	gamma, beta int // offsets in Params
	mean, vari  int // offsets in State
	id          int
}

type unit struct {
	kind         int
	in, mid, out conv.Tensor
	c1, c2, cs   *convRef
	b1, b2, bs   *bnRef
	relu         bool // unitConv: ReLU after the (normalised) convolution
}

// layerSpec describes a unit of a ConvNet under construction.
type layerSpec struct {
	kind                 int
	cout, k, stride, pad int
	bias, bn, relu       bool // unitConv
}

// netSpec describes a ConvNet: its units, then average pooling and a
// linear head. The pooling has a pool×pool kernel and stride, the output
// ⌊H/pool⌋×⌊W/pool⌋ (PyTorch's avg_pool2d); with pool 0 it is adaptive,
// to an out×out map (PyTorch's AdaptiveAvgPool2d: output row q averages
// rows ⌊q·H/out⌋ to ⌈(q+1)·H/out⌉−1), out 0 meaning 1 (global average
// pooling).
type netSpec struct {
	spec  Spec
	units []layerSpec
	pool  int
	out   int
}

// BN constants, PyTorch's defaults.
const (
	bnEps      = 1e-5
	bnMomentum = 0.1
)

// newConvNet builds the network ns describes, or says why the input does
// not fit it.
func newConvNet(ns netSpec, c *Compute) (*ConvNet, error) {
	spec := ns.spec
	m := &ConvNet{spec: spec, c: c, eng: c.eng, pool: c.pool, runner: conv.NewRunner(c.pool)}
	m.phaseFn = m.phase
	pad := 0
	for _, u := range ns.units {
		pad = max(pad, u.pad, u.k-1-u.pad)
		if u.kind == unitBlock {
			pad = max(pad, 1)
		}
	}
	// Every tensor gets the extra zero rows and columns that let
	// Winograd tiles be read in place.
	tensor := func(c, h, w int) conv.Tensor {
		return conv.Tensor{C: c, H: h, W: w, Pad: pad, Extra: conv.WinogradExtra(h, w)}
	}
	m.input = tensor(spec.Input.C, spec.Input.H, spec.Input.W)
	var nParams, nState int
	addConv := func(in conv.Tensor, cout, k, stride, p int, bias bool) (*convRef, conv.Tensor, error) {
		ho, wo := conv.OutSize(in.H, k, stride, p), conv.OutSize(in.W, k, stride, p)
		if ho < 1 || wo < 1 {
			return nil, conv.Tensor{}, fmt.Errorf("nn: model %s does not fit input %v: the feature map shrinks to nothing (a %dx%d convolution with stride %d on a %dx%d map)",
				spec.Arch, spec.Input, k, k, stride, in.H, in.W)
		}
		out := tensor(cout, ho, wo)
		l, err := conv.NewLayer(in.C, cout, k, stride, p, in, out)
		if err != nil {
			return nil, out, fmt.Errorf("nn: model %s: %w", spec.Arch, err)
		}
		r := &convRef{l: l, w: nParams, b: -1, pack: m.packLen, bpack: m.bwdLen, bias: m.biasLen}
		nParams += l.WeightLen()
		if bias {
			r.b = nParams
			nParams += cout
		}
		m.packLen += l.PackedLen()
		m.bwdLen += l.BackwardLen()
		m.biasLen += cout
		m.convs = append(m.convs, r)
		return r, out, nil
	}
	addBN := func(ch int) *bnRef {
		b := &bnRef{c: ch, gamma: nParams, beta: nParams + ch, mean: nState, vari: nState + ch, id: len(m.bns)}
		nParams += 2 * ch
		nState += 2 * ch
		m.bns = append(m.bns, b)
		return b
	}
	cur := m.input
	for _, ls := range ns.units {
		u := &unit{kind: ls.kind, in: cur, relu: ls.relu}
		var err error
		switch ls.kind {
		case unitConv:
			if u.c1, u.out, err = addConv(cur, ls.cout, ls.k, ls.stride, ls.pad, ls.bias); err != nil {
				return nil, err
			}
			if ls.bn {
				u.b1 = addBN(ls.cout)
			}
		case unitBlock:
			if u.c1, u.mid, err = addConv(cur, ls.cout, 3, ls.stride, 1, false); err != nil {
				return nil, err
			}
			u.b1 = addBN(ls.cout)
			if u.c2, u.out, err = addConv(u.mid, ls.cout, 3, 1, 1, false); err != nil {
				return nil, err
			}
			u.b2 = addBN(ls.cout)
			if ls.stride != 1 || cur.C != ls.cout {
				if u.cs, _, err = addConv(cur, ls.cout, 1, ls.stride, 0, false); err != nil {
					return nil, err
				}
				u.bs = addBN(ls.cout)
			}
		}
		m.units = append(m.units, u)
		cur = u.out
	}
	m.last = cur
	if ns.pool > 0 {
		m.winY, m.winX = poolWindows(cur.H, ns.pool), poolWindows(cur.W, ns.pool)
		if len(m.winY) < 1 || len(m.winX) < 1 {
			return nil, fmt.Errorf("nn: model %s does not fit input %v: its last feature map is %dx%d, smaller than the %dx%d average pooling",
				spec.Arch, spec.Input, cur.H, cur.W, ns.pool, ns.pool)
		}
	} else {
		out := max(ns.out, 1)
		m.winY, m.winX = adaptiveWindows(cur.H, out), adaptiveWindows(cur.W, out)
	}
	m.feat = cur.C * len(m.winY) * len(m.winX)
	m.head = Linear{In: m.feat, Out: spec.Classes, W: nParams, B: nParams + m.feat*spec.Classes}
	nParams += (m.feat + 1) * spec.Classes
	m.params = make([]float32, nParams)
	m.grads = make([]float32, nParams)
	m.state = make([]float32, nState)
	m.resetState()
	return m, nil
}

// Spec implements Model.
func (m *ConvNet) Spec() Spec { return m.spec }

// InputDim implements Model: C·H·W.
func (m *ConvNet) InputDim() int { return m.spec.Input.Dim() }

// OutputDim implements Model.
func (m *ConvNet) OutputDim() int { return m.spec.Classes }

// Params implements Model.
func (m *ConvNet) Params() []float32 { return m.params }

// Grads implements Model.
func (m *ConvNet) Grads() []float32 { return m.grads }

// State implements Model: the running means and variances of the batch
// normalisations.
func (m *ConvNet) State() []float32 { return m.state }

// ZeroGrad implements Model.
func (m *ConvNet) ZeroGrad() { clear(m.grads) }

// Compute implements Model.
func (m *ConvNet) Compute() *Compute { return m.c }

// FeatureDim implements Model: the length of the flattened pooled map,
// the head's input (8·nf for resnet18r on 28×28 and 32×32 inputs).
func (m *ConvNet) FeatureDim() int { return m.feat }

// Head implements Model: the linear output layer, weight In×Out
// row-major followed by its bias, as nn.MLP's layers.
func (m *ConvNet) Head() Linear { return m.head }

// NewInputs implements Model: dense rows.
func (m *ConvNet) NewInputs() *Inputs { return NewDenseInputs(m.InputDim()) }

func (m *ConvNet) resetState() {
	for _, b := range m.bns {
		clear(m.state[b.mean : b.mean+b.c])
		for i := range b.c {
			m.state[b.vari+i] = 1
		}
	}
}

// Init implements Model with PyTorch's default initialisation: the
// weights of convolutions and of the head Kaiming-uniform with a = √5
// (bound gain·√(3/fan_in), gain = √(2/(1+a²)), which is 1/√fan_in),
// biases uniform in ±1/√fan_in, fan_in = Cin·K·K for a convolution and
// In for the head; batch-normalisation weights 1 and biases 0, running
// means 0 and variances 1. Layers are drawn in the order of Params, each
// weight in its arena order (OIHW for convolutions, In×Out row-major for
// the head) then its bias; batch normalisations draw nothing.
func (m *ConvNet) Init(rng *rand.Rand) {
	a := math.Sqrt(5)
	gain := math.Sqrt(2 / (1 + a*a))
	uniform := func(dst []float32, bound float64) {
		for i := range dst {
			dst[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	// Arena order: units' convolutions and batch normalisations
	// interleaved as they were added, then the head.
	type item struct {
		off int
		cr  *convRef
		bn  *bnRef
	}
	var items []item
	for _, cr := range m.convs {
		items = append(items, item{off: cr.w, cr: cr})
	}
	for _, b := range m.bns {
		items = append(items, item{off: b.gamma, bn: b})
	}
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].off < items[j-1].off; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	for _, it := range items {
		if it.cr != nil {
			l := it.cr.l
			fan := float64(l.Cin * l.K * l.K)
			uniform(m.params[it.cr.w:it.cr.w+l.WeightLen()], gain*math.Sqrt(3/fan))
			if it.cr.b >= 0 {
				uniform(m.params[it.cr.b:it.cr.b+l.Cout], 1/math.Sqrt(fan))
			}
			continue
		}
		b := it.bn
		for i := range b.c {
			m.params[b.gamma+i] = 1
			m.params[b.beta+i] = 0
		}
	}
	fan := float64(m.head.In)
	uniform(m.params[m.head.W:m.head.W+m.head.In*m.head.Out], gain*math.Sqrt(3/fan))
	uniform(m.params[m.head.B:m.head.B+m.head.Out], 1/math.Sqrt(fan))
	m.resetState()
}

// cnnBuffers are a ConvNet's buffers in a Workspace.
type cnnBuffers struct {
	net        *ConvNet
	logits     []float32 // capacity × classes
	dlogits    []float32
	features   []float32 // capacity × FeatureDim
	dfeatures  []float32
	noBackward bool
	featGrad   bool         // dfeatures holds a loss's feature gradient (FeatureGrad)
	ev         []*evalBlock // per thread
	inferPack  []float32
	inferBias  []float32
	tr         *trainBuffers
	// The arenas inferPack and inferBias were folded from, so that
	// evaluations with unchanged arenas (the tasks of one evaluation
	// point) fold once.
	foldParams, foldState []float32
	folded                bool
}

// evalBlock is one thread's buffers for the evaluation of one block.
type evalBlock struct {
	buf [3][]float32
	sc  conv.Scratch
}

// NewWorkspace implements Model. The buffers of training passes are
// allocated by the first Forward, for the blocks of 16 rows its groups
// need (and again, larger, by a pass that needs more), so that a
// workspace used only for evaluation holds the packed weights and one
// block's activations per thread.
func (m *ConvNet) NewWorkspace(capacity int) *Workspace {
	b := &cnnBuffers{net: m}
	b.logits = make([]float32, capacity*m.spec.Classes)
	b.features = make([]float32, capacity*m.feat)
	size := m.input.Len(1)
	for _, u := range m.units {
		size = max(size, u.out.Len(1))
		if u.kind == unitBlock {
			size = max(size, u.mid.Len(1))
		}
	}
	threads := 1
	if m.pool != nil {
		threads = m.pool.Threads()
	}
	for range min(threads, conv.Blocks(max(capacity, 1))) {
		e := &evalBlock{}
		for i := range e.buf {
			e.buf[i] = make([]float32, size)
		}
		b.ev = append(b.ev, e)
	}
	b.inferPack = make([]float32, m.packLen)
	b.inferBias = make([]float32, m.biasLen)
	return &Workspace{capacity: capacity, cnn: b}
}

func (b *cnnBuffers) logitGrad() []float32 {
	if b.dlogits == nil {
		b.dlogits = make([]float32, len(b.logits))
	}
	return b.dlogits
}

func (m *ConvNet) check(params []float32, ws *Workspace, n int) *cnnBuffers {
	if ws.cnn == nil || ws.cnn.net != m {
		panic("nn: a ConvNet given a workspace of another model")
	}
	if n > ws.capacity || n < 0 {
		panic(fmt.Sprintf("nn: batch of %d exceeds workspace capacity %d", n, ws.capacity))
	}
	if len(params) != len(m.params) {
		panic("nn: parameter arena of the wrong size")
	}
	return ws.cnn
}

// Features implements Model: the flattened pooled map of the rows of the
// last forward pass (n rows of FeatureDim, owned by ws).
func (m *ConvNet) Features(ws *Workspace) []float32 {
	return ws.cnn.features[:ws.n*m.feat]
}

// InferInputs implements Model.
func (m *ConvNet) InferInputs(params, state []float32, ws *Workspace, in *Inputs, r0, n int) []float32 {
	in.check(r0, n, m.InputDim())
	return m.Infer(params, state, ws, in.rowsDense(r0, n), n)
}

// head computes logits = features·W + b for n rows.
func (m *ConvNet) headForward(params []float32, b *cnnBuffers, n int) []float32 {
	h := m.head
	out := b.logits[:n*h.Out]
	if n == 0 {
		return out
	}
	m.eng.Sgemm(false, false, n, h.Out, h.In, 1, b.features[:n*h.In], h.In, params[h.W:h.W+h.In*h.Out], h.Out, 0, out, h.Out)
	vec.AddBiasReLU(out, h.Out, n, params[h.B:h.B+h.Out], false)
	return out
}

// Infer implements Model: evaluation mode with the batch normalisations
// folded into the convolutions (see ConvNet), block by block.
func (m *ConvNet) Infer(params, state []float32, ws *Workspace, x []float32, n int) []float32 {
	b := m.check(params, ws, n)
	if len(state) != len(m.state) {
		panic("nn: state arena of the wrong size")
	}
	if len(x) < n*m.InputDim() {
		panic("nn: Infer: short input")
	}
	ws.n, b.noBackward, b.featGrad = n, true, false
	if !b.folded || !sameBits(params, b.foldParams) || !sameBits(state, b.foldState) {
		m.fold(b, params, state)
		if b.foldParams == nil {
			b.foldParams = make([]float32, len(params))
			b.foldState = make([]float32, len(state))
		}
		copy(b.foldParams, params)
		copy(b.foldState, state)
		b.folded = true
	}
	nb := conv.Blocks(n)
	m.job = cnnJob{op: opInferBlocks, b: b, params: params, x: x, n: n, units: nb}
	m.runJob(len(b.ev))
	m.job = cnnJob{}
	return m.headForward(params, b, n)
}

// sameBits reports whether a and b hold the same bits.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 4*len(a)), unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 4*len(b)))
}

// fold packs every convolution for evaluation, with the batch
// normalisation that follows it folded in.
func (m *ConvNet) fold(b *cnnBuffers, params, state []float32) {
	var scale [2048]float32
	do := func(cr *convRef, bn *bnRef) {
		l := cr.l
		fb := b.inferBias[cr.bias : cr.bias+l.Cout]
		w := params[cr.w : cr.w+l.WeightLen()]
		if bn == nil {
			l.PackForward(b.inferPack[cr.pack:], w, nil)
			if cr.b >= 0 {
				copy(fb, params[cr.b:cr.b+l.Cout])
			} else {
				clear(fb)
			}
			return
		}
		sc := scale[:l.Cout]
		if l.Cout > len(scale) {
			sc = make([]float32, l.Cout) // beyond any architecture here
		}
		for o := range l.Cout {
			s := float64(params[bn.gamma+o]) / math.Sqrt(float64(state[bn.vari+o])+bnEps)
			bias := float64(params[bn.beta+o]) - float64(state[bn.mean+o])*s
			if cr.b >= 0 {
				bias += float64(params[cr.b+o]) * s
			}
			sc[o] = float32(s)
			fb[o] = float32(bias)
		}
		l.PackForward(b.inferPack[cr.pack:], w, sc)
	}
	for _, u := range m.units {
		do(u.c1, u.b1)
		if u.kind == unitBlock {
			do(u.c2, u.b2)
			if u.cs != nil {
				do(u.cs, u.bs)
			}
		}
	}
}

// inferBlocks evaluates blocks u0..u1-1 with thread tid's buffers.
func (m *ConvNet) inferBlocks(tid, u0, u1 int) {
	j := &m.job
	b := j.b
	e := b.ev[tid]
	d := m.InputDim()
	for blk := u0; blk < u1; blk++ {
		r0 := blk * conv.Lanes
		v := min(conv.Lanes, j.n-r0)
		x := e.buf[0]
		clear(x[:m.input.Len(1)])
		for l := range v {
			m.input.Scatter(x, 0, l, j.x[(r0+l)*d:(r0+l+1)*d])
		}
		cur := 0
		for _, u := range m.units {
			in := e.buf[cur]
			f := otherTwo(cur)
			switch u.kind {
			case unitConv:
				m.forwardEval(e, b, u.c1, in, e.buf[f[0]], u.out, nil, u.relu)
				cur = f[0]
			case unitBlock:
				t1, o := e.buf[f[0]], e.buf[f[1]]
				m.forwardEval(e, b, u.c1, in, t1, u.mid, nil, true)
				res := in
				if u.cs != nil {
					m.forwardEval(e, b, u.cs, in, o, u.out, nil, false)
					res = o
				}
				m.forwardEval(e, b, u.c2, t1, o, u.out, res, true)
				cur = f[1]
			}
		}
		poolBlock(m.last, e.buf[cur], 0, m.winY, m.winX, b.features[r0*m.feat:], m.feat, v)
	}
}

// otherTwo returns the two buffer indices other than cur.
func otherTwo(cur int) [2]int {
	switch cur {
	case 0:
		return [2]int{1, 2}
	case 1:
		return [2]int{0, 2}
	}
	return [2]int{0, 1}
}

// forwardEval runs one folded convolution on one block: dst (geometry
// t) = relu(conv(in) + bias + res).
func (m *ConvNet) forwardEval(e *evalBlock, b *cnnBuffers, cr *convRef, in, dst []float32, t conv.Tensor, res []float32, relu bool) {
	l := cr.l
	if res == nil || &res[0] != &dst[0] {
		conv.ClearBorder(t, dst, 1)
	}
	cr.l.ForwardBlock(b.inferPack[cr.pack:cr.pack+l.PackedLen()], in, dst, b.inferBias[cr.bias:cr.bias+l.Cout], res, relu, &e.sc)
}

// poolWindows returns the windows of a pooling with kernel and stride k
// along an axis of n values: ⌊n/k⌋ windows [q·k, q·k+k).
func poolWindows(n, k int) [][2]int {
	w := make([][2]int, n/k)
	for q := range w {
		w[q] = [2]int{q * k, q*k + k}
	}
	return w
}

// adaptiveWindows returns the windows of an adaptive pooling to out values
// along an axis of n values, as PyTorch's: [⌊q·n/out⌋, ⌈(q+1)·n/out⌉).
// Windows may overlap (n not a multiple of out) and repeat (n < out).
func adaptiveWindows(n, out int) [][2]int {
	w := make([][2]int, out)
	for q := range w {
		w[q] = [2]int{q * n / out, ((q+1)*n + out - 1) / out}
	}
	return w
}

// poolBlock averages the windows (winY × winX) of the valid lanes of
// block blk of x (geometry t) into rows of feat (row stride ld, flattened
// channel, row, column).
func poolBlock(t conv.Tensor, x []float32, blk int, winY, winX [][2]int, feat []float32, ld, valid int) {
	var s [conv.Lanes]float32
	for c := range t.C {
		base := blk*t.Block() + c*t.Plane()
		for qy, wy := range winY {
			for qx, wx := range winX {
				area := float32((wy[1] - wy[0]) * (wx[1] - wx[0]))
				s = [conv.Lanes]float32{}
				for y := wy[0]; y < wy[1]; y++ {
					for x0 := wx[0]; x0 < wx[1]; x0++ {
						v := (*[conv.Lanes]float32)(x[base+t.Pixel(y, x0):])
						for l := range conv.Lanes {
							s[l] += v[l]
						}
					}
				}
				f := (c*len(winY)+qy)*len(winX) + qx
				for l := range valid {
					feat[l*ld+f] = s[l] / area
				}
			}
		}
	}
}

// poolBackward writes into block blk of dx (geometry t) the gradient of
// the pooling from rows of dfeat: each pixel gets, for every window that
// contains it, its row's value divided by the window's area; pixels
// outside every window and lanes at or beyond valid get 0.
func poolBackward(t conv.Tensor, dx []float32, blk int, winY, winX [][2]int, dfeat []float32, ld, valid int) {
	for c := range t.C {
		base := blk*t.Block() + c*t.Plane()
		for y := range t.H {
			clear(dx[base+t.Pixel(y, 0):][:t.W*conv.Lanes])
		}
		for qy, wy := range winY {
			for qx, wx := range winX {
				area := float32((wy[1] - wy[0]) * (wx[1] - wx[0]))
				f := (c*len(winY)+qy)*len(winX) + qx
				for y := wy[0]; y < wy[1]; y++ {
					for x0 := wx[0]; x0 < wx[1]; x0++ {
						d := (*[conv.Lanes]float32)(dx[base+t.Pixel(y, x0):])
						for l := range valid {
							d[l] += dfeat[l*ld+f] / area
						}
					}
				}
			}
		}
	}
}
