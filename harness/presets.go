package harness

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/cleval/cleval/nn"
)

// Preset is a named, published experiment.
type Preset struct {
	Name    string
	Summary string
	Config  Config
	// Seeds are the seeds the publication reports.
	Seeds []uint64
}

func delange(strategy string, params string) Config {
	return Config{
		Benchmark:      "split-mnist",
		Experiences:    5,
		Hidden:         []int{400, 400},
		Strategy:       strategy,
		StrategyParams: json.RawMessage(params),
		Optimizer:      nn.SGDConfig{LR: 0.01, Momentum: 0.9},
		Epochs:         10,
		BatchSize:      256,
		Eval:           EvalConfig{Every: 1, Size: 1000, Subset: "fixed", Experiences: EvalSeen},
	}
}

// presets holds every preset; files presets_*.go add theirs with
// addPresets in an init function.
var presets = []Preset{
	{
		Name:    "delange-smnist-er",
		Summary: "Split-MNIST 5×2 classes, MLP 400-400, ER (2000 class-balanced, 256+256, 0.3/0.7 loss), SGD 0.01 m0.9, 10 epochs, evaluation every iteration (De Lange et al. 2023)",
		Config:  delange("er", `{"mem_size":2000,"replay_batch_size":256,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.3}`),
		Seeds:   []uint64{0, 1, 2, 3, 4},
	},
	{
		Name:    "delange-smnist-naive",
		Summary: "the delange-smnist-er setup with fine-tuning instead of replay",
		Config:  delange("naive", `{}`),
		Seeds:   []uint64{0, 1, 2, 3, 4},
	},
}

// addPresets registers presets; it panics on a duplicate name.
func addPresets(ps ...Preset) {
	for _, p := range ps {
		for _, q := range presets {
			if q.Name == p.Name {
				panic("harness: preset " + p.Name + " defined twice")
			}
		}
		presets = append(presets, p)
	}
}

// DefaultPreset is the preset `cleval run` uses when none is named.
const DefaultPreset = "delange-smnist-er"

// Presets returns every preset, sorted by name.
func Presets() []Preset {
	out := slices.Clone(presets)
	slices.SortFunc(out, func(a, b Preset) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LookupPreset returns the preset called name with its Config.Preset set;
// the returned configuration is a copy the caller may change.
func LookupPreset(name string) (Preset, error) {
	for _, p := range presets {
		if p.Name == name {
			p.Config.Preset = p.Name
			p.Config.Hidden = slices.Clone(p.Config.Hidden)
			p.Config.ClassOrder = slices.Clone(p.Config.ClassOrder)
			p.Config.StrategyParams = slices.Clone(p.Config.StrategyParams)
			p.Config.cloneStreamFields()
			p.Seeds = slices.Clone(p.Seeds)
			return p, nil
		}
	}
	names := make([]string, 0, len(presets))
	for _, p := range Presets() {
		names = append(names, p.Name)
	}
	return Preset{}, invalid("unknown preset %q (known: %s)", name, strings.Join(names, ", "))
}

// PresetNames returns the preset names, sorted.
func PresetNames() []string {
	var out []string
	for _, p := range Presets() {
		out = append(out, p.Name)
	}
	return out
}
