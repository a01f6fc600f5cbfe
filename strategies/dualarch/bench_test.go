package dualarch

import (
	"testing"

	"github.com/cleval/cleval/strategies/strategytest"
)

// BenchmarkStep is a warmed-up Dual-Arch step over ER on the kit's small
// stream and MLP.
func BenchmarkStep(b *testing.B) {
	strategytest.BenchSteps(b, "dualarch", `{"base":"er","base_params":{"mem_size":100}}`, strategytest.Options{Hidden: []int{24}})
}
