package harness

import (
	"encoding/json"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/streams"
)

// Presets of the convolutional experiments: the reduced ResNet-18 of
// continual learning (GEM's ResNet18 with nf = 20) on image streams. Each
// says in its summary which public configuration it follows and what
// cleval chose where that configuration is silent (docs/configs.md).

// The per-channel normalisations of the public CIFAR code (torchvision's
// Normalize after ToTensor).
var (
	cifar10Norm  = streams.Normalization{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2023, 0.1994, 0.2010}}
	cifar100Norm = streams.Normalization{Mean: []float32{0.5071, 0.4865, 0.4409}, Std: []float32{0.2673, 0.2564, 0.2762}}
)

func init() {
	addPresets(
		Preset{
			Name: "resnet-sfmnist-er",
			Summary: "reduced ResNet-18 (nf 20) on Split-Fashion-MNIST 5×2, ER with 1000 class-balanced samples filled at experience ends, 64 new + 64 replayed, " +
				"0.5·CE(new) + 0.5·CE(replay) with the two batches normalised separately (as forwarded separately), SGD 0.05 m0.9, 1 epoch, evaluation every 20 updates " +
				"on 200 samples per seen experience, the accuracy matrix on the whole test sets: the CNN experiment that runs without downloads",
			Config: Config{
				Benchmark:      "split-fmnist",
				Experiences:    5,
				Model:          "resnet18r",
				NF:             nn.DefaultNF,
				Strategy:       "er",
				StrategyParams: json.RawMessage(`{"mem_size":1000,"replay_batch_size":64,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.5}`),
				Optimizer:      nn.SGDConfig{LR: 0.05, Momentum: 0.9},
				Epochs:         1,
				BatchSize:      64,
				Eval:           EvalConfig{Every: 20, Size: 200, Subset: SubsetFixed, Experiences: EvalSeen},
			},
			Seeds: []uint64{0, 1, 2},
		},
		Preset{
			Name: "delange-cifar10-er",
			Summary: "Split-CIFAR-10 5×2 class-incremental, reduced ResNet-18 (nf 20), ER with 1000 class-balanced samples filled at experience ends, 256 new + 256 replayed " +
				"in one forward pass (batch statistics over both), 0.7·CE(new) + 0.3·CE(replay), SGD 0.1 m0.9, 10 epochs, inputs normalised per channel, no augmentation, " +
				"evaluation every update on 1000 test samples per seen experience redrawn at every point (De Lange et al. 2023, their public configuration)",
			Config: Config{
				Benchmark:      "split-cifar10",
				Experiences:    5,
				Model:          "resnet18r",
				NF:             nn.DefaultNF,
				BatchNorm:      BatchNormJoint,
				Normalize:      &cifar10Norm,
				Strategy:       "er",
				StrategyParams: json.RawMessage(`{"mem_size":1000,"replay_batch_size":256,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.7}`),
				Optimizer:      nn.SGDConfig{LR: 0.1, Momentum: 0.9},
				Epochs:         10,
				BatchSize:      256,
				Eval:           EvalConfig{Every: 1, Size: 1000, Subset: SubsetResampled, Experiences: EvalSeen},
			},
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
		Preset{
			Name: "ocl-cifar100-er",
			Summary: "online Split-CIFAR-100 20×5 with hidden boundaries: one pass in mini-batches of 10, each used for 3 updates, with 10 replayed samples from a 2000-sample " +
				"class-balanced memory updated every step, the 20 rows in one forward pass, reduced ResNet-18 (nf 20), SGD 0.0599 without momentum, random crop and flip, inputs " +
				"normalised per channel; continual evaluation every 100 updates on 5 % of each experience's training samples held out (Soutif-Cormerais et al. 2023, ocl_survey's " +
				"configuration; the evaluation period is cleval's choice)",
			Config: Config{
				Benchmark:      "split-cifar100",
				Experiences:    20,
				Model:          "resnet18r",
				NF:             nn.DefaultNF,
				BatchNorm:      BatchNormJoint,
				Augment:        streams.AugCropFlip,
				Normalize:      &cifar100Norm,
				Strategy:       "er",
				StrategyParams: json.RawMessage(`{"mem_size":2000,"replay_batch_size":10,"buffer":"class-balanced","update":"step","loss":"concat"}`),
				Optimizer:      nn.SGDConfig{LR: 0.0598728574654861},
				Epochs:         1,
				BatchSize:      10,
				Repeat:         3,
				HideBoundaries: true,
				Eval:           EvalConfig{Every: 100, Size: 1000, Subset: SubsetValidation, Experiences: EvalSeen, ValidationFraction: 0.05},
			},
			Seeds: []uint64{0, 1, 2, 3, 4},
		},
	)
}
