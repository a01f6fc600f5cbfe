package nn

// Workspace holds the activations of up to Cap samples for one model. A
// workspace belongs to one goroutine at a time and to the model that made
// it.
type Workspace struct {
	capacity int
	n        int
	groups   []int
	mlp      *mlpBuffers
	cnn      *cnnBuffers
}

// Cap returns the largest batch the workspace holds.
func (ws *Workspace) Cap() int { return ws.capacity }

// N returns the number of rows of the last forward pass.
func (ws *Workspace) N() int { return ws.n }

// SetGroups makes the next training forward passes compute batch
// statistics (batch normalisation) per group of consecutive rows, as if
// each group of sizes[i] rows were forwarded on its own, and update the
// running statistics once per group, in order — what PyTorch code does
// when it forwards the new and the replayed samples of an update
// separately. The sizes must add up to the rows of each pass; no sizes
// (the default) make the whole batch one group. Models without batch
// statistics ignore the groups.
func (ws *Workspace) SetGroups(sizes ...int) { ws.groups = append(ws.groups[:0], sizes...) }

// AddGroup appends a group of n rows to those of SetGroups.
func (ws *Workspace) AddGroup(n int) { ws.groups = append(ws.groups, n) }

// Logits returns the logits of the last forward pass (N rows).
func (ws *Workspace) Logits() []float32 {
	if ws.mlp != nil {
		a := ws.mlp.acts[len(ws.mlp.acts)-1]
		return a[:ws.n*len(a)/ws.capacity]
	}
	if ws.cnn != nil {
		return ws.cnn.logits[:ws.n*ws.cnn.net.OutputDim()]
	}
	panic("nn: Logits of an unused workspace")
}

// LogitGrad returns the buffer a loss writes the gradient of the logits
// into before Backward (room for Cap rows).
func (ws *Workspace) LogitGrad() []float32 {
	if ws.mlp != nil {
		return ws.mlp.logitGrad()
	}
	if ws.cnn != nil {
		return ws.cnn.logitGrad()
	}
	panic("nn: LogitGrad of an unused workspace")
}
