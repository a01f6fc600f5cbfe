// Package regularize implements the regularisation family as wrapper
// strategies: "ewc" (online EWC with a diagonal Fisher), "lwf" (learning
// without forgetting) and "si" (synaptic intelligence). Each wraps another
// strategy (default "naive"), e.g. {"base": "er", "base_params": {...}}:
// EWC and SI add their penalty's gradient to the wrapped strategy's
// gradient before the optimizer step (a strategies.GradientHook), LwF adds
// its distillation term to the loss of the new data (a
// strategies.LogitHook). The penalties are included in the reported loss.
//
// Online EWC (Schwarz et al. 2018): at the end of every experience the
// diagonal Fisher F of the experience's training data is estimated at the
// current parameters (see EstimateFisher), the accumulated F̃ becomes
// γ·F̃ + F and θ* the current parameters; the loss gets λ/2·Σ F̃(θ − θ*)².
// With γ = 1 this is EWC with one penalty whose Fisher sums those of all
// earlier experiences, anchored at the last θ*.
package regularize
