package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// ErrInvalid marks configuration errors: bad values a user gave. Callers
// branch on it (errors.Is) to report a usage error.
var ErrInvalid = errors.New("invalid configuration")

// Config is the complete, serialisable description of one run. Its JSON
// form (with defaults resolved) is stored with the run; two runs with the
// same JSON and seed give bit-identical records. Fields marked omitempty
// whose zero value is documented as a default keep the JSON (and so the
// key) of configurations that do not use them unchanged.
type Config struct {
	// Preset names the preset the configuration started from (informative).
	Preset string `json:"preset,omitempty"`
	// Benchmark is the stream generator (see Benchmarks and the README):
	// "split-mnist", "split-fmnist", "split-synthetic", "split-cifar10",
	// "split-cifar100", "split-cifar100-coarse", "permuted-mnist",
	// "permuted-fmnist", "rotated-mnist", "rotated-fmnist", "mnist-fmnist",
	// "gaussian", or, on the user's own data (Data), "split", "permuted",
	// "rotated" or "tasks".
	Benchmark string `json:"benchmark"`
	// Experiences is the number of experiences, >= 0; 0 means the
	// benchmark's default: 5 (10 for split-cifar100); len(Angles) for
	// rotated streams; len(ExperienceClasses) when set; 10 for
	// mnist-fmnist (2 when domain-incremental); every task for "tasks".
	Experiences int `json:"experiences"`
	// ClassOrder fixes the order classes are assigned to experiences; empty
	// means 0..C-1, or a seeded permutation when PermuteClasses is set.
	ClassOrder     []int `json:"class_order,omitempty"`
	PermuteClasses bool  `json:"permute_classes,omitempty"`
	// Scenario is "class-incremental", "task-incremental" or
	// "domain-incremental"; "" means the benchmark's default:
	// domain-incremental for permuted, rotated, gaussian and tasks,
	// class-incremental otherwise. See package streams for what each
	// means for each generator.
	Scenario string `json:"scenario,omitempty"`
	// ExperienceClasses gives the number of classes of each experience of
	// a class split (e.g. [5,1,1,1,1,1]); empty means the even split
	// (C/N each, the first C mod N experiences one more).
	ExperienceClasses []int `json:"experience_classes,omitempty"`
	// Angles are the rotations of the experiences of rotated streams, in
	// degrees counter-clockwise; empty means (k-1)·180/N for experience k
	// (20 experiences: 0°, 9°, ..., 171°).
	Angles []float64 `json:"angles,omitempty"`
	// IdentityFirst leaves the first experience of a permuted stream
	// unpermuted.
	IdentityFirst bool `json:"identity_first,omitempty"`
	// Synthetic configures the data of split-synthetic and gaussian; nil
	// means the defaults.
	Synthetic *SyntheticConfig `json:"synthetic,omitempty"`
	// Data is the user's own data set (a CSV, Parquet or Arrow table, or an
	// IDX directory) for the generators split, permuted, rotated and tasks.
	Data *datasets.Source `json:"data,omitempty"`
	// Model is the architecture trained (nn.Archs): "mlp" (the default
	// when empty), "cnn", "resnet18r", "resnet18r-sta" or
	// "resnet18r-pla".
	Model string `json:"model,omitempty"`
	// Hidden are the hidden-layer sizes of the MLP, each >= 1; empty for
	// other models.
	Hidden []int `json:"hidden,omitempty"`
	// NF is the base width of resnet18r (the channels of its first stage),
	// >= 1; 0 means 20. Only for the models with a width (nn.HasWidth:
	// resnet18r and Dual-Arch's resnet18r-sta and resnet18r-pla).
	NF int `json:"nf,omitempty"`
	// BatchNorm is how batch normalisation computes batch statistics
	// during an update that trains on several segments of rows (new and
	// replayed samples): "separate" (the default when empty: each segment
	// normalised by its own statistics, the running statistics updated
	// once per segment — the PyTorch code that forwards the new and the
	// replayed batch separately) or "joint" (one forward pass over the
	// concatenated batch). Models without batch normalisation ignore it.
	BatchNorm string `json:"batch_norm,omitempty"`
	// Augment is the data augmentation applied to the rows every training
	// update trains on (new and replayed alike; never to evaluation):
	// "crop-flip" (random crop with 4 pixels of zero padding and a
	// horizontal flip, per sample) or "pcr" (PCR's: random resized crop,
	// flip, colour jitter, grey); "" means none. It needs image samples.
	Augment string `json:"augment,omitempty"`
	// Normalize, when set, normalises every sample per channel as it is
	// gathered — training, evaluation and the accuracy matrix alike:
	// (x − mean[c]) / std[c] on the pixel values in [0, 1] (torchvision's
	// ToTensor then Normalize), one mean and std per channel.
	Normalize *streams.Normalization `json:"normalize,omitempty"`
	// Strategy is a registered strategy name; StrategyParams its parameters
	// as a JSON object (resolved: every parameter with its value).
	Strategy       string          `json:"strategy"`
	StrategyParams json.RawMessage `json:"strategy_params,omitempty"`
	Optimizer      nn.SGDConfig    `json:"optimizer"`
	// Epochs over each experience's training data, >= 1 (1 for an online,
	// single-pass stream). Not used (but still >= 1) when Iterations is set.
	Epochs int `json:"epochs"`
	// BatchSize is the number of new samples per update, >= 1.
	BatchSize int `json:"batch_size"`
	// Iterations, when not 0, fixes the number of updates of every
	// experience instead of Epochs (a multiple of Repeat; van de Ven's
	// 500 iterations per experience).
	Iterations int `json:"iterations,omitempty"`
	// Repeat is the number of consecutive updates made on each mini-batch,
	// >= 0; 0 means 1. The online protocol of Soutif-Cormerais et al. uses
	// Epochs 1, BatchSize 10, Repeat 3. Iterations count updates.
	Repeat int `json:"repeat,omitempty"`
	// HideBoundaries hides the experience boundaries from the strategy:
	// BeforeExperience is called once, with experience 1, before the first
	// update, and AfterExperience once, with the last experience, after
	// the last update. Batches still name the experience their samples
	// come from.
	HideBoundaries bool `json:"hide_boundaries,omitempty"`
	// Blur is the width of the blurry transition between consecutive
	// experiences as a fraction of the shorter one, in [0, 1]; 0 means
	// sharp boundaries. See streams.Schedule for the mixing proportions and
	// what c(t) and e_k mean then.
	Blur float64    `json:"blur,omitempty"`
	Eval EvalConfig `json:"eval"`
	// Seed drives every random stream of the run.
	Seed uint64 `json:"seed"`
}

