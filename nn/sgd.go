package nn

import (
	"fmt"

	"github.com/cleval/cleval/internal/vec"
)

// SGDConfig configures stochastic gradient descent with PyTorch's
// torch.optim.SGD semantics (dampening 0).
type SGDConfig struct {
	// LR is the learning rate, > 0.
	LR float64 `json:"lr"`
	// Momentum in [0, 1); zero disables it.
	Momentum float64 `json:"momentum"`
	// WeightDecay is the L2 coefficient added to the gradient, >= 0.
	WeightDecay float64 `json:"weight_decay"`
	// Nesterov selects Nesterov momentum.
	Nesterov bool `json:"nesterov,omitempty"`
}

// Validate rejects values outside the documented ranges.
func (c SGDConfig) Validate() error {
	switch {
	case !(c.LR > 0):
		return fmt.Errorf("nn: learning rate %v: must be > 0", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("nn: momentum %v: must be in [0, 1)", c.Momentum)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("nn: weight decay %v: must be >= 0", c.WeightDecay)
	case c.Nesterov && c.Momentum == 0:
		return fmt.Errorf("nn: Nesterov momentum needs momentum > 0")
	}
	return nil
}

// SGD updates a parameter arena from a gradient arena:
//
//	g ← g + wd·p;  v ← g (first step) or μ·v + g;  g ← v (or g + μ·v, Nesterov);  p ← p − lr·g
type SGD struct {
	cfg      SGDConfig
	velocity []float32
	started  bool
}

// NewSGD returns an optimizer for arenas of size n.
func NewSGD(cfg SGDConfig, n int) *SGD {
	o := &SGD{cfg: cfg}
	if cfg.Momentum != 0 {
		o.velocity = make([]float32, n)
	}
	return o
}

// Config returns the optimizer's configuration.
func (o *SGD) Config() SGDConfig { return o.cfg }

// Reset forgets the momentum state.
func (o *SGD) Reset() { o.started = false; clear(o.velocity) }

// Step applies one update to params from grads. grads is not modified.
func (o *SGD) Step(params, grads []float32) {
	if len(params) != len(grads) {
		panic("nn: SGD: arenas of different sizes")
	}
	var v []float32
	first := false
	if o.cfg.Momentum != 0 {
		v = o.velocity[:len(params)]
		first = !o.started
		o.started = true
	}
	vec.SGDStep(params, grads, v, float32(o.cfg.LR), float32(o.cfg.Momentum), float32(o.cfg.WeightDecay), first, o.cfg.Nesterov)
}
