package nn

// Linears implements LinearLayers.
func (m *MLP) Linears() []Linear {
	out := make([]Linear, len(m.layers))
	for i, L := range m.layers {
		out[i] = Linear{In: L.in, Out: L.out, W: L.w, B: L.b}
	}
	return out
}

// LinearInput implements LinearLayers: the batch itself for l = 0, the
// post-ReLU activations of layer l-1 otherwise (N rows of the layer's In
// values). It is nil for l = 0 after a pass over sparse stored inputs.
func (m *MLP) LinearInput(ws *Workspace, l int) []float32 {
	b := ws.mlp
	if l == 0 {
		if b.x == nil {
			return nil
		}
		return b.x[:ws.n*m.layers[0].in]
	}
	return b.acts[l-1][:ws.n*m.layers[l].in]
}

// AddSquaredSampleGrads adds to dst (the layout of Params) the sum over the
// rows of the last forward pass of the squared per-row gradient: each row's
// gradient is that of a loss whose gradient with respect to the row's
// logits is the row of ws.LogitGrad(). Call it after Backward, which
// computes the per-layer deltas it uses; with per-row loss gradients of
// scale 1 this is the diagonal of the empirical Fisher times N. For a
// linear layer the per-row gradient is the outer product a⊗d of the layer
// input and delta, so the sum of squares is (a²)ᵀ(d²): one product per
// layer. It allocates scratch space and is meant for occasional use (at an
// experience end), not for every update.
func (m *MLP) AddSquaredSampleGrads(ws *Workspace, dst []float32) {
	b := ws.mlp
	if b.noBackward || b.grads == nil {
		panic("nn: AddSquaredSampleGrads without a training pass and Backward")
	}
	if len(dst) != len(m.params) {
		panic("nn: AddSquaredSampleGrads: destination of the wrong size")
	}
	n := ws.n
	for l, L := range m.layers {
		in := m.LinearInput(ws, l)
		d := b.grads[l][:n*L.out]
		a2 := make([]float32, len(in))
		for i, v := range in {
			a2[i] = v * v
		}
		d2 := make([]float32, len(d))
		for i, v := range d {
			d2[i] = v * v
		}
		m.eng.Sgemm(true, false, L.in, L.out, n, 1, a2, L.in, d2, L.out, 1, dst[L.w:L.w+L.in*L.out], L.out)
		gb := dst[L.b : L.b+L.out]
		for r := range n {
			for j, v := range d2[r*L.out : (r+1)*L.out] {
				gb[j] += v
			}
		}
	}
}

// Matrices implements WeightMatrices: the hidden layers' In×Out weights
// (the input layer first), the head left out.
func (m *MLP) Matrices() []Matrix {
	out := make([]Matrix, 0, len(m.layers)-1)
	for _, L := range m.layers[:len(m.layers)-1] {
		out = append(out, Matrix{Rows: L.in, Cols: L.out, W: L.w, B: L.b, InputRows: true})
	}
	return out
}

// Matrices implements WeightMatrices: every convolution's kernel as a
// Cout×(Cin·K·K) matrix, in the order of the arenas (the stem, then each
// block's first and second convolution and its shortcut's).
func (m *ConvNet) Matrices() []Matrix {
	out := make([]Matrix, 0, len(m.convs))
	for _, cr := range m.convs {
		l := cr.l
		out = append(out, Matrix{Rows: l.Cout, Cols: l.Cin * l.K * l.K, W: cr.w, B: cr.b})
	}
	return out
}
