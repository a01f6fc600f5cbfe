package all_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/all"
)

// memRecorder keeps a run's records in memory.
type memRecorder struct {
	info   metrics.RunInfo
	evals  []metrics.EvalRecord
	matrix []metrics.MatrixRecord
	ends   []int
	status metrics.RunStatus
}

func (m *memRecorder) Begin(info metrics.RunInfo) error { m.info = info; return nil }
func (m *memRecorder) Evaluations(r []metrics.EvalRecord) error {
	m.evals = append(m.evals, r...)
	return nil
}
func (m *memRecorder) Matrix(r []metrics.MatrixRecord) error {
	m.matrix = append(m.matrix, r...)
	return nil
}
func (m *memRecorder) ExperienceEnd(exp, t int) error {
	if exp != len(m.ends)+1 {
		return errors.New("experience ends out of order")
	}
	m.ends = append(m.ends, t)
	return nil
}
func (m *memRecorder) End(s metrics.RunStatus, cause error) error { m.status = s; return nil }

// finalAcc is R(T, k) of the live model.
func (m *memRecorder) finalAcc(variant string, k int) float64 {
	T := len(m.ends)
	for _, r := range m.matrix {
		if r.Row == T && r.Col == k && r.Variant == variant {
			return float64(r.Correct) / float64(r.Total)
		}
	}
	return math.NaN()
}

// cases is every strategy, and the compositions the literature uses.
var cases = []struct {
	name, strategy, params string
}{
	{"naive", "naive", `{}`},
	{"joint", "joint", `{}`},
	{"joint-noreinit", "joint", `{"reinit":false}`},
	{"cumulative", "cumulative", `{}`},
	{"cumulative-stratified", "cumulative", `{"sampling":"stratified"}`},
	{"er", "er", `{"mem_size":200}`},
	{"er-weighted-inverse", "er", `{"mem_size":200,"loss":"weighted","lambda":1,"lambda_schedule":"inverse"}`},
	{"er-reservoir", "er", `{"mem_size":200,"buffer":"reservoir"}`},
	{"er-experience-step", "er", `{"mem_size":200,"buffer":"experience-balanced","update":"step"}`},
	{"er-class-step", "er", `{"mem_size":200,"buffer":"class-balanced","update":"step"}`},
	{"er-ace-avalanche", "er-ace", `{"mem_size":200}`},
	{"er-ace-alpha", "er-ace", `{"mem_size":200,"convention":"avalanche-alpha","alpha":0.3}`},
	{"er-ace-aml", "er-ace", `{"mem_size":200,"convention":"aml"}`},
	{"mask", "mask", `{}`},
	{"mask-finite-er", "mask", `{"value":-5,"base":"er","base_params":{"mem_size":200}}`},
	{"ema-er", "ema", `{"base":"er","base_params":{"mem_size":200},"decays":[0.9,0.99]}`},
	{"agem", "agem", `{"memory_per_exp":50}`},
	{"agem-er-replay", "agem", `{"reference":"replay","eps":1e-7,"base":"er","base_params":{"mem_size":200,"loss":"weighted","lambda":1,"lambda_schedule":"inverse"}}`},
	{"gem", "gem", `{"memory_per_exp":40}`},
	{"gem-er", "gem", `{"memory_per_exp":40,"base":"er","base_params":{"mem_size":200}}`},
	{"owm", "owm", `{}`},
	{"ewc", "ewc", `{"lambda":10}`},
	{"ewc-er", "ewc", `{"lambda":10,"fisher":"empirical","base":"er","base_params":{"mem_size":200}}`},
	{"lwf", "lwf", `{}`},
	{"lwf-inverse", "lwf", `{"weighting":"inverse"}`},
	{"si", "si", `{}`},
	{"ema-mask-erace", "ema", `{"base":"mask","base_params":{"base":"er-ace","base_params":{"mem_size":200}},"decays":[0.95]}`},
	{"sgm-er", "sgm", `{"base":"er","base_params":{"mem_size":200},"rank":4,"lora_alpha":4}`},
	{"pcr", "pcr", `{"mem_size":200,"augment":[]}`},
	{"dualarch-er", "dualarch", `{"base":"er","base_params":{"mem_size":200}}`},
}

func synthConfig(strategy, params string) harness.Config {
	cfg := harness.Config{
		Benchmark:      "split-synthetic",
		Experiences:    5,
		Hidden:         []int{32},
		Strategy:       strategy,
		StrategyParams: json.RawMessage(params),
		Epochs:         2,
		BatchSize:      64,
		Eval:           harness.EvalConfig{Every: 1, Size: 60, Subset: "fixed", Experiences: harness.EvalSeen},
		Seed:           3,
	}
	cfg.Optimizer.LR = 0.05
	cfg.Optimizer.Momentum = 0.9
	return cfg
}

var data = &harness.Data{}

func run(t *testing.T, cfg harness.Config) *memRecorder {
	t.Helper()
	strat, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := data.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	if _, err := harness.Run(context.Background(), harness.Spec{Config: cfg, Strategy: strat, Stream: s, Threads: 1}, rec); err != nil {
		t.Fatalf("%s: %v", cfg.Strategy, err)
	}
	if rec.status != metrics.RunComplete {
		t.Fatalf("status %s", rec.status)
	}
	return rec
}

