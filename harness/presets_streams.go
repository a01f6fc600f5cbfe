package harness

import (
	"encoding/json"

	"github.com/cleval/cleval/nn"
)

// Presets of the streams the stability-gap literature uses: the benchmarks,
// scenarios, online and blurry streams (docs/configs.md lists every preset).

// erParams are the delange-smnist-er replay parameters.
const erParams = `{"mem_size":2000,"replay_batch_size":256,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.3}`

// onlineERParams: reservoir memory updated at every step (on the first of
// the repeated updates of a mini-batch), 10 replayed samples per update.
const onlineERParams = `{"mem_size":2000,"replay_batch_size":10,"buffer":"reservoir","update":"step"}`

// delangeOn returns the delange-smnist-er setup on another benchmark.
func delangeOn(benchmark string, experiences, epochs int, strategy, params string) Config {
	c := delange(strategy, params)
	c.Benchmark = benchmark
	c.Experiences = experiences
	c.Epochs = epochs
	return c
}

func init() {
	addPresets(
		Preset{
			Name: "vandeven-rotmnist-joint",
			Summary: "rotated MNIST 0°/80°/160° (domain-incremental), MLP 400-400, incremental joint training (cumulative: 128 samples of each experience so far per update), " +
				"SGD 0.1, 500 iterations per experience, 2000 test samples of each seen experience before every update (van de Ven's stability-gap demo)",
			Config: Config{
				Benchmark:      "rotated-mnist",
				Experiences:    3,
				Scenario:       "domain-incremental",
				Angles:         []float64{0, 80, 160},
				Hidden:         []int{400, 400},
				Strategy:       "cumulative",
				StrategyParams: json.RawMessage(`{}`),
				Optimizer:      nn.SGDConfig{LR: 0.1},
				Epochs:         1,
				BatchSize:      128,
				Iterations:     500,
				Eval:           EvalConfig{Every: 1, Size: 2000, Subset: SubsetFixed, Experiences: EvalSeen},
			},
			Seeds: []uint64{0},
		},
		Preset{
			Name: "online-er",
			Summary: "online class-incremental Split-MNIST 5×2: one pass in mini-batches of 10, 3 updates each, boundaries hidden; ER with a 2000-sample reservoir updated every step, " +
				"10 replayed samples; SGD 0.1; continual evaluation every 30 updates on 5 % of each experience's training data held out (Soutif-Cormerais et al. 2023 protocol)",
			Config: Config{
				Benchmark:      "split-mnist",
				Experiences:    5,
				Hidden:         []int{400, 400},
				Strategy:       "er",
				StrategyParams: json.RawMessage(onlineERParams),
				Optimizer:      nn.SGDConfig{LR: 0.1},
				Epochs:         1,
				BatchSize:      10,
				Repeat:         3,
				HideBoundaries: true,
				Eval:           EvalConfig{Every: 30, Size: 1000, Subset: SubsetValidation, Experiences: EvalSeen, ValidationFraction: 0.05},
			},
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "blurry-smnist-er",
			Summary: "Split-MNIST 5×2 with blurry boundaries (samples of consecutive experiences mixed along a linear ramp over half an experience), boundaries hidden, " +
				"ER with a reservoir updated every step, 1 epoch, otherwise delange-smnist-er",
			Config: func() Config {
				c := delangeOn("split-mnist", 5, 1, "er", `{"mem_size":2000,"replay_batch_size":256,"buffer":"reservoir","update":"step"}`)
				c.Blur = 0.5
				c.HideBoundaries = true
				return c
			}(),
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "ti-smnist-naive",
			Summary: "task-incremental Split-MNIST 5×2 (outputs masked to each task's two classes in training and evaluation), fine-tuning, otherwise delange-smnist-naive",
			Config: func() Config {
				c := delange("naive", `{}`)
				c.Scenario = "task-incremental"
				return c
			}(),
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "di-smnist-naive",
			Summary: "domain-incremental Split-MNIST 5×2 (each pair relabelled 0/1 on a 2-way head), fine-tuning, otherwise delange-smnist-naive",
			Config: func() Config {
				c := delange("naive", `{}`)
				c.Scenario = "domain-incremental"
				return c
			}(),
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "sfmnist-er",
			Summary: "Split Fashion-MNIST 5×2, otherwise delange-smnist-er",
			Config:  delangeOn("split-fmnist", 5, 10, "er", erParams),
			Seeds:   []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "pmnist-er",
			Summary: "Permuted MNIST, 5 seeded pixel permutations (domain-incremental), 1 epoch each, ER as delange-smnist-er",
			Config:  delangeOn("permuted-mnist", 5, 1, "er", erParams),
			Seeds:   []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "rmnist20-er",
			Summary: "Rotated MNIST, 20 experiences rotated by 0°, 9°, ..., 171° (domain-incremental), 1 epoch each, ER as delange-smnist-er",
			Config:  delangeOn("rotated-mnist", 20, 1, "er", erParams),
			Seeds:   []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "mnist-fmnist-er",
			Summary: "5 Split-MNIST experiences then 5 Split Fashion-MNIST experiences (20 classes, class-incremental: dissimilar tasks), 5 epochs each, ER as delange-smnist-er",
			Config:  delangeOn("mnist-fmnist", 10, 5, "er", erParams),
			Seeds:   []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "gaussian-naive",
			Summary: "synthetic domain-incremental stream: 5 experiences of 10 Gaussian classes in 64 dimensions whose means move by task_distance (0 = same task, 1 = unrelated) " +
				"between experiences, MLP 100, fine-tuning; sweep synthetic.task_distance to relate the gap to task dissimilarity",
			Config: Config{
				Benchmark:      "gaussian",
				Experiences:    5,
				Synthetic:      &SyntheticConfig{TaskDistance: 0.5},
				Hidden:         []int{100},
				Strategy:       "naive",
				StrategyParams: json.RawMessage(`{}`),
				Optimizer:      nn.SGDConfig{LR: 0.05, Momentum: 0.9},
				Epochs:         2,
				BatchSize:      64,
				Eval:           EvalConfig{Every: 1, Size: 500, Subset: SubsetFixed, Experiences: EvalSeen},
			},
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
	)
}
