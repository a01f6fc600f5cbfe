package replay

import (
	"testing"

	"github.com/cleval/cleval/strategies/internal/strattest"
)

func BenchmarkStepER(b *testing.B) {
	strattest.BenchSteps(b, "er", `{"mem_size":100,"buffer":"reservoir","loss":"weighted","lambda":0.3}`, strattest.Options{})
}

func BenchmarkStepERACE(b *testing.B) {
	strattest.BenchSteps(b, "er-ace", `{"mem_size":100,"convention":"aml"}`, strattest.Options{})
}