// SyntheticConfig is the Gaussian data of split-synthetic and gaussian
// (see datasets.Synthetic and datasets.SyntheticDomains). Zero values are
// defaults.
type SyntheticConfig struct {
	// Classes is the number of classes, 0 means 10.
	Classes int `json:"classes,omitempty"`
	// Dim is the number of values per sample, 0 means 64.
	Dim int `json:"dim,omitempty"`
	// TrainPerClass and TestPerClass are the samples per class of each
	// experience's splits; 0 means 200 and 50.
	TrainPerClass int `json:"train_per_class,omitempty"`
	TestPerClass  int `json:"test_per_class,omitempty"`
	// Noise is the per-value standard deviation in pixel levels; 0 means 32.
	Noise float64 `json:"noise,omitempty"`
	// Separation is the typical distance between two class means in units
	// of Noise; 0 means 40 for split-synthetic, 6 for gaussian.
	Separation float64 `json:"separation,omitempty"`
	// TaskDistance (gaussian only) is how far each class mean moves from
	// one experience to the next, in units of the typical distance between
	// two classes, in [0, 1]: 0 keeps the distribution (new samples), 1
	// makes consecutive experiences independent.
	TaskDistance float64 `json:"task_distance,omitempty"`
	// Seed is the data seed (the same data for every run seed); 0 means 1.
	Seed uint64 `json:"seed,omitempty"`
}

