package nn

// Layer describes one linear layer of an MLP in the arenas: it maps In
// inputs to Out outputs; its weight (In×Out, row-major) starts at offset W
// and its bias (Out values) at offset B = W + In·Out. The bias follows the
// weight, so [W; b] is one contiguous (In+1)×Out row-major block: the weight
// of the layer applied to the input augmented with a constant 1.
type Layer struct {
	In, Out int
	W, B    int
}

// Layers returns the layers of the MLP, input layer first.
func (m *MLP) Layers() []Layer {
	out := make([]Layer, len(m.layers))
	for i, L := range m.layers {
		out[i] = Layer{In: L.in, Out: L.out, W: L.w, B: L.b}
	}
	return out
}

// N returns the number of rows of the last forward pass.
func (ws *Workspace) N() int { return ws.n }

// LayerInput returns the input of layer l in the last forward pass: N rows
// of the layer's In values (the batch itself for l = 0, the post-ReLU
// activations of layer l-1 otherwise). It is nil for l = 0 after
// ForwardSparse. The slice is owned by the workspace.
func (ws *Workspace) LayerInput(l int) []float32 {
	if l == 0 {
		return ws.x
	}
	if ws.capacity == 0 {
		return nil
	}
	return ws.acts[l-1][:ws.n*len(ws.acts[l-1])/ws.capacity]
}

// LayerGrad returns, after Backward, the gradient of the loss with respect
// to the pre-activation output of layer l: N rows of the layer's Out values
// (for the last layer, the logit gradient). The slice is owned by the
// workspace.
func (ws *Workspace) LayerGrad(l int) []float32 {
	if ws.capacity == 0 {
		return nil
	}
	return ws.grads[l][:ws.n*len(ws.grads[l])/ws.capacity]
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
	if ws.noBackward {
		panic("nn: AddSquaredSampleGrads after ForwardSparse")
	}
	if len(dst) != len(m.params) {
		panic("nn: AddSquaredSampleGrads: destination of the wrong size")
	}
	n := ws.n
	for l, L := range m.layers {
		in := ws.x[:n*L.in]
		if l > 0 {
			in = ws.acts[l-1][:n*L.in]
		}
		d := ws.grads[l][:n*L.out]
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