func TestEveryStrategyRunsOnSynthetic(t *testing.T) {
	registered := map[string]bool{}
	for _, c := range cases {
		registered[c.strategy] = true
	}
	for _, info := range strategies.List() {
		if !registered[info.Name] {
			t.Errorf("strategy %s has no end-to-end case", info.Name)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := run(t, synthConfig(c.strategy, c.params))
			acc := 0.0
			for k := 1; k <= 5; k++ {
				acc += rec.finalAcc("live", k)
			}
			t.Logf("%s: final ACC %.3f, variants %v", c.name, acc/5, rec.info.Variants)
			if c.strategy == "ema" {
				for _, v := range rec.info.Variants[1:] {
					if math.IsNaN(rec.finalAcc(v, 1)) {
						t.Errorf("variant %s has no accuracy-matrix row", v)
					}
				}
				if len(rec.info.Variants) < 2 || !slices.Contains(rec.info.Variants, "live") {
					t.Errorf("variants %v", rec.info.Variants)
				}
			}
		})
	}
}

// mnistCases is every strategy once, with the compositions of the
// literature, on Split-MNIST.
var mnistCases = []struct {
	name, strategy, params string
}{
	{"naive", "naive", `{}`},
	{"joint", "joint", `{}`},
	{"cumulative", "cumulative", `{}`},
	{"er", "er", `{"mem_size":2000,"loss":"weighted","lambda":0.3}`},
	{"er-ace", "er-ace", `{"mem_size":500}`},
	{"mask-er", "mask", `{"base":"er","base_params":{"mem_size":500}}`},
	{"ema-er", "ema", `{"base":"er","base_params":{"mem_size":500},"decays":[0.99]}`},
	{"agem", "agem", `{}`},
	{"agem-er-hess", "agem", `{"reference":"replay","eps":1e-7,"base":"er","base_params":{"mem_size":500,"loss":"weighted","lambda":1,"lambda_schedule":"inverse"}}`},
	{"gem", "gem", `{"memory_per_exp":100}`},
	{"owm", "owm", `{}`},
	{"ewc", "ewc", `{"lambda":10,"fisher_samples":1000}`},
	{"lwf", "lwf", `{}`},
	{"si", "si", `{}`},
	{"sgm-er", "sgm", `{"base":"er","base_params":{"mem_size":500}}`},
	{"pcr", "pcr", `{"mem_size":500}`},
	{"dualarch-er", "dualarch", `{"base":"er","base_params":{"mem_size":500}}`},
}

// TestEveryStrategyRunsOnSplitMNIST runs each strategy end to end on
// Split-MNIST with one epoch per experience, a 784-100-100-10 MLP and an
// evaluation every 10 iterations on 300 samples per seen experience (the
// accuracy matrix on 1000 per experience): a property check, not the
// presets' results (those come from the presets themselves).
func TestEveryStrategyRunsOnSplitMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("Split-MNIST runs take a minute")
	}
	registered := map[string]bool{}
	for _, c := range mnistCases {
		registered[c.strategy] = true
	}
	for _, info := range strategies.List() {
		if !registered[info.Name] {
			t.Errorf("strategy %s has no Split-MNIST case", info.Name)
		}
	}
	acc := map[string]float64{}
	var mu sync.Mutex
	t.Run("runs", func(t *testing.T) { // returns once every parallel run has finished
		for _, c := range mnistCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				cfg := harness.Config{
					Benchmark:      "split-mnist",
					Experiences:    5,
					Hidden:         []int{100, 100},
					Strategy:       c.strategy,
					StrategyParams: json.RawMessage(c.params),
					Optimizer:      harness.Config{}.Optimizer,
					Epochs:         1,
					BatchSize:      256,
					Eval:           harness.EvalConfig{Every: 10, Size: 300, TestSize: 1000, Subset: "fixed", Experiences: harness.EvalSeen},
				}
				cfg.Optimizer.LR, cfg.Optimizer.Momentum = 0.01, 0.9
				rec := run(t, cfg)
				a := 0.0
				for k := 1; k <= 5; k++ {
					a += rec.finalAcc("live", k) / 5
				}
				mu.Lock()
				acc[c.name] = a
				mu.Unlock()
				t.Logf("%s: ACC %.3f", c.name, a)
			})
		}
	})
	// Sanity: replay-based methods beat fine-tuning by a wide margin.
	for _, name := range []string{"er", "er-ace", "cumulative", "gem", "agem-er-hess"} {
		if a, ok := acc[name]; ok && a < acc["naive"]+0.3 {
			t.Errorf("%s: ACC %.3f, naive %.3f", name, acc[name], acc["naive"])
		}
	}
}

// TestSameSeedSameRecords: every case gives bit-identical records when run
// twice with the same seed.
func TestSameSeedSameRecords(t *testing.T) {
	for _, c := range cases {
		a := run(t, synthConfig(c.strategy, c.params))
		b := run(t, synthConfig(c.strategy, c.params))
		if !slices.Equal(a.evals, b.evals) || !slices.Equal(a.matrix, b.matrix) {
			t.Errorf("%s: records differ between two runs with the same seed", c.name)
		}
	}
}
