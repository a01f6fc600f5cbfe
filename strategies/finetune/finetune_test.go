package finetune_test

import (
	"testing"

	_ "github.com/cleval/cleval/strategies/finetune"
	"github.com/cleval/cleval/strategies/strategytest"
)

func BenchmarkStepNaive(b *testing.B) {
	strategytest.BenchSteps(b, "naive", `{}`, strategytest.Options{})
}
