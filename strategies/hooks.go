package strategies

import "github.com/cleval/cleval/nn"

// Update describes the update WeightedStep is computing, for hooks.
type Update struct {
	// WS holds the activations of the forward pass over the batch (and,
	// for gradient hooks, the per-layer deltas of its backward pass).
	WS *nn.Workspace
	// X holds the N rows of the batch, Y their labels.
	X []float32
	Y []int32
	N int
	// Segs are the batch's segments, after segment hooks.
	Segs []Segment
}

// Offset returns the first row of segment i.
func (u *Update) Offset(i int) int {
	at := 0
	for _, s := range u.Segs[:i] {
		at += s.N
	}
	return at
}

// SegmentHook changes a segment before its loss is computed (softmax
// masking changes the softmax of New segments).
type SegmentHook interface {
	HookSegment(ctx *Context, seg *Segment)
}

// LogitHook adds a term to the loss of segment i of u: it receives the
// segment's logits and their gradient (holding the cross-entropy's
// gradient), may add the gradient of its term to dlogits, and returns the
// term's value (distillation in LwF).
type LogitHook interface {
	HookLogits(ctx *Context, u *Update, i int, logits, dlogits []float32) float64
}

// GradientHook changes the gradient of the update after the backward pass
// and before the optimizer step: it may rewrite ctx.Model.Grads() (a
// projection) or add to it (a penalty), and returns what it adds to the
// loss (0 for a projection). It may run forward and backward passes of its
// own with its own workspace, leaving the final gradient in
// ctx.Model.Grads().
type GradientHook interface {
	HookGradient(ctx *Context, u *Update) float64
}

// Hooks are the hooks a wrapper strategy installs in the Context it passes
// to the strategy it wraps; WeightedStep runs them. The zero value has no
// hooks. Hooks of inner wrappers run before those of outer ones: in
// agem(ewc(er)) the EWC penalty is added to the gradient before A-GEM
// projects it.
type Hooks struct {
	segment  []SegmentHook
	logits   []LogitHook
	gradient []GradientHook
	scratch  *hookScratch
	// ran holds, for every wrapper that installed hooks, the number of
	// updates that ran them.
	ran []*int
}

type hookScratch struct {
	segs   []Segment
	update Update
}

func (h *Hooks) empty() bool {
	return len(h.segment) == 0 && len(h.logits) == 0 && len(h.gradient) == 0
}

// With returns h with hook added before the existing hooks, for every hook
// interface (SegmentHook, LogitHook, GradientHook) that hook implements.
// Wrappers do not call it themselves: Wrapper.Init does, and OwnHooks for
// a strategy's own loss terms.
func (h Hooks) With(hook any) Hooks {
	out, _ := h.with(hook)
	return out
}

// with is With that also returns the counter of the updates that run the
// hooks of hook (nil when hook has none).
func (h Hooks) with(hook any) (Hooks, *int) {
	out := Hooks{scratch: &hookScratch{}}
	sh, isSeg := hook.(SegmentHook)
	if isSeg {
		out.segment = append(out.segment, sh)
	}
	out.segment = append(out.segment, h.segment...)
	lh, isLogit := hook.(LogitHook)
	if isLogit {
		out.logits = append(out.logits, lh)
	}
	out.logits = append(out.logits, h.logits...)
	gh, isGrad := hook.(GradientHook)
	if isGrad {
		out.gradient = append(out.gradient, gh)
	}
	out.gradient = append(out.gradient, h.gradient...)
	out.ran = append(out.ran, h.ran...)
	var ran *int
	if isSeg || isLogit || isGrad {
		ran = new(int)
		out.ran = append(out.ran, ran)
	}
	return out, ran
}

// OwnHooks lets a strategy add loss terms of its own through the hook
// path: it implements LogitHook or GradientHook itself and updates
// through WeightedStep with the Context OwnHooks returns. Its terms then
// run before those of the wrappers around it, so that a projection (A-GEM)
// sees the whole gradient. Embed it or keep it as a field.
type OwnHooks struct {
	hooks  Hooks
	parent []*int
	ctx    Context
	ready  bool
}

// Context returns ctx with self's hooks installed innermost. The pointer
// stays the same from call to call.
func (o *OwnHooks) Context(ctx *Context, self any) *Context {
	if !o.ready || !sameCounters(o.parent, ctx.Hooks.ran) {
		o.hooks = ctx.Hooks.With(self)
		o.parent = ctx.Hooks.ran
		o.ready = true
	}
	o.ctx = *ctx
	o.ctx.Hooks = o.hooks
	return &o.ctx
}

func sameCounters(a, b []*int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