// datasetConfig returns the datasets configuration; sep is the default
// separation.
func (c *SyntheticConfig) datasetConfig(name string, sep float64) datasets.SyntheticConfig {
	var s SyntheticConfig
	if c != nil {
		s = *c
	}
	if s.Separation == 0 {
		s.Separation = sep
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	return datasets.SyntheticConfig{Name: name, NumClasses: s.Classes, Dim: s.Dim, TrainPerClass: s.TrainPerClass,
		TestPerClass: s.TestPerClass, Noise: s.Noise, Separation: s.Separation, Seed: s.Seed}
}

// EvalConfig is the continual-evaluation schedule.
type EvalConfig struct {
	// Every is the evaluation period ρ in iterations, >= 1; evaluations
	// also happen at t = 0 and at each experience end.
	Every int `json:"every"`
	// Size is the number of samples per experience in the
	// continual-evaluation subset, >= 1 (all when an experience has fewer).
	Size int `json:"size"`
	// Subset is "fixed" (drawn once per run from the test split),
	// "resampled" (redrawn from the test split at every evaluation point)
	// or "validation" (a fraction of each experience's training split held
	// out from training, ValidationFraction; up to Size of its samples,
	// drawn once).
	Subset string `json:"subset"`
	// Experiences is "seen" (experiences up to the one being trained, plus
	// the next one at each experience end) or "all".
	Experiences string `json:"experiences"`
	// TestSize, when not 0, evaluates the accuracy matrix on a seeded
	// subset of TestSize samples of each experience's test split (all of
	// it when the split is smaller), drawn once per run; 0 means the whole
	// split.
	TestSize int `json:"test_size,omitempty"`
	// ValidationFraction is the fraction of each experience's training
	// samples held out (stratified by class) with Subset "validation", in
	// (0, 1); Validate sets 0 to 0.05 (the online CL survey's 5 %).
	ValidationFraction float64 `json:"validation_fraction,omitempty"`
}

// Evaluated-experience modes.
const (
	EvalSeen = "seen"
	EvalAll  = "all"
)

// Eval subset modes.
const (
	SubsetFixed      = "fixed"
	SubsetResampled  = "resampled"
	SubsetValidation = "validation"
)

// DefaultValidationFraction is the held-out fraction of the validation
// subset mode.
const DefaultValidationFraction = 0.05

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks every field, naming the first bad one and its allowed
// range (numeric fields first, against FieldRange), the strategy's
// parameters included. It changes nothing but the
// documented defaults of zero values (eval.validation_fraction).
func (c *Config) Validate() error {
	if err := c.validateRanges(); err != nil {
		return err
	}
	if err := c.validateStream(); err != nil {
		return err
	}
	if err := c.validateModel(); err != nil {
		return err
	}
	if err := c.Optimizer.Validate(); err != nil {
		return invalid("optimizer: %v", strings.TrimPrefix(err.Error(), "nn: "))
	}
	if c.Epochs < 1 {
		return invalid("epochs %d: must be >= 1", c.Epochs)
	}
	if c.BatchSize < 1 {
		return invalid("batch_size %d: must be >= 1", c.BatchSize)
	}
	if err := c.validateLoop(); err != nil {
		return err
	}
	if c.Eval.Every < 1 {
		return invalid("eval.every %d: must be >= 1", c.Eval.Every)
	}
	if c.Eval.Size < 1 {
		return invalid("eval.size %d: must be >= 1", c.Eval.Size)
	}
	if c.Eval.TestSize < 0 {
		return invalid("eval.test_size %d: must be >= 1 (0 for the whole test split)", c.Eval.TestSize)
	}
	switch c.Eval.Subset {
	case SubsetFixed, SubsetResampled:
		if c.Eval.ValidationFraction != 0 {
			return invalid("eval.validation_fraction %v: only with eval.subset validation", c.Eval.ValidationFraction)
		}
	case SubsetValidation:
		if c.Eval.ValidationFraction == 0 {
			c.Eval.ValidationFraction = DefaultValidationFraction
		}
		if !(c.Eval.ValidationFraction > 0 && c.Eval.ValidationFraction < 1) {
			return invalid("eval.validation_fraction %v: must be in (0, 1)", c.Eval.ValidationFraction)
		}
	default:
		return invalid("eval.subset %q: must be fixed, resampled or validation", c.Eval.Subset)
	}
	switch c.Eval.Experiences {
	case EvalSeen, EvalAll:
	default:
		return invalid("eval.experiences %q: must be seen or all", c.Eval.Experiences)
	}
	r, err := strategies.Resolve(c.Strategy, c.StrategyParams)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if mc, ok := r.Strategy.(strategies.ModelChecker); ok {
		if err := mc.CheckModel(nn.Spec{Arch: c.ModelName(), Hidden: c.Hidden, NF: c.NF}); err != nil {
			return fmt.Errorf("%w: strategy %s: %v", ErrInvalid, c.Strategy, err)
		}
	}
	return nil
}

// Resolve validates c, builds the strategy it names, and replaces
// StrategyParams by the strategy's resolved parameters (every parameter
// with its value, those of wrapped strategies included) and the model's
// default width by its value (nf): the form recorded with the run and
// hashed into its key. The strategy it returns serves one run
// (Spec.Strategy).
func (c *Config) Resolve() (strategies.Strategy, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r, err := strategies.Resolve(c.Strategy, c.StrategyParams)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c.StrategyParams = r.Params
	if nn.HasWidth(c.ModelName()) && c.NF == 0 {
		c.NF = nn.DefaultNF
	}
	return r.Strategy, nil
}

// Batch-norm modes (Config.BatchNorm).
const (
	BatchNormSeparate = "separate"
	BatchNormJoint    = "joint"
)

// ModelName returns the architecture, "mlp" when Model is empty.
func (c *Config) ModelName() string {
	if c.Model == "" {
		return "mlp"
	}
	return c.Model
}

// validateModel checks the model fields: a known architecture and only the
// fields it uses.
func (c *Config) validateModel() error {
	known := false
	var names []string
	for _, a := range nn.Archs() {
		known = known || a.Name == c.ModelName()
		names = append(names, a.Name)
	}
	if !known {
		return invalid("model %q: must be one of %s", c.Model, strings.Join(names, ", "))
	}
	if c.ModelName() == "mlp" {
		if len(c.Hidden) == 0 {
			return invalid("hidden: at least one hidden layer is needed")
		}
		for _, h := range c.Hidden {
			if h < 1 {
				return invalid("hidden %v: layer sizes must be >= 1", c.Hidden)
			}
		}
	} else if len(c.Hidden) > 0 {
		return invalid("hidden %v: only the mlp model has hidden layers, not %s", c.Hidden, c.Model)
	}
	switch {
	case c.NF < 0:
		return invalid("nf %d: must be >= 1 (0 for 20)", c.NF)
	case c.NF != 0 && !nn.HasWidth(c.ModelName()):
		return invalid("nf %d: only the resnet18r models have a width, not %s", c.NF, c.ModelName())
	}
	switch c.BatchNorm {
	case "", BatchNormSeparate, BatchNormJoint:
	default:
		return invalid("batch_norm %q: must be %s or %s", c.BatchNorm, BatchNormSeparate, BatchNormJoint)
	}
	if c.Augment != "" && !slices.Contains(streams.Augmentations, c.Augment) {
		return invalid("augment %q: must be one of %s (or empty for none)", c.Augment, strings.Join(streams.Augmentations, ", "))
	}
	return nil
}

// ModelSpec returns the model the configuration trains on stream s.
func (c *Config) ModelSpec(s *streams.Stream) nn.Spec {
	return nn.Spec{Arch: c.ModelName(), Input: nn.Shape(s.Shape()), Classes: s.NumClasses, Hidden: c.Hidden, NF: c.NF}
}

// Key identifies a resolved configuration and its seed together with the
// version of everything that changes records and metrics: runs with the
// same key give bit-identical records. The preset name is not part of it.
func (c *Config) Key() string {
	cc := *c
	cc.Preset = ""
	h := sha256.New()
	h.Write(cc.JSON())
	h.Write([]byte("\x00metric-version=" + version.Metric))
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// JSON returns the configuration as compact JSON with fields in
// declaration order.
func (c *Config) JSON() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // every field marshals
	}
	return b
}

