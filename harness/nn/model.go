package nn

// Model is what strategies and the driver need of a network: one flat
// parameter arena, a gradient arena of the same layout, and forward and
// backward passes through a Workspace. *MLP implements it.
type Model interface {
	InputDim() int
	OutputDim() int
	// Params returns the parameter arena (owned by the model).
	Params() []float32
	// Grads returns the gradient arena, same layout as Params.
	Grads() []float32
	// ZeroGrad sets every gradient to zero.
	ZeroGrad()
	// NewWorkspace returns activation storage for batches of up to capacity samples.
	NewWorkspace(capacity int) *Workspace
	// Forward computes the logits of n samples (x holds n rows of InputDim
	// values); the result (n rows of OutputDim) is owned by ws.
	Forward(ws *Workspace, x []float32, n int) []float32
	// ForwardWith is Forward with another parameter arena of the same layout.
	ForwardWith(params []float32, ws *Workspace, x []float32, n int) []float32
	// Backward accumulates into Grads the gradient of a loss whose gradient
	// with respect to the logits of ws's last Forward is in ws.LogitGrad().
	Backward(ws *Workspace)
}

var _ Model = (*MLP)(nil)
