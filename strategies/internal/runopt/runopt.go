// Package runopt finds the configuration of the run's optimizer, for
// strategies that train arenas of their own (LoRA adapters, a second
// network) with the same SGD as the model.
package runopt

import (
	"reflect"

	"github.com/cleval/cleval/nn"
)

// configurer is implemented by optimizers that expose their SGD
// configuration (nn.SGD).
type configurer interface {
	Config() nn.SGDConfig
}

// SGDConfig returns the SGD configuration of o. The optimizer a wrapper
// passes to the strategy it wraps counts updates around the run's
// optimizer, which it holds in an embedded field named Optimizer: such
// layers are looked through (up to 16 deep). ok is false when no SGD
// configuration is found.
func SGDConfig(o nn.Optimizer) (cfg nn.SGDConfig, ok bool) {
	for range 16 {
		if o == nil {
			return nn.SGDConfig{}, false
		}
		if c, ok := o.(configurer); ok {
			return c.Config(), true
		}
		v := reflect.ValueOf(o)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nn.SGDConfig{}, false
		}
		f := v.FieldByName("Optimizer")
		if !f.IsValid() || !f.CanInterface() {
			return nn.SGDConfig{}, false
		}
		inner, isOpt := f.Interface().(nn.Optimizer)
		if !isOpt {
			return nn.SGDConfig{}, false
		}
		o = inner
	}
	return nn.SGDConfig{}, false
}
