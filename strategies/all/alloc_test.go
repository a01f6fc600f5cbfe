package all_test

import (
	"testing"

	"github.com/cleval/cleval/strategies/internal/strattest"
	"github.com/cleval/cleval/streams"
)

// TestStepsDoNotAllocate checks every case: a warmed-up Step allocates
// nothing (class- and task-incremental streams).
func TestStepsDoNotAllocate(t *testing.T) {
	for _, scen := range []streams.Scenario{streams.ClassIncremental, streams.TaskIncremental} {
		for _, c := range cases {
			t.Run(string(scen)+"/"+c.name, func(t *testing.T) {
				o := strattest.Options{Scenario: scen, Experiences: 3, Classes: 6}
				if a := strattest.AllocsPerStep(t, c.strategy, c.params, o); a != 0 {
					t.Errorf("%s: %v allocations per step", c.name, a)
				}
			})
		}
	}
}
