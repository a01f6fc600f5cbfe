package pcr

import (
	"testing"

	"github.com/cleval/cleval/strategies/strategytest"
)

// BenchmarkStep is a warmed-up PCR step (no augmentation: the kit's
// samples are not images) on the kit's small stream and MLP.
func BenchmarkStep(b *testing.B) {
	strategytest.BenchSteps(b, "pcr", `{"mem_size":100,"augment":[]}`, strategytest.Options{})
}
