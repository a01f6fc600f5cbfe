package runopt

import (
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// keeper is a strategy that keeps the Context it is set up with.
type keeper struct {
	strategies.Base
	ctx *strategies.Context
}

func (s *keeper) Setup(ctx *strategies.Context) error { s.ctx = ctx; return nil }
func (s *keeper) Step(*strategies.Context, *streams.Batch) (strategies.StepResult, error) {
	return strategies.StepResult{}, nil
}

// TestSGDConfigThroughWrappers: the run's SGD configuration is found from
// the optimizer of the run and from those wrappers pass on, nested.
func TestSGDConfigThroughWrappers(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	want := nn.SGDConfig{LR: 0.05, Momentum: 0.9}
	if got, ok := SGDConfig(ctx.Optimizer); !ok || got != want {
		t.Fatalf("run's optimizer: %+v %v, want %+v", got, ok, want)
	}
	k := &keeper{}
	inner := strategies.Wrap("a", "keeper", k)
	outer := strategies.Wrap("b", "a", &inner)
	if err := outer.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if k.ctx.Optimizer == ctx.Optimizer {
		t.Fatal("the wrapped strategy got the run's optimizer itself; the test needs a wrapped one")
	}
	if got, ok := SGDConfig(k.ctx.Optimizer); !ok || got != want {
		t.Errorf("through two wrappers: %+v %v, want %+v", got, ok, want)
	}
	if _, ok := SGDConfig(nil); ok {
		t.Error("nil optimizer: ok")
	}
	if _, ok := SGDConfig(noConfig{}); ok {
		t.Error("optimizer without a configuration: ok")
	}
}

type noConfig struct{}

func (noConfig) Step(_, _ []float32) {}
func (noConfig) Reset()              {}
