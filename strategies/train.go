package strategies

import (
	"math"

	"github.com/cleval/cleval/nn"
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
	// New marks rows of the incoming batch of the current experience, as
	// opposed to replayed or otherwise earlier data. Wrappers that treat
	// new data apart (softmax masking, LwF) act on New segments only.
	New bool
	// Keep, when not nil, replaces in every row the logits of the classes
	// marked false by the constant MaskValue, which stops their gradient
	// (nn.SoftmaxCEValue); MaskValue = −Inf removes them from the softmax.
	// It applies on top of Mask and Masks. Set MaskValue whenever Keep is
	// set: its zero value is the logit 0.
	Keep      []bool
	MaskValue float64
}

// softmaxMask returns the softmax restrictions of the segment.
func (s *Segment) softmaxMask() nn.SoftmaxMask {
	m := nn.SoftmaxMask{Masks: s.Masks, Keep: s.Keep, Value: float32(s.MaskValue)}
	if s.Masks == nil {
		m.Mask = s.Mask
	}
	return m
}

// WeightedStep runs one forward pass over the n = Σ N rows of x (labels y),
// computes Σ Weight·mean CE(segment), back-propagates it, and applies one
// optimizer update. It returns the loss. ws must hold n rows. When the loss
// is NaN or infinite no update is made (the driver stops the run as
// diverged).
//
// WeightedStep runs the hooks installed in ctx by wrapper strategies
// (Hooks): segment hooks before the loss, logit hooks after it, gradient
// hooks after the backward pass and before the update; what logit and
// gradient hooks add to the loss (a distillation term, a penalty) is
// included in the returned loss. Strategies that update through
// WeightedStep therefore compose with every wrapper.
//
// When the Context has an augmentation (SetAugment) the forward pass sees
// augmented copies of the rows, and so do the hooks (Update.X).
//
// In models with batch normalisation each segment is normalised by its own
// batch statistics (as if the segments were forwarded one after the
// other, as PyTorch code that forwards the new and the replayed samples
// separately does), unless ctx.JointBatchNorm asks for one pass over the
// concatenated rows.
func WeightedStep(ctx *Context, ws *nn.Workspace, x []float32, y []int32, segs ...Segment) float64 {
	if ctx.aug != nil {
		n := 0
		for _, s := range segs {
			n += s.N
		}
		x = ctx.augment(x, n, ctx.Model.InputDim())
	}
	var loss float64
	if ctx.Hooks.empty() {
		loss = weightedGrad(ctx.Model, ws, x, y, segs, ctx.JointBatchNorm)
	} else {
		loss = hookedGrad(ctx, ws, x, y, segs)
	}
	if !Finite(loss) {
		return loss
	}
	ctx.Optimizer.Step(ctx.Model.Params(), ctx.Model.Grads())
	return loss
}

// Finite reports whether v is neither NaN nor infinite.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// WeightedGrad is WeightedStep without the update and without hooks: it
// leaves the gradient of the weighted loss in m.Grads() (overwritten, not
// accumulated). Each segment is a batch-normalisation group of its own.
func WeightedGrad(m nn.Model, ws *nn.Workspace, x []float32, y []int32, segs ...Segment) float64 {
	return weightedGrad(m, ws, x, y, segs, false)
}

func weightedGrad(m nn.Model, ws *nn.Workspace, x []float32, y []int32, segs []Segment, joint bool) float64 {
	n := setGroups(ws, segs, joint)
	logits := m.Forward(ws, x, n)
	loss := segmentLoss(logits, m.OutputDim(), y, segs, ws.LogitGrad())
	if !Finite(loss) {
		return loss
	}
	m.ZeroGrad()
	m.Backward(ws)
	return loss
}

// setGroups makes every segment a group of its own for batch statistics
// (as if each were forwarded separately), or the whole batch one group
// when joint is set, and returns the number of rows.
func setGroups(ws *nn.Workspace, segs []Segment, joint bool) int {
	n := 0
	ws.SetGroups()
	for _, s := range segs {
		if s.N > 0 {
			if !joint {
				ws.AddGroup(s.N)
			}
			n += s.N
		}
	}
	return n
}

// segmentLoss computes Σ Weight·mean CE over the segments of logits and
// writes the gradient of that loss with respect to the logits into dl.
func segmentLoss(logits []float32, C int, y []int32, segs []Segment, dl []float32) float64 {
	loss := 0.0
	at := 0
	for _, s := range segs {
		if s.N == 0 {
			continue
		}
		lg, d, ys := logits[at*C:(at+s.N)*C], dl[at*C:(at+s.N)*C], y[at:at+s.N]
		scale := float32(s.Weight / float64(s.N))
		sum, _ := nn.SoftmaxCE(lg, s.N, C, ys, s.softmaxMask(), scale, d)
		loss += s.Weight * sum / float64(s.N)
		at += s.N
	}
	return loss
}

// hookedGrad is WeightedGrad with the hooks of ctx.
func hookedGrad(ctx *Context, ws *nn.Workspace, x []float32, y []int32, segs []Segment) float64 {
	h := &ctx.Hooks
	sc := h.scratch
	sc.segs = append(sc.segs[:0], segs...)
	for i := range sc.segs {
		for _, sh := range h.segment {
			sh.HookSegment(ctx, &sc.segs[i])
		}
	}
	n := setGroups(ws, sc.segs, ctx.JointBatchNorm)
	m := ctx.Model
	C := m.OutputDim()
	logits := m.Forward(ws, x, n)
	dl := ws.LogitGrad()
	loss := segmentLoss(logits, C, y, sc.segs, dl)
	u := &sc.update
	*u = Update{WS: ws, X: x[:n*m.InputDim()], Y: y[:n], N: n, Segs: sc.segs}
	if len(h.logits) > 0 {
		at := 0
		for i, s := range sc.segs {
			for _, lh := range h.logits {
				loss += lh.HookLogits(ctx, u, i, logits[at*C:(at+s.N)*C], dl[at*C:(at+s.N)*C])
			}
			at += s.N
		}
	}
	if !Finite(loss) {
		return loss
	}
	m.ZeroGrad()
	m.Backward(ws)
	for _, gh := range h.gradient {
		loss += gh.HookGradient(ctx, u)
	}
	for _, r := range h.ran {
		*r++
	}
	return loss
}
