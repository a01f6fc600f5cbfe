package replay

import (
	"testing"

	"github.com/cleval/cleval/strategies/strategytest"
)

func BenchmarkStepER(b *testing.B) {
	strategytest.BenchSteps(b, "er", `{"mem_size":100,"buffer":"reservoir","loss":"weighted","lambda":0.3}`, strategytest.Options{})
}

func BenchmarkStepERACE(b *testing.B) {
	strategytest.BenchSteps(b, "er-ace", `{"mem_size":100,"convention":"aml"}`, strategytest.Options{})
}
