package harness

import (
	"encoding/json"

	"github.com/cleval/cleval/nn"
)

// Presets of the published strategy configurations: GEM, ER with A-GEM,
// EMA ensembles (docs/configs.md lists every preset).

// gemParams is the GEM of De Lange et al.'s Split-MNIST experiments: 400
// samples per experience, the first ones in loader order, reference
// gradients on all of them at every update, margin 0.5 (and GEM's ridge
// 1e-3).
const gemParams = `{"base":"naive","memory_per_exp":400,"selection":"first","ref_batch_size":0,"gamma":0.5,"eps":0.001}`

// hessERAGEMParams is Hess et al.'s ER + A-GEM: a class-balanced memory of
// 3000 updated at experience end, 128 replayed samples, new-data weight
// λ_t = 1/(t+1), and A-GEM's reference gradient on the replayed samples
// (eps 1e-7 as their code).
const hessERAGEMParams = `{"reference":"replay","eps":1e-7,"base":"er","base_params":` +
	`{"mem_size":3000,"replay_batch_size":128,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":1,"lambda_schedule":"inverse"}}`

func init() {
	addPresets(
		Preset{
			Name: "delange-smnist-gem",
			Summary: "the delange-smnist-er setup with GEM instead of replay: 400 samples per experience (the first in loader order), reference gradients on all of them at every update, " +
				"γ = 0.5 (De Lange et al. 2023)",
			Config: delange("gem", gemParams),
			Seeds:  []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "hess-er-agem",
			Summary: "rotated MNIST 0°/80°/160° (domain-incremental), MLP 400-400, ER (3000 class-balanced, 128 + 128, new-data weight 1/(t+1)) with A-GEM projection on the replayed samples, " +
				"SGD 0.1 m0.9, 2000 iterations per experience, evaluation every iteration (Hess, Tuytelaars & van de Ven)",
			Config: Config{
				Benchmark:      "rotated-mnist",
				Experiences:    3,
				Scenario:       "domain-incremental",
				Angles:         []float64{0, 80, 160},
				Hidden:         []int{400, 400},
				Strategy:       "agem",
				StrategyParams: json.RawMessage(hessERAGEMParams),
				Optimizer:      nn.SGDConfig{LR: 0.1, Momentum: 0.9},
				Epochs:         1,
				BatchSize:      128,
				Iterations:     2000,
				Eval:           EvalConfig{Every: 1, Size: 1000, Subset: SubsetFixed, Experiences: EvalSeen},
			},
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "online-ema",
			Summary: "the online-er setup (online Split-MNIST, mini-batches of 10 used for 3 updates, reservoir ER) wrapped in an EMA temporal ensemble: λ = 0.99, 0.9 during the first experience; " +
				"the live and the EMA model are recorded as separate variants (Soutif-Cormerais et al. 2023)",
			Config: Config{
				Benchmark:      "split-mnist",
				Experiences:    5,
				Hidden:         []int{400, 400},
				Strategy:       "ema",
				StrategyParams: json.RawMessage(`{"base":"er","base_params":` + onlineERParams + `,"decays":[0.99],"warmup_decay":0.9}`),
				Optimizer:      nn.SGDConfig{LR: 0.1},
				Epochs:         1,
				BatchSize:      10,
				Repeat:         3,
				HideBoundaries: true,
				Eval:           EvalConfig{Every: 30, Size: 1000, Subset: SubsetValidation, Experiences: EvalSeen, ValidationFraction: 0.05},
			},
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
	)
}
