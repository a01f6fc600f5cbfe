package project

import (
	"testing"

	_ "github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/strategies/strategytest"
)

func BenchmarkStepAGEM(b *testing.B) {
	strategytest.BenchSteps(b, "agem", `{"memory_per_exp":50}`, strategytest.Options{})
}

func BenchmarkStepAGEMReplay(b *testing.B) {
	strategytest.BenchSteps(b, "agem", `{"reference":"replay","base":"er","base_params":{"mem_size":100}}`, strategytest.Options{})
}

func BenchmarkStepGEM(b *testing.B) {
	strategytest.BenchSteps(b, "gem", `{"memory_per_exp":50}`, strategytest.Options{})
}

func BenchmarkStepOWM(b *testing.B) {
	strategytest.BenchSteps(b, "owm", `{}`, strategytest.Options{})
}
