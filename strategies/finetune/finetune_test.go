package finetune_test

import (
	"testing"

	_ "github.com/cleval/cleval/strategies/finetune"
	"github.com/cleval/cleval/strategies/internal/strattest"
)

func BenchmarkStepNaive(b *testing.B) {
	strattest.BenchSteps(b, "naive", `{}`, strattest.Options{})
}
