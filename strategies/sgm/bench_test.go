package sgm

import (
	"testing"

	"github.com/cleval/cleval/strategies/strategytest"
)

// BenchmarkStep is a warmed-up SGM step over ER, every component, on the
// kit's small stream and MLP (allocations per step: 0).
func BenchmarkStep(b *testing.B) {
	strategytest.BenchSteps(b, "sgm", `{"base":"er","base_params":{"mem_size":100},"rank":4,"lora_alpha":4}`, strategytest.Options{Hidden: []int{16, 12}})
}
