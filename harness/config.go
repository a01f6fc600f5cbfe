package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cleval/cleval/harness/nn"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/strategies"
)

// ErrInvalid marks configuration errors: bad values a user gave. Callers
// branch on it (errors.Is) to report a usage error.
var ErrInvalid = errors.New("invalid configuration")

// Config is the complete, serialisable description of one run. Its JSON
// form (with defaults resolved) is stored with the run; two runs with the
// same JSON and seed give bit-identical records.
type Config struct {
	// Preset names the preset the configuration started from (informative).
	Preset string `json:"preset,omitempty"`
	// Benchmark is the stream generator: "split-mnist", "split-fmnist" or
	// "split-synthetic".
	Benchmark string `json:"benchmark"`
	// Experiences is the number of experiences, >= 1.
	Experiences int `json:"experiences"`
	// ClassOrder fixes the order classes are assigned to experiences; empty
	// means 0..C-1, or a seeded permutation when PermuteClasses is set.
	ClassOrder     []int `json:"class_order,omitempty"`
	PermuteClasses bool  `json:"permute_classes,omitempty"`
	// Hidden are the hidden-layer sizes of the MLP, each >= 1.
	Hidden []int `json:"hidden"`
	// Strategy is a registered strategy name; StrategyParams its parameters
	// as a JSON object (resolved: every parameter with its value).
	Strategy       string          `json:"strategy"`
	StrategyParams json.RawMessage `json:"strategy_params,omitempty"`
	Optimizer      nn.SGDConfig    `json:"optimizer"`
	// Epochs over each experience's training data, >= 1.
	Epochs int `json:"epochs"`
	// BatchSize is the number of new samples per update, >= 1.
	BatchSize int        `json:"batch_size"`
	Eval      EvalConfig `json:"eval"`
	// Seed drives every random stream of the run.
	Seed uint64 `json:"seed"`
}

// EvalConfig is the continual-evaluation schedule.
type EvalConfig struct {
	// Every is the evaluation period ρ in iterations, >= 1; evaluations
	// also happen at t = 0 and at each experience end.
	Every int `json:"every"`
	// Size is the number of test samples per experience in the
	// continual-evaluation subset, >= 1 (all when an experience has fewer).
	Size int `json:"size"`
	// Subset is "fixed" (drawn once per run) or "resampled" (redrawn at
	// every evaluation point).
	Subset string `json:"subset"`
	// Experiences is "seen" (experiences up to the one being trained, plus
	// the next one at each experience end) or "all".
	Experiences string `json:"experiences"`
}

// Evaluated-experience modes.
const (
	EvalSeen = "seen"
	EvalAll  = "all"
)

// Benchmarks lists the known stream generators.
var Benchmarks = []string{"split-mnist", "split-fmnist", "split-synthetic"}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks every field, naming the first bad one and its allowed
// range. It also resolves the strategy parameters (defaults filled in)
// by building the strategy once.
func (c *Config) Validate() error {
	if !slices.Contains(Benchmarks, c.Benchmark) {
		return invalid("benchmark %q: must be one of %s", c.Benchmark, strings.Join(Benchmarks, ", "))
	}
	if c.Experiences < 1 {
		return invalid("experiences %d: must be >= 1", c.Experiences)
	}
	if len(c.ClassOrder) > 0 && c.PermuteClasses {
		return invalid("class_order and permute_classes are exclusive")
	}
	if len(c.Hidden) == 0 {
		return invalid("hidden: at least one hidden layer is needed")
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return invalid("hidden %v: layer sizes must be >= 1", c.Hidden)
		}
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
	if c.Eval.Every < 1 {
		return invalid("eval.every %d: must be >= 1", c.Eval.Every)
	}
	if c.Eval.Size < 1 {
		return invalid("eval.size %d: must be >= 1", c.Eval.Size)
	}
	switch c.Eval.Subset {
	case "fixed", "resampled":
	default:
		return invalid("eval.subset %q: must be fixed or resampled", c.Eval.Subset)
	}
	switch c.Eval.Experiences {
	case EvalSeen, EvalAll:
	default:
		return invalid("eval.experiences %q: must be seen or all", c.Eval.Experiences)
	}
	s, err := strategies.New(c.Strategy, c.StrategyParams)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	raw, err := json.Marshal(s.Params())
	if err != nil {
		return fmt.Errorf("harness: strategy %s: parameters do not marshal: %v", c.Strategy, err)
	}
	c.StrategyParams = raw
	return nil
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
