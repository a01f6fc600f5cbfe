package harness

import (
	"encoding/json"

	"github.com/cleval/cleval/nn"
)

// Presets of the seed papers' methods: SGM, PCR and Dual-Arch.

// sgmParams is SGM over the delange-smnist-er replay, every component.
const sgmParams = `{"base":"er","base_params":` + erParams + `,"components":["init","soft","lora","oocf"],"start":2,"init_bias":"keep","rank":48,"lora_alpha":240,"lora_lr_scale":1}`

// pcrParams is PCR as the authors' code: a reservoir of 1000, 10 samples
// retrieved per update, τ = 0.09, no cross-entropy, the code's
// augmentation.
const pcrParams = `{"mem_size":1000,"replay_batch_size":10,"tau":0.09,"ce_weight":0,"augment":["crop","flip","jitter"],"crop_scale_min":0.2,"mask_unseen":true}`

// pcrOnline is the online class-incremental setup of PCR's experiments on
// an MNIST-like benchmark: one pass in mini-batches of 10 (each used
// once), boundaries hidden, SGD 0.1, continual evaluation every 10
// updates on 5 % of each experience's training data held out.
func pcrOnline(benchmark string) Config {
	return Config{
		Benchmark:      benchmark,
		Experiences:    5,
		Hidden:         []int{400, 400},
		Strategy:       "pcr",
		StrategyParams: json.RawMessage(pcrParams),
		Optimizer:      nn.SGDConfig{LR: 0.1},
		Epochs:         1,
		BatchSize:      10,
		HideBoundaries: true,
		Eval:           EvalConfig{Every: 10, Size: 1000, Subset: SubsetValidation, Experiences: EvalSeen, ValidationFraction: 0.05},
	}
}

// dualArchParams is Dual-Arch over the delange-smnist-er replay: a plastic
// learner of 4 equal hidden layers with about the stable learner's
// parameter count, T = 3, (CE + KD)/2, trained on each experience before
// the stable learner together with a class-balanced memory of its own as
// large as the replay's (the authors' code trains it on the task's data and
// the exemplars).
const dualArchParams = `{"base":"er","base_params":` + erParams + `,"plastic_hidden":[],"plastic_depth":4,"temperature":3,"weight":0.5,"kd_classes":"seen","plastic_schedule":"before","plastic_lr_scale":1,"plastic_memory":2000}`

// resnetERParams are the resnet-sfmnist-er replay parameters.
const resnetERParams = `{"mem_size":1000,"replay_batch_size":64,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.5}`

// resnetMethod is the resnet-sfmnist-er setup (reduced ResNet-18 on
// Split-Fashion-MNIST, one epoch) with strategy and params.
func resnetMethod(strategy, params string) Config {
	return Config{
		Benchmark:      "split-fmnist",
		Experiences:    5,
		Model:          "resnet18r",
		NF:             nn.DefaultNF,
		Strategy:       strategy,
		StrategyParams: json.RawMessage(params),
		Optimizer:      nn.SGDConfig{LR: 0.05, Momentum: 0.9},
		Epochs:         1,
		BatchSize:      64,
		Eval:           EvalConfig{Every: 20, Size: 200, Subset: SubsetFixed, Experiences: EvalSeen},
	}
}

// sgmResNetParams is SGM over the resnet-sfmnist-er replay, every
// component, LoRA on every convolution.
const sgmResNetParams = `{"base":"er","base_params":` + resnetERParams + `,"components":["init","soft","lora","oocf"],"start":2,"init_bias":"keep","rank":48,"lora_alpha":240,"lora_lr_scale":1}`

// dualArchResNetParams is Dual-Arch over the resnet-sfmnist-er replay,
// the plastic learner (the Pla-Net) with a class-balanced memory of its
// own as large as the replay's.
const dualArchResNetParams = `{"base":"er","base_params":` + resnetERParams + `,"plastic_hidden":[],"plastic_depth":4,"temperature":3,"weight":0.5,"kd_classes":"seen","plastic_schedule":"before","plastic_lr_scale":1,"plastic_memory":1000}`

