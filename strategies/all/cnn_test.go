package all_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/metrics"
)

// cnnConfig is a short Split-MNIST run of a convolutional model: a few
// updates per experience on a handful of rows, evaluation every 2 updates
// on 30 samples, the accuracy matrix on 40.
func cnnConfig(model, strategy, params string) harness.Config {
	cfg := harness.Config{
		Benchmark:      "split-mnist",
		Experiences:    3,
		Model:          model,
		Strategy:       strategy,
		StrategyParams: json.RawMessage(params),
		Epochs:         1,
		Iterations:     3,
		BatchSize:      16,
		Eval:           harness.EvalConfig{Every: 2, Size: 30, TestSize: 40, Subset: "fixed", Experiences: harness.EvalSeen},
		Seed:           5,
	}
	if model != "cnn" {
		cfg.NF = 4
	}
	cfg.Optimizer.LR, cfg.Optimizer.Momentum = 0.02, 0.9
	return cfg
}

// TestEveryStrategyRunsOnCNNs runs every case end to end with the small
// cnn (and the main ones with resnet18r): every run completes with finite
// losses and variants, twice with the same bits. Strategies that need what
// a convolutional model does not have (OWM's layer inputs, EWC's
// per-sample Fisher, Dual-Arch's architecture pair, which exists for the
// Sta-Net resnet18r-sta and is run there) are refused at validation with a
// line that says so.
func TestEveryStrategyRunsOnCNNs(t *testing.T) {
	// ewc-er is replaced by ewc-empirical-er: the Fisher on a subset.
	refused := map[string]bool{"owm": true, "ewc": true, "dualarch-er": true}
	skip := map[string]bool{"ewc-er": true}
	extra := []struct{ name, strategy, params string }{
		{"ewc-minibatch", "ewc", `{"lambda":10,"fisher":"sample","granularity":"minibatch","fisher_samples":64}`},
		{"ewc-empirical-er", "ewc", `{"lambda":10,"fisher":"empirical","fisher_samples":64,"base":"er","base_params":{"mem_size":100}}`},
		{"ema-live-stats", "ema", `{"base":"er","base_params":{"mem_size":100},"decays":[0.9],"state":"live"}`},
	}
	all := append(append([]struct{ name, strategy, params string }{}, cases...), extra...)
	for _, c := range all {
		if skip[c.name] {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			cfg := cnnConfig("cnn", c.strategy, c.params)
			_, err := cfg.Resolve()
			if refused[c.name] {
				if err == nil || !errors.Is(err, harness.ErrInvalid) {
					t.Fatalf("%s on cnn: %v, want a validation error", c.name, err)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, b := run(t, cfg), run(t, cnnConfig("cnn", c.strategy, c.params))
			for i, r := range a.evals {
				if b.evals[i] != r {
					t.Fatalf("record %d differs between two runs of the seed", i)
				}
				if math.IsNaN(r.LossSum) || math.IsInf(r.LossSum, 0) {
					t.Fatalf("record %+v: loss not finite", r)
				}
			}
		})
	}
	models := map[string]string{"er": "resnet18r", "ema-er": "resnet18r", "agem": "resnet18r", "lwf": "resnet18r",
		"sgm-er": "resnet18r", "pcr": "resnet18r", "dualarch-er": "resnet18r-sta"}
	for _, c := range cases {
		if model, ok := models[c.name]; ok {
			t.Run(model+"/"+c.name, func(t *testing.T) {
				rec := run(t, cnnConfig(model, c.strategy, c.params))
				if rec.status != metrics.RunComplete {
					t.Fatalf("status %s", rec.status)
				}
			})
		}
	}
}
