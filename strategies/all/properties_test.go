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