// SetStrategyParam sets one strategy parameter (a JSON value) in
// StrategyParams.
func (c *Config) SetStrategyParam(name string, value any) error {
	m := map[string]json.RawMessage{}
	if len(c.StrategyParams) > 0 {
		if err := json.Unmarshal(c.StrategyParams, &m); err != nil {
			return invalid("strategy_params: %v", err)
		}
	}
	v, err := json.Marshal(value)
	if err != nil {
		return invalid("strategy parameter %s: %v", name, err)
	}
	m[name] = v
	raw, err := json.Marshal(m) // map keys marshal sorted
	if err != nil {
		return err
	}
	c.StrategyParams = raw
	return nil
}

// validateLoop checks the fields of the training loop: iterations, repeats,
// hidden boundaries and blur.
func (c *Config) validateLoop() error {
	sc := streams.ScheduleConfig{BatchSize: c.BatchSize, Epochs: c.Epochs, Iterations: c.Iterations, Repeat: c.Repeat, Blur: c.Blur}
	switch {
	case c.Repeat < 0:
		return invalid("repeat %d: must be >= 1 (0 for 1)", c.Repeat)
	case c.Iterations < 0:
		return invalid("iterations %d: must be >= 0 (0 for epochs)", c.Iterations)
	case c.Iterations%max(c.Repeat, 1) != 0:
		return invalid("iterations %d: must be a multiple of repeat %d", c.Iterations, c.Repeat)
	case !(c.Blur >= 0 && c.Blur <= 1):
		return invalid("blur %v: must be in [0, 1]", c.Blur)
	case c.Blur > 0 && c.Scenario == string(streams.TaskIncremental):
		return invalid("blur %v: blurry boundaries mix two experiences in a batch and need one output head, not scenario task-incremental", c.Blur)
	}
	if err := sc.Validate(); err != nil {
		return invalid("%s", strings.TrimPrefix(err.Error(), "streams: "))
	}
	return nil
}
