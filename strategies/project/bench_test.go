package project

import (
	"testing"

	"github.com/cleval/cleval/strategies/internal/strattest"
	_ "github.com/cleval/cleval/strategies/replay"
)

func BenchmarkStepAGEM(b *testing.B) {
	strattest.BenchSteps(b, "agem", `{"memory_per_exp":50}`, strattest.Options{})
}

func BenchmarkStepAGEMReplay(b *testing.B) {
	strattest.BenchSteps(b, "agem", `{"reference":"replay","base":"er","base_params":{"mem_size":100}}`, strattest.Options{})
}

func BenchmarkStepGEM(b *testing.B) {
	strattest.BenchSteps(b, "gem", `{"memory_per_exp":50}`, strattest.Options{})
}

func BenchmarkStepOWM(b *testing.B) {
	strattest.BenchSteps(b, "owm", `{}`, strattest.Options{})
}
