package strategies

import (
	"math"

	"github.com/cleval/cleval/harness/nn"
)

// Segment is a run of rows of a concatenated batch with its loss weight:
// the loss of the whole batch is Σ Weight·mean CE(segment).
type Segment struct {
	// N is the number of rows.
	N int
	// Weight multiplies the segment's mean cross-entropy.
	Weight float64
	// Mask, when not nil, restricts the segment's softmax to the classes
	// marked true (task-incremental streams: the batch's Mask).
	Mask []bool
	// Masks, when not nil, gives one mask per row instead (rows from
	// different tasks, such as replayed samples); entries may be nil.
	Masks [][]bool
}

// WeightedStep runs one forward pass over the n = Σ N rows of x (labels y),
// computes Σ Weight·mean CE(segment), back-propagates it, and applies one
// optimizer update. It returns the loss. ws must hold n rows. When the loss
// is NaN or infinite no update is made (the driver stops the run as
// diverged).
func WeightedStep(ctx *Context, ws *nn.Workspace, x []float32, y []int32, segs ...Segment) float64 {
	loss := WeightedGrad(ctx.Model, ws, x, y, segs...)
	if !Finite(loss) {
		return loss
	}
	ctx.Optimizer.Step(ctx.Model.Params(), ctx.Model.Grads())
	return loss
}

// Finite reports whether v is neither NaN nor infinite.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// WeightedGrad is WeightedStep without the update: it leaves the gradient
// of the weighted loss in m.Grads() (overwritten, not accumulated).
func WeightedGrad(m nn.Model, ws *nn.Workspace, x []float32, y []int32, segs ...Segment) float64 {
	n := 0
	for _, s := range segs {
		n += s.N
	}
	C := m.OutputDim()
	logits := m.Forward(ws, x, n)
	dl := ws.LogitGrad()
	loss := 0.0
	at := 0
	for _, s := range segs {
		if s.N == 0 {
			continue
		}
		var sum float64
		if s.Masks != nil {
			sum, _ = nn.SoftmaxCEMasks(logits[at*C:(at+s.N)*C], s.N, C, y[at:at+s.N], s.Masks, float32(s.Weight/float64(s.N)), dl[at*C:(at+s.N)*C])
		} else {
			sum, _ = nn.SoftmaxCE(logits[at*C:(at+s.N)*C], s.N, C, y[at:at+s.N], s.Mask, float32(s.Weight/float64(s.N)), dl[at*C:(at+s.N)*C])
		}
		loss += s.Weight * sum / float64(s.N)
		at += s.N
	}
	if !Finite(loss) {
		return loss
	}
	m.ZeroGrad()
	m.Backward(ws)
	return loss
}
