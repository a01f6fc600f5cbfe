package nn

import "math/rand/v2"

// Model is what strategies and the driver need of a network: a flat
// parameter arena, a gradient arena of the same layout, an arena of
// non-parameter state, and forward and backward passes through a
// Workspace.
//
// Training passes (Forward, Backward) work on the model's own arenas and
// may update its State (batch-norm running statistics); evaluation passes
// (Infer, InferInputs) take the arenas to use, so that variants (EMA
// models) and snapshots (a teacher, an anchor) are evaluated without
// copying them into the model, and they leave everything unchanged.
type Model interface {
	// Spec returns the description the model was built from.
	Spec() Spec
	// InputDim is the number of input values per sample; OutputDim the
	// number of outputs (classes).
	InputDim() int
	OutputDim() int
	// Params returns the parameter arena (owned by the model).
	Params() []float32
	// Grads returns the gradient arena, same layout as Params.
	Grads() []float32
	// State returns the arena of non-parameter state that training
	// updates and evaluation reads: batch-norm running means and
	// variances. It is empty for models without such state. Snapshots and
	// variants keep a copy of it with their parameters.
	State() []float32
	// ZeroGrad sets every gradient to zero.
	ZeroGrad()
	// Init draws fresh parameters from rng (PyTorch's default
	// initialisation of every layer) and resets State.
	Init(rng *rand.Rand)
	// NewWorkspace returns activation storage for batches of up to
	// capacity samples.
	NewWorkspace(capacity int) *Workspace
	// Forward computes, in training mode, the logits of n samples (x holds
	// n rows of InputDim values) and returns them (n rows of OutputDim,
	// owned by ws). Batch statistics are computed per group of rows (see
	// Workspace.SetGroups) and update State. The activations stay in ws
	// for Backward.
	Forward(ws *Workspace, x []float32, n int) []float32
	// Backward accumulates into Grads the gradient of a loss whose
	// gradient with respect to the logits of ws's last Forward is in
	// ws.LogitGrad().
	Backward(ws *Workspace)
	// Infer computes the logits of n samples in evaluation mode with the
	// given arenas (layouts of Params and State). It keeps nothing for
	// Backward and changes no arena.
	Infer(params, state []float32, ws *Workspace, x []float32, n int) []float32
	// NewInputs returns an empty set of input rows stored in the form the
	// model's first layer reads fastest (InferInputs).
	NewInputs() *Inputs
	// InferInputs is Infer on rows r0..r0+n-1 of in.
	InferInputs(params, state []float32, ws *Workspace, in *Inputs, r0, n int) []float32
	// FeatureDim is the width of the representation the output layer
	// reads (the penultimate layer); Features returns it for the rows of
	// ws's last forward pass (n rows of FeatureDim, owned by ws).
	FeatureDim() int
	Features(ws *Workspace) []float32
	// Head returns the output layer's place in the arenas.
	Head() Linear
	// Compute returns what the model computes with.
	Compute() *Compute
}

// Linear describes a fully connected layer's place in the arenas: it maps
// In inputs to Out outputs; its weight (In×Out, row-major: the weight from
// input i to output o is at W + i·Out + o) starts at offset W and its bias
// (Out values) at offset B. For MLPs B = W + In·Out, so [W; b] is one
// contiguous (In+1)×Out block: the weight of the layer applied to the
// input augmented with a constant 1.
type Linear struct {
	In, Out int
	W, B    int
}

// LinearLayers is implemented by models made of fully connected layers
// only (MLP). Strategies that act on each layer's input (OWM's projectors)
// use it.
type LinearLayers interface {
	Model
	// Linears returns the layers, input layer first.
	Linears() []Linear
	// LinearInput returns the input of layer l in ws's last training
	// forward pass: N rows of the layer's In values, owned by ws.
	LinearInput(ws *Workspace, l int) []float32
}

// SampleGradients is implemented by models that compute the sum of the
// squared per-sample gradients of a batch in one pass (EWC's Fisher
// information).
type SampleGradients interface {
	Model
	// AddSquaredSampleGrads adds Σ_r g_r ⊙ g_r to dst (layout of Params),
	// g_r being the gradient of row r's loss, after Forward and Backward
	// on ws with the per-row loss gradients in ws.LogitGrad().
	AddSquaredSampleGrads(ws *Workspace, dst []float32)
}

// FeatureGradients is implemented by models that back-propagate a loss on
// the features (the penultimate representation, Features) together with
// one on the logits. A loss defined on normalised features (PCR's
// proxy-contrastive loss) has a gradient along the features themselves,
// which no gradient of the logits can carry through the linear head.
type FeatureGradients interface {
	Model
	// FeatureGrad returns the buffer (N rows of FeatureDim, N the rows of
	// ws's last training forward pass) into which a loss writes its
	// gradient with respect to Features(ws). The first call after a
	// forward pass zeroes it; the next Backward on ws adds it to the
	// gradient flowing back from the logits. Without a call since the
	// forward pass, Backward uses the logits alone.
	FeatureGrad(ws *Workspace) []float32
}

// Matrix describes a layer's weight as a Rows×Cols row-major block of the
// arenas starting at offset W, with the layer's bias at offset B (-1:
// none). InputRows says which side is the layer's input: true when the
// rows index the inputs (a fully connected layer's In×Out weight), false
// when the columns do (a convolution's Cout×(Cin·K·K) kernel in PyTorch's
// OIHW layout, whose row o holds output channel o's weights over the
// input channels and the kernel window). Either way Rows·Cols weights
// start at W.
type Matrix struct {
	Rows, Cols int
	W, B       int
	InputRows  bool
}

// In returns the number of inputs of the layer (its fan-in): Rows when
// InputRows, Cols otherwise.
func (mx Matrix) In() int {
	if mx.InputRows {
		return mx.Rows
	}
	return mx.Cols
}

// WeightMatrices is implemented by models whose hidden layers' weights are
// matrices: the MLP's hidden fully connected layers, a ConvNet's
// convolutions. Strategies that act on whole weight matrices (SGM's
// low-rank adapters) use it. The head (Model.Head) is not among them.
type WeightMatrices interface {
	Model
	// Matrices returns the weight matrices of every layer but the head,
	// in the order of the arenas (input side first).
	Matrices() []Matrix
}
