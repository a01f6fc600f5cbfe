package all_test

import (
	"testing"

	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// TestProperties runs the strategy kit's property checks (determinism, no
// allocation per warmed-up step, well-formed variants, composition with a
// wrapper that has hooks) on every case, on class- and task-incremental
// streams.
func TestProperties(t *testing.T) {
	for _, scen := range []streams.Scenario{streams.ClassIncremental, streams.TaskIncremental} {
		for _, c := range cases {
			t.Run(string(scen)+"/"+c.name, func(t *testing.T) {
				strategytest.Check(t, c.strategy, c.params, strategytest.Options{Scenario: scen, Experiences: 3, Classes: 6})
			})
		}
	}
}

// TestPropertiesOnCNN runs the property checks with the small cnn (batch
// normalisation, a model state) for the strategies that keep snapshots,
// variants or reference passes.
func TestPropertiesOnCNN(t *testing.T) {
	for _, name := range []string{"naive", "er", "ema-er", "agem", "gem", "lwf", "si", "mask-finite-er", "cumulative", "joint"} {
		for _, c := range cases {
			if c.name == name {
				t.Run(name, func(t *testing.T) {
					strategytest.Check(t, c.strategy, c.params, strategytest.Options{Experiences: 3, Classes: 6, Dim: 36, Arch: "cnn"})
				})
			}
		}
	}
}