// pcrOnlineResNet is pcr-online-sfmnist on the reduced ResNet-18: the
// batch [memory, aug(memory), new, aug(new)] normalised as one (the code
// forwards it at once), evaluated every 100 updates.
func pcrOnlineResNet() Config {
	c := pcrOnline("split-fmnist")
	c.Hidden = nil
	c.Model = "resnet18r"
	c.NF = nn.DefaultNF
	c.BatchNorm = BatchNormJoint
	c.Eval.Every = 100
	return c
}

func init() {
	dualArchResNet := resnetMethod("dualarch", dualArchResNetParams)
	dualArchResNet.Model = "resnet18r-sta"
	addPresets(
		Preset{
			Name: "sgm-sfmnist-resnet",
			Summary: "the resnet-sfmnist-er setup (reduced ResNet-18, Split-Fashion-MNIST, 1 epoch) with SGM over its replay: data-driven init of new output units, dynamic soft targets, " +
				"LoRA (rank 48, scale 5) on every convolution with the batch normalisations frozen, old-output-class freezing, from experience 2 (Harun & Kanan 2024)",
			Config: resnetMethod("sgm", sgmResNetParams),
			Seeds:  []uint64{0, 1, 2},
		},
		Preset{
			Name: "pcr-online-sfmnist-resnet",
			Summary: "the pcr-online-sfmnist setup on the reduced ResNet-18 (nf 20): online Split-Fashion-MNIST 5×2, mini-batches of 10, boundaries hidden; PCR (reservoir of 1000, " +
				"10 retrieved, τ 0.09, augmented views, the batch normalised as one), SGD 0.1; evaluation every 100 updates on 5 % of the training data held out (Lin et al. 2023)",
			Config: pcrOnlineResNet(),
			Seeds:  []uint64{0, 1, 2},
		},
		Preset{
			Name: "dualarch-sfmnist-resnet",
			Summary: "the resnet-sfmnist-er setup with Dual-Arch over its replay: the stable learner is the Sta-Net resnet18r-sta (nf 20, 485 990 parameters), the plastic learner " +
				"the Pla-Net resnet18r-pla (width 13, 463 473) trained on each experience and a 1000-sample memory of its own, distillation T = 3 with weight 0.5 (Lu et al. 2025)",
			Config: dualArchResNet,
			Seeds:  []uint64{0, 1, 2},
		},
	)
}

func init() {
	dualArch := delange("dualarch", dualArchParams)
	dualArch.Hidden = []int{300}
	addPresets(
		Preset{
			Name: "sgm-smnist-er",
			Summary: "the delange-smnist-er setup with SGM over its replay: data-driven init of new output units, dynamic soft targets, LoRA (rank 48, scale 5) on the hidden layers, " +
				"old-output-class freezing, from experience 2 (Harun & Kanan 2024)",
			Config: delange("sgm", sgmParams),
			Seeds:  []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "pcr-online-smnist",
			Summary: "online class-incremental Split-MNIST 5×2: one pass in mini-batches of 10, boundaries hidden; PCR (reservoir of 1000, 10 retrieved, τ 0.09, augmented views), SGD 0.1; " +
				"continual evaluation every 10 updates on 5 % of the training data held out (Lin et al. 2023)",
			Config: pcrOnline("split-mnist"),
			Seeds:  []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "dualarch-smnist-er",
			Summary: "the delange-smnist-er setup with Dual-Arch over its replay: the stable learner is a wide, shallow MLP 784-300-10 (238 510 parameters), the plastic learner " +
				"4 hidden layers of 178 (237 106) trained on each experience and a 2000-sample memory of its own, distillation T = 3 with weight 0.5 (Lu et al. 2025)",
			Config: dualArch,
			Seeds:  []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name:    "pcr-online-sfmnist",
			Summary: "the pcr-online-smnist setup on Split Fashion-MNIST",
			Config:  pcrOnline("split-fmnist"),
			Seeds:   []uint64{0, 1, 2, 3, 4},
		},
	)
}
