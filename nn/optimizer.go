package nn

// Optimizer updates a parameter arena from a gradient arena of the same
// layout. SGD is the one cleval has.
type Optimizer interface {
	// Step applies one update to params from grads (grads is not
	// modified).
	Step(params, grads []float32)
	// Reset forgets the optimizer's state (momentum), as a fresh
	// optimizer would have.
	Reset()
}

var _ Optimizer = (*SGD)(nil)
